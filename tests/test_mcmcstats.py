"""The vectorized r-hat and ESS equal arviz-stats' on every kind of quantity a fit has."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from arviz_stats.base import array_stats

from bayes_cpp._mcmcstats import TAIL_PROB, rhat_ess


def _ar1(rng, shape, phi):
    """Autocorrelated chains (AR(1) with coefficient ``phi``)."""
    noise = rng.normal(size=shape)
    out = np.empty(shape)
    out[..., 0] = noise[..., 0]
    for d in range(1, shape[-1]):
        out[..., d] = phi * out[..., d - 1] + noise[..., d]
    return out


def _quantities(rng, n_chain, n_draw):
    shape = (n_chain, n_draw)
    shifted = rng.normal(size=shape) + np.arange(n_chain)[:, None] * 0.3
    return np.stack(
        [
            rng.normal(size=shape),  # independent draws
            _ar1(rng, shape, 0.9),  # slow mixing
            _ar1(rng, shape, 0.999),  # barely mixing: Geyer's sequence runs long
            shifted,  # chains disagree: r-hat well above 1
            rng.standard_t(2.0, size=shape),  # heavy tails
            np.round(rng.normal(size=shape), 1),  # many ties
            rng.integers(0, 2, size=shape).astype(float),  # two values only
            np.full(shape, 0.25),  # constant: NaN r-hat, ESS = draw count
            np.exp(rng.normal(size=shape) * 3),  # skewed
            np.where(rng.random(shape) < 0.01, 10.0, rng.normal(size=shape)),  # outliers
        ]
    )


def _reference(x):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        rhat = array_stats.rhat(x, chain_axis=-2, draw_axis=-1, method="rank")
        bulk = array_stats.ess(x, chain_axis=-2, draw_axis=-1, method="bulk")
        tail = array_stats.ess(x, chain_axis=-2, draw_axis=-1, method="tail", prob=TAIL_PROB)
    return np.asarray(rhat, float), np.asarray(bulk, float), np.asarray(tail, float)


@pytest.mark.parametrize(("n_chain", "n_draw"), [(4, 1000), (4, 301), (2, 50), (1, 200), (3, 4)])
def test_rhat_and_ess_equal_arviz_stats(n_chain, n_draw):
    x = _quantities(np.random.default_rng(n_chain * 1000 + n_draw), n_chain, n_draw)
    ours = rhat_ess(x)
    for name, mine, theirs in zip(("rhat", "bulk", "tail"), ours, _reference(x), strict=True):
        np.testing.assert_array_equal(np.isnan(mine), np.isnan(theirs), err_msg=name)
        np.testing.assert_allclose(mine, theirs, rtol=1e-10, err_msg=name)


def test_the_checks_can_fail():
    """Disagreeing chains are flagged and slow chains have few effective draws."""
    rng = np.random.default_rng(1)
    x = _quantities(rng, 4, 1000)
    rhat, bulk, tail = rhat_ess(x)
    assert rhat[0] < 1.01 < rhat[3]
    assert bulk[1] < 400 < bulk[0]
    assert bulk[7] == tail[7] == 4000
    assert np.isnan(rhat[7])


def test_a_nan_draw_makes_only_its_quantity_nan():
    x = _quantities(np.random.default_rng(2), 4, 100)
    x[4, 2, 7] = np.nan
    rhat, bulk, tail = rhat_ess(x)
    assert np.isnan([rhat[4], bulk[4], tail[4]]).all()
    reference = _reference(np.delete(x, 4, axis=0))
    np.testing.assert_allclose(np.delete(bulk, 4), reference[1], rtol=1e-10)


def test_too_few_draws_give_nan():
    rhat, bulk, tail = rhat_ess(np.zeros((2, 4, 3)))
    assert np.isnan(np.stack([rhat, bulk, tail])).all()
