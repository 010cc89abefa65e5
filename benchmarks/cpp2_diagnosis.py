"""Why CPP-2 under-covers on the paper's Table-4 LLMs (issue 15): a check that can fail.

One default fit without a set of held-out LLMs; each held-out LLM is then
forecast from its family and design factors (CPP-0) and conditioned on ``k``
random scores of its own (CPP-k, ``--reveals`` draws of which scores), with
no refit. The set is either the paper's Table-4 LLMs (``--held table4``) or
``--n-llms`` random LLMs with at least 6 scores (``--held random``), so the
same code measures whether the under-coverage is a property of the
conditioning (then random LLMs under-cover too) or of the Table-4 LLMs.

Two sensitivity knobs, each a subclass of the package's ``Predictor`` that
overrides one public method:

* ``--reveal-noise`` scales the noise sd of the *known* scores while
  conditioning (1 = the model). If the model trusted the revealed scores
  too much, a larger scale would lower the error as well as widen.
* ``--prior-scale`` scales the new row's prior spread (1 = the model). If the
  population of rows were too narrow for new LLMs, a larger scale would help.

Run from the repository root, e.g.::

    BAYES_CPP_DATA=../shared/data python benchmarks/cpp2_diagnosis.py cpp-crowdsourced \
        --held table4 --out benchmarks/results/cpp2-diagnosis-cpp-table4.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bayes_cpp.predictor import NewRowPrior, Predictor


class Sensitivity(Predictor):
    """The fit's predictor with the known scores' noise and the row prior rescaled."""

    def __init__(self, base: Predictor, reveal_noise: float = 1.0, prior_scale: float = 1.0):
        super().__init__(
            base.draws,
            rank=base.rank,
            noise_floor=base.noise_floor,
            noise_scaling=base.noise_scaling,
            chance=base.chance,
            n_features=base.n_features,
        )
        self.reveal_noise, self.prior_scale = reveal_noise, prior_scale
        self._conditioning = False

    def newcomer_row(self, newcomer, rng, *, sigma_new=None):
        self._conditioning = True
        try:
            return super().newcomer_row(newcomer, rng, sigma_new=sigma_new)
        finally:
            self._conditioning = False

    def cell_sd(self, sigma, mean, llm_noise=None):
        sd = super().cell_sd(sigma, mean, llm_noise)
        return sd * self.reveal_noise if self._conditioning else sd

    def row_prior(self, side, **kwargs):
        prior = super().row_prior(side, **kwargs)
        scale = self.prior_scale
        return NewRowPrior(
            prior.mean,
            lambda rng: scale * prior.sample_centered(rng),
            lambda: scale**2 * prior.cov(),
        )


def _floats(text: str) -> list[float]:
    return [float(v) for v in text.split(",")]


def main(argv: list[str] | None = None) -> dict[str, Any]:
    import bayes_cpp as bc
    from bayes_cpp import datasets, dims
    from bayes_cpp.datasets.paper import paper_table4_llms
    from bayes_cpp.evaluation.methods import factor_values

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset")
    parser.add_argument("--held", choices=["table4", "random"], default="table4")
    parser.add_argument("--seed", type=int, default=1, help="which random set (--held random)")
    parser.add_argument("--n-llms", type=int, default=12)
    parser.add_argument("--k", type=int, default=2)
    parser.add_argument("--reveals", type=int, default=5, help="draws of the k known scores")
    parser.add_argument("--reveal-noise", type=_floats, default=[1.0, 1.5, 2.0, 3.0, 5.0])
    parser.add_argument("--prior-scale", type=_floats, default=[1.5, 2.0])
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)

    start = time.perf_counter()
    data = datasets.load(args.dataset)
    if args.held == "table4":
        held = paper_table4_llms(data)
    else:
        counts = data.scores.groupby("llm").size()
        eligible = counts[counts >= 6]
        held = sorted(eligible.sample(args.n_llms, random_state=args.seed).index)
    train = data.select([m for m in data.llm_names if m not in held])
    est = bc.BayesCPP(random_seed=0).fit(train)
    report = est.diagnose(warn=False)
    cells = data.scores.assign(unit=data.unit_scores().to_numpy())

    def run(reveal_noise: float, prior_scale: float, k: int) -> dict[str, Any]:
        predictor = Sensitivity(est.predictor_, reveal_noise, prior_scale)
        rows = []
        for llm in held:
            mine = cells[cells["llm"] == llm]
            for r in range(args.reveals if k else 1):
                rng = np.random.default_rng([args.seed, r])
                pick = list(rng.choice(len(mine), size=k, replace=False)) if k else []
                known, test = mine.iloc[pick], mine.drop(mine.index[pick])
                row = data.llms.loc[llm]
                with warnings.catch_warnings():  # new families, extrapolation: real rows
                    warnings.simplefilter("ignore")
                    newcomer = est.newcomer(
                        dims.LLM,
                        str(row["family"]),
                        factors=factor_values(row, est.llm_design_),
                        scores=dict(zip(known["task"], known["score"], strict=True)),
                    )
                others = est.positions(dims.TASK, list(test["task"]))
                mean, sd = predictor.forecast(newcomer, others, rng)  # (S, n)
                y = predictor.noisy(mean[:, None, :], sd[:, None, :], rng)[:, 0, :]
                lo90, lo50, hi50, hi90 = np.quantile(y, [0.05, 0.25, 0.75, 0.95], axis=0)
                truth = test["unit"].to_numpy()
                var = mean.var(axis=0) + (sd**2).mean(axis=0)
                err = truth - mean.mean(axis=0)
                rows.append(
                    pd.DataFrame(
                        {
                            "llm": llm,
                            "err": err,
                            "z2": err**2 / var,
                            "cov90": (truth >= lo90) & (truth <= hi90),
                            "cov50": (truth >= lo50) & (truth <= hi50),
                            "width90": hi90 - lo90,
                            "row_share": mean.var(axis=0) / var,
                        }
                    )
                )
        df = pd.concat(rows, ignore_index=True)
        per_llm = df.groupby("llm")["cov90"].mean()
        return {
            "reveal_noise": reveal_noise,
            "prior_scale": prior_scale,
            "k": k,
            "n_cells": len(df),
            "coverage_90": round(float(df["cov90"].mean()), 3),
            "coverage_50": round(float(df["cov50"].mean()), 3),
            "rmse_unit": round(float(np.sqrt((df["err"] ** 2).mean())), 4),
            "mean_width_90": round(float(df["width90"].mean()), 4),
            "mean_z2": round(float(df["z2"].mean()), 2),
            "row_share_of_variance": round(float(df["row_share"].mean()), 2),
            "coverage_90_per_llm": {str(m): round(float(v), 2) for m, v in per_llm.items()},
        }

    results = [run(1.0, 1.0, 0)]
    results += [run(c, 1.0, args.k) for c in args.reveal_noise]
    for scale in args.prior_scale:
        results += [run(1.0, scale, 0), run(1.0, scale, args.k)]
    out = {
        "command": "python benchmarks/cpp2_diagnosis.py " + " ".join(argv or sys.argv[1:]),
        "held": held,
        "fit": {"ok": report.ok, "headline": report.headline()},
        "minutes": round((time.perf_counter() - start) / 60, 1),
        "results": results,
    }
    Path(args.out).write_text(json.dumps(out, indent=1))
    cols = ["reveal_noise", "prior_scale", "k", "coverage_90", "coverage_50", "rmse_unit"]
    cols += ["mean_width_90", "mean_z2", "row_share_of_variance"]
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    for r in results:
        print("| " + " | ".join(str(r[c]) for c in cols) + " |")
    print(f"{out['fit']['headline']}; {out['minutes']} min; wrote {args.out}")
    return out


if __name__ == "__main__":
    main()
