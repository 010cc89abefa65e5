"""Forecast figures: one LLM across tasks, and curves over a design factor."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import xarray as xr

from bayes_cpp import dims
from bayes_cpp.exceptions import DataError
from bayes_cpp.plotting._base import (
    INTERVAL,
    MEAN_EDGE,
    OBSERVED,
    band_alphas,
    check_probs,
    eti,
    interval_widths,
    line_handle,
    new_figure,
    pct,
    pick_names,
    require_dims,
    shorten,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def observed_scores(est: Any, llm: str) -> dict[str, float]:
    """Observed scores of ``llm`` in a fitted estimator's data, by task (task units).

    Parameters
    ----------
    est : BayesCPP
        A fitted estimator.
    llm : str
        One of its LLMs.

    Examples
    --------
    >>> import bayes_cpp as bc
    >>> sim = bc.simulate(12, 5, random_seed=0)
    >>> est = bc.BayesCPP(draws=50, tune=50, chains=1, random_seed=0).fit(sim.data)
    >>> scores = observed_scores(est, "llm-000")
    >>> len(scores) == int((sim.data.scores["llm"] == "llm-000").sum())
    True
    """
    est.check_is_fitted()
    data = est.data_
    if llm not in set(data.llm_names):
        raise DataError([f"unknown LLM {llm!r}: the fit's LLMs are {data.llm_names[:10]}…"])
    scores = data.scores
    rows = scores[scores[dims.LLM] == llm]
    return {str(t): float(s) for t, s in zip(rows[dims.TASK], rows["score"], strict=True)}


def plot_forecast(
    draws: xr.DataArray,
    *,
    llm: str | None = None,
    observed: Mapping[str, float] | None = None,
    tasks: Iterable[str] | None = None,
    probs: Sequence[float] = dims.BAND_PROBS,
    sort: Literal["mean", "given"] = "mean",
    units: str | None = None,
    title: str | None = None,
) -> Figure:
    """Forecast of one LLM across tasks: posterior mean and nested intervals.

    Parameters
    ----------
    draws : xarray.DataArray
        What :meth:`BayesCPP.forecast` or :meth:`BayesCPP.predict` returns:
        dims ``(chain, draw, llm, task)`` in task units.
    llm : str, optional
        Which LLM (required when ``draws`` holds several).
    observed : mapping of task to score, optional
        Scores to mark (task units), e.g. the known scores a forecast was
        conditioned on or :func:`observed_scores` of a fitted LLM. Entries for
        tasks not shown are left out; when none is shown that is an error.
    tasks : iterable of str, optional
        Tasks to show (default: all in ``draws``).
    probs : sequence of float
        Equal-tailed interval probabilities, drawn nested.
    sort : {"mean", "given"}
        Order tasks by predicted mean (highest on top) or keep their order.
    units : str, optional
        Axis units (default: the array's ``units`` attribute).
    title : str, optional
        Figure title.

    Examples
    --------
    >>> import bayes_cpp as bc
    >>> sim = bc.simulate(12, 5, random_seed=0)
    >>> est = bc.BayesCPP(draws=50, tune=50, chains=1, random_seed=0).fit(sim.data)
    >>> known = {"task-00": 60.0}
    >>> fig = plot_forecast(est.forecast("family-00", scores=known), observed=known)
    >>> len(fig.axes)
    1
    """
    da = require_dims(draws, ("chain", "draw", dims.LLM, dims.TASK), "draws")
    llms = [str(n) for n in da[dims.LLM].values]
    if llm is None:
        if len(llms) != 1:
            raise DataError([f"draws hold {len(llms)} LLMs; pass llm= one of {llms[:10]}"])
        llm = llms[0]
    pick_names(llm, llms, "LLM")
    all_tasks = [str(t) for t in da[dims.TASK].values]
    shown = pick_names(tasks, all_tasks, "task")
    observed = {str(t): float(v) for t, v in (observed or {}).items()}
    if observed and not set(observed) & set(shown):
        raise DataError(
            [f"no task of observed ({sorted(observed)[:5]}) is among the tasks shown {shown[:5]}"]
        )
    probs_t = check_probs(probs)
    values = da.sel({dims.LLM: llm, dims.TASK: shown}).to_numpy().astype(float)
    mean = values.mean(axis=(0, 1))
    order = np.argsort(-mean, kind="stable") if sort == "mean" else np.arange(len(shown))
    n = len(shown)
    y = np.arange(n)[::-1]  # first task on top

    fig = new_figure(8.0, max(3.0, 0.3 * n + 1.7))
    ax = fig.add_subplot()
    widths = interval_widths(probs_t)
    for prob in reversed(probs_t):
        bounds = eti(values, prob, axis=(0, 1))[order]
        ax.hlines(
            y,
            bounds[:, 0],
            bounds[:, 1],
            color=INTERVAL,
            linewidth=widths[prob],
            alpha=0.55 if prob == probs_t[-1] else 0.9,
            zorder=2,
        )
    ax.scatter(
        mean[order], y, s=36, facecolor="white", edgecolor=MEAN_EDGE, linewidth=1.3, zorder=3
    )
    labelled = [shown[i] for i in order]
    obs_y = [y[k] for k, t in enumerate(labelled) if t in observed]
    obs_x = [observed[t] for t in labelled if t in observed]
    if obs_x:
        ax.scatter(
            obs_x, obs_y, marker="D", s=28, color=OBSERVED, edgecolor="white", linewidth=0.6,
            zorder=4,
        )  # fmt: skip
    ax.set_yticks(y, [shorten(t, 40) for t in labelled])
    ax.set_ylim(-0.7, n - 0.3)
    ax.grid(axis="x", alpha=0.3)
    ax.grid(axis="y", linestyle=":", alpha=0.35)
    ax.set_axisbelow(True)
    kind = da.attrs.get("kind", "score")
    what = "posterior predictive score" if kind == "score" else "expected score"
    ax.set_xlabel(f"{what}, in {units or da.attrs.get('units', 'task units')}")
    ax.set_title(title or f"{llm}: predicted scores on {n} tasks")
    handles = [
        line_handle(color=INTERVAL, linewidth=widths[p], label=f"{pct(p)} interval")
        for p in probs_t
    ]
    handles.append(
        line_handle(
            linestyle="none",
            marker="o",
            markerfacecolor="white",
            markeredgecolor=MEAN_EDGE,
            label="posterior mean",
        )
    )
    if obs_x:
        handles.append(
            line_handle(linestyle="none", marker="D", color=OBSERVED, label="observed score")
        )
    fig.legend(handles=handles, loc="outside lower center", ncols=len(handles), frameon=False)
    return fig


# ----------------------------------------------------------------- what-if
def plot_whatif(
    curve: xr.DataArray,
    *,
    tasks: Iterable[str] | None = None,
    probs: Sequence[float] = dims.BAND_PROBS,
    log_x: bool = True,
    reference: float | None = None,
    max_tasks: int = 12,
    ncols: int = 4,
    title: str | None = None,
) -> Figure:
    """Forecast curves over one design factor, one panel per task.

    Parameters
    ----------
    curve : xarray.DataArray
        Dims ``(chain, draw, value, task)``: forecast draws (task units) at
        each value of the factor (coordinate ``value``); attributes
        ``factor`` (its name) and ``units`` (the factor's units), optionally
        ``score_units`` (the scores' units).
    tasks : iterable of str, optional
        Tasks to show; default: all when at most ``max_tasks``, else the
        ``max_tasks`` whose mean changes most over the curve.
    probs : sequence of float
        Equal-tailed band probabilities, drawn nested.
    log_x : bool
        Log-scale the factor axis (sizes and token counts).
    reference : float, optional
        A factor value to mark (e.g. the planned design).
    max_tasks, ncols : int
        Panel limit and panels per row.
    title : str, optional
        Figure title.
    """
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    da = require_dims(curve, ("chain", "draw", "value", dims.TASK), "curve")
    probs_t = check_probs(probs)
    factor = str(da.attrs.get("factor", "factor value"))
    xs = np.asarray(da["value"].values, dtype=float)
    if len(xs) < 2:
        raise DataError([f"curve needs at least 2 values of {factor!r}, got {len(xs)}"])
    if log_x and np.any(xs <= 0):
        raise DataError([f"log_x needs positive values of {factor!r}; pass log_x=False"])
    all_tasks = [str(t) for t in da[dims.TASK].values]
    values = da.to_numpy().astype(float)
    mean = values.mean(axis=(0, 1))  # (value, task)
    note = ""
    if tasks is None and len(all_tasks) > max_tasks:
        change = np.abs(mean[-1] - mean[0])
        keep = np.sort(np.argsort(-change, kind="stable")[: int(max_tasks)])
        shown = [all_tasks[i] for i in keep]
        note = f" ({len(shown)} of {len(all_tasks)} tasks: the largest change)"
    else:
        shown = pick_names(tasks, all_tasks, "task")
    index = [all_tasks.index(t) for t in shown]
    decades = float(np.log10(xs.max() / xs.min())) if log_x else 0.0
    subs = (1.0, 2.0, 5.0) if decades <= 1.3 else (1.0, 3.0) if decades <= 2.6 else (1.0,)
    ncols = max(1, min(int(ncols), len(shown)))
    nrows = -(-len(shown) // ncols)
    fig = new_figure(float(np.clip(2.4 * ncols + 1.6, 7.0, 11.0)), 2.3 * nrows + 1.1)
    axes = np.atleast_2d(fig.subplots(nrows, ncols, sharex=True, squeeze=False))
    alphas = band_alphas(probs_t)
    bands = {p: eti(values, p, axis=(0, 1)) for p in probs_t}  # (value, task, 2)
    units = da.attrs.get("units")
    xlabel = f"{factor} ({units})" if units else factor
    for k, ax in enumerate(axes.flat):
        if k >= len(shown):
            ax.set_visible(False)
            continue
        j = index[k]
        for prob in reversed(probs_t):
            ax.fill_between(
                xs, bands[prob][:, j, 0], bands[prob][:, j, 1], color=INTERVAL,
                alpha=alphas[prob], lw=0,
            )  # fmt: skip
        ax.plot(xs, mean[:, j], color=MEAN_EDGE, linewidth=1.6)
        if reference is not None:
            ax.axvline(reference, color=OBSERVED, linestyle="--", linewidth=1)
        if log_x:
            ax.set_xscale("log")
            ax.xaxis.set_major_locator(LogLocator(subs=subs))
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
            ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_title(shorten(shown[k], 32), fontsize=10)
        ax.grid(alpha=0.3)
        ax.set_axisbelow(True)
        if k + ncols >= len(shown):
            ax.xaxis.set_tick_params(labelbottom=True)
    fig.supxlabel(xlabel)
    fig.supylabel(str(da.attrs.get("score_units", "predicted score (task units)")))
    fig.suptitle(title or f"Forecast as {factor} varies{note}")
    handles = [
        line_handle(color=INTERVAL, alpha=alphas[p], linewidth=8, label=f"{pct(p)} interval")
        for p in probs_t
    ]
    handles.append(line_handle(color=MEAN_EDGE, linewidth=1.6, label="posterior mean"))
    if reference is not None:
        handles.append(
            line_handle(color=OBSERVED, linestyle="--", label=f"{factor} = {reference:g}")
        )
    # At the right: below the panels it would collide with the shared x label.
    fig.legend(handles=handles, loc="outside right upper", frameon=False, fontsize=9)
    return fig
