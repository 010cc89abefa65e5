"""Where the Student-t spec mixes slowly on cpp-crowdsourced, and why.

Usage (from the repository root, about 2.5 min on 2 cores with a warm cache)::

    BAYES_CPP_DATA=../shared/data python benchmarks/robust_ridge.py

Fits ``hbmf_robust`` (4 chains x 500 + 500, seed 0) and prints the posterior of
the Student-t degrees of freedom, the r-hat and per-chain means and sds of the
smallest LLMs' biases, their posterior correlation with the bias regression slope and the
hierarchy scales, and the cells that score below their task's chance level.
"""

from __future__ import annotations

import arviz_stats as azs
import numpy as np
import pandas as pd

import bayes_cpp as bc

SMALL = ["Pythia-70M", "Gopher - 44M", "Pythia-1B"]


def below_chance(data: bc.CollaborativeData) -> pd.DataFrame:
    """Observed cells whose unit score is below the task's chance level."""
    scores = data.scores
    unit = data.unit_scores().to_numpy()
    chance = data.tasks.loc[scores["task"], "chance"].fillna(0.0).to_numpy()
    mask = unit < chance
    return scores[mask].assign(unit=unit[mask], chance=chance[mask])


def main() -> None:
    pd.set_option("display.width", 200)
    data = bc.datasets.load("cpp-crowdsourced")
    est = bc.BayesCPP("hbmf_robust", draws=500, tune=500, random_seed=0).fit(data)
    post = est.idata_["posterior"].to_dataset()
    nu = post["noise_nu"].values.ravel()
    print("noise_nu median and 90% ETI:", np.round(np.quantile(nu, [0.5, 0.05, 0.95]), 2))
    rhat = azs.rhat(est.idata_, var_names=["llm_bias"])["llm_bias"].to_series()
    print("largest r-hat of llm_bias:\n", rhat.sort_values(ascending=False).head(8).round(3))
    bias = post["llm_bias"].sel(llm=SMALL)
    print("per-chain mean of llm_bias:\n", bias.mean("draw").round(2).to_pandas())
    print("per-chain sd of llm_bias:\n", bias.std("draw").round(2).to_pandas())
    flat = {name: bias.sel(llm=name).values.ravel() for name in SMALL}
    flat["slope_log_params"] = post["llm_bias_coef"].sel(llm_feature="log_params").values.ravel()
    for name in ("llm_bias_sigma", "family_bias_sigma", "family_loading_share"):
        flat[name] = post[name].values.ravel()
    print("posterior correlations:\n", pd.DataFrame(flat).corr().round(2))
    cells = below_chance(data)
    print(f"{len(cells)} of {len(data.scores)} cells below chance")
    print(cells.groupby("task").size().to_string())
    print("Pythia cells:", int(cells["llm"].str.contains("Pythia").sum()))
    print(cells.sort_values("unit")[["llm", "task", "unit", "chance"]].head(5).to_string())


if __name__ == "__main__":
    main()
