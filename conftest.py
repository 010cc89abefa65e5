"""Doctests of the package run with the mock sampler (fast, no numba compile)."""

from __future__ import annotations

import pytest
from _pytest.doctest import DoctestItem


@pytest.fixture(autouse=True)
def _doctest_mock_sampling(request):
    if isinstance(request.node, DoctestItem):
        import numpy as np

        from bayes_cpp.testing import mock_sampling

        # Prior draws are extreme (that is what the mock samples), so LOO of a
        # mock fit overflows in numpy; real fits never see such values.
        with mock_sampling(), np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            yield
    else:
        yield
