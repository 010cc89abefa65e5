"""Figures for the questions bayes_cpp answers (the ``plot`` extra).

Every function takes its data (a labelled draw array or a tidy frame, as each
docstring says), keyword-only options, and returns a
:class:`matplotlib.figure.Figure`. The figures are not registered with
pyplot: nothing opens a window or calls ``show()``; a figure displays in a
notebook when it is a cell's value and ``fig.savefig(path)`` writes it.
matplotlib (and arviz-plots, for :func:`plot_diagnostics`) are imported only
when a function runs; without them a
:class:`~bayes_cpp.MissingDependencyError` says to install
``bayes_cpp[plot]``.

Intervals are equal-tailed with explicit probabilities
(:data:`bayes_cpp.dims.BAND_PROBS`, 50% and 90%, unless the caller passes
others); coverage and PIT figures use the evaluation's own levels
(:data:`bayes_cpp.evaluation.metrics.INTERVAL_PROBS`).

Functions
---------
plot_forecast
    One LLM across tasks: posterior mean, 50% and 90% intervals, observed scores.
plot_predicted_vs_observed
    Held-out cells of one method, with their predictive intervals.
plot_calibration
    Nominal vs empirical interval coverage per method.
plot_pit
    PIT histogram and PIT ECDF difference with a simultaneous band.
plot_importance, plot_importance_by_category
    Forests of standardized design-factor coefficients.
plot_latent_map
    First two latent dimensions with uncertainty, coloured by group.
plot_whatif
    Forecast curves over a design factor, one panel per task.
plot_active_curve
    Held-out error and interval width vs cells revealed, per strategy.
plot_diagnostics
    Rank or trace plots of the worst-mixing identified quantities of a fit.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
import xarray as xr

from bayes_cpp import dims
from bayes_cpp.exceptions import DataError, MissingDependencyError

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "observed_scores",
    "plot_active_curve",
    "plot_calibration",
    "plot_diagnostics",
    "plot_forecast",
    "plot_importance",
    "plot_importance_by_category",
    "plot_latent_map",
    "plot_pit",
    "plot_predicted_vs_observed",
    "plot_whatif",
]

_INSTALL = "install the plot extra: pip install 'bayes_cpp[plot]'"

# One colour per role, the same in every figure.
_INTERVAL = "#1f77b4"
_MEAN_EDGE = "#0b3c68"
_OBSERVED = "#d62728"
_MISSED = "#ff7f0e"
_REFERENCE = "#4d4d4d"
_BAND = "#bdbdbd"
_OTHER = "#c7c7c7"
_TAB10 = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#17becf",
    "#bcbd22",
    "#393b79",
)
_STRATEGIES = {
    "recommended": ("recommended order", "#1f77b4"),
    "random": ("random order", "#7f7f7f"),
    "largest_sd": ("largest posterior sd first", "#ff7f0e"),
}
_SIDE_LABELS = {dims.LLM: ("LLM factor", "#1f77b4"), dims.TASK: ("task factor", "#2ca02c")}


# ----------------------------------------------------------------- helpers
def _figure(width: float, height: float) -> Figure:
    """A constrained-layout figure that pyplot does not track."""
    try:
        from matplotlib.figure import Figure
    except ImportError as err:
        raise MissingDependencyError(f"plotting needs matplotlib; {_INSTALL}") from err
    return Figure(figsize=(width, height), layout="constrained")


def _pct(prob: float) -> str:
    return f"{100 * prob:g}%"


def _check_probs(probs: Iterable[float], what: str = "probs") -> tuple[float, ...]:
    try:
        out = tuple(sorted(float(p) for p in probs))
    except (TypeError, ValueError):
        raise DataError([f"{what} must be interval probabilities, not {probs!r}"]) from None
    if not out or any(not 0.0 < p < 1.0 for p in out) or len(set(out)) < len(out):
        raise DataError([f"{what} must be distinct probabilities in (0, 1), not {probs!r}"])
    return out


def _require_columns(frame: Any, columns: Iterable[str], what: str) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise DataError([f"{what} must be a pandas DataFrame, not {type(frame).__name__}"])
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(
            [f"{what} lacks column {c!r} (it has {list(frame.columns)})" for c in missing]
        )
    if frame.empty:
        raise DataError([f"{what} has no rows"])


def _require_dims(array: Any, wanted: Sequence[str], what: str) -> xr.DataArray:
    if not isinstance(array, xr.DataArray):
        raise DataError([f"{what} must be an xarray.DataArray, not {type(array).__name__}"])
    missing = [d for d in wanted if d not in array.dims]
    if missing:
        raise DataError(
            [
                f"{what} lacks dim {d!r}: expected dims {tuple(wanted)}, got {array.dims}"
                for d in missing
            ]
        )
    return array.transpose(*wanted)


def _pick(names: Iterable[str] | str | None, known: Sequence[str], what: str) -> list[str]:
    if names is None:
        return list(known)
    out = [names] if isinstance(names, str) else [str(n) for n in names]
    unknown = [n for n in out if n not in set(known)]
    if unknown:
        raise DataError([f"unknown {what} {n!r}; known: {list(known)}" for n in unknown])
    if not out:
        raise DataError([f"no {what} selected"])
    return out


def _eti(values: np.ndarray, prob: float, axis: int | tuple[int, ...]) -> np.ndarray:
    """Equal-tailed interval (last axis: lower, upper) via arviz-stats."""
    from arviz_stats.base import array_stats

    return np.asarray(array_stats.eti(values, prob, axis=axis))


def _shorten(text: str, width: int) -> str:
    return textwrap.shorten(str(text), width=width, placeholder="…")


def _line_handle(**kwargs: Any) -> Any:
    from matplotlib.lines import Line2D

    return Line2D([], [], **kwargs)


def _plural(word: str) -> str:
    return word[:-1] + "ies" if word.endswith("y") else word + "s"


def _colors(names: Sequence[str]) -> dict[str, str]:
    return {n: _TAB10[i % len(_TAB10)] for i, n in enumerate(names)}


def _interval_widths(probs: tuple[float, ...]) -> dict[float, float]:
    """Line widths of nested intervals: the narrowest is the thickest."""
    return {p: 1.4 + 3.6 * i / max(1, len(probs) - 1) for i, p in enumerate(reversed(probs))}


def _band_alphas(probs: tuple[float, ...]) -> dict[float, float]:
    """Fill opacities of nested bands: the narrowest is the darkest."""
    return {p: 0.18 + 0.27 * i / max(1, len(probs) - 1) for i, p in enumerate(reversed(probs))}


# ---------------------------------------------------------------- forecast
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
    da = _require_dims(draws, ("chain", "draw", dims.LLM, dims.TASK), "draws")
    llms = [str(n) for n in da[dims.LLM].values]
    if llm is None:
        if len(llms) != 1:
            raise DataError([f"draws hold {len(llms)} LLMs; pass llm= one of {llms[:10]}"])
        llm = llms[0]
    _pick(llm, llms, "LLM")
    all_tasks = [str(t) for t in da[dims.TASK].values]
    shown = _pick(tasks, all_tasks, "task")
    observed = {str(t): float(v) for t, v in (observed or {}).items()}
    if observed and not set(observed) & set(shown):
        raise DataError(
            [f"no task of observed ({sorted(observed)[:5]}) is among the tasks shown {shown[:5]}"]
        )
    probs_t = _check_probs(probs)
    values = da.sel({dims.LLM: llm, dims.TASK: shown}).to_numpy().astype(float)
    mean = values.mean(axis=(0, 1))
    order = np.argsort(-mean, kind="stable") if sort == "mean" else np.arange(len(shown))
    n = len(shown)
    y = np.arange(n)[::-1]  # first task on top

    fig = _figure(8.0, max(3.0, 0.3 * n + 1.7))
    ax = fig.add_subplot()
    widths = _interval_widths(probs_t)
    for prob in reversed(probs_t):
        bounds = _eti(values, prob, axis=(0, 1))[order]
        ax.hlines(
            y,
            bounds[:, 0],
            bounds[:, 1],
            color=_INTERVAL,
            linewidth=widths[prob],
            alpha=0.55 if prob == probs_t[-1] else 0.9,
            zorder=2,
        )
    ax.scatter(
        mean[order], y, s=36, facecolor="white", edgecolor=_MEAN_EDGE, linewidth=1.3, zorder=3
    )
    labelled = [shown[i] for i in order]
    obs_y = [y[k] for k, t in enumerate(labelled) if t in observed]
    obs_x = [observed[t] for t in labelled if t in observed]
    if obs_x:
        ax.scatter(
            obs_x, obs_y, marker="D", s=28, color=_OBSERVED, edgecolor="white", linewidth=0.6,
            zorder=4,
        )  # fmt: skip
    ax.set_yticks(y, [_shorten(t, 40) for t in labelled])
    ax.set_ylim(-0.7, n - 0.3)
    ax.grid(axis="x", alpha=0.3)
    ax.grid(axis="y", linestyle=":", alpha=0.35)
    ax.set_axisbelow(True)
    kind = da.attrs.get("kind", "score")
    what = "posterior predictive score" if kind == "score" else "expected score"
    ax.set_xlabel(f"{what}, in {units or da.attrs.get('units', 'task units')}")
    ax.set_title(title or f"{llm}: predicted scores on {n} tasks")
    handles = [
        _line_handle(color=_INTERVAL, linewidth=widths[p], label=f"{_pct(p)} interval")
        for p in probs_t
    ]
    handles.append(
        _line_handle(
            linestyle="none",
            marker="o",
            markerfacecolor="white",
            markeredgecolor=_MEAN_EDGE,
            label="posterior mean",
        )
    )
    if obs_x:
        handles.append(
            _line_handle(linestyle="none", marker="D", color=_OBSERVED, label="observed score")
        )
    fig.legend(handles=handles, loc="outside lower center", ncols=len(handles), frameon=False)
    return fig


# --------------------------------------------------------------- held out
def _cells_of(cells: pd.DataFrame, method: str, columns: Iterable[str]) -> pd.DataFrame:
    _require_columns(cells, ["method", *columns], "cells")
    known = list(dict.fromkeys(cells["method"].astype(str)))
    _pick(method, known, "method")
    return cells[cells["method"].astype(str) == method]


def _tag(prob: float) -> str:
    return f"{round(prob * 100):d}"


def plot_predicted_vs_observed(
    cells: pd.DataFrame,
    *,
    method: str,
    probs: Sequence[float] = dims.BAND_PROBS,
    title: str | None = None,
) -> Figure:
    """Held-out cells of one method: predicted vs observed with predictive intervals.

    Parameters
    ----------
    cells : pandas.DataFrame
        ``EvaluationResult.cells``: one row per hidden cell with ``method``,
        ``unit_score``, ``unit_predicted`` and ``lower_XX``/``upper_XX`` for
        each interval level (unit scale, 0 = a task's worst bound, 1 = best).
    method : str
        Which method's cells.
    probs : sequence of float
        Interval levels to draw (each must be a level scored in ``cells``).
    title : str, optional
        Figure title.
    """
    probs_t = _check_probs(probs)
    bounds = [f"{side}_{_tag(p)}" for p in probs_t for side in ("lower", "upper")]
    sub = _cells_of(cells, method, ["unit_score", "unit_predicted", *bounds])
    truth = sub["unit_score"].to_numpy(float)
    guess = sub["unit_predicted"].to_numpy(float)
    widest = _tag(probs_t[-1])
    lo_w, hi_w = sub[f"lower_{widest}"].to_numpy(float), sub[f"upper_{widest}"].to_numpy(float)
    inside = (truth >= lo_w) & (truth <= hi_w)
    n = len(sub)
    # Many cells: fainter bars, so density shows instead of a solid block.
    alpha = float(np.clip(6.0 / np.sqrt(n), 0.06, 0.7))

    fig = _figure(7.0, 7.0)
    ax = fig.add_subplot()
    widths = _interval_widths(probs_t)
    for hit, color in ((True, _INTERVAL), (False, _MISSED)):
        pick = inside == hit
        for prob in reversed(probs_t):
            t = _tag(prob)
            ax.vlines(
                truth[pick],
                sub[f"lower_{t}"].to_numpy(float)[pick],
                sub[f"upper_{t}"].to_numpy(float)[pick],
                color=color,
                linewidth=widths[prob] * 0.6,
                alpha=alpha * (0.6 if prob == probs_t[-1] else 1.0),
                zorder=2,
            )
        # Missed cells are the ones to look at: always opaque.
        dots = min(1.0, 2 * alpha + 0.2) if hit else 0.9
        ax.scatter(truth[pick], guess[pick], s=10, color=color, alpha=dots, zorder=3)
    ax.plot([0, 1], [0, 1], color=_REFERENCE, linestyle="--", linewidth=1.2, zorder=4)
    ax.set_xlim(-0.02, 1.02)
    ax.set_ylim(-0.02, 1.02)
    ax.set_aspect("equal")
    ax.grid(alpha=0.3)
    ax.set_axisbelow(True)
    ax.set_xlabel("observed score (unit scale: 0 = task's worst bound, 1 = best)")
    ax.set_ylabel("predicted score (unit scale)")
    rmse = float(np.sqrt(np.mean((guess - truth) ** 2)))
    lines = [f"{n} held-out cells", f"RMSE {rmse:.3f}"]
    lines += [
        f"{_pct(p)} coverage {np.mean((truth >= sub[f'lower_{_tag(p)}']) & (truth <= sub[f'upper_{_tag(p)}'])):.1%}"
        for p in probs_t
    ]
    ax.text(
        0.03,
        0.97,
        "\n".join(lines),
        transform=ax.transAxes,
        va="top",
        fontsize=9,
        bbox={"boxstyle": "round", "facecolor": "white", "alpha": 0.85, "edgecolor": _BAND},
    )
    ax.set_title(title or f"{method}: predicted vs observed on held-out cells")
    handles = [
        _line_handle(color=_INTERVAL, linewidth=widths[p] * 0.6, label=f"{_pct(p)} interval")
        for p in probs_t
    ]
    handles += [
        _line_handle(
            linestyle="none", marker="o", color=_MISSED, label=f"outside {_pct(probs_t[-1])}"
        ),
        _line_handle(color=_REFERENCE, linestyle="--", label="predicted = observed"),
    ]
    fig.legend(handles=handles, loc="outside lower center", ncols=len(handles), frameon=False)
    return fig


def _interval_probs() -> tuple[float, ...]:
    from bayes_cpp.evaluation.metrics import INTERVAL_PROBS

    return tuple(INTERVAL_PROBS)


def plot_calibration(
    cells: pd.DataFrame,
    *,
    methods: Iterable[str] | None = None,
    band_prob: float = dims.CI_PROB,
    title: str | None = None,
) -> Figure:
    """Nominal vs empirical coverage of central intervals, per method.

    Left: coverage against the diagonal; right: the difference in percentage
    points. The grey band is the ``band_prob`` range of a calibrated method's
    coverage over the same number of cells, if the cells were independent
    (cells of one split share a fit, so the real spread is somewhat wider).

    Parameters
    ----------
    cells : pandas.DataFrame
        ``EvaluationResult.cells`` with ``method`` and ``covered_XX`` for every
        level of :data:`~bayes_cpp.evaluation.metrics.INTERVAL_PROBS`.
    methods : iterable of str, optional
        Methods to show (default: all, in order of appearance).
    band_prob : float
        Probability of the binomial band.
    title : str, optional
        Figure title.
    """
    from scipy import stats

    levels = _interval_probs()
    (band,) = _check_probs([band_prob], "band_prob")
    covered = [f"covered_{_tag(p)}" for p in levels]
    _require_columns(cells, ["method", *covered], "cells")
    known = list(dict.fromkeys(cells["method"].astype(str)))
    shown = _pick(methods, known, "method")
    colors = _colors(shown)
    nominal = np.array(levels)
    counts = cells.groupby(cells["method"].astype(str)).size()
    n = int(counts[shown].min())

    fig = _figure(10.0, 4.6)
    left, right = fig.subplots(1, 2)
    # Exact binomial ranges at the scored levels, joined by straight lines.
    grid = nominal
    tail = (1.0 - band) / 2.0
    lo = stats.binom.ppf(tail, n, grid) / n
    hi = stats.binom.ppf(1.0 - tail, n, grid) / n
    band_label = f"{_pct(band)} range if calibrated (n = {n} cells)"
    left.fill_between(
        100 * grid, 100 * lo, 100 * hi, color=_BAND, alpha=0.6, lw=0, label=band_label
    )
    right.fill_between(
        100 * grid, 100 * (lo - grid), 100 * (hi - grid), color=_BAND, alpha=0.6, lw=0
    )
    left.plot(100 * grid, 100 * grid, color=_REFERENCE, linestyle="--", linewidth=1)
    right.axhline(0.0, color=_REFERENCE, linestyle="--", linewidth=1)
    dodge = np.linspace(-0.4, 0.4, len(shown)) if len(shown) > 1 else np.zeros(1)
    for k, method in enumerate(shown):
        sub = cells[cells["method"].astype(str) == method]
        empirical = np.array([sub[c].astype(float).mean() for c in covered])
        x = 100 * nominal + dodge[k]
        style = {"color": colors[method], "marker": "o", "linewidth": 1.6, "markersize": 6}
        left.plot(x, 100 * empirical, label=f"{method} ({len(sub)} cells)", **style)
        right.plot(x, 100 * (empirical - nominal), **style)
    for ax in (left, right):
        ax.set_xticks(100 * nominal, [f"{100 * p:g}" for p in nominal])
        ax.set_xlim(100 * nominal[0] - 4, 100 * nominal[-1] + 3)
        ax.set_xlabel("nominal coverage of central interval (%)")
        ax.grid(alpha=0.3)
        ax.set_axisbelow(True)
    left.set_ylabel("empirical coverage of held-out cells (%)")
    right.set_ylabel("empirical − nominal (percentage points)")
    left.set_title("coverage")
    right.set_title("miscalibration")
    fig.suptitle(title or "Calibration of predictive intervals on held-out cells")
    handles, labels = left.get_legend_handles_labels()
    fig.legend(
        handles, labels, loc="outside lower center", ncols=min(4, len(labels)), frameon=False
    )
    return fig


def _uniformity_note(pit: np.ndarray) -> str:
    """POT-C uniformity test p-value (arviz-stats), or why it is not shown."""
    from arviz_stats.base import array_stats

    edge = int(np.sum((pit <= 0.0) | (pit >= 1.0)))
    if edge:
        # A draw-based PIT is exactly 0 or 1 when the score falls outside every
        # draw; the test treats such a value as impossible and returns p = 0.
        return f"uniformity test not shown: {edge} PIT values are exactly 0 or 1"
    p_value = float(array_stats.uniformity_test(pit, method="pot_c")[0])
    shown = "p < 0.01" if p_value < 0.01 else f"p = {p_value:.2f}"
    return f"uniformity test (POT-C): {shown}"


def plot_pit(
    cells: pd.DataFrame,
    *,
    method: str,
    kind: Literal["both", "hist", "ecdf"] = "both",
    bins: int = 10,
    band_prob: float = dims.CI_PROB,
    random_seed: int = 0,
    title: str | None = None,
) -> Figure:
    """Probability integral transform of held-out cells: histogram and ECDF difference.

    A calibrated method has uniform PIT values: a flat histogram and an ECDF
    difference inside the band. A U shape (ECDF difference falling then
    rising) means intervals too narrow; a hump means too wide; a tilt means
    biased predictions.

    Parameters
    ----------
    cells : pandas.DataFrame
        ``EvaluationResult.cells`` with ``method`` and ``pit``.
    method : str
        Which method.
    kind : {"both", "hist", "ecdf"}
        Panels to draw.
    bins : int
        Histogram bins; its band is pointwise (binomial per bin).
    band_prob : float
        Probability of the bands. The ECDF band is simultaneous (arviz-stats'
        ``ecdf_pit``, simulated with ``random_seed``).
    random_seed : int
        Seeds the band simulation.
    title : str, optional
        Figure title.
    """
    from arviz_stats.ecdf_utils import ecdf_pit
    from scipy import stats

    if kind not in ("both", "hist", "ecdf"):
        raise DataError([f"kind must be 'both', 'hist' or 'ecdf', not {kind!r}"])
    if int(bins) < 2:
        raise DataError([f"bins must be at least 2, not {bins!r}"])
    (band,) = _check_probs([band_prob], "band_prob")
    pit = _cells_of(cells, method, ["pit"])["pit"].to_numpy(float)
    pit = pit[np.isfinite(pit)]
    n = len(pit)
    if n < 5:
        raise DataError([f"method {method!r} has {n} finite PIT values; need at least 5"])
    tail = (1.0 - band) / 2.0
    panels = ["hist", "ecdf"] if kind == "both" else [kind]
    fig = _figure(10.0 if len(panels) == 2 else 6.0, 4.4)
    axes = np.atleast_1d(fig.subplots(1, len(panels)))
    for ax, panel in zip(axes, panels, strict=True):
        if panel == "hist":
            counts, edges = np.histogram(pit, bins=int(bins), range=(0.0, 1.0))
            expected = n / int(bins)
            lo = stats.binom.ppf(tail, n, 1.0 / bins) / expected
            hi = stats.binom.ppf(1.0 - tail, n, 1.0 / bins) / expected
            ax.bar(
                edges[:-1],
                counts / expected,
                width=np.diff(edges),
                align="edge",
                color=_INTERVAL,
                alpha=0.75,
                edgecolor="white",
            )
            # On top of the bars, so a bar inside the range still shows it.
            ax.axhspan(
                lo, hi, facecolor=_BAND, alpha=0.25, edgecolor=_REFERENCE, linestyle=":",
                linewidth=1, label=f"pointwise {_pct(band)} range if uniform", zorder=3,
            )  # fmt: skip
            ax.axhline(1.0, color=_REFERENCE, linestyle="--", linewidth=1, zorder=4)
            ax.set_xlim(0, 1)
            ax.set_ylabel("density (1 = uniform)")
            ax.set_title("PIT histogram")
        else:
            rng = np.random.default_rng(random_seed)
            x, ecdf, lower, upper = ecdf_pit(pit, band, n_simulations=1000, rng=rng)
            ax.fill_between(
                x, lower - x, upper - x, step="post", color=_BAND, alpha=0.6, lw=0,
                label=f"simultaneous {_pct(band)} band if uniform",
            )  # fmt: skip
            ax.step(x, ecdf - x, where="post", color=_INTERVAL, linewidth=1.6)
            ax.axhline(0.0, color=_REFERENCE, linestyle="--", linewidth=1)
            ax.set_xlim(0, 1)
            ax.set_ylabel("ECDF(PIT) − uniform CDF")
            ax.set_title(f"PIT ECDF difference\n{_uniformity_note(pit)}", fontsize=11)
        ax.set_xlabel("PIT (predictive CDF at the observed score)")
        ax.grid(alpha=0.3)
        ax.set_axisbelow(True)
    fig.suptitle(title or f"{method}: PIT of {n} held-out cells")
    handles = [h for ax in axes for h in ax.get_legend_handles_labels()[0]]
    fig.legend(handles=handles, loc="outside lower center", ncols=len(handles), frameon=False)
    return fig


# -------------------------------------------------------------- importance
def _forest(
    ax: Axes,
    y: np.ndarray,
    frame: pd.DataFrame,
    colors: Sequence[str],
) -> None:
    """Intervals with a mean marker, filled when the interval excludes zero."""
    lo, hi = frame["lower"].to_numpy(float), frame["upper"].to_numpy(float)
    mean = frame["mean"].to_numpy(float)
    ax.hlines(y, lo, hi, colors=list(colors), linewidth=2.2, zorder=2)
    clear = (lo > 0) | (hi < 0)
    ax.scatter(
        mean,
        y,
        s=40,
        facecolors=[c if k else "white" for c, k in zip(colors, clear, strict=True)],
        edgecolors=list(colors),
        linewidths=1.4,
        zorder=3,
    )
    ax.axvline(0.0, color=_REFERENCE, linestyle="--", linewidth=1, zorder=1)
    ax.grid(axis="x", alpha=0.3)
    ax.grid(axis="y", linestyle=":", alpha=0.35)
    ax.set_axisbelow(True)


def _zero_handles(ci_prob: float) -> list[Any]:
    return [
        _line_handle(color=_REFERENCE, linewidth=2.2, label=f"{_pct(ci_prob)} interval"),
        _line_handle(
            linestyle="none", marker="o", color=_REFERENCE, label="mean, interval excludes 0"
        ),
        _line_handle(
            linestyle="none",
            marker="o",
            markerfacecolor="white",
            markeredgecolor=_REFERENCE,
            label="mean, interval includes 0",
        ),
    ]


def plot_importance(
    coefficients: pd.DataFrame,
    *,
    ci_prob: float = dims.CI_PROB,
    title: str | None = None,
) -> Figure:
    """Forest of standardized design-factor coefficients, one panel per target.

    Parameters
    ----------
    coefficients : pandas.DataFrame
        One row per coefficient: ``side`` (``"llm"``/``"task"``), ``factor``,
        ``on`` (``"bias"``, ``"latent 1"``, ...), ``mean``, ``sd``, ``lower``,
        ``upper`` (effect per standard deviation of the factor's feature).
    ci_prob : float
        Probability of the ``lower``..``upper`` interval (for the legend).
    title : str, optional
        Figure title.
    """
    _require_columns(
        coefficients, ["side", "factor", "on", "mean", "sd", "lower", "upper"], "coefficients"
    )
    (ci_prob,) = _check_probs([ci_prob], "ci_prob")
    frame = coefficients.astype({"side": str, "factor": str, "on": str})
    bad = sorted(set(frame["side"]) - set(_SIDE_LABELS))
    if bad:
        raise DataError([f"coefficients: side must be 'llm' or 'task', not {b!r}" for b in bad])
    rows = list(
        dict.fromkeys(
            (s, f)
            for side in _SIDE_LABELS
            for s, f in zip(frame["side"], frame["factor"], strict=True)
            if s == side
        )
    )
    targets = list(dict.fromkeys(frame["on"]))
    position = {row: len(rows) - 1 - i for i, row in enumerate(rows)}
    width = float(np.clip(2.2 + 2.6 * len(targets), 7.0, 12.0))
    fig = _figure(width, max(3.0, 0.42 * len(rows) + 1.9))
    axes = np.atleast_1d(fig.subplots(1, len(targets), sharey=True))
    for ax, target in zip(axes, targets, strict=True):
        sub = frame[frame["on"] == target]
        y = np.array([position[(s, f)] for s, f in zip(sub["side"], sub["factor"], strict=True)])
        _forest(ax, y, sub, [_SIDE_LABELS[s][1] for s in sub["side"]])
        ax.set_title(f"on {target}")
        ax.set_xlabel("coefficient per sd of the factor")
    axes[0].set_yticks([position[r] for r in rows], [_shorten(f, 30) for _, f in rows])
    for tick, (side, _) in zip(axes[0].get_yticklabels(), rows, strict=True):
        tick.set_color(_SIDE_LABELS[side][1])
    axes[0].set_ylim(-0.6, len(rows) - 0.4)
    fig.suptitle(
        title or f"Standardized design-factor coefficients (mean, {_pct(ci_prob)} interval)"
    )
    handles = [
        _line_handle(color=color, linewidth=2.2, label=label)
        for side, (label, color) in _SIDE_LABELS.items()
        if side in set(frame["side"])
    ] + _zero_handles(ci_prob)[1:]
    fig.legend(handles=handles, loc="outside lower center", ncols=len(handles), frameon=False)
    return fig


def plot_importance_by_category(
    by_category: pd.DataFrame,
    *,
    ci_prob: float = dims.CI_PROB,
    xlabel: str = "effect per sd of the factor",
    ncols: int = 4,
    title: str | None = None,
) -> Figure:
    """Forest of each factor's effect per task category, one panel per factor.

    Parameters
    ----------
    by_category : pandas.DataFrame
        One row per factor and category: ``factor``, ``category``, ``mean``,
        ``lower``, ``upper``.
    ci_prob : float
        Probability of the ``lower``..``upper`` interval (for the legend).
    xlabel : str
        What the effect measures (axis label).
    ncols : int
        Panels per row.
    title : str, optional
        Figure title.
    """
    _require_columns(by_category, ["factor", "category", "mean", "lower", "upper"], "by_category")
    (ci_prob,) = _check_probs([ci_prob], "ci_prob")
    frame = by_category.astype({"factor": str, "category": str})
    factors = list(dict.fromkeys(frame["factor"]))
    categories = list(dict.fromkeys(frame["category"]))
    position = {c: len(categories) - 1 - i for i, c in enumerate(categories)}
    ncols = max(1, min(int(ncols), len(factors)))
    nrows = -(-len(factors) // ncols)
    width = float(np.clip(2.0 + 2.4 * ncols, 7.0, 12.0))
    fig = _figure(width, max(3.0, nrows * (0.32 * len(categories) + 1.2) + 0.9))
    axes = np.atleast_2d(fig.subplots(nrows, ncols, sharey=True, sharex=True, squeeze=False))
    for k, ax in enumerate(axes.flat):
        if k >= len(factors):
            ax.set_visible(False)
            continue
        sub = frame[frame["factor"] == factors[k]]
        y = np.array([position[c] for c in sub["category"]])
        _forest(ax, y, sub, [_INTERVAL] * len(sub))
        ax.set_title(_shorten(factors[k], 30))
        if k // ncols == nrows - 1 or k + ncols >= len(factors):
            ax.set_xlabel(xlabel)
            ax.xaxis.set_tick_params(labelbottom=True)
    axes[0, 0].set_yticks([position[c] for c in categories], [_shorten(c, 28) for c in categories])
    axes[0, 0].set_ylim(-0.6, len(categories) - 0.4)
    fig.suptitle(
        title or f"Design-factor effects by task category (mean, {_pct(ci_prob)} interval)"
    )
    handles = _zero_handles(ci_prob)
    fig.legend(handles=handles, loc="outside lower center", ncols=len(handles), frameon=False)
    return fig


# ------------------------------------------------------------- latent map
#: Label offsets from a point (in points) and alignment, tried in order, then
#: farther out (with a leader line) when every near spot is taken.
_LABEL_OFFSETS = (
    (5, 4, "left"),
    (5, -11, "left"),
    (-5, 4, "right"),
    (-5, -11, "right"),
    (0, 9, "center"),
    (0, -17, "center"),
    (10, -4, "left"),
    (-10, -4, "right"),
)
_LABEL_RINGS = (1.0, 2.6, 4.2)


def _place_labels(
    fig: Figure,
    ax: Axes,
    points: Sequence[tuple[float, float]],
    texts: Sequence[str],
    *,
    bold: Sequence[bool],
    fontsize: float,
    obstacles: np.ndarray,
) -> None:
    """Label points, each at the first spot that overlaps no label or point.

    Greedy and cheap: a label that fits nowhere goes where it overlaps least.
    ``obstacles`` are the data coordinates of every plotted point.
    """
    if not texts:
        return
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.text import Text
    from matplotlib.transforms import Bbox

    canvas = FigureCanvasAgg(fig)  # a renderer to measure text; savefig still picks by format
    canvas.draw()  # settles the layout, so label positions are final
    renderer = canvas.get_renderer()
    frame = ax.get_window_extent(renderer)
    dots = [Bbox.from_bounds(px - 3, py - 3, 6, 6) for px, py in ax.transData.transform(obstacles)]
    placed: list[Any] = []
    for point, text, heavy in zip(points, texts, bold, strict=True):
        best: tuple[int, Any] | None = None
        for ring in _LABEL_RINGS:
            for dx, dy, align in _LABEL_OFFSETS:
                leader = {"arrowstyle": "-", "color": _REFERENCE, "lw": 0.6, "shrinkB": 3}
                ann = ax.annotate(
                    text, point, xytext=(ring * dx, ring * dy), textcoords="offset points",
                    ha=align, fontsize=fontsize, fontweight="bold" if heavy else "normal",
                    zorder=5, arrowprops=leader if ring > 1 else None,
                )  # fmt: skip
                ann.set_in_layout(False)
                ann.update_positions(renderer)
                box = Text.get_window_extent(ann, renderer)  # the text, not its leader
                clashes = 3 * sum(box.overlaps(other) for other in placed)
                clashes += sum(box.overlaps(dot) for dot in dots)
                inside = frame.contains(box.x0, box.y0) and frame.contains(box.x1, box.y1)
                clashes += 0 if inside else 10
                if best is None or clashes < best[0]:
                    if best is not None:
                        best[1].remove()
                    best = (clashes, ann)
                else:
                    ann.remove()
                if clashes == 0:
                    break
            if best is not None and best[0] == 0:
                break
        assert best is not None
        placed.append(Text.get_window_extent(best[1], renderer))


def plot_latent_map(
    positions: pd.DataFrame,
    *,
    color_by: str = "group",
    label: Literal["highlight", "all", "none"] = "highlight",
    highlight: Iterable[str] | None = None,
    latent: tuple[int, int] = (1, 2),
    max_groups: int = 10,
    group_label: str = "family",
    title: str | None = None,
) -> Figure:
    """Posterior latent positions (mean ± 1 sd) in two latent dimensions.

    Parameters
    ----------
    positions : pandas.DataFrame
        One row per LLM (or task): ``name``, ``group`` (family or category),
        ``latent_1``, ``latent_2``, ... and ``sd_1``, ``sd_2``, ... (posterior
        mean and sd of the rotation-aligned loadings).
    color_by : str
        Column that colours the points: a categorical one (the largest
        ``max_groups`` groups get a colour, the rest are grey) or a numeric one
        (a colour scale).
    label : {"highlight", "all", "none"}
        Which points get a text label.
    highlight : iterable of str, optional
        Names to emphasise (and label).
    latent : (int, int)
        Which latent dimensions to plot.
    max_groups : int
        Groups shown in colour.
    group_label : str
        What a group is called in the legend ("family", "category").
    title : str, optional
        Figure title.
    """
    a, b = latent
    cols = [f"latent_{a}", f"latent_{b}", f"sd_{a}", f"sd_{b}"]
    _require_columns(positions, ["name", color_by, *cols], "positions")
    if label not in ("highlight", "all", "none"):
        raise DataError([f"label must be 'highlight', 'all' or 'none', not {label!r}"])
    frame = positions.reset_index(drop=True)
    names = frame["name"].astype(str).tolist()
    marked = set(_pick(highlight, names, "name in highlight")) if highlight is not None else set()
    x, y = frame[cols[0]].to_numpy(float), frame[cols[1]].to_numpy(float)
    sx, sy = frame[cols[2]].to_numpy(float), frame[cols[3]].to_numpy(float)

    fig = _figure(9.0, 7.0)
    ax = fig.add_subplot()
    numeric = pd.api.types.is_numeric_dtype(frame[color_by]) and color_by != "group"
    if numeric:
        from matplotlib import colormaps
        from matplotlib.colors import Normalize

        values = frame[color_by].to_numpy(float)
        norm = Normalize(np.nanmin(values), np.nanmax(values))
        cmap = colormaps["viridis"]
        point_colors = [_OTHER if np.isnan(v) else cmap(norm(v)) for v in values]
        mappable = ax.scatter([], [], c=[], cmap=cmap, norm=norm)
        fig.colorbar(mappable, ax=ax, label=color_by, shrink=0.8)
        legend_groups: list[tuple[str, Any, int]] = []
    else:
        group = frame[color_by].astype(str).fillna("(none)")
        sizes = group.value_counts(sort=False)
        ranked = sorted(sizes.index, key=lambda g: (-sizes[g], g))
        top = ranked[: max(0, int(max_groups))]
        palette = _colors(top)
        point_colors = [palette.get(g, _OTHER) for g in group]
        legend_groups = [(g, palette[g], int(sizes[g])) for g in top]
        rest = ranked[len(top) :]
        if rest:
            n_rest = int(sizes[rest].sum())
            legend_groups.append((f"{len(rest)} other {_plural(group_label)}", _OTHER, n_rest))
    grey = np.array([c == _OTHER for c in point_colors])
    for layer in (grey, ~grey):  # coloured points on top of grey ones
        idx = np.flatnonzero(layer)
        if not len(idx):
            continue
        colors = [point_colors[i] for i in idx]
        bars: dict[str, Any] = {"colors": colors, "linewidth": 0.9, "alpha": 0.45, "zorder": 2}
        ax.hlines(y[idx], x[idx] - sx[idx], x[idx] + sx[idx], **bars)
        ax.vlines(x[idx], y[idx] - sy[idx], y[idx] + sy[idx], **bars)
        ax.scatter(
            x[idx],
            y[idx],
            s=34,
            c=[point_colors[i] for i in idx],
            edgecolors="white",
            linewidths=0.5,
            zorder=3,
        )
    for i, name in enumerate(names):
        if name in marked:
            ax.scatter(
                x[i], y[i], s=90, facecolors="none", edgecolors="black", linewidths=1.4, zorder=4
            )
    ax.axhline(0.0, color=_BAND, linewidth=0.8, zorder=1)
    ax.axvline(0.0, color=_BAND, linewidth=0.8, zorder=1)
    ax.set_aspect("equal", adjustable="datalim")
    ax.grid(alpha=0.25)
    ax.set_axisbelow(True)
    ax.set_xlabel(f"latent dimension {a} (rotation-aligned posterior mean)")
    ax.set_ylabel(f"latent dimension {b}")
    ax.set_title(title or f"Latent positions of {len(frame)} items (bars: ±1 posterior sd)")
    if legend_groups:
        handles = [
            _line_handle(linestyle="none", marker="o", color=c, label=f"{_shorten(g, 26)} ({k})")
            for g, c, k in legend_groups
        ]
        fig.legend(
            handles=handles,
            loc="outside right upper",
            title=f"{group_label} (members)",
            frameon=False,
            fontsize=9,
        )
    if numeric and np.isnan(frame[color_by].to_numpy(float)).any():
        ax.scatter([], [], color=_OTHER, label=f"{color_by} missing")
        ax.legend(loc="best", fontsize=9)
    # Highlighted names first, so they get the best spots.
    wanted = [i for i, n in enumerate(names) if n in marked]
    wanted += [i for i, n in enumerate(names) if label == "all" and n not in marked]
    _place_labels(
        fig,
        ax,
        [(x[i], y[i]) for i in wanted],
        [_shorten(names[i], 28) for i in wanted],
        bold=[names[i] in marked for i in wanted],
        fontsize=8 if label == "all" else 9,
        obstacles=np.column_stack([x, y]),
    )
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

    da = _require_dims(curve, ("chain", "draw", "value", dims.TASK), "curve")
    probs_t = _check_probs(probs)
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
        shown = _pick(tasks, all_tasks, "task")
    index = [all_tasks.index(t) for t in shown]
    decades = float(np.log10(xs.max() / xs.min())) if log_x else 0.0
    subs = (1.0, 2.0, 5.0) if decades <= 1.3 else (1.0, 3.0) if decades <= 2.6 else (1.0,)
    ncols = max(1, min(int(ncols), len(shown)))
    nrows = -(-len(shown) // ncols)
    fig = _figure(float(np.clip(2.4 * ncols + 1.6, 7.0, 11.0)), 2.3 * nrows + 1.1)
    axes = np.atleast_2d(fig.subplots(nrows, ncols, sharex=True, squeeze=False))
    alphas = _band_alphas(probs_t)
    bands = {p: _eti(values, p, axis=(0, 1)) for p in probs_t}  # (value, task, 2)
    units = da.attrs.get("units")
    xlabel = f"{factor} ({units})" if units else factor
    for k, ax in enumerate(axes.flat):
        if k >= len(shown):
            ax.set_visible(False)
            continue
        j = index[k]
        for prob in reversed(probs_t):
            ax.fill_between(
                xs, bands[prob][:, j, 0], bands[prob][:, j, 1], color=_INTERVAL,
                alpha=alphas[prob], lw=0,
            )  # fmt: skip
        ax.plot(xs, mean[:, j], color=_MEAN_EDGE, linewidth=1.6)
        if reference is not None:
            ax.axvline(reference, color=_OBSERVED, linestyle="--", linewidth=1)
        if log_x:
            ax.set_xscale("log")
            ax.xaxis.set_major_locator(LogLocator(subs=subs))
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
            ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_title(_shorten(shown[k], 32), fontsize=10)
        ax.grid(alpha=0.3)
        ax.set_axisbelow(True)
        if k + ncols >= len(shown):
            ax.xaxis.set_tick_params(labelbottom=True)
    fig.supxlabel(xlabel)
    fig.supylabel(str(da.attrs.get("score_units", "predicted score (task units)")))
    fig.suptitle(title or f"Forecast as {factor} varies{note}")
    handles = [
        _line_handle(color=_INTERVAL, alpha=alphas[p], linewidth=8, label=f"{_pct(p)} interval")
        for p in probs_t
    ]
    handles.append(_line_handle(color=_MEAN_EDGE, linewidth=1.6, label="posterior mean"))
    if reference is not None:
        handles.append(
            _line_handle(color=_OBSERVED, linestyle="--", label=f"{factor} = {reference:g}")
        )
    # At the right: below the panels it would collide with the shared x label.
    fig.legend(handles=handles, loc="outside right upper", frameon=False, fontsize=9)
    return fig


# ------------------------------------------------------- active evaluation
def plot_active_curve(
    curve: pd.DataFrame,
    *,
    metrics: Sequence[str] = ("rmse", "mean_width_90"),
    units: str = "unit scale",
    title: str | None = None,
) -> Figure:
    """Held-out error and interval width as cells are revealed, per strategy.

    Lines are the mean over seeds; bands ± 1 standard error of that mean.

    Parameters
    ----------
    curve : pandas.DataFrame
        One row per strategy, seed and step: ``strategy`` (``"recommended"``,
        ``"random"``, ``"largest_sd"`` or others), ``seed``, ``n_revealed`` and
        the metric columns.
    metrics : sequence of str
        Metric columns, one panel each.
    units : str
        The metrics' scale (axis labels).
    title : str, optional
        Figure title.
    """
    metrics = list(metrics)
    _require_columns(curve, ["strategy", "seed", "n_revealed", *metrics], "curve")
    names = {"rmse": "held-out RMSE", "mean_width_90": "mean width of 90% intervals"}
    strategies = list(dict.fromkeys(curve["strategy"].astype(str)))
    known_order = [s for s in _STRATEGIES if s in strategies]
    strategies = known_order + [s for s in strategies if s not in _STRATEGIES]
    extra = _colors([s for s in strategies if s not in _STRATEGIES][::-1] or ["-"])
    fig = _figure(float(np.clip(4.6 * len(metrics), 7.0, 11.0)), 4.4)
    axes = np.atleast_1d(fig.subplots(1, len(metrics)))
    n_seeds = curve.groupby("strategy")["seed"].nunique()
    for ax, metric in zip(axes, metrics, strict=True):
        for strategy in strategies:
            label, color = _STRATEGIES.get(strategy, (strategy, extra.get(strategy, _OTHER)))
            sub = curve[curve["strategy"].astype(str) == strategy]
            stats = sub.groupby("n_revealed")[metric].agg(["mean", "std", "count"]).sort_index()
            se = (stats["std"] / np.sqrt(stats["count"])).fillna(0.0).to_numpy()
            x, m = stats.index.to_numpy(float), stats["mean"].to_numpy(float)
            ax.fill_between(x, m - se, m + se, color=color, alpha=0.2, lw=0)
            ax.plot(
                x,
                m,
                color=color,
                marker="o",
                markersize=3.5,
                linewidth=1.8,
                label=f"{label} ({int(n_seeds[strategy])} seeds)",
            )
        ax.set_xlabel("cells revealed")
        ax.set_ylabel(f"{names.get(metric, metric)} ({units})")
        ax.grid(alpha=0.3)
        ax.set_axisbelow(True)
    fig.suptitle(title or "Active evaluation on held-out cells (mean ± 1 s.e. over seeds)")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=len(labels), frameon=False)
    return fig


# ------------------------------------------------------------- diagnostics
def _worst_mixing(
    quantities: xr.Dataset, rhat: xr.Dataset, k: int
) -> list[tuple[str, xr.DataArray]]:
    """The ``k`` scalar quantities with the largest r-hat, labelled ``var[coords]  r̂=...``."""
    ranked = []
    for var in quantities.data_vars:
        for i, r in enumerate(np.atleast_1d(rhat[var].to_numpy()).ravel()):
            ranked.append((np.inf if np.isnan(r) else float(r), str(var), i))
    ranked.sort(key=lambda t: -t[0])
    out = []
    for r, var, i in ranked[: max(1, int(k))]:
        da = quantities[var]
        other = [d for d in da.dims if d not in dims.SAMPLE_DIMS]
        where = dict(zip(other, np.unravel_index(i, [da.sizes[d] for d in other]), strict=True))
        cell = da.isel(where)
        labels = ", ".join(
            str(cell[d].item()) if d in cell.coords else str(j) for d, j in where.items()
        )
        keep = [c for c in cell.coords if c not in dims.SAMPLE_DIMS]
        out.append(
            (f"{var}[{labels}]  r̂={r:.3f}" if other else f"{var}  r̂={r:.3f}", cell.drop_vars(keep))
        )
    return out


def plot_diagnostics(
    est: Any,
    *,
    kind: Literal["rank", "trace"] = "rank",
    max_quantities: int = 8,
) -> Figure:
    """Rank (or trace) plots of a fit's worst-mixing identified quantities.

    Identified quantities (:func:`bayes_cpp.diagnostics.identified_quantities`:
    biases, scales, noise, the linear predictor of observed cells, ...) are
    ranked by r-hat and the ``max_quantities`` worst are drawn with
    arviz-plots (``plot_rank_dist`` or ``plot_trace_dist``).

    Parameters
    ----------
    est : BayesCPP
        A fitted estimator.
    kind : {"rank", "trace"}
        Rank plots (uniform when chains agree) or traces.
    max_quantities : int
        How many quantities to draw.
    """
    import arviz_stats as azs

    from bayes_cpp.diagnostics import identified_quantities

    if kind not in ("rank", "trace"):
        raise DataError([f"kind must be 'rank' or 'trace', not {kind!r}"])
    est.check_is_fitted()
    _figure(1, 1)  # the matplotlib check, before arviz-plots
    try:
        import arviz_plots
        import matplotlib.pyplot as plt
    except ImportError as err:
        raise MissingDependencyError(f"plot_diagnostics needs arviz-plots; {_INSTALL}") from err
    quantities = identified_quantities(est.idata_)
    shown = xr.Dataset(dict(_worst_mixing(quantities, azs.rhat(quantities), max_quantities)))
    tree = xr.DataTree.from_dict({"posterior": shown})
    plotter = arviz_plots.plot_rank_dist if kind == "rank" else arviz_plots.plot_trace_dist
    pc = plotter(
        tree,
        backend="matplotlib",
        figure_kwargs={"figsize": (10.0, 1.35 * len(shown.data_vars) + 0.9)},
    )
    fig = pc.viz["figure"].item()
    names = set(shown.data_vars)
    panels = [ax for ax in fig.axes if ax.get_xlabel() in names or ax.get_ylabel() in names]
    for ax in panels:
        # arviz-plots writes each name as a rotated y label that long names overflow;
        # one title per row reads better.
        if ax.get_xlabel() in names:
            ax.set_title(ax.get_xlabel(), loc="left", fontsize=10)
            ax.set_xlabel("")
        else:
            ax.set_ylabel("")
    for ax in fig.axes[:-2]:
        ax.set_xlabel("")
    fig.set_layout_engine("constrained")
    fig.suptitle(f"Worst-mixing identified quantities by r̂ ({kind} plots; line style = chain)")
    plt.close(fig)  # keep it out of pyplot's registry, like every other figure here
    return fig
