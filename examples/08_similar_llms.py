# %% [markdown]
# # Which LLMs behave alike?
#
# LLMs are placed by their posterior latent rows (rotation-aligned across draws, with
# uncertainty), coloured by family; `bc.most_similar` lists the nearest LLMs by posterior
# behavioural distance (root mean square difference of the linear predictors over the
# tasks), and the same works for tasks. In one command:
#
# ```bash
# bayes-cpp similar "Llama 3 70B" --dataset cpp-crowdsourced -n 5 --plot latent.png
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
    parser = argparse.ArgumentParser(description="Similar LLMs and tasks.")
    parser.add_argument(
        "--dataset", default="cpp-crowdsourced", help="a name from `bayes-cpp datasets`"
    )
    parser.add_argument("--llm", default="Llama 3 70B", help="the LLM to compare")
    parser.add_argument("--task", default="MMLU(5-shot)", help="the task to compare")
    parser.add_argument("-n", type=int, default=5, help="how many neighbours to list")
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
# ## Nearest LLMs, nearest tasks, and the latent map


# %%
def main(args: argparse.Namespace) -> dict:
    est = fit(args)
    near = bc.most_similar(est, args.llm, n=args.n)
    near_tasks = bc.most_similar(est, args.task, side="task", n=args.n)
    positions = bc.latent_positions(est)
    print(
        f"The {args.n} LLMs that behave most like {args.llm} (distance on the logit scale, 90% intervals):"
    )
    print(near.round(2).to_string(index=False))
    print(f"\nThe {args.n} tasks that behave most like {args.task}:")
    print(near_tasks.round(2).to_string(index=False))
    figure = plotting.plot_latent_map(
        positions,
        highlight=[args.llm, *near["name"]],
        title=f"LLMs by latent position; {args.llm} and its {args.n} nearest labelled",
    )
    folder = Path(args.out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    figure.savefig(folder / "latent_map.png", dpi=90, bbox_inches="tight")
    return {
        "estimator": est,
        "similar": near,
        "similar_tasks": near_tasks,
        "positions": positions,
        "figure": figure,
    }


# %%
result = main(parse([] if "ipykernel" in sys.modules else None)) if __name__ == "__main__" else {}

# %%
result.get("figure")
