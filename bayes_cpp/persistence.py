"""Save and load fitted estimators: one netCDF file, JSON attributes, no pickle.

The file is the fit's DataTree plus a ``bayes_cpp_data`` group holding the
training data (:meth:`CollaborativeData.to_xarray`). Root attributes are JSON
strings: package version, ``schema_version``, estimator parameters, resolved
spec, designs, sampler settings, seed, the fit's convergence summary
(``diagnostics``) and a sha256 checksum of every stored array (``checksums``,
one per group and variable). Loading parses only data and JSON, so an
untrusted file cannot execute code, and verifies every checksum, so a file
whose arrays were overwritten (a damaged disk, a partial copy, an edit) is
refused with :class:`~bayes_cpp.IncompatibleFileError` naming the group
instead of predicting different numbers. Writes go to a temporary file in the
same folder and are renamed into place, so a crash (or a kill) mid-save leaves
any old file intact; the new file gets the permissions of the user's umask.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from bayes_cpp import dims
from bayes_cpp._version import __version__
from bayes_cpp.data import CollaborativeData
from bayes_cpp.exceptions import BayesCPPError, IncompatibleFileError
from bayes_cpp.features import Design
from bayes_cpp.inference import SamplerConfig
from bayes_cpp.spec import ModelSpec

__all__ = [
    "SCHEMA_VERSION",
    "SavedFit",
    "array_checksums",
    "atomic_write",
    "load_fit",
    "save_fit",
]

#: Bumped on any change that an older reader could misinterpret. Version 2
#: added the array checksums (version-1 files cannot be verified, so they are refused).
SCHEMA_VERSION = 2
_DATA_GROUP = "bayes_cpp_data"
_GROUPS = ("posterior", "sample_stats", "constant_data", "observed_data")
#: Key of the root attributes' checksums in the ``checksums`` record.
_ROOT = "/"
#: Root attributes holding JSON, with the JSON type each must decode to.
_JSON_ATTRS: dict[str, type | tuple[type, ...]] = {
    "params": dict,
    "spec": dict,
    "llm_design": dict,
    "task_design": dict,
    "sampler_config": dict,
    "random_seed": (int, type(None)),
    "diagnostics": (dict, type(None)),
    "checksums": dict,
}


@dataclass(frozen=True)
class SavedFit:
    """Everything a saved fit holds (what :meth:`bayes_cpp.BayesCPP.from_saved` rebuilds from).

    Attributes
    ----------
    idata : xarray.DataTree
        Posterior and sampler groups.
    data : CollaborativeData
        The training data.
    spec : ModelSpec
        The resolved spec.
    llm_design, task_design : Design
        Fitted standardizations of the design factors.
    sampler_config : SamplerConfig
        Sampler settings.
    random_seed : int or None
        The fit's seed.
    sampler_used : str
        The inference method actually used.
    params : mapping
        The estimator's constructor parameters, JSON-ready.
    diagnostics : mapping, optional
        The convergence summary when the fit was saved
        (:meth:`bayes_cpp.diagnostics.DiagnosticReport.to_dict`), or None.
    unread_groups : tuple of str
        Groups the file holds that :func:`load_fit` was asked not to read
        (``idata`` lacks them).
    """

    idata: xr.DataTree
    data: CollaborativeData
    spec: ModelSpec
    llm_design: Design
    task_design: Design
    sampler_config: SamplerConfig
    random_seed: int | None
    sampler_used: str
    params: Mapping[str, Any]
    diagnostics: Mapping[str, Any] | None = field(default=None)
    unread_groups: tuple[str, ...] = ()


def _wanted_groups(groups: Iterable[str]) -> frozenset[str]:
    """Validate a ``groups`` argument of :func:`load_fit` (the posterior is read anyway)."""
    if isinstance(groups, str):
        groups = (groups,)
    wanted = frozenset(str(g) for g in groups)
    unknown = sorted(wanted - set(_GROUPS))
    if unknown:
        raise BayesCPPError(
            f"unknown group(s) {', '.join(map(repr, unknown))}; a saved fit holds "
            f"{', '.join(_GROUPS)}"
        )
    return wanted


def _read_group(path: Path, group: str | None) -> xr.Dataset:
    """One group of the file (None: the root), loaded into memory."""
    try:
        with xr.open_dataset(path, engine="h5netcdf", group=group) as opened:
            return opened.load()
    except Exception as exc:  # any failure to parse means a damaged file
        if group is not None and "not found" in str(exc).lower():
            raise IncompatibleFileError(f"{path} lacks group {group}") from None
        raise _unreadable(path, exc, "" if group is None else f" (group {group!r})") from None


def _unreadable(path: Path, exc: Exception, where: str = "") -> IncompatibleFileError:
    return IncompatibleFileError(
        f"{path} is not a readable bayes_cpp fit{where} (damaged or not netCDF): "
        f"{type(exc).__name__}: {str(exc)[:200]}"
    )


def _clean_attrs(attrs: dict[str, Any]) -> dict[str, Any]:
    """Keep attributes netCDF can store (numbers and strings)."""
    out = {}
    for k, v in attrs.items():
        if isinstance(v, str | int | float) and not isinstance(v, bool):
            out[k] = v
        else:
            out[k] = json.dumps(v, default=str)
    return out


def _array_bytes(values: np.ndarray) -> bytes:
    """Canonical bytes of an array: the same before writing and after reading."""
    if values.dtype.kind in "OUS":
        return "\x1f".join(str(v) for v in values.ravel()).encode("utf-8", "surrogatepass")
    if values.dtype.kind == "f" and np.isnan(values).any():
        # netCDF fill-value masking may hand back another NaN bit pattern.
        values = np.where(np.isnan(values), np.nan, values)
    return np.ascontiguousarray(values.astype(values.dtype.newbyteorder("<"))).tobytes()


def array_checksums(ds: xr.Dataset) -> dict[str, str]:
    """sha256 of every variable (data and coordinates) of ``ds``: name, dtype kind, shape, values."""
    out = {}
    for name in sorted(str(n) for n in ds.variables):
        values = np.asarray(ds[name].values)
        digest = hashlib.sha256()
        digest.update(f"{values.dtype.kind}{values.shape}".encode())
        digest.update(_array_bytes(values))
        out[name] = digest.hexdigest()
    return out


def _attr_checksums(attrs: Mapping[str, Any]) -> dict[str, str]:
    return {k: hashlib.sha256(str(attrs[k]).encode()).hexdigest() for k in sorted(attrs)}


def _plain_strings(ds: xr.Dataset) -> xr.Dataset:
    """Object arrays (nutpie's coordinates and divergence messages) as str arrays.

    netCDF writes an object array as strings (missing entries as ""), or as
    floats when every entry is NaN, and reads it back as such; converting first
    makes what is hashed what is read back.
    """
    changed = {}
    for name in ds.variables:
        values = ds[name].values
        if values.dtype.kind == "O":
            text = [
                "" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v)
                for v in values.ravel()
            ]
            changed[name] = ds[name].copy(data=np.array(text, dtype=str).reshape(values.shape))
    if not changed:
        return ds
    coords = {k: v for k, v in changed.items() if k in ds.coords}
    data = {k: v for k, v in changed.items() if k not in ds.coords}
    return ds.assign_coords(coords).assign(data)


def save_fit(fit: SavedFit, path: Path) -> Path:
    """Write ``fit`` to ``path`` atomically; returns the path."""
    tree: dict[str, xr.Dataset] = {}
    for group in _GROUPS:
        if group in fit.idata.children:
            ds = _plain_strings(fit.idata[group].to_dataset())
            tree[group] = ds.assign_attrs(_clean_attrs(dict(ds.attrs)))
    tree[_DATA_GROUP] = fit.data.to_xarray()
    config = {
        "bayes_cpp_version": __version__,
        "schema_version": SCHEMA_VERSION,
        "estimator": "BayesCPP",
        "params": json.dumps(dict(fit.params)),
        "spec": json.dumps(fit.spec.to_dict()),
        "llm_design": json.dumps(fit.llm_design.to_dict()),
        "task_design": json.dumps(fit.task_design.to_dict()),
        "sampler_config": json.dumps(fit.sampler_config.to_dict()),
        "sampler_used": fit.sampler_used,
        "random_seed": json.dumps(fit.random_seed),
        "diagnostics": json.dumps(None if fit.diagnostics is None else dict(fit.diagnostics)),
    }
    checksums = {group: array_checksums(ds) for group, ds in tree.items()}
    checksums[_ROOT] = _attr_checksums(config)
    root = xr.Dataset(attrs={**config, "checksums": json.dumps(checksums)})
    dt = xr.DataTree.from_dict({"/": root, **{f"/{k}": v for k, v in tree.items()}})
    return atomic_write(Path(path), lambda tmp: dt.to_netcdf(tmp, engine="h5netcdf"))


def atomic_write(path: Path, write: Callable[[str], object]) -> Path:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then move it into place.

    A crash mid-write leaves any previous ``path`` intact. The file gets the
    mode a plain ``open(path, "w")`` would give (``0o666`` less the umask),
    not the ``0o600`` of the temporary file.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def _umask() -> int:
    """The process umask (read from /proc where possible: setting it to read it races threads)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _json_attrs(attrs: Mapping[Any, Any], path: Path) -> dict[str, Any]:
    """Decode the JSON root attributes, checking each one's type."""
    out = {}
    for name, kind in _JSON_ATTRS.items():
        if name not in attrs:
            raise IncompatibleFileError(f"{path}: root attribute {name!r} is missing")
        try:
            value = json.loads(attrs[name])
        except (TypeError, ValueError):
            raise IncompatibleFileError(
                f"{path}: root attribute {name!r} is not valid JSON ({str(attrs[name])[:60]!r})"
            ) from None
        if not isinstance(value, kind) or isinstance(value, bool):
            raise IncompatibleFileError(
                f"{path}: root attribute {name!r} holds {type(value).__name__} "
                f"{str(value)[:60]!r}, not what bayes_cpp writes"
            )
        out[name] = value
    return out


def _verify(
    attrs: Mapping[str, Any],
    tables: Mapping[str, xr.Dataset],
    checksums: Mapping[str, Any],
    path: Path,
    *,
    every_group: bool,
) -> None:
    """Raise unless the groups read and the root attributes match their checksums.

    ``every_group``: ``tables`` should be every group of the file (a full read),
    so a group added or removed after saving is an error too.
    """
    written = sorted(g for g in checksums if g != _ROOT)
    stored = sorted(tables)
    if every_group and written != stored:
        raise IncompatibleFileError(
            f"{path}: the file holds groups {stored} but was written with "
            f"{written}; it was modified after saving"
        )
    expected_root = checksums.get(_ROOT)
    if isinstance(expected_root, dict):
        got_root = _attr_checksums({k: attrs[k] for k in expected_root if k in attrs})
        bad = sorted(k for k in expected_root if got_root.get(k) != expected_root[k])
    else:
        bad = ["(no record)"]
    if bad:
        raise IncompatibleFileError(
            f"{path}: checksum mismatch in the root attributes ({', '.join(bad)}): the stored "
            "configuration changed after saving. Refit, or restore the file from a backup."
        )
    for group in stored:
        expected = checksums.get(group)
        got = array_checksums(tables[group])
        if not isinstance(expected, dict) or set(expected) != set(got):
            raise IncompatibleFileError(
                f"{path}: group {group!r} holds other variables than were saved; "
                "the file was modified after saving"
            )
        bad = [v for v in sorted(got) if got[v] != expected[v]]
        if bad:
            raise IncompatibleFileError(
                f"{path}: checksum mismatch in group {group!r} (variable(s) {', '.join(bad)}): "
                "the stored arrays changed after saving (a damaged or partly overwritten "
                "file). Refit, or restore the file from a backup."
            )


def load_fit(path: Path, groups: Iterable[str] | None = None) -> SavedFit:
    """Read a file written by :func:`save_fit`.

    ``groups`` limits the inference groups read to the posterior and these
    (a subset of ``sample_stats``, ``constant_data``, ``observed_data``); the
    default reads every group. The training data is always read, and every
    group read is verified against its checksums. The groups left unread are
    listed in :attr:`SavedFit.unread_groups`.
    """
    path = Path(path)
    if not path.is_file():
        raise IncompatibleFileError(f"no saved fit at {path}")
    wanted = None if groups is None else _wanted_groups(groups)
    if wanted is None:
        try:
            with xr.open_datatree(path, engine="h5netcdf") as opened:
                dt = opened.load()
        except Exception as exc:  # any failure to parse means a damaged file
            raise _unreadable(path, exc) from None
        attrs = {str(k): v for k, v in dt.attrs.items()}
        tables = {str(g): dt[g].to_dataset() for g in dt.children}
    else:
        attrs = {str(k): v for k, v in _read_group(path, None).attrs.items()}
    if "schema_version" not in attrs or "bayes_cpp_version" not in attrs:
        raise IncompatibleFileError(
            f"{path} is a netCDF file but not a bayes_cpp fit (no schema_version)"
        )
    written_by = str(attrs["bayes_cpp_version"])[:40]
    try:
        version = int(np.asarray(attrs["schema_version"]).item())
    except (TypeError, ValueError, OverflowError):
        raise IncompatibleFileError(
            f"{path}: schema_version {str(attrs['schema_version'])[:40]!r} is not a version "
            f"number; this bayes_cpp ({__version__}) reads schema {SCHEMA_VERSION}"
        ) from None
    if version == 1:
        raise IncompatibleFileError(
            f"{path} has schema_version 1 (written by bayes_cpp {written_by}), which stored no "
            "checksums, so its arrays cannot be verified; refit with this bayes_cpp "
            f"({__version__}, schema {SCHEMA_VERSION}) and save again."
        )
    if version != SCHEMA_VERSION:
        raise IncompatibleFileError(
            f"{path} has schema_version {version}, this bayes_cpp ({__version__}) reads "
            f"{SCHEMA_VERSION}; it was written by bayes_cpp {written_by}. "
            "Refit with this version or install the writing version."
        )
    records = _json_attrs(attrs, path)
    written = [g for g in records["checksums"] if g != _ROOT]
    if wanted is not None:
        tables = {
            g: _read_group(path, g)
            for g in written
            if g in wanted or g in ("posterior", _DATA_GROUP)
        }
    missing = [g for g in ("posterior", _DATA_GROUP) if g not in tables]
    if missing:
        raise IncompatibleFileError(f"{path} lacks group(s) {', '.join(missing)}")
    try:
        params = records["params"]
        spec = ModelSpec.from_dict(records["spec"])
        llm_design = Design.from_dict(records["llm_design"])
        task_design = Design.from_dict(records["task_design"])
        config = SamplerConfig(**records["sampler_config"])
        seed = records["random_seed"]
        data = CollaborativeData.from_xarray(tables[_DATA_GROUP])
    except (KeyError, TypeError, ValueError, AttributeError, BayesCPPError) as exc:
        raise IncompatibleFileError(f"{path}: stored configuration is invalid: {exc}") from None
    _verify(attrs, tables, records["checksums"], path, every_group=wanted is None)
    idata = xr.DataTree.from_dict({f"/{g}": tables[g] for g in _GROUPS if g in tables})
    missing_vars = [
        v
        for v in (dims.INTERCEPT, dims.LLM_SIDE.bias, dims.TASK_SIDE.bias, dims.SIGMA)
        if v not in idata["posterior"]
    ]
    if missing_vars:
        raise IncompatibleFileError(f"{path}: posterior lacks {', '.join(missing_vars)}")
    return SavedFit(
        idata=idata,
        data=data,
        spec=spec,
        llm_design=llm_design,
        task_design=task_design,
        sampler_config=config,
        random_seed=seed,
        sampler_used=str(attrs.get("sampler_used", config.sampler)),
        params=params,
        diagnostics=records["diagnostics"],
        unread_groups=tuple(g for g in _GROUPS if g in written and g not in tables),
    )
