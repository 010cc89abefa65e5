"""Shared fixtures: a seed, small simulated data, and a mock-sampled fit."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib
import pytest
from hypothesis import settings

matplotlib.use("Agg")

# CI replays the same examples every run, so a red run means a change broke
# something rather than that a new random example turned up an old bug; hunt
# for new bugs locally on the default (random) profile with more examples
# (BAYES_CPP_FUZZ_EXAMPLES, BAYES_CPP_CLI_FUZZ_EXAMPLES).
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
settings.load_profile(os.environ.get("BAYES_CPP_HYPOTHESIS_PROFILE", "default"))

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


def with_posterior(est, **values):
    """A copy of the fitted ``est`` whose posterior variables are set to ``values``.

    Each value is broadcast to the variable's shape (a scalar or an array of
    the variable's non-sample shape), so tests can build fake posteriors with
    known answers on top of a mock fit.
    """
    import numpy as np

    from bayes_cpp import BayesCPP
    from bayes_cpp.persistence import SavedFit

    post = est.idata_["posterior"].to_dataset()
    for name, value in values.items():
        da = post[name]
        post[name] = da.copy(data=np.broadcast_to(np.asarray(value, float), da.shape).copy())
    idata = est.idata_.copy()
    idata["posterior"] = post
    record = SavedFit(
        idata=idata,
        data=est.data_,
        spec=est.spec_,
        llm_design=est.llm_design_,
        task_design=est.task_design_,
        sampler_config=est.sampler_config_,
        random_seed=est.random_seed_,
        sampler_used=est.sampler_used_,
        params=est.get_params(),
    )
    return BayesCPP.from_saved(record)
