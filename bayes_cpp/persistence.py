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
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import xarray as xr

from bayes_cpp._version import __version__
from bayes_cpp.data import CollaborativeData
from bayes_cpp.exceptions import BayesCPPError, IncompatibleFileError
from bayes_cpp.features import Design
from bayes_cpp.inference import SamplerConfig
from bayes_cpp.spec import ModelSpec

if TYPE_CHECKING:
    from bayes_cpp.estimator import BayesCPP

__all__ = ["SCHEMA_VERSION", "atomic_write", "load_fit", "save_fit"]

#: Bumped on any change that an older reader could misinterpret.
SCHEMA_VERSION = 1
_DATA_GROUP = "bayes_cpp_data"
_GROUPS = ("posterior", "sample_stats", "constant_data", "observed_data")


def _jsonable_params(est: BayesCPP) -> dict[str, Any]:
    params = est.get_params()
    params["spec"] = est.spec_.to_dict()
    params["priors"] = {k: p.to_dict() for k, p in (params["priors"] or {}).items()} or None
    return params


def _clean_attrs(attrs: dict[str, Any]) -> dict[str, Any]:
    """Keep attributes netCDF can store (numbers and strings)."""
    out = {}
    for k, v in attrs.items():
        if isinstance(v, str | int | float) and not isinstance(v, bool):
            out[k] = v
        else:
            out[k] = json.dumps(v, default=str)
    return out


def save_fit(est: BayesCPP, path: Path) -> Path:
    """Write ``est`` to ``path`` atomically; returns the path."""
    tree: dict[str, xr.Dataset] = {}
    for group in _GROUPS:
        if group in est.idata_.children:
            ds = est.idata_[group].to_dataset()
            tree[group] = ds.assign_attrs(_clean_attrs(dict(ds.attrs)))
    data_ds = est.data_.to_xarray()
    tree[_DATA_GROUP] = data_ds
    root = xr.Dataset(
        attrs={
            "bayes_cpp_version": __version__,
            "schema_version": SCHEMA_VERSION,
            "estimator": type(est).__name__,
            "params": json.dumps(_jsonable_params(est)),
            "spec": json.dumps(est.spec_.to_dict()),
            "llm_design": json.dumps(est.llm_design_.to_dict()),
            "task_design": json.dumps(est.task_design_.to_dict()),
            "sampler_config": json.dumps(est.sampler_config_.to_dict()),
            "sampler_used": est.sampler_used_,
            "random_seed": json.dumps(est.random_seed_),
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


def load_fit(cls: type[BayesCPP], path: Path) -> BayesCPP:
    """Read a file written by :func:`save_fit` and rebuild the fitted estimator."""
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
    params["spec"] = spec
    if params.get("priors"):
        params["priors"] = dict(spec.priors)
    est = cls(**params)
    idata = xr.DataTree.from_dict(
        {f"/{g}": dt[g].to_dataset() for g in _GROUPS if g in dt.children}
    )
    missing_vars = [
        v for v in ("intercept", "llm_bias", "task_bias", "sigma") if v not in idata["posterior"]
    ]
    if missing_vars:
        raise IncompatibleFileError(f"{path}: posterior lacks {', '.join(missing_vars)}")
    est._set_fitted(idata, data, spec, llm_design, task_design, config, seed)
    return est
