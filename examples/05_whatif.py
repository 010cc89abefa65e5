# %% [markdown]
# # What if: a planned LLM with 2x tokens or 2x parameters
#
# *"We plan a 30B model on 4T tokens in family X. What should we expect, and how does
# that change with 2x tokens or 2x parameters?"*
#
# `bc.forecast_curve` forecasts the planned LLM at several values of one design factor,
# the others held fixed, with the same random numbers at every value (so the curve's
# shape is the factor's effect, not Monte Carlo noise). In one command:
#
# ```bash
# bayes-cpp whatif --dataset cpp-crowdsourced --family LLama-2 --factor params_b=30 \
#     --factor tokens_b=4000 --vary tokens_b --times 0.5,1,2,4 --plot whatif.png
# ```

# %%
# %matplotlib inline
import argparse
import sys
from pathlib import Path

import pandas as pd

import bayes_cpp as bc
from bayes_cpp import plotting
from bayes_cpp.fitcache import FitCache, cached_fit

DEFAULTS = bc.BayesCPP().get_params()  # the package's sampler defaults
TASKS = ["MMLU(5-shot)", "GSM8K(4-shot)", "HumanEval(pass@1)", "TriviaQA(5-shot)"]


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="What-if curves over training tokens.")
    parser.add_argument(
        "--dataset", default="cpp-crowdsourced", help="a name from `bayes-cpp datasets`"
    )
    parser.add_argument("--family", default="LLama-2", help="the planned LLM's family")
    parser.add_argument("--params-b", type=float, default=30.0, help="planned parameters, billions")
    parser.add_argument(
        "--tokens-b", type=float, default=4000.0, help="planned training tokens, billions"
    )
    parser.add_argument("--draws", type=int, default=DEFAULTS["draws"], help="draws per chain")
    parser.add_argument(
        "--tune", type=int, default=DEFAULTS["tune"], help="warm-up steps per chain"
    )
    parser.add_argument("--chains", type=int, default=DEFAULTS["chains"], help="chains")
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    parser.add_argument(
        "--cache-dir", default=None, help="fit cache folder (default: the user cache)"
    )
    parser.add_argument("--out-dir", default="examples/output", help="where figures are saved")
    return parser.parse_args(argv)


# %%
def fit(args: argparse.Namespace) -> bc.BayesCPP:
    data = bc.datasets.load(args.dataset)
    cache = FitCache(args.cache_dir) if args.cache_dir else None
    settings = {"draws": args.draws, "tune": args.tune, "chains": args.chains}
    return cached_fit(data, cache=cache, random_seed=args.seed, **settings)


# %% [markdown]
# ## Curves over training tokens, and the plan next to 2x tokens and 2x parameters
#
# `kind="mean"` (the default of `forecast_curve`) is the model's expected score: the
# bands are the uncertainty about the LLM, without a single evaluation's noise.


# %%
def whatif(est: bc.BayesCPP, args: argparse.Namespace) -> tuple[object, pd.DataFrame]:
    plan = {"params_b": args.params_b, "tokens_b": args.tokens_b}
    tokens = [args.tokens_b * m for m in (0.5, 1, 2, 4)]
    curve = bc.forecast_curve(
        est, args.family, factors=plan, vary="tokens_b", values=tokens, tasks=TASKS
    )
    bigger = bc.forecast_curve(
        est,
        args.family,
        factors=plan,
        vary="params_b",
        values=[args.params_b, 2 * args.params_b],
        tasks=TASKS,
    )
    tok = bc.curve_summary(curve)
    par = bc.curve_summary(bigger)
    rows = {
        "plan": tok[tok["value"] == args.tokens_b],
        "2x tokens": tok[tok["value"] == 2 * args.tokens_b],
        "2x params": par[par["value"] == 2 * args.params_b],
    }
    table = pd.concat(
        [r.drop(columns="value").assign(design=k) for k, r in rows.items()], ignore_index=True
    )
    table["design"] = pd.Categorical(table["design"], categories=list(rows), ordered=True)
    table = table.sort_values(["task", "design"], kind="stable", ignore_index=True)
    return curve, table[["task", "design", "mean", "5%", "25%", "75%", "95%"]]


def main(args: argparse.Namespace) -> dict:
    est = fit(args)
    curve, table = whatif(est, args)
    print(
        f"A planned {args.family} LLM, {args.params_b:g}B parameters on {args.tokens_b:g}B tokens "
        "(expected score, task units; 50% band 25%..75%, 90% band 5%..95%):"
    )
    print(table.round(1).to_string(index=False))
    figure = plotting.plot_whatif(
        curve,
        reference=args.tokens_b,
        title=f"Planned {args.family} {args.params_b:g}B: more or fewer tokens",
    )
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    figure.savefig(out / "whatif.png", dpi=90, bbox_inches="tight")
    return {"estimator": est, "curve": curve, "table": table, "figure": figure}


# %%
result = main(parse([] if "ipykernel" in sys.modules else None)) if __name__ == "__main__" else {}

# %%
result.get("figure")
