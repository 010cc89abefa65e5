"""Is CPP-2's over-confidence in the per-draw conditioning or in the model? (issue 15).

For held-out LLMs of the paper's Table 4 with ``k`` revealed scores, compare
two predictive distributions of the same hidden cells:

* ``conditioned``: fit without the LLM, then condition its row per posterior
  draw on the ``k`` scores (what ``evaluate`` and ``forecast`` do);
* ``refit``: fit with the ``k`` scores in the training matrix and predict the
  LLM's hidden cells as a known row.

If the conditioning is right, the two agree within Monte Carlo error (same
widths, same coverage); if both are narrow and miss, the model (not the
conditioning) is over-confident about a sparsely observed LLM.

Run from the repository root::

    BAYES_CPP_DATA=../shared/data python benchmarks/cpp2_refit.py \
        --out benchmarks/results/cpp2-refit.json
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

DEFAULT_LLMS = ["LLama-2-70B", "Llama 3 70B", "Yi-9b", "Qwen-14B", "TigerBot-70b", "Gemma-7b"]


def main(argv: list[str] | None = None) -> int:
    from bayes_cpp import datasets
    from bayes_cpp.evaluation import BayesMethod
    from bayes_cpp.evaluation.metrics import aggregate, score_cells
    from bayes_cpp.evaluation.protocols import llm_holdout_splits

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="cpp-crowdsourced")
    parser.add_argument("--llms", nargs="+", default=DEFAULT_LLMS)
    parser.add_argument("--k", type=int, default=2)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--spec", default="hbmf", help="e.g. hbmf_llm_noise")
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--tune", type=int, default=500)
    parser.add_argument("--random-seed", type=int, default=0)
    parser.add_argument("--no-refit", action="store_true", help="conditioned forecasts only")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)

    data = datasets.load(args.dataset)
    spec = args.spec
    params = {"chains": args.chains, "draws": args.draws, "tune": args.tune}
    splits = llm_holdout_splits(data, args.llms, k=args.k, seeds=args.seeds)
    rows: list[dict[str, Any]] = []
    cells: dict[str, list[pd.DataFrame]] = {"conditioned": [], "refit": []}
    start = time.perf_counter()
    # One method for the conditioned forecasts: it reuses the fit of splits that
    # share training cells (the same LLM with other revealed scores).
    conditioned = BayesMethod(spec, params)
    for i, split in enumerate(splits):
        # Refit: the revealed scores are training cells and the LLM a known row.
        refit_split = dataclasses.replace(
            split, train=split.train_with_known, known=split.known.iloc[:0]
        )
        ways = [("conditioned", split)] + ([] if args.no_refit else [("refit", refit_split)])
        for how, s in ways:
            method = conditioned if how == "conditioned" else BayesMethod(spec, params)
            predictive, record = method.run(s, data, args.random_seed)
            scored = score_cells(
                split.test, predictive, full=data, train=s.train, rng=np.random.default_rng(i)
            )
            scored["how"], scored["split"] = how, split.label
            cells[how].append(scored)
            summary = aggregate(scored)
            rows.append(
                {
                    "split": split.label,
                    "how": how,
                    "n_cells": len(scored),
                    "coverage_90": summary["coverage_90"],
                    "width_90": summary["width_90"],
                    "rmse_unit": summary["rmse_unit"],
                    "lpd": summary["lpd"],
                    "converged": record["converged"],
                    "max_rhat": record["max_rhat"],
                    "n_divergent": record["n_divergent"],
                }
            )
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    per_split = pd.DataFrame(rows)
    pooled = {how: aggregate(pd.concat(c, ignore_index=True)) for how, c in cells.items() if c}
    keys = ("coverage_50", "coverage_90", "width_90", "rmse_unit", "lpd", "crps", "n_cells")
    result = {
        "command": "python benchmarks/cpp2_refit.py " + " ".join(argv or sys.argv[1:]),
        "settings": {**vars(args), "out": str(args.out) if args.out else None},
        "wall_seconds": round(time.perf_counter() - start, 1),
        "pooled": {how: {k: float(v[k]) for k in keys} for how, v in pooled.items()},
        "per_split": per_split.to_dict("records"),
    }
    print(per_split.to_string(index=False))
    print(json.dumps(result["pooled"], indent=2))
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
