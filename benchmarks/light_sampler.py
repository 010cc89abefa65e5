"""Sampler variants for the evaluation harness's light fits, on its worst splits.

The harness fits hbmf with 2 chains x 500 draws after 500 tuning steps. On the
obsscaling random 20% splits with seeds 7 and 4 those fits had max r-hat near 1.11.
This refits those splits with more tuning and with a higher target_accept and
prints, per fit, the diagnostics next to the predictive scores of the split.

Usage::

    BAYES_CPP_DATA=../shared/data python benchmarks/light_sampler.py             # all
    BAYES_CPP_DATA=../shared/data python benchmarks/light_sampler.py ta95        # one
"""

from __future__ import annotations

import json
import sys

from bayes_cpp import datasets
from bayes_cpp.evaluation import evaluate

CASES = [("obsscaling", 0.2, [7, 4])]
VARIANTS = {
    "harness": {},
    "t1000": {"tune": 1000},
    "ta95": {"target_accept": 0.95},
}


def main(names: list[str]) -> None:
    for dataset, holdout, seeds in CASES:
        data = datasets.load(dataset)
        for name in names or list(VARIANTS):
            result = evaluate(
                data,
                "random",
                methods=["hbmf"],
                holdout=holdout,
                seeds=seeds,
                sampler=VARIANTS[name],
                progress=False,
            )
            for fit in result.fits.itertuples():
                scores = result.scores[result.scores["split"] == fit.split]
                metric = scores.set_index("metric")["value"]
                record = {
                    "dataset": dataset,
                    "split": fit.split,
                    "variant": name,
                    "seconds": fit.seconds,
                    "max_rhat": fit.max_rhat,
                    "min_ess_bulk": fit.min_ess_bulk,
                    "divergences": fit.n_divergent,
                    "rmse_unit": round(float(metric["rmse_unit"]), 4),
                    "coverage_90": round(float(metric["coverage_90"]), 3),
                    "lpd": round(float(metric["lpd"]), 3),
                }
                print(json.dumps(record), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
