"""Latent positions after rotation alignment and the behavioural distance between rows."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import special_ortho_group

from bayes_cpp import DataError, SpecError, dims
from bayes_cpp.similarity import distance_draws, latent_positions, most_similar
from tests.conftest import with_posterior

LLMS = ["llm-000", "llm-003", "llm-007"]


def _rotated_copies(est, seed=0):
    """Every draw holds the same U, V, rotated by its own random orthogonal matrix."""
    post = est.idata_["posterior"]
    u0 = post[dims.LLM_SIDE.loading].isel(chain=0, draw=0).values
    v0 = post[dims.TASK_SIDE.loading].isel(chain=0, draw=0).values
    n_chain, n_draw = post.sizes["chain"], post.sizes["draw"]
    rot = special_ortho_group.rvs(u0.shape[1], size=n_chain * n_draw, random_state=seed)
    rot = rot.reshape(n_chain, n_draw, *rot.shape[-2:])
    u = np.einsum("lk,cskj->cslj", u0, rot)
    v = np.einsum("tk,cskj->cstj", v0, rot)
    bias = post[dims.LLM_SIDE.bias].isel(chain=0, draw=0).values
    task_bias = post[dims.TASK_SIDE.bias].isel(chain=0, draw=0).values
    return with_posterior(
        est,
        **{
            dims.LLM_SIDE.loading: u,
            dims.TASK_SIDE.loading: v,
            dims.LLM_SIDE.bias: bias,
            dims.TASK_SIDE.bias: task_bias,
        },
    ), (u0, v0, bias, task_bias)


def test_distance_matches_the_closed_form_and_is_symmetric(mock_fitted):
    d = {name: distance_draws(mock_fitted, name, others=LLMS) for name in LLMS}
    for a in LLMS:
        np.testing.assert_array_equal(d[a].sel(llm=a).values, 0.0)
        for b in LLMS:
            np.testing.assert_allclose(d[a].sel(llm=b), d[b].sel(llm=a), rtol=1e-12)
    post = mock_fitted.idata_["posterior"]
    i, j = 0, 3
    eta_i = post["llm_bias"].isel(llm=i) + (
        post["llm_loading"].isel(llm=i) * post["task_loading"]
    ).sum("latent")
    eta_j = post["llm_bias"].isel(llm=j) + (
        post["llm_loading"].isel(llm=j) * post["task_loading"]
    ).sum("latent")
    rms = np.sqrt(((eta_i - eta_j) ** 2).mean("task"))
    np.testing.assert_allclose(d["llm-000"].sel(llm="llm-003").values, rms.values, rtol=1e-10)


def test_distance_is_rotation_invariant(mock_fitted):
    est, (u0, v0, bias, _) = _rotated_copies(mock_fitted)
    d = distance_draws(est, "llm-000", others=["llm-005"]).values
    expected = np.sqrt(np.mean(((bias[0] - bias[5]) + (u0[0] - u0[5]) @ v0.T) ** 2))
    np.testing.assert_allclose(d, expected, rtol=1e-10)


def test_latent_positions_undo_the_rotation(mock_fitted):
    est, (u0, _, _, _) = _rotated_copies(mock_fitted)
    table = latent_positions(est)
    k = u0.shape[1]
    assert list(table.columns) == [
        "name",
        "group",
        *[f"{p}_{i}" for p in ("latent", "sd", "lower", "upper") for i in range(1, k + 1)],
    ]
    assert table["name"].tolist() == est.data_.llm_names
    assert table["group"].tolist() == est.data_.llms["family"].tolist()
    # Aligned draws coincide, so the posterior sd vanishes and the means are
    # U0 up to one common orthogonal matrix (same Gram matrix).
    assert table[[f"sd_{i}" for i in range(1, k + 1)]].to_numpy().max() < 1e-8
    means = table[[f"latent_{i}" for i in range(1, k + 1)]].to_numpy()
    np.testing.assert_allclose(means @ means.T, u0 @ u0.T, atol=1e-8)
    tasks = latent_positions(est, "task")
    assert tasks["group"].tolist() == est.data_.tasks["category"].tolist()


def test_latent_interval_brackets_the_mean(mock_fitted):
    table = latent_positions(mock_fitted, ci_prob=0.5)
    assert (table["lower_1"] <= table["latent_1"]).all()
    assert (table["latent_1"] <= table["upper_1"]).all()


def test_most_similar_ranks_by_posterior_mean_distance(mock_fitted):
    table = most_similar(mock_fitted, "llm-002", n=4)
    assert list(table.columns) == ["name", "group", "distance", "lower", "upper"]
    assert len(table) == 4
    assert "llm-002" not in set(table["name"])
    assert table["distance"].is_monotonic_increasing
    full = distance_draws(mock_fitted, "llm-002").mean(("chain", "draw"))
    best = full.drop_sel(llm="llm-002").sortby(full.drop_sel(llm="llm-002"))
    assert table["name"].tolist() == best["llm"].values[:4].tolist()
    assert (table["lower"] <= table["distance"]).all()
    assert (table["distance"] <= table["upper"]).all()
    tasks = most_similar(mock_fitted, "task-01", side="task", n=2)
    assert len(tasks) == 2
    assert set(tasks["group"]) <= set(mock_fitted.data_.categories)


def test_unknown_names_and_bad_arguments(mock_fitted):
    with pytest.raises(DataError, match="unknown LLM 'llm-0001'"):
        most_similar(mock_fitted, "llm-0001")
    with pytest.raises(SpecError, match="side must be"):
        most_similar(mock_fitted, "llm-000", side="model")  # type: ignore[arg-type]
    with pytest.raises(SpecError, match="positive integer"):
        most_similar(mock_fitted, "llm-000", n=0)


def test_rank_zero_has_no_latent_positions(sim, mock_sampling):
    from bayes_cpp import BayesCPP

    est = BayesCPP("factors_only", draws=20, tune=10, chains=1, random_seed=0).fit(sim.data)
    with pytest.raises(SpecError, match="rank 0"):
        latent_positions(est)
    # Biases alone still give a distance: |a_i - a_j|.
    d = distance_draws(est, "llm-000", others=["llm-001"]).values.ravel()
    bias = est.idata_["posterior"]["llm_bias"].values.reshape(-1, est.data_.n_llms)
    np.testing.assert_allclose(d, np.abs(bias[:, 0] - bias[:, 1]))
