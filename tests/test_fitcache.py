"""The fitted-model cache: keys, reuse, invalidation, damaged entries (mocked sampling)."""

from __future__ import annotations

import numpy as np
import pytest

from bayes_cpp import BayesCPP, simulate
from bayes_cpp.fitcache import FitCache, cached_fit, data_fingerprint, fit_key

TINY = {"draws": 20, "tune": 5, "chains": 2, "random_seed": 3}


@pytest.fixture
def cache(tmp_path):
    return FitCache(tmp_path / "fits")


def test_the_default_folder_is_in_the_package_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("BAYES_CPP_CACHE", str(tmp_path / "c"))
    assert FitCache().folder == tmp_path / "c" / "fits"


def test_second_fit_is_loaded_not_refitted(sim, cache, mock_sampling, monkeypatch):
    first = cached_fit(sim.data, cache=cache, **TINY)
    assert cache.last_reused is False
    assert cache.last_path is not None
    assert cache.last_path.is_file()

    def refuse(*args, **kwargs):
        raise AssertionError("refitted although a cached fit exists")

    monkeypatch.setattr(BayesCPP, "fit", refuse)
    second = cached_fit(sim.data, cache=cache, **TINY)
    assert cache.last_reused is True
    assert cache.entries() == [cache.last_path]
    a = first.predict(["llm-000"], kind="mean").values
    b = second.predict(["llm-000"], kind="mean").values
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "change",
    [{"draws": 21}, {"random_seed": 4}, {"rank": 1}, {"tune": 6}, {"spec": "bpmf"}],
)
def test_every_setting_is_in_the_key(sim, change):
    base = BayesCPP(**TINY)
    other = BayesCPP(**{**TINY, **change})
    assert fit_key(base, sim.data) != fit_key(other, sim.data)
    assert fit_key(base, sim.data) == fit_key(BayesCPP(**TINY), sim.data)


def test_custom_features_change_the_key(sim):
    plain = BayesCPP(**TINY)
    extra = BayesCPP(**TINY, llm_features={"raw_params": "params_b"})
    assert fit_key(plain, sim.data) != fit_key(extra, sim.data)


def test_the_key_follows_data_content_not_its_name(sim):
    data = sim.data
    renamed = data.with_scores(data.scores)  # same content, new object
    assert data_fingerprint(renamed) == data_fingerprint(data)
    scores = data.scores.copy()
    scores.loc[scores.index[0], "score"] += 0.5
    assert data_fingerprint(data.with_scores(scores)) != data_fingerprint(data)
    other = simulate(24, 8, rank=2, n_families=5, n_categories=3, density=0.6, random_seed=1)
    assert data_fingerprint(other.data) != data_fingerprint(data)


def test_the_package_version_is_in_the_key(sim, monkeypatch):
    import bayes_cpp.fitcache as fitcache

    before = fit_key(BayesCPP(**TINY), sim.data)
    monkeypatch.setattr(fitcache, "__version__", "99.0")
    assert fit_key(BayesCPP(**TINY), sim.data) != before


def test_the_sampling_function_is_in_the_key(sim, mock_sampling):
    # A mock-sampled fit must never answer for a real one.
    from bayes_cpp import inference

    mocked = fit_key(BayesCPP(**TINY), sim.data)
    real = inference.run_kernel
    try:
        inference.run_kernel = lambda *a, **k: None
        assert fit_key(BayesCPP(**TINY), sim.data) != mocked
    finally:
        inference.run_kernel = real


def test_a_damaged_entry_is_refitted(sim, cache, mock_sampling):
    cached_fit(sim.data, cache=cache, **TINY)
    path = cache.last_path
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    est = cached_fit(sim.data, cache=cache, **TINY)
    assert cache.last_reused is False
    assert est.predict(["llm-000"]).sizes["task"] == sim.data.n_tasks
    assert BayesCPP.load(cache.last_path).data_.n_observed == sim.data.n_observed


def test_refresh_refits_and_no_seed_is_not_cached(sim, cache, mock_sampling):
    cached_fit(sim.data, cache=cache, **TINY)
    cached_fit(sim.data, cache=cache, refresh=True, **TINY)
    assert cache.last_reused is False
    assert len(cache.entries()) == 1
    cached_fit(sim.data, cache=cache, **{**TINY, "random_seed": None})
    assert cache.last_path is None
    assert len(cache.entries()) == 1
    assert cache.clear() == 1
    assert cache.entries() == []


def test_progress_reaches_the_callback(sim, cache, mock_sampling):
    seen = []
    cached_fit(sim.data, cache=cache, progress=seen.append, **TINY)
    assert len(seen) == 1
    assert sum(c.finished_draws for c in seen[0]) == 2 * 25
