"""API contract of BayesCPP on a mock-sampled fit (no MCMC)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from bayes_cpp import BayesCPP, DataError, DataWarning, NotFittedError, Prior, SpecError


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
    with pytest.raises(
        DataError, match=r"known score 150 for task 'task-00' is outside its bounds 0\.\.100"
    ):
        mock_fitted.forecast(fam, scores={"task-00": 150.0})


def test_forecast_task_contract(mock_fitted, sim):
    f = mock_fitted.forecast_task(
        "new-category", factors={"shots": 5}, scores={"llm-001": 40.0}, chance=0.25
    )
    assert f.dims == ("chain", "draw", "llm", "task")
    assert f.sizes["llm"] == sim.data.n_llms
    assert float(f.min()) >= 0.0


def test_rank_zero_specs_forecast_new_tasks_and_llms(sim, mock_sampling):
    # A rank-0 fit has no loading scale: forecast_task raised a raw KeyError.
    est = BayesCPP("factors_only", chains=1, draws=20, tune=10, random_seed=3).fit(sim.data)
    f = est.forecast_task(sim.data.tasks["category"].iloc[0], scores={"llm-001": 40.0})
    assert f.sizes["llm"] == sim.data.n_llms
    assert np.isfinite(f).all()
    assert np.isfinite(est.forecast("family-00", scores={"task-00": 50.0})).all()


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


# ------------------------------------------------- forecast input checks
def test_family_one_letter_off_warns_and_is_a_new_family(mock_fitted):
    with pytest.warns(
        DataWarning, match=r"family 'famly-00' is not in the fit \(did you mean 'family-00'\?\)"
    ):
        typo = mock_fitted.forecast("famly-00", factors={"params_b": 7.0}, random_seed=1)
    new = mock_fitted.forecast(None, factors={"params_b": 7.0}, random_seed=1)
    known = mock_fitted.forecast("family-00", factors={"params_b": 7.0}, random_seed=1)
    xr.testing.assert_identical(typo, new)  # Bambi-style: an unknown family is a new one
    assert not np.allclose(typo.values, known.values)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mock_fitted.forecast("brand-new-lab", factors={"params_b": 7.0})


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (0.0, r"params_b = 0 must be > 0 \(the model uses log\(params_b\)\); leave it out"),
        (-3.0, r"params_b = -3 must be > 0"),
        (float("nan"), r"params_b is NaN; leave it out if it is unknown"),
        (float("inf"), r"params_b = inf is not finite"),
        ("7B", r"params_b = '7B' must be a number"),
    ],
)
def test_log_factor_outside_its_domain_raises(mock_fitted, value, message):
    with pytest.raises(DataError, match=message):
        mock_fitted.forecast("family-00", factors={"params_b": value})


def test_factor_far_outside_the_training_range_warns(mock_fitted, sim):
    top = float(sim.data.llms["params_b"].max())
    with pytest.warns(
        DataWarning, match=r"params_b = 1e\+09 lies [0-9.]+ sd .* beyond the training range"
    ):
        mock_fitted.forecast("family-00", factors={"params_b": 1e9})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mock_fitted.forecast("family-00", factors={"params_b": 3 * top})  # near the data


def test_known_scores_must_be_finite_numbers(mock_fitted):
    for bad in (float("nan"), float("inf"), "50", None):
        with pytest.raises(
            DataError, match=r"known score .* for task 'task-00' is not a finite number"
        ):
            mock_fitted.forecast("family-00", scores={"task-00": bad})


def test_fraction_looking_known_score_on_a_percent_task_warns(mock_fitted, sim):
    low = sim.data.scores.groupby("task")["score"].min()
    # task-00: 4-way choice (chance 25); task-03: free-form (chance 0).
    with pytest.warns(
        DataWarning,
        match=rf"known score 0.6 for task 'task-00' \(bounds 0..100\) is below its chance level 25 "
        rf"and below every training score \(min {low['task-00']:g}\): if it is a fraction, give 60",
    ):
        mock_fitted.forecast("family-00", scores={"task-00": 0.6})
    with pytest.warns(DataWarning, match=r"task 'task-03' .* below every training score"):
        mock_fitted.forecast("family-00", scores={"task-03": 0.6})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mock_fitted.forecast("family-00", scores={"task-00": 60.0, "task-03": 2.0})


def test_forecast_task_inputs_are_checked(mock_fitted):
    with pytest.warns(
        DataWarning, match=r"category 'Category-0' is not in the fit \(did you mean 'category-0'"
    ):
        mock_fitted.forecast_task("Category-0", chance=0.25)
    with pytest.raises(
        DataError, match=r"shots = -2 must be > -1 \(the model uses log1p\(shots\)\)"
    ):
        mock_fitted.forecast_task("category-0", factors={"shots": -2})
    with pytest.raises(
        DataError, match=r"known score nan for LLM 'llm-001' is not a finite number"
    ):
        mock_fitted.forecast_task("category-0", scores={"llm-001": float("nan")})
    with pytest.warns(
        DataWarning, match=r"known score 0.3 for LLM 'llm-001' .* below its chance level 25"
    ):
        mock_fitted.forecast_task("category-0", scores={"llm-001": 0.3}, chance=0.25)
    with pytest.raises(DataError, match=r"need finite lo < hi and 0 <= chance < 1"):
        mock_fitted.forecast_task("category-0", lo=float("nan"))
    with pytest.raises(DataError, match=r"lo, hi and chance must be numbers"):
        mock_fitted.forecast_task("category-0", chance="a quarter")


def test_bad_kind_is_a_spec_error(mock_fitted):
    for call in (
        lambda: mock_fitted.predict(kind="bogus"),
        lambda: mock_fitted.forecast("family-00", kind="bogus"),
        lambda: mock_fitted.forecast_task("category-0", kind="bogus"),
    ):
        with pytest.raises(SpecError, match="kind must be 'score' or 'mean', not 'bogus'"):
            call()
