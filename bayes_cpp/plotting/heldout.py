"""Held-out cell figures: predicted vs observed, calibration, PIT."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from bayes_cpp import dims
from bayes_cpp.exceptions import DataError
from bayes_cpp.plotting._base import (
    BAND,
    INTERVAL,
    MISSED,
    REFERENCE,
    check_probs,
    colors_for,
    interval_widths,
    line_handle,
    new_figure,
    pct,
    pick_names,
    require_columns,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def _cells_of(cells: pd.DataFrame, method: str, columns: Iterable[str]) -> pd.DataFrame:
    require_columns(cells, ["method", *columns], "cells")
    known = list(dict.fromkeys(cells["method"].astype(str)))
    pick_names(method, known, "method")
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
    probs_t = check_probs(probs)
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

    fig = new_figure(7.0, 7.0)
    ax = fig.add_subplot()
    widths = interval_widths(probs_t)
    for hit, color in ((True, INTERVAL), (False, MISSED)):
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
    ax.plot([0, 1], [0, 1], color=REFERENCE, linestyle="--", linewidth=1.2, zorder=4)
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
        f"{pct(p)} coverage {np.mean((truth >= sub[f'lower_{_tag(p)}']) & (truth <= sub[f'upper_{_tag(p)}'])):.1%}"
        for p in probs_t
    ]
    ax.text(
        0.03,
        0.97,
        "\n".join(lines),
        transform=ax.transAxes,
        va="top",
        fontsize=9,
        bbox={"boxstyle": "round", "facecolor": "white", "alpha": 0.85, "edgecolor": BAND},
    )
    ax.set_title(title or f"{method}: predicted vs observed on held-out cells")
    handles = [
        line_handle(color=INTERVAL, linewidth=widths[p] * 0.6, label=f"{pct(p)} interval")
        for p in probs_t
    ]
    handles += [
        line_handle(
            linestyle="none", marker="o", color=MISSED, label=f"outside {pct(probs_t[-1])}"
        ),
        line_handle(color=REFERENCE, linestyle="--", label="predicted = observed"),
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
    (band,) = check_probs([band_prob], "band_prob")
    covered = [f"covered_{_tag(p)}" for p in levels]
    require_columns(cells, ["method", *covered], "cells")
    known = list(dict.fromkeys(cells["method"].astype(str)))
    shown = pick_names(methods, known, "method")
    colors = colors_for(shown)
    nominal = np.array(levels)
    counts = cells.groupby(cells["method"].astype(str)).size()
    n = int(counts[shown].min())

    fig = new_figure(10.0, 4.6)
    left, right = fig.subplots(1, 2)
    # Exact binomial ranges at the scored levels, joined by straight lines.
    grid = nominal
    tail = (1.0 - band) / 2.0
    lo = stats.binom.ppf(tail, n, grid) / n
    hi = stats.binom.ppf(1.0 - tail, n, grid) / n
    band_label = f"{pct(band)} range if calibrated (n = {n} cells)"
    left.fill_between(100 * grid, 100 * lo, 100 * hi, color=BAND, alpha=0.6, lw=0, label=band_label)
    right.fill_between(
        100 * grid, 100 * (lo - grid), 100 * (hi - grid), color=BAND, alpha=0.6, lw=0
    )
    left.plot(100 * grid, 100 * grid, color=REFERENCE, linestyle="--", linewidth=1)
    right.axhline(0.0, color=REFERENCE, linestyle="--", linewidth=1)
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
    (band,) = check_probs([band_prob], "band_prob")
    pit = _cells_of(cells, method, ["pit"])["pit"].to_numpy(float)
    pit = pit[np.isfinite(pit)]
    n = len(pit)
    if n < 5:
        raise DataError([f"method {method!r} has {n} finite PIT values; need at least 5"])
    tail = (1.0 - band) / 2.0
    panels = ["hist", "ecdf"] if kind == "both" else [kind]
    fig = new_figure(10.0 if len(panels) == 2 else 6.0, 4.4)
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
                color=INTERVAL,
                alpha=0.75,
                edgecolor="white",
            )
            # On top of the bars, so a bar inside the range still shows it.
            ax.axhspan(
                lo, hi, facecolor=BAND, alpha=0.25, edgecolor=REFERENCE, linestyle=":",
                linewidth=1, label=f"pointwise {pct(band)} range if uniform", zorder=3,
            )  # fmt: skip
            ax.axhline(1.0, color=REFERENCE, linestyle="--", linewidth=1, zorder=4)
            ax.set_xlim(0, 1)
            ax.set_ylabel("density (1 = uniform)")
            ax.set_title("PIT histogram")
        else:
            rng = np.random.default_rng(random_seed)
            x, ecdf, lower, upper = ecdf_pit(pit, band, n_simulations=1000, rng=rng)
            ax.fill_between(
                x, lower - x, upper - x, step="post", color=BAND, alpha=0.6, lw=0,
                label=f"simultaneous {pct(band)} band if uniform",
            )  # fmt: skip
            ax.step(x, ecdf - x, where="post", color=INTERVAL, linewidth=1.6)
            ax.axhline(0.0, color=REFERENCE, linestyle="--", linewidth=1)
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
