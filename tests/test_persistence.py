"""save/load: one netCDF file, JSON attrs, checksums, atomic, clear errors, fresh-process identical."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import stat
import subprocess
import sys
import time

import h5py
import numpy as np
import pytest
import xarray as xr

from bayes_cpp import BayesCPP, BayesCPPError, IncompatibleFileError
from bayes_cpp.persistence import SCHEMA_VERSION, load_fit
from tests.conftest import REPO


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
    assert np.asarray(attrs["schema_version"]).item() == SCHEMA_VERSION == 2
    params = json.loads(attrs["params"])
    assert params["spec"]["name"] == "hbmf"
    assert json.loads(attrs["sampler_config"])["sampler"] == "nutpie"


def test_diagnostics_are_recorded_in_the_file(mock_fitted, saved):
    with h5py.File(saved, "r") as f:
        stored = json.loads(f.attrs["diagnostics"])
    expected = mock_fitted.diagnose(warn=False).to_dict()
    assert stored == json.loads(json.dumps(expected))
    assert stored["ok"] is False
    assert any("bulk ESS" in p for p in stored["problems"])
    assert BayesCPP.load(saved).saved_diagnostics_ == stored
    assert mock_fitted.saved_diagnostics_ is None  # only a loaded fit has a stored record


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
    with pytest.raises(IncompatibleFileError, match=r"schema_version 99.*reads 2"):
        BayesCPP.load(other)


def _copy_with_attrs(saved, tmp_path, **attrs):
    other = tmp_path / "edited.nc"
    other.write_bytes(saved.read_bytes())
    with h5py.File(other, "r+") as f:
        for key, value in attrs.items():
            f.attrs[key] = value
    return other


def test_schema_version_that_is_not_a_number_is_refused(tmp_path, saved):
    other = _copy_with_attrs(saved, tmp_path, schema_version="abc")
    with pytest.raises(IncompatibleFileError, match=r"schema_version 'abc' is not a version"):
        BayesCPP.load(other)


def test_version_1_files_are_refused_as_unverifiable(tmp_path, saved):
    other = _copy_with_attrs(saved, tmp_path, schema_version=1)
    with pytest.raises(IncompatibleFileError, match=r"schema_version 1 .*cannot be verified"):
        BayesCPP.load(other)


def _params(saved, **change):
    with h5py.File(saved, "r") as f:
        params = json.loads(f.attrs["params"])
    return json.dumps({**params, **change})


@pytest.mark.parametrize(
    ("attr", "value", "message"),
    [
        ("params", "null", "'params' holds NoneType"),
        ("params", "[1, 2]", "'params' holds list"),
        ("params", "{not json", "'params' is not valid JSON"),
        ("spec", "null", "'spec' holds NoneType"),
        ("spec", '{"name": "x"}', r"checksum mismatch in the root attributes \(spec\)"),
        ("spec", '{"rank": -1}', "stored configuration is invalid"),
        ("llm_design", '{"features": 3}', "stored configuration is invalid"),
        ("sampler_config", '{"draws": -1}', "stored configuration is invalid"),
        ("sampler_config", '{"bogus": 1}', "stored configuration is invalid"),
        ("random_seed", '"seven"', "'random_seed' holds str"),
        ("checksums", "null", "'checksums' holds NoneType"),
        ("checksums", "{}", "groups"),
        ("diagnostics", "7", "'diagnostics' holds int"),
    ],
)
def test_bad_json_attributes_are_incompatible_files(tmp_path, saved, attr, value, message):
    other = _copy_with_attrs(saved, tmp_path, **{attr: value})
    with pytest.raises(IncompatibleFileError, match=message):
        BayesCPP.load(other)


def test_params_with_an_extra_key_or_a_bad_value_are_incompatible(tmp_path, saved):
    # Edited in the file: the checksum of the root attributes catches it.
    other = _copy_with_attrs(saved, tmp_path, params=_params(saved, colour="red"))
    with pytest.raises(IncompatibleFileError, match=r"root attributes \(params\)"):
        BayesCPP.load(other)
    # Built in memory (from_saved is public): the keys and values are checked.
    record = load_fit(saved)
    extra = dataclasses.replace(record, params={**record.params, "colour": "red"})
    with pytest.raises(IncompatibleFileError, match="unknown key\\(s\\) 'colour'"):
        BayesCPP.from_saved(extra)
    bad = dataclasses.replace(record, params={**record.params, "draws": None})
    with pytest.raises(IncompatibleFileError, match="saved parameters are invalid"):
        BayesCPP.from_saved(bad)


@pytest.mark.parametrize("groups", [None, ()], ids=["every group", "posterior only"])
def test_changed_doubles_in_a_posterior_array_are_detected(tmp_path, saved, groups):
    other = tmp_path / "edited.nc"
    other.write_bytes(saved.read_bytes())
    with h5py.File(other, "r+") as f:
        values = f["posterior/llm_bias"]
        values[0, 0, :3] = values[0, 0, :3] + 1e-9
    with pytest.raises(IncompatibleFileError, match=r"group 'posterior' .*llm_bias"):
        BayesCPP.load(other, groups=groups)


def test_posterior_only_load_predicts_the_same_and_guards_what_needs_the_rest(mock_fitted, saved):
    full = BayesCPP.load(saved)
    light = BayesCPP.load(saved, groups=())
    assert list(light.idata_.children) == ["posterior"]
    assert set(light.unread_groups_) == set(full.idata_.children) - {"posterior"}
    assert full.unread_groups_ == ()
    xr.testing.assert_identical(
        light.idata_["posterior"].to_dataset(), full.idata_["posterior"].to_dataset()
    )
    xr.testing.assert_equal(light.predict(random_seed=4), full.predict(random_seed=4))
    assert light.saved_diagnostics_ == full.saved_diagnostics_
    for call in (lambda: light.diagnose(warn=False), light.summary, lambda: light.save("x.nc")):
        with pytest.raises(
            BayesCPPError, match=r"sample_stats.*load the file again without groups"
        ):
            call()
    some = BayesCPP.load(saved, groups=["sample_stats"])
    assert set(some.idata_.children) == {"posterior", "sample_stats"}
    assert set(some.unread_groups_) == {"constant_data", "observed_data"}
    with pytest.raises(BayesCPPError, match=r"unknown group.*'posteriors'"):
        BayesCPP.load(saved, groups=["posteriors"])


def test_an_edit_to_an_unread_group_is_caught_only_when_it_is_read(tmp_path, saved):
    other = tmp_path / "edited.nc"
    other.write_bytes(saved.read_bytes())
    with h5py.File(other, "r+") as f:
        name = next(k for k in f["sample_stats"] if f["sample_stats"][k].ndim == 2)
        stats = f[f"sample_stats/{name}"]
        stats[0, :2] = stats[0, :2] + 1
    BayesCPP.load(other, groups=())
    with pytest.raises(IncompatibleFileError, match=r"group 'sample_stats'"):
        BayesCPP.load(other)


def test_changed_training_scores_are_detected(tmp_path, saved):
    other = tmp_path / "edited.nc"
    other.write_bytes(saved.read_bytes())
    with h5py.File(other, "r+") as f:
        score = f["bayes_cpp_data/score"]
        first = np.flatnonzero(np.isfinite(score[...].ravel()))[0]
        flat = score[...].ravel()
        flat[first] = 0.0 if flat[first] else 1e-3
        score[...] = flat.reshape(score.shape)
    with pytest.raises(IncompatibleFileError, match=r"group 'bayes_cpp_data' .*score"):
        BayesCPP.load(other)


@pytest.fixture(scope="module")
def big_saved(sim, tmp_path_factory):
    from tests.conftest import mocked_sampling

    with mocked_sampling():
        est = BayesCPP(draws=1000, tune=10, chains=2, random_seed=3).fit(sim.data)
    path = tmp_path_factory.mktemp("big") / "big.nc"
    est.save(path)
    return path


def _zeroed(raw: bytes, start: int, path):
    damaged = bytearray(raw)
    damaged[start : start + 200_000] = bytes(200_000)
    path.write_bytes(bytes(damaged))
    return path


def test_zeroed_200kb_of_array_data_mid_file_is_caught_by_the_checksum(tmp_path, big_saved):
    raw = big_saved.read_bytes()
    with h5py.File(big_saved, "r") as f:
        # The posterior array nearest the middle of the file that holds 200 KB.
        candidates = [d for d in f["posterior"].values() if d.id.get_storage_size() > 201_000]
        target = min(candidates, key=lambda d: abs(d.id.get_offset() - len(raw) / 2))
        start, name = target.id.get_offset() + 1000, target.name.split("/")[-1]
    assert 0.2 < start / len(raw) < 0.8  # mid-file
    path = _zeroed(raw, start, tmp_path / "zeroed.nc")
    with pytest.raises(IncompatibleFileError, match=f"group 'posterior' .*{name}"):
        BayesCPP.load(path)


def test_zeroed_block_anywhere_is_never_loaded_silently(tmp_path, big_saved):
    raw = big_saved.read_bytes()
    for start in range(0, len(raw) - 200_000, len(raw) // 9):
        # Array data fails its checksum; metadata fails HDF5's own checks.
        with pytest.raises(IncompatibleFileError):
            BayesCPP.load(_zeroed(raw, start, tmp_path / f"zeroed-{start}.nc"))


def test_a_posterior_only_load_of_a_damaged_file_refuses_or_reads_the_saved_posterior(
    tmp_path, big_saved
):
    raw = big_saved.read_bytes()
    saved = BayesCPP.load(big_saved).idata_["posterior"].to_dataset()
    outcomes = []
    for start in range(0, len(raw) - 200_000, len(raw) // 9):
        try:
            got = BayesCPP.load(_zeroed(raw, start, tmp_path / f"z-{start}.nc"), groups=())
        except IncompatibleFileError:
            outcomes.append("refused")
            continue
        # Only damage to a group it did not read lets it through, and then unchanged.
        xr.testing.assert_identical(got.idata_["posterior"].to_dataset(), saved)
        outcomes.append("read")
    assert "refused" in outcomes


@pytest.mark.parametrize("mask", [0o022, 0o077, 0o002])
def test_saved_file_mode_follows_the_umask(mock_fitted, tmp_path, mask):
    old = os.umask(mask)
    try:
        path = mock_fitted.save(tmp_path / "fit.nc")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~mask


_SAVE_LOOP = """
import sys
from bayes_cpp import BayesCPP
est = BayesCPP.load(sys.argv[1])
print("ready", flush=True)
while True:
    est.save(sys.argv[2])
