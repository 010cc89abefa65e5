"""Test helpers for code that fits :class:`~bayes_cpp.BayesCPP` (PyMC's mock sampler).

``with mock_sampling(): est.fit(data)`` replaces NUTS by draws from the prior
(PyMC's :func:`pymc.testing.mock_sample_setup_and_teardown`), so a pipeline's
plumbing can be tested in seconds. The numbers are prior draws, not a
posterior: never use them as results.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["mock_sampling"]


@contextmanager
def mock_sampling() -> Iterator[None]:
    """Replace ``pm.sample`` by prior draws inside the block (no compilation to numba)."""
    import pytensor
    from pymc.testing import mock_sample_setup_and_teardown

    gen = mock_sample_setup_and_teardown()
    next(gen)
    try:
        with warnings.catch_warnings(), pytensor.config.change_flags(mode="FAST_COMPILE"):
            # The mock draws from the prior predictive, which ignores the
            # automatic-imputation structure; PyMC says so with a UserWarning.
            warnings.simplefilter("ignore", UserWarning)
            yield
    finally:
        next(gen, None)
