# %% [markdown]
# # Which design factors matter, for which abilities?
#
# Two views of the same question:
#
# * **Coefficients** (`bc.coefficients`, `bc.by_category`): the posterior of the fitted
#   design-factor regressions, per +1 sd of each (transformed) factor, on each LLM's bias
#   and on each latent dimension (rotation-aligned), and their combined effect on an
#   average task of each category. Cheap: read off one fit.
# * **Shapley decomposition** (`bc.shapley`, `--shapley GROUPS`): how much each group of
#   factors improves held-out predictions, with every subset of groups *refitted*
#   without the others (2^groups fits per split). Off by default: it is the expensive
#   part, for a few groups and light sampler settings.
#
# In one command: `bayes-cpp importance --dataset cpp-crowdsourced --by-category --plot importance.png`.

# %%
# %matplotlib inline
import argparse
import sys
from pathlib import Path

import bayes_cpp as bc
from bayes_cpp import plotting
from bayes_cpp.evaluation.names import EVALUATION_SAMPLER
from bayes_cpp.fitcache import FitCache, cached_fit
from bayes_cpp.importance import CPP_FEATURES, CPP_GROUPS, ShapleyResult

DEFAULTS = bc.BayesCPP().get_params()  # the package's sampler defaults


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Design-factor importance.")
    parser.add_argument(
        "--dataset", default="cpp-crowdsourced", help="a name from `bayes-cpp datasets`"
    )
    parser.add_argument("--draws", type=int, default=DEFAULTS["draws"], help="draws per chain")
    parser.add_argument(
        "--tune", type=int, default=DEFAULTS["tune"], help="warm-up steps per chain"
    )
    parser.add_argument("--chains", type=int, default=DEFAULTS["chains"], help="chains")
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    parser.add_argument(
        "--shapley",
        default=None,
        help=f"also run the Shapley decomposition over these comma-separated groups of "
        f"{list(CPP_GROUPS)} (refits 2^groups models per seed)",
    )
    parser.add_argument(
        "--shapley-seeds", type=int, default=3, help="held-out splits of the Shapley decomposition"
    )
    parser.add_argument(
        "--shapley-draws",
        type=int,
        default=EVALUATION_SAMPLER["draws"],
        help="draws per chain of each Shapley refit",
    )
    parser.add_argument(
        "--shapley-tune",
        type=int,
        default=EVALUATION_SAMPLER["tune"],
        help="warm-up of each Shapley refit",
    )
    parser.add_argument(
        "--shapley-chains",
        type=int,
        default=EVALUATION_SAMPLER["chains"],
        help="chains of each Shapley refit",
    )
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
# ## Coefficients, per factor and per task category
#
# `bias` coefficients are on the linear predictor (the logit of the chance-corrected
# score); `latent k` ones move the LLM's loading on latent dimension k. `by_category`
# combines both into the change of the linear predictor of an average task of each
# category.


# %%
def shapley(data: bc.CollaborativeData, args: argparse.Namespace) -> ShapleyResult:
    groups = {g.strip(): CPP_GROUPS[g.strip()] for g in args.shapley.split(",")}
    sampler = {
        "draws": args.shapley_draws,
        "tune": args.shapley_tune,
        "chains": args.shapley_chains,
    }
    return bc.shapley(
        data,
        groups,
        seeds=args.shapley_seeds,
        est_params={"llm_features": CPP_FEATURES, **sampler},
        random_seed=args.seed,
    )


def main(args: argparse.Namespace) -> dict:
    est = fit(args)
    coefs = bc.coefficients(est)
    per_category = bc.by_category(est)
    print("Standardized coefficients (90% intervals):")
    print(coefs.round(2).to_string(index=False))
    print("\nEffect of +1 sd of each LLM factor on an average task of each category:")
    print(per_category.round(2).to_string(index=False))
    figure = plotting.plot_importance(coefs, title="Design-factor coefficients (per +1 sd)")
    by_cat_figure = plotting.plot_importance_by_category(per_category)
    folder = Path(args.out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    figure.savefig(folder / "importance.png", dpi=90, bbox_inches="tight")
    by_cat_figure.savefig(folder / "importance_by_category.png", dpi=90, bbox_inches="tight")
    out = {"estimator": est, "coefficients": coefs, "by_category": per_category}
    out |= {"figure": figure, "by_category_figure": by_cat_figure}
    if args.shapley:
        result = shapley(est.data_, args)
        print(f"\nShapley values of held-out {result.metric} per cell (refitted subsets):")
        print(result.table.round(4).to_string(index=False))
        out["shapley"] = result
    return out


# %%
result = main(parse([] if "ipykernel" in sys.modules else None)) if __name__ == "__main__" else {}

# %%
result.get("figure")

# %%
result.get("by_category_figure")
