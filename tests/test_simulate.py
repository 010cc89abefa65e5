from __future__ import annotations

import numpy as np
import pytest

from bayes_cpp import DataError, simulate


def test_deterministic_and_seed_sensitive():
    a, b, c = (
        simulate(20, 6, random_seed=1),
        simulate(20, 6, random_seed=1),
        simulate(20, 6, random_seed=2),
    )
    assert a.data == b.data
    assert a.truth.equals(b.truth)
    assert a.data != c.data


def test_shapes_truth_and_consistency():
    sim = simulate(50, 12, rank=3, density=0.4, random_seed=5)
    t = sim.truth
    assert t["llm_loading"].shape == (50, 3)
    assert t["task_loading"].shape == (12, 3)
    assert int(t["observed"].sum()) == sim.data.n_observed
    wide = sim.data.to_wide().to_numpy()
    np.testing.assert_allclose(wide[t["observed"].values], t["score"].values[t["observed"].values])
    assert (sim.data.observed_counts("llm") > 0).all()
    assert (sim.data.observed_counts("task") > 0).all()
    # Chance floors hold for the true means.
    floor = sim.data.tasks["chance"].to_numpy() * 100
    assert (t["mean"].values >= floor[None, :] - 1e-9).all()
    assert len(sim.heldout()) == 50 * 12 - sim.data.n_observed


def test_long_tailed_coverage_is_uneven():
    sim = simulate(200, 20, density=0.3, coverage="long_tail", random_seed=3)
    counts = sim.data.observed_counts("llm").to_numpy()
    assert 0.25 < sim.data.density < 0.35
    assert counts.max() >= 3 * np.median(counts)
    uniform = simulate(200, 20, density=0.3, coverage="uniform", random_seed=3)
    assert uniform.data.observed_counts("llm").max() < counts.max()


def test_missing_factors_stay_missing():
    sim = simulate(100, 5, missing_factor_rate=0.2, random_seed=0)
    share = sim.data.llms["params_b"].isna().mean()
    assert 0.1 < share < 0.3
    assert not (sim.data.llms["params_b"] == 0).any()


def test_bad_arguments():
    with pytest.raises(DataError, match="density must be in"):
        simulate(10, 5, density=0)
    with pytest.raises(DataError, match="at least 2 LLMs"):
        simulate(1, 5)
