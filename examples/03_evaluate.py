# %% [markdown]
# # Should you trust it? The Bayesian model against the baselines on hidden cells
#
# Hides a random 5% of the observed cells (the CPP paper's Table 1 protocol), fits the
# default model and the baselines on the rest, and prints accuracy, calibration and
# ranking metrics side by side (mean ± sd over seeds). On simulated data by default;
# ``--dataset cpp-crowdsourced`` for the paper's matrix.

# %%
from __future__ import annotations

import argparse
import sys

import bayes_cpp as bc
from bayes_cpp.evaluation import evaluate
from bayes_cpp.evaluation.names import EVALUATION_SAMPLER

DESCRIPTION = "Compare the Bayesian model with the baselines on hidden cells."


def main(args: argparse.Namespace) -> bc.evaluation.EvaluationResult:
    data = (
        bc.datasets.load(args.dataset) if args.dataset else bc.simulate(40, 12, random_seed=1).data
    )
    result = evaluate(
        data,
        "random",
        methods=args.methods.split(","),
        holdout=args.holdout,
        seeds=args.seeds,
        random_seed=args.seed,
        sampler={"draws": args.draws, "tune": args.tune, "chains": args.chains},
        progress=False,
    )
    print(result.to_markdown())
    hbmf = result.cells[result.cells["method"] == "hbmf"]
    print(f"PIT histogram of hbmf (flat = calibrated): {result.pit_histogram('hbmf').tolist()}")
    print(f"{len(hbmf)} hidden cells scored per method")
    return result


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=DESCRIPTION)
    parser.add_argument("--dataset", default=None)
    parser.add_argument("--methods", default="hbmf,task-mean,additive,mf,softimpute-logit-3")
    parser.add_argument("--holdout", type=float, default=0.2)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--draws", type=int, default=EVALUATION_SAMPLER["draws"])
    parser.add_argument("--tune", type=int, default=EVALUATION_SAMPLER["tune"])
    parser.add_argument("--chains", type=int, default=EVALUATION_SAMPLER["chains"])
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


# %%
if __name__ == "__main__":
    main(parse([] if "ipykernel" in sys.modules else None))
