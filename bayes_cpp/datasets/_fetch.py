"""Locate raw dataset files: a local folder first, then a pinned, hashed download.

Search order for each file of a dataset:

1. ``<folder>/<subdir>/<file>`` where ``folder`` is ``data_home`` or the
   ``BAYES_CPP_DATA`` environment variable; its sha256 must match the registry.
2. The download cache (``BAYES_CPP_CACHE`` or the platform cache folder), filled
   by :func:`pooch.retrieve` from the pinned raw GitHub URL.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import platformdirs
import pooch

from bayes_cpp.datasets._registry import DataFile, DatasetInfo
from bayes_cpp.exceptions import DataError, DatasetUnavailableError

__all__ = ["CACHE_ENV", "DATA_ENV", "cache_dir", "fetch_file", "sha256sum"]

DATA_ENV = "BAYES_CPP_DATA"
CACHE_ENV = "BAYES_CPP_CACHE"

PathLike = str | os.PathLike[str]


def cache_dir() -> Path:
    """Download cache folder: ``$BAYES_CPP_CACHE`` or the user cache folder."""
    override = os.environ.get(CACHE_ENV)
    return Path(override) if override else Path(platformdirs.user_cache_dir("bayes_cpp"))


def sha256sum(path: Path) -> str:
    """Hex sha256 digest of a file."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _data_folder(data_home: PathLike | None) -> Path | None:
    if data_home is not None:
        return Path(data_home).expanduser()
    env = os.environ.get(DATA_ENV)
    return Path(env).expanduser() if env else None


def fetch_file(
    info: DatasetInfo, file: DataFile, *, data_home: PathLike | None, download: bool
) -> Path:
    """Local path of one raw file, downloading it into the cache if allowed.

    Raises
    ------
    DataError
        A local copy exists but its sha256 differs from the registry.
    DatasetUnavailableError
        No local copy and the download is disabled or failed.
    """
    folder = _data_folder(data_home)
    if folder is not None:
        local = folder / info.subdir / file.fname
        if local.is_file():
            actual = sha256sum(local)
            if actual != file.sha256:
                raise DataError(
                    [
                        f"sha256 mismatch for {local}: expected {file.sha256}, got {actual}; "
                        f"the file is not the pinned copy of {info.url(file)}"
                    ]
                )
            return local
    cache = cache_dir() / info.subdir
    cached = cache / file.fname
    if not download:
        if cached.is_file() and sha256sum(cached) == file.sha256:
            return cached
        raise DatasetUnavailableError(_unavailable(info, file, folder, "download=False"))
    try:
        path = pooch.retrieve(
            info.url(file),
            known_hash=f"sha256:{file.sha256}",
            path=cache,
            fname=file.fname,
            progressbar=False,
        )
    # pooch/requests raise many unrelated types (ConnectionError, HTTPError,
    # ValueError on a hash mismatch, OSError on a read-only cache); callers see one.
    except Exception as exc:
        reason = f"download failed ({type(exc).__name__}: {exc})"
        raise DatasetUnavailableError(_unavailable(info, file, folder, reason)) from exc
    return Path(path)


def _unavailable(info: DatasetInfo, file: DataFile, folder: Path | None, reason: str) -> str:
    looked = (
        f"not found at {folder / info.subdir / file.fname}"
        if folder is not None
        else f"{DATA_ENV} is not set"
    )
    return (
        f"dataset {info.name!r}: raw file {file.fname!r} is unavailable: {reason}; "
        f"{looked}. Source: {info.url(file)} (sha256 {file.sha256}). "
        f"To work offline, set {DATA_ENV} (or pass data_home=) to a folder with layout "
        f"<subdir>/<file>, here {info.subdir}/{file.fname}."
    )
