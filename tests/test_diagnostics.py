"""Diagnostics on fake posteriors built with arviz_base.from_dict (no PyMC)."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from arviz_base import from_dict

from bayes_cpp import ConvergenceWarning, dims
from bayes_cpp.diagnostics import align_loadings, diagnose, summary

RNG = np.random.default_rng(0)
C, D, L, T, K = 4, 500, 6, 5, 2


def _posterior(shift_chain: float = 0.0) -> dict:
    def draws(*shape):
        x = RNG.normal(size=(C, D, *shape))
        x[0] += shift_chain  # one chain stuck elsewhere -> bad r-hat
        return x

    return {
        "intercept": draws(),
        "llm_bias": draws(L),
        "task_bias": draws(T),
        "llm_loading": draws(L, K),
        "task_loading": draws(T, K),
        "sigma": np.abs(draws(T)) + 0.1,
    }


def _idata(shift_chain: float = 0.0, diverging: int = 0) -> xr.DataTree:
    div = np.zeros((C, D), dtype=bool)
    div.flat[:diverging] = True
    return from_dict(
        {
            "posterior": _posterior(shift_chain),
            "sample_stats": {"diverging": div, "energy": RNG.normal(size=(C, D))},
            "constant_data": {
                "llm_index": np.array([0, 1, 2, 5]),
                "task_index": np.array([0, 4, 2, 1]),
            },
        },
        dims={
            "llm_bias": [dims.LLM],
            "task_bias": [dims.TASK],
            "llm_loading": [dims.LLM, dims.LATENT],
            "task_loading": [dims.TASK, dims.LATENT],
            "sigma": [dims.TASK],
            "llm_index": [dims.OBS],
            "task_index": [dims.OBS],
        },
    )


def test_good_posterior_is_ok():
    report = diagnose(_idata())
    assert report.ok
    assert report.max_rhat < 1.01
    assert report.min_ess_bulk > 1000
    assert report.n_divergent == 0
    assert {"eta", "llm_bias", "sigma", "loading_gram_eigenvalues"} <= set(report.table.index)
    assert report.table.loc["eta", "size"] == 4


def test_bad_posterior_warns_naming_variables():
    with pytest.warns(ConvergenceWarning, match=r"r_hat > 1.01 for .*intercept.*; .*3 divergent"):
        report = diagnose(_idata(shift_chain=3.0, diverging=3))
    assert not report.ok
    assert report.n_divergent == 3
    assert report.max_rhat > 1.1
    assert "NOT OK" in str(report)


def test_summary_uses_explicit_interval():
    table = summary(_idata(), var_names=["intercept", "sigma"])
    assert "eti90_lb" in table.columns
    assert "eti90_ub" in table.columns
    assert len(table) == 1 + T


def test_align_loadings_preserves_products():
    post = _idata()["posterior"].to_dataset()
    aligned = align_loadings(post)
    before = np.einsum("cslk,cstk->cslt", post["llm_loading"].values, post["task_loading"].values)
    after = np.einsum(
        "cslk,cstk->cslt", aligned["llm_loading"].values, aligned["task_loading"].values
    )
    np.testing.assert_allclose(before, after, atol=1e-10)
