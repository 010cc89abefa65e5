"""Does the default fit converge? Seeds 0-4 on the bundled matrices and a simulated leaderboard.

The convergence bar of the speed issue: max r-hat <= 1.01, bulk ESS >= 400 on
identified quantities, 0 divergences, for every seed, on ``cpp-crowdsourced``,
``obsscaling`` and a simulated 200 x 12 leaderboard-shaped matrix at 70%
density. Each fit runs in this process one after the other (the compile cache is
warm after the first).

Usage::

    BAYES_CPP_DATA=../shared/data python benchmarks/convergence.py                 # defaults
    BAYES_CPP_DATA=../shared/data python benchmarks/convergence.py --tune 300 --draws 1000
    BAYES_CPP_DATA=../shared/data python benchmarks/convergence.py --datasets obsscaling --seeds 0 1

Writes ``benchmarks/results/convergence-<label>.json`` and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import warnings
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent

DATASETS = ("cpp-crowdsourced", "obsscaling", "leaderboard-200x12")


def load(name: str) -> Any:
    import bayes_cpp as bc

    if name == "leaderboard-200x12":
        # Leaderboard-shaped: many LLMs, few benchmarks, 70% of cells, families, params, tokens.
        return bc.simulate(200, 12, density=0.7, n_families=40, random_seed=2024).data
    return bc.datasets.load(name)


def run(name: str, seed: int, params: dict[str, Any], spec: Any = "hbmf") -> dict[str, Any]:
    import bayes_cpp as bc

    data = load(name)
    est = bc.BayesCPP(spec, random_seed=seed, **params)
    start = time.perf_counter()
    est.fit(data)
    wall = time.perf_counter() - start
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = est.diagnose(warn=False)
    stats = est.idata_["sample_stats"].to_dataset()
    worst = report.table.sort_values("min_ess_bulk").head(3)
    return {
        "dataset": name,
        "seed": seed,
        "wall_s": round(wall, 1),
        "n_gradients": int(est.idata_["posterior"].attrs.get("bayes_cpp_n_gradients", 0)),
        "mean_steps": round(float(stats["n_steps"].mean()), 1),
        "step_size": round(float(stats["step_size"].mean()), 4),
        "max_rhat": round(report.max_rhat, 4),
        "min_ess_bulk": round(report.min_ess_bulk, 1),
        "min_ess_tail": round(report.min_ess_tail, 1),
        "n_divergent": report.n_divergent,
        "ok": report.ok,
        "worst": {str(k): round(float(v), 1) for k, v in worst["min_ess_bulk"].items()},
        "worst_rhat": str(report.table["max_rhat"].idxmax()),
    }


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| dataset | seed | wall s | gradients | mean steps | step size | max r̂ | min bulk ESS "
        "| divergences | ok | lowest ESS |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        worst = ", ".join(f"{k} {v:.0f}" for k, v in r["worst"].items())
        lines.append(
            f"| {r['dataset']} | {r['seed']} | {r['wall_s']} | {r['n_gradients']:,} | "
            f"{r['mean_steps']} | {r['step_size']} | {r['max_rhat']} | {r['min_ess_bulk']:.0f} | "
            f"{r['n_divergent']} | {'yes' if r['ok'] else '**no**'} | {worst} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="*", default=list(DATASETS))
    parser.add_argument("--seeds", nargs="*", type=int, default=[0, 1, 2, 3, 4])
    parser.add_argument("--chains", type=int, default=None)
    parser.add_argument("--tune", type=int, default=None)
    parser.add_argument("--draws", type=int, default=None)
    parser.add_argument("--target-accept", type=float, default=None)
    parser.add_argument("--label", default="default")
    parser.add_argument(
        "--chance-share", action="store_true", help="hbmf with a learned share of the chance floor"
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="OPTION=VALUE",
        help="override a spec option of hbmf (a TOML value, e.g. noise_floor=0.01); repeatable",
    )
    args = parser.parse_args(argv)
    params = {
        k: v
        for k, v in {
            "chains": args.chains,
            "tune": args.tune,
            "draws": args.draws,
            "target_accept": args.target_accept,
        }.items()
        if v is not None
    }
    import bayes_cpp as bc

    spec: Any = "hbmf"
    if args.chance_share:
        spec = bc.load_spec("hbmf").replace(chance_share=True)
    if args.set:
        import tomllib

        overrides = tomllib.loads("\n".join(args.set))
        spec = (bc.load_spec(spec) if isinstance(spec, str) else spec).replace(**overrides)
    rows = []
    for name in args.datasets:
        for seed in args.seeds:
            row = run(name, seed, params, spec)
            print(json.dumps(row), flush=True)
            rows.append(row)
    out = HERE / "results" / f"convergence-{args.label}.json"
    out.write_text(
        json.dumps(
            {
                "command": "python benchmarks/convergence.py " + " ".join(argv or sys.argv[1:]),
                "params": params,
                "machine": f"{platform.machine()} {os.cpu_count()} cpus, Python {platform.python_version()}",
                "rows": rows,
            },
            indent=2,
        )
    )
    print(table(rows))
    return rows


if __name__ == "__main__":
    main()
