"""Which design factors matter on ``cpp-crowdsourced``: Shapley values next to coefficients.

Exact Shapley decomposition of held-out log predictive density (random 20% of
the cells hidden, one split per seed) over factor groups, every subset refitted
(:func:`bayes_cpp.shapley`), next to the standardized bias coefficients of one
full default fit (:func:`bayes_cpp.coefficients`). Groups follow the CPP paper's
Fig. 6, merged into four so the 2^4 refits per split stay affordable: the
family hierarchy; scale (parameters, tokens); training configuration (context
window, batch size); the task side (ability = category hierarchy, shots).

Usage (from the repository root)::

    BAYES_CPP_DATA=../shared/data python benchmarks/shapley_cpp.py --seeds 3

Writes ``benchmarks/results/shapley-cpp.json`` and prints Markdown.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent

GROUPS: dict[str, list[str]] = {
    "family": ["family"],
    "scale (params, tokens)": ["log_params", "log_tokens"],
    "training config (context, batch)": ["log_context", "log_batch"],
    "task (ability, shots)": ["category", "log_shots"],
}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    import bayes_cpp as bc
    from bayes_cpp.importance import CPP_FEATURES

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--holdout", type=float, default=0.2)
    parser.add_argument("--draws", type=int, default=500)
    parser.add_argument("--tune", type=int, default=500)
    parser.add_argument("--chains", type=int, default=2)
    parser.add_argument("--out", default=str(HERE / "results" / "shapley-cpp.json"))
    args = parser.parse_args(argv)
    data = bc.datasets.load("cpp-crowdsourced")
    params = {
        "draws": args.draws,
        "tune": args.tune,
        "chains": args.chains,
        "llm_features": CPP_FEATURES,
    }
    start = time.perf_counter()
    result = bc.shapley(
        data,
        GROUPS,
        metric="lpd",
        holdout=args.holdout,
        seeds=args.seeds,
        est_params=params,
        progress=True,
    )
    minutes = (time.perf_counter() - start) / 60
    full = bc.BayesCPP(random_seed=0, llm_features=CPP_FEATURES).fit(data)
    coefs = bc.coefficients(full)
    bias = coefs[coefs["on"] == "bias"][["side", "factor", "mean", "lower", "upper"]]
    lines = [
        "| factor group | Shapley value (LPD per held-out cell) | 90% interval over splits |",
        "|---|---|---|",
    ]
    for r in result.table.itertuples():
        lines.append(f"| {r.group} | {r.value:+.4f} | {r.lower:+.4f} .. {r.upper:+.4f} |")
    lines += [
        "",
        "| side | factor | bias coefficient (standardized) | 90% interval |",
        "|---|---|---|---|",
    ]
    for r in bias.itertuples():
        lines.append(
            f"| {r.side} | {r.factor} | {r.mean:+.3f} | {r.lower:+.3f} .. {r.upper:+.3f} |"
        )
    subsets = result.subsets
    report = full.diagnose(warn=False)
    md = "\n".join(lines)
    out = {
        "command": "python benchmarks/shapley_cpp.py " + " ".join(argv or sys.argv[1:]),
        "machine": f"{platform.machine()}, Python {platform.python_version()}",
        "minutes_shapley": round(minutes, 1),
        "groups": GROUPS,
        "table": result.table.to_dict("records"),
        "subsets": subsets.to_dict("records"),
        "worst_subset_rhat": float(subsets["max_rhat"].max()),
        "subset_divergences": int(subsets["n_divergent"].sum()),
        "coefficients": coefs.to_dict("records"),
        "full_fit": report.headline(),
        "markdown": md,
    }
    Path(args.out).write_text(json.dumps(out, indent=1, default=float))
    print(md)
    print(
        f"\n{minutes:.1f} min for {len(subsets)} refits; worst subset r-hat "
        f"{out['worst_subset_rhat']:.3f}, {out['subset_divergences']} divergences in all; "
        f"full fit: {out['full_fit']}"
    )
    return out


if __name__ == "__main__":
    main()
