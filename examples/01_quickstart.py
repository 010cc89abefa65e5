"""Quickstart: fit the default model to data, predict every cell, forecast a new LLM.

Answers "what will a new model score, and how sure are we?" on simulated data (or a
named dataset with --dataset).
"""

from __future__ import annotations

import argparse

import bayes_cpp as bc


def main(args: argparse.Namespace) -> dict:
    data = (
        bc.datasets.load(args.dataset) if args.dataset else bc.simulate(40, 12, random_seed=0).data
    )
    est = bc.BayesCPP(draws=args.draws, tune=args.tune, chains=args.chains, random_seed=args.seed)
    est.fit(data)
    print(est)
    draws = est.predict(kind="score")
    table = draws.mean(("chain", "draw")).to_pandas()
    print(table.round(1).iloc[:5, :6])
    family = data.families[0]
    forecast = est.forecast(family, factors={"params_b": 30.0}, kind="score")
    lo, hi = forecast.quantile([0.05, 0.95], dim=("chain", "draw")).values[:, 0, :]
    for task, a, b in list(zip(data.task_names, lo, hi, strict=True))[:5]:
        print(f"new {family} LLM, {task}: 90% interval {a:.1f} .. {b:.1f}")
    return {"estimator": est, "forecast": forecast}


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dataset", default=None, help="a name from `bayes-cpp datasets`")
    parser.add_argument("--draws", type=int, default=500)
    parser.add_argument("--tune", type=int, default=500)
    parser.add_argument("--chains", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


if __name__ == "__main__":
    main(parse())
