"""Per-LLM fit quality of one default-settings fit, and the scalars the spec learned.

Fits ``--spec`` to ``--dataset`` with one seed and prints, per LLM, the posterior mean
of the squared standardized residual of its own cells, ``((y - m) / sd)^2`` (about 1
for every LLM if one noise level per task suits them all), and the posterior summary
of the spec's extra scalars (``chance_share``, ``llm_noise_sigma``) where it has them.

Usage (from the repository root)::

    BAYES_CPP_DATA=../shared/data python benchmarks/inspect_fit.py --seed 1
    BAYES_CPP_DATA=../shared/data python benchmarks/inspect_fit.py --spec hbmf_chance_share --seed 0
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np


def main(argv: list[str] | None = None) -> int:
    from bayes_cpp import BayesCPP, datasets, dims

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="cpp-crowdsourced")
    parser.add_argument("--spec", default="hbmf")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--show", nargs="*", default=[], help="LLMs to list (default: extremes)")
    args = parser.parse_args(argv)

    data = datasets.load(args.dataset)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = BayesCPP(args.spec, random_seed=args.seed).fit(data)
    report = est.diagnose(warn=False)
    print(
        f"{args.spec} on {args.dataset}, seed {args.seed}: max r-hat {report.max_rhat:.4f}, "
        f"min bulk ESS {report.min_ess_bulk:.0f}, {report.n_divergent} divergences"
    )
    scores = data.scores
    predictor = est.predictor_
    mean, sd = predictor.pairs(
        est.positions(dims.LLM, list(scores["llm"])),  # type: ignore[arg-type]
        est.positions(dims.TASK, list(scores["task"])),  # type: ignore[arg-type]
        np.random.default_rng(0),
    )
    z2 = (((data.unit_scores().to_numpy()[None, :] - mean) / sd) ** 2).mean(axis=0)
    by_llm = scores.assign(z2=z2).groupby("llm")["z2"].agg(["size", "mean"]).sort_values("mean")
    print(
        f"mean squared standardized residual per LLM: min {by_llm['mean'].min():.2f}, "
        f"mean {by_llm['mean'].mean():.2f}, max {by_llm['mean'].max():.2f} "
        f"over {len(by_llm)} LLMs"
    )
    shown = by_llm.loc[[n for n in args.show if n in by_llm.index]] if args.show else None
    if shown is None:
        shown = by_llm.iloc[np.r_[0:3, len(by_llm) - 6 : len(by_llm)]]
    print(shown.rename(columns={"size": "cells", "mean": "mean z^2"}).round(2).to_string())
    post = est.idata_["posterior"]
    for name in (dims.CHANCE_SHARE, dims.LLM_NOISE_SIGMA):
        if name in post:
            x = post[name].to_numpy().ravel()
            lo, hi = np.quantile(x, [0.05, 0.95])
            print(f"{name}: mean {x.mean():.3f}, sd {x.std():.3f}, 90% {lo:.3f} to {hi:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
