"""Reuse fits: a folder of saved fits keyed by everything that determines them.

A fit is a function of the data, the resolved spec, the sampler settings, the
seed and the code that samples. :func:`fit_key` hashes all of them (the
data by content, not by file name or dataset label; the package version and
a fingerprint of the modules that define the model's density, so a changed
model is never answered from an old fit; the versions of nutpie and numpy),
and :class:`FitCache` stores one :mod:`bayes_cpp.persistence` file per key
(netCDF, checksummed, written atomically) in ``<cache>/fits``, where
``<cache>`` is the folder :func:`bayes_cpp.datasets.cache_dir` uses for
downloads (``$BAYES_CPP_CACHE`` or the user cache folder).

:func:`cached_fit` is the one-call form: the first call fits and stores, the
next ones with the same inputs load the file (about a second instead of a
minute). A damaged or unreadable entry is treated as missing, deleted and
refitted. A fit without a seed is never cached (it could not be reproduced).

Examples
--------
>>> import tempfile
>>> import bayes_cpp as bc
>>> from bayes_cpp.fitcache import FitCache, cached_fit
>>> sim = bc.simulate(20, 6, random_seed=0)
>>> cache = FitCache(tempfile.mkdtemp())
>>> est = cached_fit(sim.data, draws=50, tune=50, chains=2, random_seed=0, cache=cache)
>>> again = cached_fit(sim.data, draws=50, tune=50, chains=2, random_seed=0, cache=cache)
>>> cache.last_reused, len(cache.entries())
(True, 1)
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from bayes_cpp._version import __version__
from bayes_cpp.data import CollaborativeData
from bayes_cpp.datasets._fetch import cache_dir
from bayes_cpp.estimator import BayesCPP
from bayes_cpp.exceptions import IncompatibleFileError
from bayes_cpp.persistence import array_checksums

__all__ = ["FitCache", "cached_fit", "data_fingerprint", "fit_key"]

#: Modules whose source defines the sampled density or its inputs: a change to
#: any of them changes the key (an editable install never reuses a stale fit).
_MODEL_MODULES = (
    "data.py",
    "equations.py",
    "estimator.py",
    "features.py",
    "graph.py",
    "inference.py",
    "inputs.py",
    "kernel.py",
    "spec.py",
)
#: Libraries whose version changes the draws of the same seed.
_LIBRARIES = ("nutpie", "numpy")


def data_fingerprint(data: CollaborativeData) -> str:
    """sha256 of a dataset's content: scores, tables and their column order (not its name).

    Examples
    --------
    >>> import bayes_cpp as bc
    >>> a = bc.simulate(10, 4, random_seed=0).data
    >>> data_fingerprint(a) == data_fingerprint(bc.simulate(10, 4, random_seed=0).data)
    True
    >>> data_fingerprint(a) == data_fingerprint(bc.simulate(10, 4, random_seed=1).data)
    False
    """
    ds = data.to_xarray()
    record = {
        "arrays": array_checksums(ds),
        "llm_columns": [str(c) for c in data.llms.columns],
        "task_columns": [str(c) for c in data.tasks.columns],
    }
    return _sha256(record)


def _sha256(record: Any) -> str:
    return hashlib.sha256(json.dumps(record, sort_keys=True, default=str).encode()).hexdigest()


def _code_fingerprint() -> str:
    digest = hashlib.sha256()
    here = Path(__file__).resolve().parent
    for name in _MODEL_MODULES:
        path = here / name
        digest.update(name.encode())
        digest.update(path.read_bytes() if path.is_file() else b"(missing)")
    return digest.hexdigest()


def _library_versions() -> dict[str, str]:
    out = {}
    for name in _LIBRARIES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "absent"
    return out


def _sampler_identity() -> str:
    """The function that samples (a test's mock sampler gets other keys than real NUTS)."""
    from bayes_cpp import inference

    fn = inference.run_kernel
    return f"{fn.__module__}.{fn.__qualname__}"


def fit_key(est: BayesCPP, data: CollaborativeData, *, random_seed: int | None = None) -> str:
    """The cache key of fitting ``est`` (its parameters) to ``data`` with ``random_seed``.

    ``random_seed`` defaults to the estimator's. Two keys are equal exactly
    when the fits would be: same data content, resolved spec (with custom
    features and priors), sampler settings, seed, package version, model
    code, sampling function and nutpie/numpy versions.
    """
    seed = est.random_seed if random_seed is None else random_seed
    record = {
        "data": data_fingerprint(data),
        "spec": est.resolved_spec().to_dict(),
        "sampler": est.sampler_config().to_dict(),
        "seed": seed,
        "version": __version__,
        "code": _code_fingerprint(),
        "libraries": _library_versions(),
        "sampling": _sampler_identity(),
    }
    return _sha256(record)[:32]


@dataclass
class FitCache:
    """A folder of saved fits, one file per :func:`fit_key`.

    Parameters
    ----------
    folder : path, optional
        Where the files live (default ``<cache_dir>/fits``, see
        :func:`bayes_cpp.datasets.cache_dir`).

    Attributes
    ----------
    last_reused : bool or None
        Whether the last :meth:`fit` call loaded a stored fit (None before any call).
    last_path : pathlib.Path or None
        The file the last :meth:`fit` call read or wrote (None if it stored nothing).
    """

    folder: Path = field(default_factory=lambda: cache_dir() / "fits")
    last_reused: bool | None = field(default=None, init=False)
    last_path: Path | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.folder = Path(self.folder).expanduser()

    def path(
        self, est: BayesCPP, data: CollaborativeData, *, random_seed: int | None = None
    ) -> Path:
        """The file that holds (or would hold) this fit."""
        return self.folder / f"fit-{fit_key(est, data, random_seed=random_seed)}.nc"

    def load(
        self,
        est: BayesCPP,
        data: CollaborativeData,
        *,
        random_seed: int | None = None,
        groups: Iterable[str] | None = None,
    ) -> BayesCPP | None:
        """The stored fit of ``est`` on ``data``, or None (missing, or damaged and then removed).

        ``groups`` is passed to :meth:`BayesCPP.load` (None: every group).
        """
        if (est.random_seed if random_seed is None else random_seed) is None:
            return None
        path = self.path(est, data, random_seed=random_seed)
        if not path.is_file():
            return None
        try:
            return BayesCPP.load(path, groups=groups)
        except IncompatibleFileError:
            path.unlink(missing_ok=True)  # refit rather than trust a damaged file
            return None

    def store(self, est: BayesCPP) -> Path | None:
        """Save a fitted estimator under its key; returns the file (None when it has no seed)."""
        est.check_is_fitted()
        if est.random_seed_ is None:
            return None
        path = self.path(est, est.data_, random_seed=est.random_seed_)
        return est.save(path)

    def fit(
        self,
        est: BayesCPP,
        data: CollaborativeData,
        *,
        refresh: bool = False,
        progress: Callable[[Sequence[Any]], None] | None = None,
        before_fit: Callable[[BayesCPP], None] | None = None,
        groups: Iterable[str] | None = None,
    ) -> BayesCPP:
        """Load the stored fit of ``est`` on ``data``, or fit ``est`` and store it.

        Parameters
        ----------
        est : BayesCPP
            An estimator with the wanted parameters (fitted in place on a miss).
        data : CollaborativeData
            Training data.
        refresh : bool
            Fit even when a stored fit exists, and replace it.
        progress : callable, optional
            Passed to :meth:`BayesCPP.fit` (nutpie's progress callback).
        before_fit : callable, optional
            Called with ``est`` just before a fit starts (not on a hit), e.g.
            to announce a long step.
        groups : iterable of str, optional
            On a hit, the groups to read besides the posterior
            (:meth:`BayesCPP.load`; None: every group). A fresh fit has them all.

        Returns
        -------
        BayesCPP
            The loaded fit (``last_reused`` True) or ``est``, fitted.
        """
        self.last_reused, self.last_path = False, None
        if not refresh:
            hit = self.load(est, data, groups=groups)
            if hit is not None:
                self.last_reused = True
                self.last_path = self.path(est, data)
                return hit
        if before_fit is not None:
            before_fit(est)
        est.fit(data, progress=progress)
        self.last_path = self.store(est)
        return est

    def entries(self) -> list[Path]:
        """The stored fit files, oldest first."""
        if not self.folder.is_dir():
            return []
        return sorted(self.folder.glob("fit-*.nc"), key=lambda p: p.stat().st_mtime)

    def clear(self) -> int:
        """Delete every stored fit; returns how many were removed."""
        removed = 0
        for path in self.entries():
            try:
                os.unlink(path)
                removed += 1
            except FileNotFoundError:
                pass
        return removed


def cached_fit(
    data: CollaborativeData,
    *,
    cache: FitCache | None = None,
    refresh: bool = False,
    progress: Callable[[Sequence[Any]], None] | None = None,
    **params: Any,
) -> BayesCPP:
    """``BayesCPP(**params).fit(data)``, reusing a stored fit with the same key.

    Parameters
    ----------
    data : CollaborativeData
        Training data.
    cache : FitCache, optional
        Where fits are stored (default: ``FitCache()``, the user cache folder).
    refresh : bool
        Refit and replace the stored fit.
    progress : callable, optional
        nutpie's progress callback (see :meth:`BayesCPP.fit`).
    **params
        :class:`BayesCPP` parameters. ``random_seed`` defaults to 0 here (a
        cache needs a fixed seed); ``random_seed=None`` fits without caching.

    Returns
    -------
    BayesCPP
        A fitted estimator.
    """
    params.setdefault("random_seed", 0)
    est = BayesCPP(**params)
    store = FitCache() if cache is None else cache
    return store.fit(est, data, refresh=refresh, progress=progress)
