"""Big matrices: the approximate path (ADVI) and NUTS on ``openllm-v1`` (7,169 LLMs x 6 tasks).

Three experiments, each in a fresh Python process whose wall time and peak
resident memory (``getrusage`` of the child) are measured from outside:

* ``openllm-advi``: the full matrix fitted with mean-field ADVI
  (``BayesCPP(sampler="advi")``, 2 x 500 draws), then the expected score of
  every one of the 43,014 cells predicted (``predict(kind="mean")``).
* ``openllm-nuts``: the default sampler (nutpie on the numba kernel) on the
  full matrix with small settings (2 chains x 300 tuning + 300 draws) and its
  diagnostics on identified quantities.
* ``subsample``: ``--llms`` LLMs of ``openllm-v1`` drawn at random, a random
  ``--holdout`` of their cells hidden (``--seeds`` splits), and NUTS (default
  sampler, the harness's 2 x 500 + 500), mean-field and full-rank ADVI and
  two baselines scored on the same hidden cells by
  :func:`bayes_cpp.evaluation.evaluate` (RMSE on the 0-1 scale, 90% coverage).

Usage (from the repository root; heavy: run on a quiet machine)::

    BAYES_CPP_DATA=../shared/data python benchmarks/big_matrix.py            # all three
    BAYES_CPP_DATA=../shared/data python benchmarks/big_matrix.py subsample --llms 500

Writes ``benchmarks/results/big_matrix.json`` (merged with earlier runs of
other experiments) and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
OUT = HERE / "results" / "big_matrix.json"
EXPERIMENTS = ("openllm-advi", "openllm-nuts", "subsample")


def _rss_gib() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def _openllm_advi(args: argparse.Namespace) -> dict[str, Any]:
    import bayes_cpp as bc

    t0 = time.perf_counter()
    data = bc.datasets.load("openllm-v1")
    est = bc.BayesCPP(sampler="advi", chains=2, draws=500, random_seed=args.seed)
    t1 = time.perf_counter()
    est.fit(data)
    t2 = time.perf_counter()
    rss_fit = _rss_gib()
    means = est.predict(kind="mean").mean(("chain", "draw"))
    t3 = time.perf_counter()
    post = est.idata_["posterior"]
    return {
        "cells": data.n_observed,
        "load_s": round(t1 - t0, 1),
        "fit_s": round(t2 - t1, 1),
        "optimisation_s": post.attrs["bayes_cpp_optimisation_seconds"],
        "iterations": int(post.attrs["bayes_cpp_iterations"]),
        "converged": bool(post.attrs["bayes_cpp_converged"]),
        "predict_all_s": round(t3 - t2, 1),
        "predicted_cells": int(means.size),
        "peak_rss_after_fit_gib": round(rss_fit, 2),
        "report": str(est.diagnose(warn=False)).splitlines()[0],
    }


def _openllm_nuts(args: argparse.Namespace) -> dict[str, Any]:
    import bayes_cpp as bc

    data = bc.datasets.load("openllm-v1")
    est = bc.BayesCPP(chains=2, tune=300, draws=300, random_seed=args.seed)
    t1 = time.perf_counter()
    est.fit(data)
    t2 = time.perf_counter()
    report = est.diagnose(warn=False)
    stats = est.idata_["sample_stats"]
    return {
        "cells": data.n_observed,
        "fit_s": round(t2 - t1, 1),
        "max_rhat": round(report.max_rhat, 4),
        "min_ess_bulk": round(report.min_ess_bulk, 1),
        "n_divergent": report.n_divergent,
        "worst": report.table["min_ess_bulk"].nsmallest(3).round(1).to_dict(),
        "mean_tree_depth": round(float(stats["depth"].mean()), 2) if "depth" in stats else None,
        "mean_leapfrog_steps": round(float(stats["n_steps"].mean()), 1)
        if "n_steps" in stats
        else None,
        "step_size": round(float(stats["step_size"].mean()), 4) if "step_size" in stats else None,
        "report": str(report).splitlines()[0],
    }


def _subsample(args: argparse.Namespace) -> dict[str, Any]:
    import numpy as np

    import bayes_cpp as bc
    from bayes_cpp.evaluation import BayesMethod, evaluate

    full = bc.datasets.load("openllm-v1")
    rng = np.random.default_rng(args.seed)
    names = sorted(rng.choice(full.llm_names, size=args.llms, replace=False).tolist())
    data = full.select(llms=names)
    methods = [
        BayesMethod("hbmf", {}, label="hbmf-nuts"),
        BayesMethod("hbmf", {"sampler": "advi"}, label="hbmf-advi"),
        BayesMethod("hbmf", {"sampler": "fullrank_advi"}, label="hbmf-fullrank-advi"),
        "task-mean",
        "softimpute-logit",
    ]
    result = evaluate(
        data,
        "random",
        methods=methods,
        holdout=args.holdout,
        seeds=args.seeds,
        random_seed=args.seed,
        progress=False,
    )
    scores = result.scores
    table = (
        scores[scores["metric"].isin(["rmse_unit", "coverage_90", "crps"])]
        .groupby(["method", "metric"])["value"]
        .agg(["mean", "std", "count"])
        .round(4)
        .reset_index()
        .to_dict("records")
    )
    fits = result.fits
    wanted = (
        "method",
        "split",
        "seconds",
        "max_rhat",
        "n_divergent",
        "approximation",
        "iterations",
    )
    fit_cols = [c for c in wanted if c in fits]
    return {
        "llms": args.llms,
        "cells": data.n_observed,
        "holdout": args.holdout,
        "splits": args.seeds,
        "table": table,
        "fits": fits[fit_cols].to_dict("records"),
        "markdown": result.to_markdown(),
    }


def _run_child(name: str, argv: list[str]) -> dict[str, Any]:
    """Run one experiment in a fresh process; time it from outside."""
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, __file__, "--child", name, *argv],
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - t0
    if proc.returncode:
        sys.stderr.write(proc.stderr[-5000:])
        raise SystemExit(f"{name} failed (exit {proc.returncode})")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["process_wall_s"] = round(wall, 1)
    # The child's own getrusage peak (ru_maxrss) at its end: the whole process.
    out["peak_rss_gib_child"] = out.pop("_rss")
    return out


def _markdown(results: dict[str, Any]) -> str:
    lines = []
    advi, nuts = results.get("openllm-advi"), results.get("openllm-nuts")
    if advi or nuts:
        lines += [
            "| openllm-v1 (7,169 x 6, 43,014 cells) | process wall s | process CPU s | fit s | "
            "peak RSS GiB | iterations / diagnostics |",
            "|---|---|---|---|---|---|",
        ]
    if advi:
        lines.append(
            f"| mean-field ADVI, 2 x 500 draws, + predict all cells ({advi['predict_all_s']} s) | "
            f"{advi['process_wall_s']} | {advi['cpu_s']} | {advi['fit_s']} | {advi['peak_rss_gib_child']} "
            f"(after fit: {advi['peak_rss_after_fit_gib']}) | {advi['iterations']} iterations, "
            f"loss {'converged' if advi['converged'] else 'NOT converged'} |"
        )
    if nuts:
        lines.append(
            f"| NUTS (nutpie kernel), 2 x (300 + 300) | {nuts['process_wall_s']} | {nuts['cpu_s']} | "
            f"{nuts['fit_s']} | "
            f"{nuts['peak_rss_gib_child']} | max r_hat {nuts['max_rhat']}, min bulk ESS "
            f"{nuts['min_ess_bulk']}, {nuts['n_divergent']} divergent |"
        )
    sub = results.get("subsample")
    if sub:
        lines += [
            "",
            f"Subsample: {sub['llms']} LLMs of openllm-v1 ({sub['cells']} cells), random "
            f"{sub['holdout']:.0%} of cells hidden, {sub['splits']} split(s); mean (sd over splits):",
            "",
            "| method | RMSE (0-1 scale) | 90% coverage | CRPS | mean fit s |",
            "|---|---|---|---|---|",
        ]
        by = {}
        for row in sub["table"]:
            by.setdefault(row["method"], {})[row["metric"]] = row
        secs: dict[str, list[float]] = {}
        for fit in sub["fits"]:
            if fit.get("seconds"):
                secs.setdefault(fit["method"], []).append(fit["seconds"])
        for method, rows in by.items():
            cells = [
                f"{rows[m]['mean']:.4f} ({rows[m]['std']:.4f})" if m in rows else "-"
                for m in ("rmse_unit", "coverage_90", "crps")
            ]
            fit_s = secs.get(method)
            lines.append(
                f"| {method} | {' | '.join(cells)} | {sum(fit_s) / len(fit_s):.1f} |"
                if fit_s
                else f"| {method} | {' | '.join(cells)} | - |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "experiments", nargs="*", help=f"any of {', '.join(EXPERIMENTS)} (default all)"
    )
    parser.add_argument("--llms", type=int, default=500, help="LLMs in the subsample")
    parser.add_argument("--holdout", type=float, default=0.1, help="hidden share of cells")
    parser.add_argument("--seeds", type=int, default=2, help="random splits of the subsample")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    unknown = [e for e in args.experiments if e not in EXPERIMENTS]
    if unknown:
        parser.error(f"unknown experiment(s) {unknown}; choose from {', '.join(EXPERIMENTS)}")
    if args.child:
        run = {"openllm-advi": _openllm_advi, "openllm-nuts": _openllm_nuts}.get(
            args.child, _subsample
        )
        out = run(args)
        out["_rss"] = round(_rss_gib(), 2)
        usage = resource.getrusage(resource.RUSAGE_SELF)
        # CPU seconds (all threads): comparable across runs when other jobs share the cores.
        out["cpu_s"] = round(usage.ru_utime + usage.ru_stime, 1)
        print(json.dumps(out))
        return
    argv = ["--llms", str(args.llms), "--holdout", str(args.holdout)]
    argv += ["--seeds", str(args.seeds), "--seed", str(args.seed)]
    results = json.loads(OUT.read_text()) if OUT.exists() else {}
    for name in args.experiments or EXPERIMENTS:
        print(f"running {name} ...", flush=True)
        results[name] = _run_child(name, argv)
        used = argv if name == "subsample" else ["--seed", str(args.seed)]
        results[name]["command"] = f"python benchmarks/big_matrix.py {name} " + " ".join(used)
        results["machine"] = f"{platform.node()} {platform.machine()}, {platform.python_version()}"
        OUT.parent.mkdir(exist_ok=True)
        OUT.write_text(json.dumps(results, indent=2))
    print(_markdown(results))


if __name__ == "__main__":
    main()
