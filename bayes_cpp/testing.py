"""Test helpers for code that fits :class:`~bayes_cpp.BayesCPP` (mock samplers).

``with mock_sampling(): est.fit(data)`` replaces NUTS by cheap random draws, so a
pipeline's plumbing can be tested in seconds: PyMC's prior draws
(:func:`pymc.testing.mock_sample_setup_and_teardown`) for the samplers that run
on the PyMC graph, and jittered points of the unconstrained space pushed
through the kernel's outputs for the default ``"nutpie"`` path. The numbers are
not a posterior: never use them as results.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["mock_sampling"]


@contextmanager
def mock_sampling() -> Iterator[None]:
    """Replace ``pm.sample`` by prior draws inside the block (no compilation to numba)."""
    import pytensor
    from pymc.testing import mock_sample_setup_and_teardown

    from bayes_cpp import inference

    gen = mock_sample_setup_and_teardown()
    next(gen)
    real = inference.run_kernel
    inference.run_kernel = _mock_run_kernel
    try:
        with warnings.catch_warnings(), pytensor.config.change_flags(mode="FAST_COMPILE"):
            # The mock draws from the prior predictive, which ignores the
            # automatic-imputation structure; PyMC says so with a UserWarning.
            warnings.simplefilter("ignore", UserWarning)
            yield
    finally:
        inference.run_kernel = real
        next(gen, None)


def _mock_run_kernel(
    data: Any, spec: Any, coords: dict, config: Any, random_seed: Any, progress: Any = None
) -> Any:
    """Jittered starting points (as NUTS would start from), expanded to named draws.

    ``progress`` (nutpie's callback) is called once, with every chain finished.
    """
    import types

    import numpy as np
    import xarray as xr

    from bayes_cpp import kernel
    from bayes_cpp.inference import initial_point
    from bayes_cpp.seeds import stage_seed

    rng = np.random.default_rng(stage_seed(random_seed, "sample"))
    chains, draws = config.chains, config.draws
    theta = np.array(
        [[initial_point(data, spec, rng) * 0.5 for _ in range(draws)] for _ in range(chains)]
    )
    values = kernel.expand(data, theta)
    all_coords = {k: list(v) for k, v in coords.items()}
    variables = {}
    for name, dims_, shape in data.outputs:
        for d, n in zip(dims_, shape, strict=True):
            all_coords.setdefault(d, list(range(n)))
        variables[name] = (("chain", "draw", *dims_), values[name])
    sample_coords = {"chain": np.arange(chains), "draw": np.arange(draws)}
    used = {d for _, d_, _ in data.outputs for d in d_}
    posterior = xr.Dataset(variables, coords={**sample_coords, **{d: all_coords[d] for d in used}})
    posterior.attrs.update({"bayes_cpp_sampler": config.sampler, "bayes_cpp_sample_seed": 0})
    stats = xr.Dataset(
        {
            "diverging": (("chain", "draw"), np.zeros((chains, draws), dtype=bool)),
            "n_steps": (("chain", "draw"), np.ones((chains, draws))),
        },
        coords=sample_coords,
    )
    if progress is not None:
        total = config.tune + config.draws
        done = types.SimpleNamespace(
            finished_draws=total, total_draws=total, divergences=0, tuning=False, started=True
        )
        progress([done] * chains)
    return xr.DataTree.from_dict({"posterior": posterior, "sample_stats": stats})
