# %% [markdown]
# # Cold start: forecast an LLM the model has never seen, with 0 and with 2 known scores
#
# The CPP paper's "CPP-0" and "CPP-2" settings: hold one LLM out of the crowdsourced
# matrix, forecast it from its family and design factors alone, then condition on two of
# its real scores (no refit), and compare both to its real scores.

# %%
from __future__ import annotations

import argparse
import sys

import numpy as np

import bayes_cpp as bc

DEFAULTS = bc.BayesCPP().get_params()  # the package's sampler defaults
DESCRIPTION = "Cold start: forecast a held-out LLM with 0 and with 2 known scores (CPP-0, CPP-2)."


def main(args: argparse.Namespace) -> dict:
    data = (
        bc.datasets.load(args.dataset) if args.dataset else bc.simulate(40, 12, random_seed=1).data
    )
    target = args.llm or data.observed_counts("llm").idxmax()
    others = [n for n in data.llm_names if n != target]
    est = bc.BayesCPP(draws=args.draws, tune=args.tune, chains=args.chains, random_seed=args.seed)
    est.fit(data.select(llms=others, allow_unobserved=False))
    row = data.llms.loc[target]
    factors = {c: row[c] for c in est.llm_design_.columns}
    truth = data.scores[data.scores["llm"] == target].set_index("task")["score"]
    known = truth.iloc[: args.known].to_dict()
    rest = [t for t in truth.index if t not in known]
    out = {}
    for label, scores in (("CPP-0", None), (f"CPP-{len(known)}", known)):
        fc = est.forecast(row["family"], factors=factors, scores=scores, name=target, tasks=rest)
        mean = fc.mean(("chain", "draw")).values[0]
        lo, hi = fc.quantile([0.05, 0.95], dim=("chain", "draw")).values[:, 0, :]
        err = mean - truth[rest].to_numpy()
        cover = np.mean((truth[rest].to_numpy() >= lo) & (truth[rest].to_numpy() <= hi))
        print(
            f"{label}: {target} on {len(rest)} tasks: RMSE {np.sqrt(np.mean(err**2)):.2f}, 90% coverage {cover:.0%}"
        )
        out[label] = fc
    return out


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=DESCRIPTION)
    parser.add_argument("--dataset", default=None)
    parser.add_argument("--llm", default=None, help="LLM to hold out (default: the most evaluated)")
    parser.add_argument("--known", type=int, default=2)
    parser.add_argument("--draws", type=int, default=DEFAULTS["draws"])
    parser.add_argument("--tune", type=int, default=DEFAULTS["tune"])
    parser.add_argument("--chains", type=int, default=DEFAULTS["chains"])
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


# %%
if __name__ == "__main__":
    main(parse([] if "ipykernel" in sys.modules else None))
