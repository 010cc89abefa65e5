"""Shared fixtures: a seed, small simulated data, and a mock-sampled fit."""

from __future__ import annotations

import os
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


def mocked_sampling():
    """Replace NUTS by prior draws (PyMC's test helper) for fast API tests."""
    from bayes_cpp.testing import mock_sampling

    return mock_sampling()


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
