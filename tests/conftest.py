"""Shared fixtures: a seed, small simulated data, and a mock-sampled fit."""

from __future__ import annotations

import os
import warnings
from contextlib import contextmanager
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

SEED = 20240705
REPO = Path(__file__).resolve().parent.parent


def pytest_collection_modifyitems(config, items):
    # Tests that need the real data folder skip with a clear reason without it.
    if os.environ.get("BAYES_CPP_DATA"):
        return
    skip = pytest.mark.skip(reason="set BAYES_CPP_DATA to the shared data folder")
    for item in items:
        if "needs_data" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def sim():
    from bayes_cpp import simulate

    return simulate(24, 8, rank=2, n_families=5, n_categories=3, density=0.6, random_seed=SEED)


@contextmanager
def mocked_sampling():
    """Replace NUTS by prior draws (PyMC's test helper) for fast API tests."""
    import pytensor
    from pymc.testing import mock_sample_setup_and_teardown

    gen = mock_sample_setup_and_teardown()
    next(gen)
    try:
        # The mock draws from the prior; FAST_COMPILE avoids a numba compile.
        with warnings.catch_warnings(), pytensor.config.change_flags(mode="FAST_COMPILE"):
            # The mock draws from the prior predictive, which ignores the
            # automatic-imputation structure; PyMC says so.
            warnings.simplefilter("ignore", UserWarning)
            yield
    finally:
        next(gen, None)


@pytest.fixture
def mock_sampling():
    """Function-scoped :func:`mocked_sampling`."""
    with mocked_sampling():
        yield


@pytest.fixture(scope="session")
def mock_fitted(sim):
    """A BayesCPP 'fitted' with prior draws in place of NUTS (fast API tests)."""
    from bayes_cpp import BayesCPP

    with mocked_sampling():
        return BayesCPP(draws=40, tune=10, chains=2, random_seed=SEED).fit(sim.data)
