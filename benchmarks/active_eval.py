"""Active evaluation: the recommended order against random and largest-sd-first order.

Per seed, :func:`bayes_cpp.reveal_curve` hides a share of the observed cells,
keeps half of them as a fixed test set, plans ``--budget`` evaluations from the
other half with each strategy, reveals them ``--step`` at a time (refitting) and
scores the test cells. The table is the mean over seeds of test RMSE and mean
90% width (unit scale) per strategy and cells revealed, and the paired
difference recommended - other at the full budget (mean ± sd over seeds).

With ``--hide llms`` the question is a new LLM's: ``--n-llms`` LLMs per seed keep
``--known`` scores each, every one is planned separately with its own profile as the
target, ``--budget`` is per LLM, and revealed cells are folded in without a refit.

Usage (from the repository root)::

    BAYES_CPP_DATA=../shared/data python benchmarks/active_eval.py sim --seeds 5
    BAYES_CPP_DATA=../shared/data python benchmarks/active_eval.py cpp-crowdsourced --seeds 3
    BAYES_CPP_DATA=../shared/data python benchmarks/active_eval.py cpp-crowdsourced \
        --hide llms --seeds 5 --budget 5 --step 1

Writes ``benchmarks/results/active-<dataset>.json`` and prints Markdown.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent


def load(name: str) -> Any:
    import bayes_cpp as bc

    if name == "sim":
        return bc.simulate(60, 15, density=0.6, n_families=10, random_seed=7).data
    return bc.datasets.load(name)


def table(curve: pd.DataFrame) -> str:
    mean = curve.groupby(["strategy", "n_revealed"])[["rmse", "mean_width_90", "coverage_90"]]
    agg = mean.mean().reset_index()
    lines = [
        "| strategy | revealed | RMSE (0-1) | mean width 90% | coverage 90% |",
        "|---|---|---|---|---|",
    ]
    for r in agg.itertuples():
        lines.append(
            f"| {r.strategy} | {r.n_revealed} | {r.rmse:.4f} | {r.mean_width_90:.4f} | "
            f"{r.coverage_90:.3f} |"
        )
    last = curve[curve["n_revealed"] == curve["n_revealed"].max()].pivot_table(
        index="seed", columns="strategy", values=["rmse", "mean_width_90"]
    )
    first = curve[curve["n_revealed"] == 0].pivot_table(
        index="seed", columns="strategy", values=["rmse", "mean_width_90"]
    )
    lines += [
        "",
        "| at the full budget, per seed (mean ± sd over seeds) | recommended - random "
        "| recommended - largest sd |",
    ]
    lines += ["|---|---|---|"]
    for metric in ("rmse", "mean_width_90"):
        gain = first[metric] - last[metric]  # reduction from revealing
        cells = []
        for other in ("random", "largest_sd"):
            d = last[metric]["recommended"] - last[metric][other]
            cells.append(
                f"{d.mean():+.4f} ± {d.std():.4f} (lower in {int((d < 0).sum())}/{len(d)})"
            )
        lines.append(f"| {metric} | {cells[0]} | {cells[1]} |")
        red = ", ".join(f"{s} {gain[s].mean():.4f}" for s in gain.columns)
        lines.append(f"| reduction of {metric} from 0 revealed | {red} | |")
    lines += ["", curve_summary(curve)]
    return "\n".join(lines)


def curve_summary(curve: pd.DataFrame) -> str:
    """Recommended - other, averaged over the checkpoints after 0 (the curve, not its end).

    Per seed the mean over checkpoints 1..budget of each metric; then the mean
    and standard error over seeds of the paired difference, how many seeds it
    favours the recommended order in, and a two-sided Wilcoxon signed-rank p.
    """
    from scipy.stats import wilcoxon

    after = curve[curve["n_revealed"] > 0]
    lines = [
        "| averaged over 1..budget revealed, per seed (mean ± standard error) "
        "| recommended - random "
        "| recommended - largest sd |",
        "|---|---|---|",
    ]
    for metric, better in (("rmse", -1), ("mean_width_90", -1), ("lpd", 1)):
        per_seed = after.pivot_table(index="seed", columns="strategy", values=metric)
        cells = []
        for other in ("random", "largest_sd"):
            d = per_seed["recommended"] - per_seed[other]
            se = d.std() / np.sqrt(len(d))
            wins = int((better * d > 0).sum())
            p = wilcoxon(d).pvalue if len(d) > 1 and (d != 0).any() else float("nan")
            p_text = "p < 0.001" if p < 0.001 else f"p {p:.3f}"
            cells.append(f"{d.mean():+.4f} ± {se:.4f} (better in {wins}/{len(d)}, {p_text})")
        lines.append(f"| {metric} | {cells[0]} | {cells[1]} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    import bayes_cpp as bc

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", nargs="?", help="'sim' (60 x 15 simulated) or a dataset name")
    parser.add_argument(
        "--retable", metavar="JSON", help="print the tables of a saved run and exit (no fits)"
    )
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument(
        "--first-seed", type=int, default=0, help="seeds run are FIRST .. FIRST + SEEDS - 1"
    )
    parser.add_argument("--budget", type=int, default=20)
    parser.add_argument("--step", type=int, default=10)
    parser.add_argument("--hide-fraction", type=float, default=0.2)
    parser.add_argument(
        "--hide",
        choices=["cells", "llms"],
        default="cells",
        help="cells: random cells hidden, the whole matrix the target; llms: held-out LLMs "
        "with --known scores each, each LLM's profile its own target, --budget per LLM, "
        "revealed cells folded in without a refit",
    )
    parser.add_argument("--n-llms", type=int, default=6, help="LLMs held out per seed (llms)")
    parser.add_argument("--known", type=int, default=2, help="scores each keeps (llms)")
    parser.add_argument("--draws", type=int, default=500)
    parser.add_argument("--tune", type=int, default=500)
    parser.add_argument("--chains", type=int, default=2)
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    if args.retable:
        saved = json.loads(Path(args.retable).read_text())
        md = table(pd.DataFrame(saved["curve"]))
        print(md)
        return {**saved, "markdown": md}
    if args.dataset is None:
        parser.error("a dataset is needed unless --retable is given")
    data = load(args.dataset)
    start = time.perf_counter()
    curve = bc.reveal_curve(
        data,
        budget=args.budget,
        step=args.step,
        seeds=list(range(args.first_seed, args.first_seed + args.seeds)),
        hide=args.hide,
        hide_fraction=args.hide_fraction,
        n_llms=args.n_llms,
        known=args.known,
        refit=args.hide == "cells",
        est_params={"draws": args.draws, "tune": args.tune, "chains": args.chains},
        progress=True,
    )
    minutes = (time.perf_counter() - start) / 60
    md = table(curve)
    result = {
        "command": "python benchmarks/active_eval.py "
        + " ".join(argv or __import__("sys").argv[1:]),
        "machine": f"{platform.machine()}, Python {platform.python_version()}",
        "minutes": round(minutes, 1),
        "curve": curve.to_dict("records"),
        "markdown": md,
    }
    suffix = "" if args.hide == "cells" else "-llms"
    out = Path(args.out or HERE / "results" / f"active-{args.dataset}{suffix}.json")
    out.write_text(json.dumps(result, indent=1))
    print(md)
    print(f"\n{minutes:.1f} min; wrote {out}")
    return result


if __name__ == "__main__":
    main()
