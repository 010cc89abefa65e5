# %% [markdown]
# # What to evaluate next: a budget of 10 evaluations
#
# *"Our budget allows 10 more evaluations. Which (LLM, task) cells should we run?"*
#
# `bc.recommend` ranks the untested cells by the expected reduction in posterior
# predictive uncertainty of what you care about (one LLM's full profile, the ranking of
# the LLMs on one task, or the whole matrix), from the fitted posterior without a refit
# per candidate, and picks a greedy batch: each pick accounts for what the earlier picks
# already reveal, so the expected gains shrink down the list. In one command:
#
# ```bash
# bayes-cpp next --dataset cpp-crowdsourced --budget 10 --target "llm:Llama 3 70B"
# ```

# %%
# %matplotlib inline
import argparse
import sys
from pathlib import Path

import bayes_cpp as bc
from bayes_cpp import plotting
from bayes_cpp.fitcache import FitCache, cached_fit

DEFAULTS = bc.BayesCPP().get_params()  # the package's sampler defaults


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Which cells to evaluate next.")
    parser.add_argument(
        "--dataset", default="cpp-crowdsourced", help="a name from `bayes-cpp datasets`"
    )
    parser.add_argument("--budget", type=int, default=10, help="evaluations to plan")
    parser.add_argument("--llm", default="Llama 3 70B", help="the LLM whose profile is the target")
    parser.add_argument(
        "--task", default="GSM8K(4-shot)", help="the task whose ranking is the second target"
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
# ## Three targets, three plans
#
# `expected_gain` is the expected reduction of the target's summed predictive variance
# (0-1 scale) from that evaluation, given the picks above it (for a task target: of the
# pairwise order variance of the LLMs on it); `predicted` and `predicted_sd` are
# today's forecast of the cell in task units.


# %%
def plans(est: bc.BayesCPP, args: argparse.Namespace) -> dict:
    targets = {
        f"the profile of {args.llm}": ("llm", args.llm),
        f"the ranking on {args.task}": ("task", args.task),
        "the whole matrix": "matrix",
    }
    return {what: bc.recommend(est, budget=args.budget, target=t) for what, t in targets.items()}


def main(args: argparse.Namespace) -> dict:
    est = fit(args)
    out = plans(est, args)
    for what, plan in out.items():
        print(f"\nThe {len(plan)} evaluations that most reduce the uncertainty about {what}:")
        print(
            plan.round(
                {"expected_gain": 4, "cumulative_gain": 4, "predicted": 1, "predicted_sd": 1}
            ).to_string(index=False)
        )
    observed = plotting.observed_scores(est, args.llm)
    picks = ", ".join(out[f"the profile of {args.llm}"]["task"].head(3)) + ", ..."
    figure = plotting.plot_forecast(
        est.predict([args.llm]),
        observed=observed,
        title=f"{args.llm} today ({len(observed)} scores known); run next: {picks}",
    )
    folder = Path(args.out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    figure.savefig(folder / "next_profile.png", dpi=90, bbox_inches="tight")
    return {"estimator": est, "plans": out, "figure": figure}


# %%
result = main(parse([] if "ipykernel" in sys.modules else None)) if __name__ == "__main__" else {}

# %% [markdown]
# The target LLM's current forecast: observed scores marked, intervals on every task.
# Its plan is not simply its widest intervals: the criterion counts how much a score
# would narrow *all* of the LLM's untested cells, so a task correlated with many of them
# can rank above a wider but isolated one. The three targets give three different plans.

# %%
result.get("figure")
