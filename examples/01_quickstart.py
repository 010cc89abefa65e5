# %% [markdown]
# # Quickstart: fit, predict every cell, forecast a new LLM
#
# Answers *"what will a new model score, and how sure are we?"* on the CPP paper's
# crowdsourced matrix (`cpp-crowdsourced`, 72 LLMs x 29 tasks), or on simulated data
# with `--dataset simulated`. The fit goes through the fit cache
# (`bayes_cpp.fitcache`): the first run samples, later runs with the same data and
# settings load the stored fit in about a second.
#
# Run it as a script (`python examples/01_quickstart.py --help` lists the options) or
# as a notebook (`examples/notebooks/01_quickstart.ipynb`).

# %%
# %matplotlib inline
import argparse
import sys
from pathlib import Path

import bayes_cpp as bc
from bayes_cpp import plotting
from bayes_cpp.fitcache import FitCache, cached_fit
from bayes_cpp.output import summarize

DEFAULTS = bc.BayesCPP().get_params()  # the package's sampler defaults


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Quickstart: fit, predict, forecast a new LLM.")
    parser.add_argument(
        "--dataset",
        default="cpp-crowdsourced",
        help="a name from `bayes-cpp datasets`, or simulated",
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
# ## Fit the default model (or load the cached fit)


# %%
def fit(args: argparse.Namespace) -> bc.BayesCPP:
    simulated = args.dataset == "simulated"
    data = bc.simulate(40, 12, random_seed=0).data if simulated else bc.datasets.load(args.dataset)
    cache = FitCache(args.cache_dir) if args.cache_dir else None
    settings = {"draws": args.draws, "tune": args.tune, "chains": args.chains}
    return cached_fit(data, cache=cache, random_seed=args.seed, **settings)


# %% [markdown]
# ## Predict every cell, then forecast a new LLM
#
# `predict` returns labelled posterior predictive draws `(chain, draw, llm, task)` in each
# task's own units; `summarize` turns draws into mean, sd and 50%/90% interval columns.
# `forecast` places an LLM the model has never seen by its family and design factors
# (the others are imputed), without refitting.


# %%
def main(args: argparse.Namespace) -> dict:
    est = fit(args)
    print(est)
    data = est.data_
    draws = est.predict(kind="score")
    table = draws.mean(("chain", "draw")).to_pandas()
    print(table.round(1).iloc[:5, :4].to_string())
    family = data.families[0]
    forecast = est.forecast(
        family, factors={"params_b": 30.0}, kind="score", name=f"new {family} 30B"
    )
    summary = summarize(forecast.isel(llm=0, drop=True), by=["task"])
    print(f"\nA new {family} LLM with 30B parameters, 90% intervals (5% .. 95%):")
    print(summary[["task", "mean", "5%", "95%"]].round(1).head(8).to_string(index=False))
    figure = plotting.plot_forecast(forecast, title=f"A new {family} LLM with 30B parameters")
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    figure.savefig(out / "quickstart_forecast.png", dpi=100, bbox_inches="tight")
    return {"estimator": est, "forecast": forecast, "summary": summary, "figure": figure}


# %%
result = main(parse([] if "ipykernel" in sys.modules else None)) if __name__ == "__main__" else {}

# %% [markdown]
# The forecast: posterior mean (dot), 50% (thick) and 90% (thin) intervals per task.

# %%
result.get("figure")
