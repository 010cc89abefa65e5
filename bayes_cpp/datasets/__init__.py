"""Real public LLM benchmark datasets, curated and ready to fit.

Each dataset is a pinned, hashed set of raw files from a public repository.
Files are read from ``$BAYES_CPP_DATA/<subdir>/<file>`` when that folder has
them (sha256-checked), otherwise downloaded once into a cache (``$BAYES_CPP_CACHE``
or the user cache folder). The raw files are never modified; every curation
step is listed in the result's ``notes``.

Examples
--------
>>> from bayes_cpp import datasets
>>> datasets.list()[["name", "n_llms", "n_tasks"]]
               name  n_llms  n_tasks
0  cpp-crowdsourced      72       29
1          cpp-helm      88       34
2        obsscaling     148        8
3        openllm-v1    7169        6

Loading needs the files (``BAYES_CPP_DATA`` or a download), so it is not run here:

>>> data = datasets.load("cpp-crowdsourced")  # doctest: +SKIP
"""

from __future__ import annotations

import builtins
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from bayes_cpp._validation import listing, suggest
from bayes_cpp.data import CollaborativeData
from bayes_cpp.datasets._cpp import load_cpp_crowdsourced
from bayes_cpp.datasets._fetch import cache_dir, fetch_file, sha256sum
from bayes_cpp.datasets._helm import load_cpp_helm
from bayes_cpp.datasets._obsscaling import load_obsscaling
from bayes_cpp.datasets._openllm import load_openllm_v1
from bayes_cpp.datasets._registry import REGISTRY, DataFile, DatasetInfo, get_info
from bayes_cpp.exceptions import DataError

__all__ = ["DataFile", "DatasetInfo", "cache_dir", "fetch", "info", "list", "load", "sha256sum"]

PathLike = str | os.PathLike[str]

_LOADERS: dict[str, Callable[..., CollaborativeData]] = {
    "cpp-crowdsourced": load_cpp_crowdsourced,
    "cpp-helm": load_cpp_helm,
    "obsscaling": load_obsscaling,
    "openllm-v1": load_openllm_v1,
}


def load(
    name: str,
    *,
    data_home: PathLike | None = None,
    download: bool = True,
    **options: Any,
) -> CollaborativeData:
    """Load a named dataset as validated :class:`~bayes_cpp.CollaborativeData`.

    Parameters
    ----------
    name : str
        Dataset name; see :func:`list` (``"cpp-crowdsourced"``, ``"cpp-helm"``,
        ``"obsscaling"``, ``"openllm-v1"``).
    data_home : str or path-like, optional
        Folder with the raw files as ``<subdir>/<file>``; defaults to the
        ``BAYES_CPP_DATA`` environment variable.
    download : bool, default True
        Download missing files into the cache. With False, a missing file is an error.
    **options
        Dataset-specific options, listed by :func:`info` (e.g. ``extra=("emergent",)``
        for ``"obsscaling"``, ``max_llms=200`` for ``"openllm-v1"``).

    Returns
    -------
    CollaborativeData
        Scores with LLM and task tables; ``notes`` lists the source and every
        curation step.

    Raises
    ------
    DataError
        Unknown name or option, a local file with the wrong sha256, or bad data.
    DatasetUnavailableError
        A raw file is neither available locally nor downloadable.
    """
    record = get_info(name)
    unknown = [k for k in options if k not in record.option_names]
    if unknown:
        accepted = listing(record.option_names) if record.options else "none"
        raise DataError(
            [
                f"unknown option {k!r} for dataset {name!r}{suggest(k, record.option_names)}; "
                f"accepted: {accepted}"
                for k in unknown
            ]
        )

    def get(fname: str) -> Path:
        return fetch_file(record, record.file(fname), data_home=data_home, download=download)

    return _LOADERS[name](get, **options)


def fetch(
    name: str, *, data_home: PathLike | None = None, download: bool = True
) -> dict[str, Path]:
    """Local paths of a dataset's raw files, downloading them if needed.

    Parameters
    ----------
    name : str
        Dataset name.
    data_home : str or path-like, optional
        Folder with the raw files as ``<subdir>/<file>`` (default ``$BAYES_CPP_DATA``).
    download : bool, default True
        Allow downloading missing files into the cache.

    Returns
    -------
    dict of str to pathlib.Path
        File name -> local path, for every raw file of the dataset.
    """
    record = get_info(name)
    return {
        f.fname: fetch_file(record, f, data_home=data_home, download=download) for f in record.files
    }


def info(name: str) -> DatasetInfo:
    """Return the registry record of a dataset (source, files, hashes, shape, options).

    Parameters
    ----------
    name : str
        Dataset name.

    Returns
    -------
    DatasetInfo
    """
    return get_info(name)


def list() -> pd.DataFrame:
    """One row per dataset: declared shape, source, license and description.

    Works offline: shapes are declared in the registry (and tested against loads).

    Returns
    -------
    pandas.DataFrame
        Columns ``name, n_llms, n_tasks, n_observed, density, source, license,
        description``.
    """
    rows = [
        {
            "name": r.name,
            "n_llms": r.n_llms,
            "n_tasks": r.n_tasks,
            "n_observed": r.n_observed,
            "density": r.density,
            "source": r.source,
            "license": r.license,
            "description": r.description,
        }
        for r in REGISTRY.values()
    ]
    return pd.DataFrame(rows, columns=builtins.list(rows[0]))
