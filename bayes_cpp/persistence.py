"""Save and load fitted estimators: one netCDF file, JSON attributes, no pickle.

The file is the fit's DataTree plus a ``bayes_cpp_data`` group holding the
training data (:meth:`CollaborativeData.to_xarray`). Root attributes are JSON
strings: package version, ``schema_version``, estimator parameters, resolved
spec, designs, sampler settings and seed. Loading parses only data and JSON,
so an untrusted file cannot execute code. Writes go to a temporary file in the
same folder and are renamed into place, so a crash mid-save leaves any old
file intact.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import xarray as xr

from bayes_cpp import dims
from bayes_cpp._version import __version__
from bayes_cpp.data import CollaborativeData
from bayes_cpp.exceptions import BayesCPPError, IncompatibleFileError
from bayes_cpp.features import Design
from bayes_cpp.inference import SamplerConfig
from bayes_cpp.spec import ModelSpec

__all__ = ["SCHEMA_VERSION", "SavedFit", "atomic_write", "load_fit", "save_fit"]

#: Bumped on any change that an older reader could misinterpret.
SCHEMA_VERSION = 1
_DATA_GROUP = "bayes_cpp_data"
_GROUPS = ("posterior", "sample_stats", "constant_data", "observed_data")


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


def _clean_attrs(attrs: dict[str, Any]) -> dict[str, Any]:
    """Keep attributes netCDF can store (numbers and strings)."""
    out = {}
    for k, v in attrs.items():
        if isinstance(v, str | int | float) and not isinstance(v, bool):
            out[k] = v
        else:
            out[k] = json.dumps(v, default=str)
    return out


def save_fit(fit: SavedFit, path: Path) -> Path:
    """Write ``fit`` to ``path`` atomically; returns the path."""
    tree: dict[str, xr.Dataset] = {}
    for group in _GROUPS:
        if group in fit.idata.children:
            ds = fit.idata[group].to_dataset()
            tree[group] = ds.assign_attrs(_clean_attrs(dict(ds.attrs)))
    tree[_DATA_GROUP] = fit.data.to_xarray()
    root = xr.Dataset(
        attrs={
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
        }
    )
    dt = xr.DataTree.from_dict({"/": root, **{f"/{k}": v for k, v in tree.items()}})
    return atomic_write(Path(path), lambda tmp: dt.to_netcdf(tmp, engine="h5netcdf"))


def atomic_write(path: Path, write: Callable[[str], object]) -> Path:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then move it into place.

    A crash mid-write leaves any previous ``path`` intact.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def load_fit(path: Path) -> SavedFit:
    """Read a file written by :func:`save_fit`."""
    path = Path(path)
    if not path.is_file():
        raise IncompatibleFileError(f"no saved fit at {path}")
    try:
        with xr.open_datatree(path, engine="h5netcdf") as opened:
            dt = opened.load()
    except (OSError, ValueError, KeyError) as exc:
        raise IncompatibleFileError(
            f"{path} is not a readable bayes_cpp fit (damaged or not netCDF): {exc}"
        ) from None
    attrs = dt.attrs
    if "schema_version" not in attrs or "bayes_cpp_version" not in attrs:
        raise IncompatibleFileError(
            f"{path} is a netCDF file but not a bayes_cpp fit (no schema_version)"
        )
    version = int(attrs["schema_version"])
    if version != SCHEMA_VERSION:
        raise IncompatibleFileError(
            f"{path} has schema_version {version}, this bayes_cpp ({__version__}) reads "
            f"{SCHEMA_VERSION}; it was written by bayes_cpp {attrs['bayes_cpp_version']}. "
            "Refit with this version or install the writing version."
        )
    missing = [g for g in ("posterior", _DATA_GROUP) if g not in dt.children]
    if missing:
        raise IncompatibleFileError(f"{path} lacks group(s) {', '.join(missing)}")
    try:
        params = json.loads(attrs["params"])
        spec = ModelSpec.from_dict(json.loads(attrs["spec"]))
        llm_design = Design.from_dict(json.loads(attrs["llm_design"]))
        task_design = Design.from_dict(json.loads(attrs["task_design"]))
        config = SamplerConfig(**json.loads(attrs["sampler_config"]))
        seed = json.loads(attrs["random_seed"])
        data = CollaborativeData.from_xarray(dt[_DATA_GROUP].to_dataset())
    except (KeyError, TypeError, ValueError, BayesCPPError) as exc:
        raise IncompatibleFileError(f"{path}: stored configuration is invalid: {exc}") from None
    idata = xr.DataTree.from_dict(
        {f"/{g}": dt[g].to_dataset() for g in _GROUPS if g in dt.children}
    )
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
    )
