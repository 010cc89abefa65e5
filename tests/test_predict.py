"""The numpy predictor's noise model: per-cell sds and the newcomer likelihood."""

from __future__ import annotations

import numpy as np
from scipy import stats

from bayes_cpp.predict import cell_loglik, cell_sd


def test_cell_sd_constant_and_binomial():
    import pytensor.tensor as pt

    sigma, mean = np.array([0.1, 0.1, 0.1, 0.1]), np.array([0.0, 0.02, 0.5, 1.0])
    assert np.array_equal(cell_sd(sigma, mean, 0.01, "constant"), sigma)
    sd = cell_sd(sigma, mean, 0.01, "binomial")
    # sigma is the sd at m = 0.5; the floor is what is left at the bounds.
    expected_02 = np.sqrt(0.01**2 + (0.1**2 - 0.01**2) * 4 * 0.02 * 0.98)
    np.testing.assert_allclose(sd, [0.01, expected_02, 0.1, 0.01])
    symbolic = cell_sd(pt.as_tensor(sigma), pt.as_tensor(mean), 0.01, "binomial").eval()
    np.testing.assert_allclose(symbolic, sd)


def test_cell_loglik_matches_scipy_with_the_scale_term():
    rng = np.random.default_rng(0)
    mean = rng.uniform(0.05, 0.95, (4, 3))
    sd = rng.uniform(0.01, 0.1, (4, 3))
    y = np.array([0.2, 0.5, 0.9])
    expected = stats.norm.logpdf(y, mean, sd).sum(axis=1)
    np.testing.assert_allclose(cell_loglik(y[None, :], mean, sd, None), expected)
    nu = np.array([3.0, 5.0, 10.0, 30.0])
    expected_t = stats.t.logpdf(y, nu[:, None], mean, sd).sum(axis=1)
    np.testing.assert_allclose(cell_loglik(y[None, :], mean, sd, nu), expected_t)
