# %% [markdown]
# # The CPP paper's Table 1 and Table 4 settings on `cpp-crowdsourced`
#
# * **Table 1** (random holdout): hide a random 5% of the observed cells, fit every
#   method on the rest and score the hidden cells; repeated over `--seeds` splits.
#   `paper_mse` and `paper_l1` are on the paper's per-LLM-max normalised scale, so they
#   can be set next to its Table 1.
# * **Table 4** (new LLMs): hold each LLM of the paper's Table 4 out entirely (CPP-0,
#   `k = 0`) or keep 2 of its scores (CPP-2, `k = 2`), and forecast the rest.
#
# The same in two commands (the harness also writes JSON with every record):
#
# ```bash
# bayes-cpp evaluate --dataset cpp-crowdsourced --protocol random --holdout 0.05 --seeds 5
# bayes-cpp evaluate --dataset cpp-crowdsourced --protocol llm-holdout --llms paper --k 0,2
# ```

# %%
from __future__ import annotations

import argparse
import sys

import bayes_cpp as bc
from bayes_cpp.evaluation import evaluate, paper_table4_llms
from bayes_cpp.evaluation.names import EVALUATION_SAMPLER

PAPER_METRICS = ["paper_mse", "paper_l1", "rmse_unit", "coverage_90"]


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="The CPP paper's Table 1 and Table 4 settings.")
    parser.add_argument(
        "--dataset", default="cpp-crowdsourced", help="a name from `bayes-cpp datasets`"
    )
    parser.add_argument(
        "--methods",
        default="hbmf,mf-paper,scaling-law,softimpute-logit-3",
        help="methods to compare",
    )
    parser.add_argument("--seeds", type=int, default=5, help="random splits of Table 1")
    parser.add_argument(
        "--llms", default="paper", help="Table 4's held-out LLMs: paper or a comma-separated list"
    )
    parser.add_argument(
        "--draws", type=int, default=EVALUATION_SAMPLER["draws"], help="draws per chain"
    )
    parser.add_argument(
        "--tune", type=int, default=EVALUATION_SAMPLER["tune"], help="warm-up steps per chain"
    )
    parser.add_argument("--chains", type=int, default=EVALUATION_SAMPLER["chains"], help="chains")
    parser.add_argument("--seed", type=int, default=0, help="random seed of fits and predictions")
    return parser.parse_args(argv)


# %%
def table(result: bc.evaluation.EvaluationResult) -> object:
    summary = result.summary()
    summary = summary[summary["metric"].isin(PAPER_METRICS)]
    return summary.pivot_table(index=["method", "k"], columns="metric", values="mean")[
        PAPER_METRICS
    ]


def main(args: argparse.Namespace) -> dict:
    data = bc.datasets.load(args.dataset)
    common = {
        "methods": args.methods.split(","),
        "random_seed": args.seed,
        "sampler": {"draws": args.draws, "tune": args.tune, "chains": args.chains},
        "progress": False,
    }
    table1 = evaluate(data, "random", holdout=0.05, seeds=args.seeds, **common)
    print("Table 1 setting: 5% of the cells hidden at random, mean over splits")
    print(table(table1).round(4).to_string())
    llms = paper_table4_llms(data) if args.llms == "paper" else args.llms.split(",")
    table4 = evaluate(data, "llm-holdout", llms=llms, k=[0, 2], seeds=1, **common)
    print(
        f"\nTable 4 setting: {len(llms)} LLMs held out, k = 0 (CPP-0) and k = 2 (CPP-2) scores kept"
    )
    print(table(table4).round(4).to_string())
    return {"table1": table1, "table4": table4}


# %%
if __name__ == "__main__":
    main(parse([] if "ipykernel" in sys.modules else None))
