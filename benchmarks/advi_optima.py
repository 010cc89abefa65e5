"""Held-out RMSE of the approximations and of NUTS on the slow suite's 40 x 12 matrix.

The numbers behind the bound in ``tests/test_slow_fit.py::
test_approximations_predict_held_out_cells`` (the same simulation, sampler settings
and held-out cells): mean-field ADVI per seed, full-rank ADVI and NUTS.

Usage (from the repository root)::

    python benchmarks/advi_optima.py --seeds 0 1 2 3
"""

from __future__ import annotations

import argparse

import numpy as np

NUTS = {"draws": 300, "tune": 300, "chains": 2, "cores": 2, "random_seed": 1}


def heldout_rmse(sim, est) -> float:
    """RMSE of the posterior mean at the simulation's held-out cells (task units)."""
    held = sim.heldout()
    mean = est.predict(kind="mean", random_seed=2).mean(("chain", "draw"))
    cells = zip(held["llm"], held["task"], strict=True)
    pred = np.array([float(mean.sel(llm=m, task=t)) for m, t in cells])
    return float(np.sqrt(np.mean((pred - held["score"].to_numpy()) ** 2)))


def main(argv: list[str] | None = None) -> None:
    import bayes_cpp as bc

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", nargs="*", type=int, default=[0, 1, 2, 3])
    args = parser.parse_args(argv)
    sim = bc.simulate(40, 12, rank=2, n_families=8, n_categories=3, density=0.5, random_seed=11)
    print(f"nuts (seed 1): {heldout_rmse(sim, bc.BayesCPP(**NUTS).fit(sim.data)):.2f}")
    for sampler, seeds in (("advi", args.seeds), ("fullrank_advi", args.seeds[:1])):
        for seed in seeds:
            est = bc.BayesCPP(sampler=sampler, draws=250, chains=2, random_seed=seed)
            print(f"{sampler} seed {seed}: {heldout_rmse(sim, est.fit(sim.data)):.2f}", flush=True)


if __name__ == "__main__":
    main()
