"""What-if curves: forecasts over one design factor, common random numbers, tidy bands."""

from __future__ import annotations

import numpy as np
import pytest

from bayes_cpp import DataError, SpecError, dims
from bayes_cpp.whatif import curve_summary, forecast_curve, percent_label
from tests.conftest import with_posterior


def test_curve_contract(mock_fitted):
    values = [3.0, 7.0, 30.0]
    curve = forecast_curve(
        mock_fitted,
        "family-00",
        factors={"params_b": 7.0, "tokens_b": 300.0},
        vary="params_b",
        values=values,
        tasks=["task-00", "task-03"],
    )
    assert curve.dims == ("chain", "draw", "value", "task")
    assert curve["value"].dtype == float
    assert curve["value"].values.tolist() == values
    assert curve["task"].values.tolist() == ["task-00", "task-03"]
    assert curve.attrs == {
        "factor": "params_b",
        "family": "family-00",
        "units": "task units (lo..hi of each task)",
        "kind": "mean",
    }
    assert (
        forecast_curve(
            mock_fitted, None, factors={}, vary="tokens_b", values=[100.0], kind="score"
        ).attrs["family"]
        == ""
    )


def test_the_same_value_gives_the_same_draws(mock_fitted):
    # Common random numbers: every value is forecast from the same seed, also
    # with known scores (elliptical slice sampling).
    for scores in (None, {"task-00": 40.0, "task-01": 55.0}):
        curve = forecast_curve(
            mock_fitted,
            "family-01",
            factors={"tokens_b": 500.0},
            vary="params_b",
            values=[10.0, 10.0],
            scores=scores,
            kind="score",
        )
        np.testing.assert_array_equal(curve.isel(value=0).values, curve.isel(value=1).values)


def test_curve_rises_with_a_factor_whose_coefficient_is_positive(mock_fitted):
    s = dims.LLM_SIDE
    n_feat = len(mock_fitted.llm_design_)
    est = with_posterior(
        mock_fitted,
        **{
            s.bias_coef: [1.0] + [0.0] * (n_feat - 1),  # log_params raises the bias
            s.loading_coef: 0.0,
        },
    )
    curve = forecast_curve(
        est,
        "family-00",
        factors={"tokens_b": 300.0},
        vary="params_b",
        values=[1.0, 3.0, 10.0, 30.0, 100.0],
    )
    steps = curve.diff("value").values
    # Per draw (common random numbers), not only on average.
    assert (steps >= -1e-9).all()
    assert (steps.mean(axis=(0, 1)) > 0).all()
    flat = with_posterior(mock_fitted, **{s.bias_coef: 0.0, s.loading_coef: 0.0})
    flat_curve = forecast_curve(
        flat, "family-00", factors={"tokens_b": 300.0}, vary="params_b", values=[1.0, 100.0]
    )
    np.testing.assert_allclose(flat_curve.isel(value=0), flat_curve.isel(value=1), atol=1e-9)


def test_summary_columns_and_values(mock_fitted):
    curve = forecast_curve(
        mock_fitted, "family-00", factors={}, vary="tokens_b", values=[100.0, 1000.0]
    )
    table = curve_summary(curve)
    assert list(table.columns) == ["value", "task", "mean", "5%", "25%", "75%", "95%"]
    assert len(table) == 2 * mock_fitted.data_.n_tasks
    row = table.iloc[1]
    cell = curve.sel(value=row["value"], task=row["task"]).values.ravel()
    assert row["mean"] == pytest.approx(cell.mean())
    assert row["5%"] == pytest.approx(np.quantile(cell, 0.05))
    assert row["75%"] == pytest.approx(np.quantile(cell, 0.75))
    assert list(curve_summary(curve, probs=(0.8,)).columns)[3:] == ["10%", "90%"]
    with pytest.raises(SpecError, match=r"interval probability 1.5 is outside"):
        curve_summary(curve, probs=(1.5,))


def test_percent_labels():
    assert [percent_label(q) for q in (0.05, 0.5, 0.95, 0.025)] == ["5%", "50%", "95%", "2.5%"]


def test_bad_factor_or_values_are_data_errors(mock_fitted):
    with pytest.raises(DataError, match=r"'context_window' is not used by the model.*params_b"):
        forecast_curve(mock_fitted, None, factors={}, vary="context_window", values=[1.0])
    with pytest.raises(DataError, match=r"value -3 of 'params_b' is outside the domain of its log"):
        forecast_curve(mock_fitted, None, factors={}, vary="params_b", values=[1.0, -3.0])
    with pytest.raises(DataError, match="must be numbers"):
        forecast_curve(mock_fitted, None, factors={}, vary="params_b", values=["big"])
    with pytest.raises(SpecError, match="kind"):
        forecast_curve(mock_fitted, None, factors={}, vary="params_b", values=[1.0], kind="x")  # type: ignore[arg-type]
