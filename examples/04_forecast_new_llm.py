# %% [markdown]
# # Forecast a new LLM from its design and two known scores
#
# *"I trained a new model: here are its size, training tokens and family, and its scores
# on two cheap benchmarks. What will it score on the rest, with 90% intervals?"*
#
# The default model is fitted to `cpp-crowdsourced` once (the fit cache keeps it); the
# new LLM is then placed by its family and design factors and conditioned on its known
# scores without a refit. The same in one command:
#
# ```bash
# bayes-cpp forecast --dataset cpp-crowdsourced --family LLama-3 --factor params_b=30 \
#     --factor tokens_b=15000 --score "MMLU(5-shot)=73" --score "HellaSwag(10-shot)=85" \
#     --plot forecast.png
# ```

# %%
# %matplotlib inline
import argparse
import sys
from pathlib import Path

import bayes_cpp as bc
from bayes_cpp import plotting
from bayes_cpp.fitcache import FitCache, cached_fit
from bayes_cpp.newcomers import parse_assignments
from bayes_cpp.output import summarize

DEFAULTS = bc.BayesCPP().get_params()  # the package's sampler defaults
KNOWN = ["MMLU(5-shot)=73", "HellaSwag(10-shot)=85"]


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Forecast a new LLM with known scores.")
    parser.add_argument(
        "--dataset", default="cpp-crowdsourced", help="a name from `bayes-cpp datasets`"
    )
    parser.add_argument("--family", default="LLama-3", help="the new LLM's family")
    parser.add_argument("--params-b", type=float, default=30.0, help="parameters, billions")
    parser.add_argument("--tokens-b", type=float, default=15000.0, help="training tokens, billions")
    parser.add_argument(
        "--score", action="append", help=f"a known score TASK=VALUE (default: {KNOWN})"
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


# %% [markdown]
# ## The fit (sampled once, then loaded from the fit cache)


# %%
def fit(args: argparse.Namespace) -> bc.BayesCPP:
    data = bc.datasets.load(args.dataset)
    cache = FitCache(args.cache_dir) if args.cache_dir else None
    settings = {"draws": args.draws, "tune": args.tune, "chains": args.chains}
    return cached_fit(data, cache=cache, random_seed=args.seed, **settings)


# %% [markdown]
# ## The forecast
#
# `forecast` returns posterior predictive draws of a new evaluation's score
# `(chain, draw, llm, task)`; the table keeps the mean and the 50% (25%..75%) and 90%
# (5%..95%) equal-tailed intervals. The two known scores are shown next to their
# forecasts: conditioning pulls those tasks to the measured value, and the other tasks
# move with them through the learnt correlations between tasks.


# %%
def forecast(est: bc.BayesCPP, args: argparse.Namespace) -> tuple:
    known = parse_assignments(args.score or KNOWN, "--score")
    factors = {"params_b": args.params_b, "tokens_b": args.tokens_b}
    name = f"new {args.family} {args.params_b:g}B"
    draws = est.forecast(args.family, factors=factors, scores=known, name=name)
    table = summarize(draws.isel(llm=0, drop=True), by=["task"])
    table.insert(1, "known", table["task"].map(known))
    return draws, table.sort_values("mean", ascending=False, ignore_index=True), known


def main(args: argparse.Namespace) -> dict:
    est = fit(args)
    draws, table, known = forecast(est, args)
    print(
        f"Forecast for a new {args.family} LLM ({args.params_b:g}B parameters, "
        f"{args.tokens_b:g}B tokens) given {len(known)} known scores, task units:"
    )
    print(table.drop(columns="sd").round(1).to_string(index=False))
    figure = plotting.plot_forecast(
        draws, observed=known, title=f"{draws.llm.item()}: forecast given {len(known)} known scores"
    )
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    figure.savefig(out / "forecast.png", dpi=90, bbox_inches="tight")
    return {"estimator": est, "forecast": draws, "table": table, "figure": figure}


# %%
result = main(parse([] if "ipykernel" in sys.modules else None)) if __name__ == "__main__" else {}

# %% [markdown]
# Posterior mean (dot), 50% and 90% intervals per task; the known scores are marked.

# %%
result.get("figure")
