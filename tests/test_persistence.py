"""save/load: one netCDF file, JSON attrs, atomic, clear errors, fresh-process identical."""

from __future__ import annotations

import json
import subprocess
import sys

import h5py
import numpy as np
import pytest
import xarray as xr

from bayes_cpp import BayesCPP, IncompatibleFileError


@pytest.fixture(scope="module")
def saved(mock_fitted, tmp_path_factory):
    path = tmp_path_factory.mktemp("fits") / "fit.nc"
    mock_fitted.save(path)
    return path


def test_roundtrip_same_params_groups_predictions(mock_fitted, saved):
    loaded = BayesCPP.load(saved)
    assert loaded.spec_ == mock_fitted.spec_
    assert loaded.data_ == mock_fitted.data_
    assert loaded.random_seed_ == mock_fitted.random_seed_
    assert loaded.llm_design_ == mock_fitted.llm_design_
    assert set(loaded.idata_.children) == {
        "posterior",
        "sample_stats",
        "constant_data",
        "observed_data",
    } & set(mock_fitted.idata_.children)
    xr.testing.assert_allclose(loaded.predict(random_seed=4), mock_fitted.predict(random_seed=4))


def test_attrs_are_json_with_schema_version(saved):
    with h5py.File(saved, "r") as f:
        attrs = dict(f.attrs)
    assert np.asarray(attrs["schema_version"]).item() == 1
    params = json.loads(attrs["params"])
    assert params["spec"]["name"] == "hbmf"
    assert json.loads(attrs["sampler_config"])["sampler"] == "nutpie"


def test_fresh_process_gives_identical_predictions(mock_fitted, saved, tmp_path):
    out = tmp_path / "pred.npy"
    code = (
        "import numpy as np, bayes_cpp as b;"
        f"e=b.BayesCPP.load(r'{saved}');"
        f"np.save(r'{out}', e.predict(random_seed=11).values)"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    np.testing.assert_array_equal(np.load(out), mock_fitted.predict(random_seed=11).values)


def test_save_is_atomic_on_failure(mock_fitted, saved, tmp_path, monkeypatch):
    target = tmp_path / "keep.nc"
    mock_fitted.save(target)
    before = target.read_bytes()

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(xr.DataTree, "to_netcdf", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        mock_fitted.save(target)
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["keep.nc"]


def test_damaged_and_foreign_files(tmp_path, saved):
    damaged = tmp_path / "damaged.nc"
    damaged.write_bytes(saved.read_bytes()[:2000])
    with pytest.raises(IncompatibleFileError, match="not a readable bayes_cpp fit"):
        BayesCPP.load(damaged)
    foreign = tmp_path / "foreign.nc"
    xr.Dataset({"x": ("a", [1.0])}).to_netcdf(foreign, engine="h5netcdf")
    with pytest.raises(IncompatibleFileError, match="not a bayes_cpp fit"):
        BayesCPP.load(foreign)
    with pytest.raises(IncompatibleFileError, match="no saved fit"):
        BayesCPP.load(tmp_path / "missing.nc")


def test_other_schema_version_is_refused(tmp_path, saved):
    other = tmp_path / "other.nc"
    other.write_bytes(saved.read_bytes())
    with h5py.File(other, "r+") as f:
        f.attrs["schema_version"] = 99
    with pytest.raises(IncompatibleFileError, match=r"schema_version 99.*reads 1"):
        BayesCPP.load(other)
