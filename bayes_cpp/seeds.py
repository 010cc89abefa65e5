"""The one seed scheme: every stochastic stage draws from a child of the user's seed.

A user gives one ``random_seed``. :func:`stage_seed` splits it with
``numpy.random.SeedSequence`` into independent children, one per stage of a
fit (:data:`STAGES`); :func:`derived_seed` derives a child for a key such as a
split's fingerprint, so many fits of one evaluation run are independent and
each is reproducible on its own. Nothing here uses global random state.
"""

from __future__ import annotations

import hashlib

import numpy as np

__all__ = ["STAGES", "derived_seed", "stage_rng", "stage_seed"]

#: Stochastic stages; each gets its own child of the user's seed. New stages
#: are appended (a child's stream depends on its position only).
STAGES: tuple[str, ...] = (
    "sample",
    "prior_predictive",
    "predict",
    "forecast",
    "advi_init",
    "init",
)


def stage_seed(random_seed: int | None, stage: str) -> int:
    """The child seed of ``stage`` derived from the user's seed.

    Examples
    --------
    >>> stage_seed(1, "sample") == stage_seed(1, "sample")
    True
    >>> stage_seed(1, "sample") != stage_seed(1, "predict")
    True
    """
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}; stages are {', '.join(STAGES)}")
    seq = np.random.SeedSequence(random_seed).spawn(len(STAGES))[STAGES.index(stage)]
    return int(seq.generate_state(1, dtype=np.uint32)[0])


def stage_rng(random_seed: int | None, stage: str) -> np.random.Generator:
    """A generator seeded with :func:`stage_seed`."""
    return np.random.default_rng(stage_seed(random_seed, stage))


def derived_seed(random_seed: int, key: str) -> int:
    """A child seed of ``random_seed`` for ``key`` (a fingerprint or split label).

    Examples
    --------
    >>> derived_seed(0, "split a") == derived_seed(0, "split a") != derived_seed(0, "split b")
    True
    """
    digest = int(hashlib.sha256(key.encode()).hexdigest()[:8], 16)
    return int(np.random.SeedSequence([random_seed, digest]).generate_state(1)[0])
