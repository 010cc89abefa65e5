"""API contract of BayesCPP on a mock-sampled fit (no MCMC)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from bayes_cpp import BayesCPP, DataError, NotFittedError, Prior, SpecError


def test_init_stores_params_only():
    est = BayesCPP(rank=2, draws=10, random_seed=3)
    assert est.get_params()["rank"] == 2
    assert not hasattr(est, "idata_")
    assert "not fitted" in repr(est)


def test_not_fitted_errors_name_fit():
    est = BayesCPP()
    for call in (
        est.predict,
        est.diagnose,
        est.summary,
        lambda: est.forecast("x"),
        lambda: est.save("x.nc"),
    ):
        with pytest.raises(NotFittedError, match=r"call \.fit\(data\) first"):
            call()


def test_unknown_prior_key_lists_valid_keys():
    with pytest.raises(SpecError, match=r"unknown prior key.*'intercpt'.*did you mean 'intercept'"):
        BayesCPP(priors={"intercpt": Prior("Normal", mu=0, sigma=1)}).resolved_spec()


def test_set_params_rejects_unknown():
    with pytest.raises(ValueError, match=r"unknown parameter 'rnak'.*'rank'"):
        BayesCPP().set_params(rnak=2)


def test_fit_returns_self_and_records_state(mock_fitted, sim):
    est = mock_fitted
    assert isinstance(est.idata_, xr.DataTree)
    assert est.data_ is sim.data
    assert est.random_seed_ == est.random_seed
    assert est.spec_.name == "hbmf"
    post = est.idata_["posterior"]
    assert post["llm_bias"].dims == ("chain", "draw", "llm")
    assert post["task_loading"].dims == ("chain", "draw", "task", "latent")
    assert list(post["llm"].values) == sim.data.llm_names


def test_predict_dims_and_units(mock_fitted, sim):
    pred = mock_fitted.predict(kind="score")
    assert pred.dims == ("chain", "draw", "llm", "task")
    assert pred.shape == (2, 40, sim.data.n_llms, sim.data.n_tasks)
    assert pred.name == "score"
    # Scores are censored to the task bounds (0..100 here).
    assert float(pred.min()) >= 0.0
    assert float(pred.max()) <= 100.0
    means = mock_fitted.predict(["llm-000"], ["task-00", "task-03"], kind="mean")
    assert means.shape == (2, 40, 1, 2)
    lo = sim.data.tasks["chance"].to_numpy()[[0, 3]] * 100
    assert np.all(means.min(("chain", "draw", "llm")).values >= lo - 1e-9)


def test_predict_is_seeded_and_does_not_mutate(mock_fitted, sim):
    before = sim.data.scores
    a = mock_fitted.predict(kind="score", random_seed=5)
    b = mock_fitted.predict(kind="score", random_seed=5)
    c = mock_fitted.predict(kind="score", random_seed=6)
    xr.testing.assert_equal(a, b)
    assert not np.array_equal(a.values, c.values)
    pd.testing.assert_frame_equal(before, sim.data.scores)


def test_predict_unseen(mock_fitted):
    with pytest.raises(
        DataError, match=r"unknown LLM 'llm-0000'.*did you mean 'llm-000'.*unseen='population'"
    ):
        mock_fitted.predict(["llm-0000"])
    pop = mock_fitted.predict(["brand-new"], kind="mean", unseen="population")
    assert pop.sizes["llm"] == 1
    assert np.isfinite(pop.values).all()


def test_forecast_contract(mock_fitted, sim):
    fam = sim.data.families[0]
    f = mock_fitted.forecast(fam, factors={"params_b": 13.0}, name="mine", kind="mean")
    assert f.dims == ("chain", "draw", "llm", "task")
    assert list(f["llm"].values) == ["mine"]
    assert f.sizes["task"] == sim.data.n_tasks
    with pytest.raises(DataError, match="unknown LLM factor 'param_b'"):
        mock_fitted.forecast(fam, factors={"param_b": 1.0})
    with pytest.raises(DataError, match="unknown task 'nope'"):
        mock_fitted.forecast(fam, scores={"nope": 50.0})
    with pytest.raises(DataError, match="outside the tasks' bounds"):
        mock_fitted.forecast(fam, scores={"task-00": 150.0})


def test_forecast_task_contract(mock_fitted, sim):
    f = mock_fitted.forecast_task(
        "new-category", factors={"shots": 5}, scores={"llm-001": 40.0}, chance=0.25
    )
    assert f.dims == ("chain", "draw", "llm", "task")
    assert f.sizes["llm"] == sim.data.n_llms
    assert float(f.min()) >= 0.0


def test_llm_without_scores_keeps_its_row(sim):
    # A cold-start row: no likelihood terms, so its bias is prior-only given
    # the hyperparameters, but it stays in the llm dim to be predicted.
    data = sim.data.drop_cells(np.flatnonzero(sim.data.scores["llm"] == "llm-000"))
    model = BayesCPP().build_model(data)
    assert model.coords["llm"][0] == "llm-000"
    assert len(model.coords["obs"]) == data.n_observed
    terms = model.compile_logp(mode="FAST_COMPILE", sum=False)(model.initial_point())
    assert np.isfinite(sum(float(np.sum(t)) for t in terms))


def test_repr_of_fitted(mock_fitted):
    text = repr(mock_fitted)
    assert "spec 'hbmf'" in text
    assert "24 LLMs x 8 tasks" in text
    assert "sampler: nutpie" in text
    assert "diagnostics:" in text
    # 80 prior draws cannot reach the bulk-ESS target: the repr says the fit failed and why.
    report = mock_fitted.diagnose(warn=False)
    assert not report.ok
    assert "FAILED convergence checks" in text
    assert f"min bulk ESS {report.min_ess_bulk:.0f} (limit 400)" in text
    assert f"max r_hat {report.max_rhat:.3f} (limit 1.01)" in text
    assert "may be wrong" in text


def test_predictive_sd_shrinks_towards_the_bounds(mock_fitted):
    """Under the default binomial noise a cell's sd is at most its task's sigma, least near 0 or 1."""
    predictor = mock_fitted.predictor_
    mean, sd = predictor.cells([0, 1, 2], [0, 1, 2, 3], np.random.default_rng(0))
    sigma = predictor.draws.values["sigma"][:, :4]
    assert np.all(sd <= sigma[:, None, :] + 1e-12)
    assert np.all(sd >= mock_fitted.spec_.noise_floor - 1e-12)
    # The cell nearest a bound has the smallest sd relative to its task's sigma.
    ratio = (sd / sigma[:, None, :]).ravel()
    distance = np.abs(mean - 0.5).ravel()
    assert ratio[np.argmax(distance)] <= ratio[np.argmin(distance)]
