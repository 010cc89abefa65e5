"""PSIS-LOO inputs: the pointwise log-likelihood from the model's equations."""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytest
import xarray as xr

from bayes_cpp import dims
from bayes_cpp.model_selection import loo, pointwise_log_likelihood


@pytest.mark.slow  # compiles the PyMC graph's log-likelihood (30 s with a cold cache)
def test_pointwise_log_likelihood_equals_pymc(mock_fitted):
    """The equations' per-cell log-likelihood is PyMC's, draw by draw and cell by cell."""
    ll = pointwise_log_likelihood(mock_fitted)
    model = mock_fitted.build_model(mock_fitted.data_)
    # PyMC cannot convert a model with custom initial values (the rotation
    # anchors start at 1); they do not enter the log-likelihood.
    model.rvs_to_initial_values = dict.fromkeys(model.rvs_to_initial_values)
    posterior = mock_fitted.idata_["posterior"].to_dataset()
    free = [rv.name for rv in model.free_RVs]
    tree = xr.DataTree.from_dict(
        {"posterior": posterior[[v for v in posterior.data_vars if v in set(free)]]}
    )
    ref = pm.compute_log_likelihood(
        tree,
        var_names=[dims.SCORE],
        model=model,
        extend_inferencedata=False,
        progressbar=False,
    )[dims.SCORE]
    assert ll.dims == ("chain", "draw", dims.OBS)
    assert ll.shape == ref.shape
    np.testing.assert_allclose(ll.to_numpy(), ref.to_numpy(), rtol=1e-9, atol=1e-9)


def test_loo_runs_on_a_kernel_fit(mock_fitted):
    """LOO works for fits without a PyMC graph and adds the group once."""
    import copy

    est = copy.deepcopy(mock_fitted)
    result = loo(est)
    assert "log_likelihood" in est.idata_.children
    assert np.isfinite(result.elpd)
    n_obs = est.data_.n_observed
    assert est.idata_["log_likelihood"][dims.SCORE].sizes[dims.OBS] == n_obs
    again = loo(est)
    assert again.elpd == pytest.approx(result.elpd)
