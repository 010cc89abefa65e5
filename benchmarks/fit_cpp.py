"""Time and diagnose the default fit on a named dataset.

Usage (cold cache: point PYTENSOR_FLAGS at an empty folder; warm: run twice):

    BAYES_CPP_DATA=../shared/data PYTENSOR_FLAGS=base_compiledir=/tmp/pt-cold \
        python benchmarks/fit_cpp.py --dataset cpp-crowdsourced --json out.json
"""

from __future__ import annotations

import argparse
import json
import platform
import time
import warnings

import bayes_cpp as bc


def main(args: argparse.Namespace) -> dict:
    data = bc.datasets.load(args.dataset)
    est = bc.BayesCPP(args.spec, rank=args.rank, random_seed=args.seed)
    if args.draws:
        est.set_params(draws=args.draws, tune=args.draws)
    start = time.perf_counter()
    est.fit(data)
    wall = time.perf_counter() - start
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = est.diagnose(warn=False)
    stats = est.idata_["sample_stats"].to_dataset()
    # Forecast cost: a held-in LLM re-forecast from its design and two scores
    # (conditioning per posterior draw, no refit).
    target = data.observed_counts("llm").idxmax()
    row = data.llms.loc[target]
    two = data.scores[data.scores["llm"] == target].head(2).set_index("task")["score"].to_dict()
    factors = {c: row[c] for c in est.llm_design_.columns}
    t0 = time.perf_counter()
    est.forecast(row["family"], factors=factors, scores=two, name="again")
    forecast_seconds = time.perf_counter() - t0
    result = {
        "dataset": args.dataset,
        "spec": est.spec_.name,
        "rank": est.spec_.rank,
        "sampler": est.sampler_used_,
        "chains": est.chains,
        "draws": est.draws,
        "tune": est.tune,
        "seed": args.seed,
        "wall_seconds": round(wall, 1),
        "sampling_seconds": est.idata_["posterior"].attrs.get("bayes_cpp_wall_seconds"),
        "forecast_seconds_2_scores": round(forecast_seconds, 2),
        "mean_leapfrog_steps": round(float(stats["n_steps"].mean()), 1)
        if "n_steps" in stats
        else None,
        "ok": report.ok,
        "max_rhat": round(report.max_rhat, 4),
        "min_ess_bulk": round(report.min_ess_bulk, 1),
        "min_ess_tail": round(report.min_ess_tail, 1),
        "n_divergent": report.n_divergent,
        "min_bfmi": round(report.min_bfmi, 3),
        "worst": report.table.sort_values("min_ess_bulk").head(6).round(4).to_dict(orient="index"),
        "machine": f"{platform.machine()}, {platform.python_version()}",
        "bayes_cpp": bc.__version__,
    }
    print(json.dumps(result, indent=2))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(result, fh, indent=2)
    return result


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="cpp-crowdsourced")
    parser.add_argument("--spec", default="hbmf")
    parser.add_argument("--rank", type=int, default=None, help="override the spec's rank")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--draws", type=int, default=None, help="draws = tune (default: estimator's)"
    )
    parser.add_argument("--json", default=None)
    return parser.parse_args(argv)


if __name__ == "__main__":
    main(parse())
