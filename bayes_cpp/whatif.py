"""What-if forecasts: how a planned LLM's scores change with one design factor.

"We plan a 30B model on 4T tokens in family X: what should we expect, and how
does that change with 2x tokens or 2x parameters?" :func:`forecast_curve`
forecasts the planned LLM (:meth:`bayes_cpp.BayesCPP.forecast`, no refit) at
every value of one factor with the others held fixed; :func:`curve_summary`
turns the draws into a tidy table of means and 50%/90% bands.

Every value is forecast with the same seed (common random numbers): the
differences between neighbouring values then reflect the factor, not Monte
Carlo noise, and the curve is smooth.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Literal

import numpy as np
import pandas as pd
import xarray as xr

from bayes_cpp import dims
from bayes_cpp.dims import percent_label
from bayes_cpp.estimator import BayesCPP
from bayes_cpp.exceptions import DataError, SpecError
from bayes_cpp.output import quantile_levels

__all__ = ["curve_summary", "forecast_curve", "percent_label"]

#: The curve's coordinate of factor values.
VALUE = "value"


def _check_values(est: BayesCPP, vary: str, values: Sequence[float]) -> np.ndarray:
    design = est.llm_design_
    if vary not in design.columns:
        raise DataError(
            [
                f"factor {vary!r} is not used by the model; it uses the LLM factor columns "
                f"{', '.join(design.columns) or '(none)'} (add a column with "
                "BayesCPP(llm_features=...) to vary it)"
            ]
        )
    try:
        grid = np.asarray([float(v) for v in values], dtype=float)
    except (TypeError, ValueError):
        raise DataError([f"values of {vary!r} must be numbers, got {values!r}"]) from None
    if grid.ndim != 1 or not len(grid):
        raise DataError([f"give at least one value of {vary!r}"])
    j = list(design.columns).index(vary)
    x = design.matrix(pd.DataFrame({vary: grid}), what=f"values of {vary!r}")[:, j]
    bad = grid[~np.isfinite(x)]
    if len(bad):
        transform = design.features[j].transform
        raise DataError(
            [
                f"value {v:g} of {vary!r} is outside the domain of its {transform} transform"
                for v in bad
            ]
        )
    return grid


def forecast_curve(
    est: BayesCPP,
    family: str | None,
    *,
    factors: Mapping[str, float],
    vary: str,
    values: Sequence[float],
    scores: Mapping[str, float] | None = None,
    tasks: Iterable[str] | None = None,
    kind: Literal["mean", "score"] = "mean",
    random_seed: int | None = None,
) -> xr.DataArray:
    """Forecast a planned LLM at several values of one design factor.

    Parameters
    ----------
    est : BayesCPP
        A fitted estimator.
    family : str or None
        The planned LLM's family (unknown or None: a new family).
    factors : mapping
        Its design factors in the LLM table's columns and units (e.g.
        ``{"params_b": 30, "tokens_b": 4000}``); missing ones are imputed.
    vary : str
        The factor column to vary (one the model uses, e.g. ``"tokens_b"``).
    values : sequence of float
        Values of ``vary`` (its table units); they replace ``factors[vary]``.
    scores : mapping of task to score, optional
        Known scores of the planned LLM (task units), conditioned on at
        every value.
    tasks : iterable of str, optional
        Tasks to forecast (default: all).
    kind : {"mean", "score"}
        ``"mean"``: the expected score (the curve of the model's mean);
        ``"score"``: a new evaluation's score, noise included.
    random_seed : int, optional
        One seed for every value (default: derived from the fit's seed).

    Returns
    -------
    xarray.DataArray
        Dims ``("chain", "draw", "value", "task")`` in task units; coordinate
        ``value`` holds the factor values (float), ``task`` the tasks; attrs
        ``factor`` (= ``vary``), ``family`` (``""`` for a new family),
        ``units`` and ``kind``.

    Examples
    --------
    >>> import bayes_cpp as bc
    >>> sim = bc.simulate(20, 6, random_seed=0)
    >>> est = bc.BayesCPP(draws=50, tune=50, chains=2, random_seed=0).fit(sim.data)
    >>> curve = forecast_curve(
    ...     est, "family-00", factors={"params_b": 30.0}, vary="tokens_b", values=[1000, 2000, 4000]
    ... )
    >>> curve.dims, curve.attrs["factor"]
    (('chain', 'draw', 'value', 'task'), 'tokens_b')
    """
    est.check_is_fitted()
    if kind not in ("mean", "score"):
        raise SpecError(f"kind must be 'mean' or 'score', not {kind!r}")
    grid = _check_values(est, vary, values)
    if random_seed is None:
        # A fit without a seed would give every value fresh entropy: fix one.
        random_seed = est.random_seed_
        if random_seed is None:
            random_seed = int(np.random.SeedSequence().generate_state(1)[0])
    curves = [
        est.forecast(
            family,
            factors={**dict(factors), vary: float(v)},
            scores=scores,
            tasks=tasks,
            kind=kind,
            random_seed=random_seed,
        ).isel({dims.LLM: 0}, drop=True)
        for v in grid
    ]
    out = xr.concat(curves, dim=VALUE).assign_coords({VALUE: grid})
    out = out.transpose("chain", "draw", VALUE, dims.TASK)
    out.name = kind
    out.attrs = {
        "factor": vary,
        "family": family if family is not None else "",
        "units": curves[0].attrs.get("units", ""),
        "kind": kind,
    }
    return out


def curve_summary(curve: xr.DataArray, probs: Sequence[float] = (0.5, 0.9)) -> pd.DataFrame:
    """Mean and central equal-tailed bands of a :func:`forecast_curve`, one row per value x task.

    Parameters
    ----------
    curve : xarray.DataArray
        Output of :func:`forecast_curve` (any array with ``chain``, ``draw``,
        ``value`` and ``task`` dims).
    probs : sequence of float
        Central interval probabilities; each adds its lower and upper
        quantile as percent-style columns (0.5 and 0.9 give ``25%``, ``75%``,
        ``5%``, ``95%``).

    Returns
    -------
    pandas.DataFrame
        Columns ``value``, ``task``, ``mean``, then the quantile columns in
        increasing order (``5%``, ``25%``, ``75%``, ``95%`` by default).

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> draws = xr.DataArray(
    ...     np.random.default_rng(0).normal(size=(2, 500, 3, 1)) + np.arange(3)[:, None],
    ...     dims=("chain", "draw", "value", "task"),
    ...     coords={"value": [1.0, 2.0, 4.0], "task": ["t"]},
    ... )
    >>> table = curve_summary(draws)
    >>> list(table.columns)
    ['value', 'task', 'mean', '5%', '25%', '75%', '95%']
    >>> bool((table["5%"] < table["mean"]).all() and (table["mean"] < table["95%"]).all())
    True
    """
    ordered = quantile_levels(probs)
    sample = list(dims.SAMPLE_DIMS)
    quant = curve.quantile(ordered, dim=sample).transpose(VALUE, dims.TASK, "quantile")
    mean = curve.mean(sample).transpose(VALUE, dims.TASK)
    values, tasks = curve[VALUE].to_numpy(), curve[dims.TASK].to_numpy()
    frame = pd.DataFrame(
        {
            VALUE: np.repeat(values.astype(float), len(tasks)),
            dims.TASK: np.tile(tasks.astype(str), len(values)),
            "mean": mean.to_numpy().ravel(),
        }
    )
    q = quant.to_numpy().reshape(len(values) * len(tasks), len(ordered))
    for i, level in enumerate(ordered):
        frame[percent_label(level)] = q[:, i]
    return frame
