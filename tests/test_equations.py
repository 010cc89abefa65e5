"""The model's equations: noise sd, likelihood, link, unit scale; numpy and PyTensor agree."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from bayes_cpp import equations
from bayes_cpp.equations import cell_loglik, cell_sd, pointwise_loglik


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


def test_pointwise_loglik_matches_scipy_cell_by_cell_in_the_tails():
    rng = np.random.default_rng(1)
    mean = rng.uniform(0.0, 1.0, (5, 40))
    sd = rng.uniform(0.002, 0.2, (5, 40))
    y = rng.uniform(0.0, 1.0, 40)  # residuals up to ~500 sds
    got = pointwise_loglik(y[None, :], mean, sd, None)
    np.testing.assert_allclose(got, stats.norm.logpdf(y, mean, sd), rtol=1e-12)
    nu = np.array([1.5, 3.0, 7.0, 50.0, 1e4])
    got_t = pointwise_loglik(y[None, :], mean, sd, nu)
    np.testing.assert_allclose(got_t, stats.t.logpdf(y, nu[:, None], mean, sd), rtol=1e-10)


def test_numpy_and_pytensor_versions_agree():
    import pytensor.tensor as pt

    from bayes_cpp.equations import link, task_sigma, tensor_math

    rng = np.random.default_rng(1)
    eta, chance = rng.normal(0, 3, 50), rng.uniform(0, 0.5, 50)
    tm = tensor_math()
    np.testing.assert_allclose(
        link(pt.as_tensor(eta), pt.as_tensor(chance), tm).eval(), link(eta, chance), rtol=1e-12
    )
    mu, s, z = -3.0, 0.4, rng.normal(size=50)
    np.testing.assert_allclose(
        task_sigma(pt.as_tensor(mu + s * z), 0.005, tm).eval(),
        task_sigma(mu + s * z, 0.005),
        rtol=1e-12,
    )
    # The link's range: chance at eta -> -inf, 1 at +inf.
    assert link(-50.0, 0.25) == pytest.approx(0.25)
    assert link(50.0, 0.25) == pytest.approx(1.0)


def test_unit_conversion_round_trips_and_flips():
    from bayes_cpp.equations import from_unit, to_unit

    values = np.array([0.0, 12.5, 100.0])
    up = np.array([True, False, True])
    p = to_unit(values, 0.0, 100.0, up)
    np.testing.assert_allclose(p, [0.0, 0.875, 1.0])
    np.testing.assert_allclose(from_unit(p, 0.0, 100.0, up), values)


def test_numpy_sigmoid_equals_scipy_expit_over_the_whole_range():
    from scipy.special import expit

    x = np.concatenate([np.linspace(-800.0, 800.0, 20001), [0.0, -0.0, 1e-300, -1e-300]])
    got = equations.NUMPY.sigmoid(x)
    # Equal to an ulp or two; below 1e-300 both are subnormal and may differ there.
    np.testing.assert_allclose(got, expit(x), rtol=4e-16, atol=1e-300)
    assert got[0] == expit(-800.0) == 0.0
    assert got.max() == 1.0
    assert float(equations.NUMPY.sigmoid(np.float64(-30.0))) == pytest.approx(
        expit(-30.0), rel=1e-15
    )