"""


@pytest.mark.slow  # spawns processes: seconds each; runs in CI
def test_sigkill_during_save_leaves_the_previous_file_loadable(big_saved, tmp_path):
    target = tmp_path / "fit.nc"
    target.write_bytes(big_saved.read_bytes())
    before = BayesCPP.load(target).predict(random_seed=1)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    torn = 0
    for attempt in range(3):
        with subprocess.Popen(
            [sys.executable, "-c", _SAVE_LOOP, str(big_saved), str(target)],
            stdout=subprocess.PIPE,
            env=env,
        ) as proc:
            assert proc.stdout is not None
            assert proc.stdout.readline().strip() == b"ready"
            # Wait until a save is under way (its temporary file exists), then kill -9.
            # The saver loops forever, so only its death can stop the wait: no deadline.
            while not list(tmp_path.glob(".fit.nc.*.tmp")):
                assert proc.poll() is None, "the saving subprocess died before saving"
                time.sleep(0.001)
            time.sleep(0.005 * attempt)
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        assert proc.returncode == -signal.SIGKILL
        loaded = BayesCPP.load(target)  # the old file or a complete new one, never a torn one
        xr.testing.assert_identical(loaded.predict(random_seed=1), before)
        leftovers = list(tmp_path.glob(".fit.nc.*.tmp"))  # the killed save's partial file
        torn += bool(leftovers)
        for p in leftovers:
            p.unlink()
    assert torn >= 1  # at least one kill landed mid-save


def test_object_string_coordinates_round_trip(mock_fitted, tmp_path):
    # nutpie labels dims with object arrays of str; netCDF reads them back as "U".
    from tests.conftest import with_posterior

    est = with_posterior(mock_fitted)
    post = est.idata_["posterior"].to_dataset()
    post = post.assign_coords(llm=np.array(post["llm"].values.tolist(), dtype=object))
    assert post["llm"].dtype == object
    est.idata_["posterior"] = post
    # nutpie's divergence messages: NaN where a draw did not diverge (all NaN: netCDF floats).
    stats = est.idata_["sample_stats"].to_dataset()
    shape = (stats.sizes["chain"], stats.sizes["draw"])
    messages = np.full(shape, np.nan, dtype=object)
    stats = stats.assign(none=(("chain", "draw"), messages.copy()))
    messages[0, 0] = "Divergence due to large energy error"
    est.idata_["sample_stats"] = stats.assign(some=(("chain", "draw"), messages))
    path = est.save(tmp_path / "object-coords.nc")
    loaded = BayesCPP.load(path)
    assert loaded.idata_["posterior"]["llm"].values.tolist() == post["llm"].values.tolist()
    assert loaded.idata_["sample_stats"]["some"].values[0, 0].startswith("Divergence")


@pytest.mark.slow  # a real (tiny) nutpie fit: its coordinates are object arrays
def test_a_real_fit_round_trips(sim, tmp_path):
    est = BayesCPP(draws=30, tune=30, chains=2, random_seed=0).fit(sim.data)
    loaded = BayesCPP.load(est.save(tmp_path / "real.nc"))
    xr.testing.assert_allclose(loaded.predict(random_seed=1), est.predict(random_seed=1))
