"""Forests of design-factor coefficients."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from bayes_cpp import dims
from bayes_cpp.exceptions import DataError
from bayes_cpp.plotting._base import (
    INTERVAL,
    REFERENCE,
    check_probs,
    line_handle,
    new_figure,
    pct,
    require_columns,
    shorten,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

_SIDE_LABELS = {dims.LLM: ("LLM factor", "#1f77b4"), dims.TASK: ("task factor", "#2ca02c")}


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
    ax.axvline(0.0, color=REFERENCE, linestyle="--", linewidth=1, zorder=1)
    ax.grid(axis="x", alpha=0.3)
    ax.grid(axis="y", linestyle=":", alpha=0.35)
    ax.set_axisbelow(True)


def _zero_handles(ci_prob: float) -> list[Any]:
    return [
        line_handle(color=REFERENCE, linewidth=2.2, label=f"{pct(ci_prob)} interval"),
        line_handle(
            linestyle="none", marker="o", color=REFERENCE, label="mean, interval excludes 0"
        ),
        line_handle(
            linestyle="none",
            marker="o",
            markerfacecolor="white",
            markeredgecolor=REFERENCE,
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
    require_columns(
        coefficients, ["side", "factor", "on", "mean", "sd", "lower", "upper"], "coefficients"
    )
    (ci_prob,) = check_probs([ci_prob], "ci_prob")
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
    fig = new_figure(width, max(3.0, 0.42 * len(rows) + 1.9))
    axes = np.atleast_1d(fig.subplots(1, len(targets), sharey=True))
    for ax, target in zip(axes, targets, strict=True):
        sub = frame[frame["on"] == target]
        y = np.array([position[(s, f)] for s, f in zip(sub["side"], sub["factor"], strict=True)])
        _forest(ax, y, sub, [_SIDE_LABELS[s][1] for s in sub["side"]])
        ax.set_title(f"on {target}")
        ax.set_xlabel("coefficient per sd of the factor")
    axes[0].set_yticks([position[r] for r in rows], [shorten(f, 30) for _, f in rows])
    for tick, (side, _) in zip(axes[0].get_yticklabels(), rows, strict=True):
        tick.set_color(_SIDE_LABELS[side][1])
    axes[0].set_ylim(-0.6, len(rows) - 0.4)
    fig.suptitle(
        title or f"Standardized design-factor coefficients (mean, {pct(ci_prob)} interval)"
    )
    handles = [
        line_handle(color=color, linewidth=2.2, label=label)
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
    require_columns(by_category, ["factor", "category", "mean", "lower", "upper"], "by_category")
    (ci_prob,) = check_probs([ci_prob], "ci_prob")
    frame = by_category.astype({"factor": str, "category": str})
    factors = list(dict.fromkeys(frame["factor"]))
    categories = list(dict.fromkeys(frame["category"]))
    position = {c: len(categories) - 1 - i for i, c in enumerate(categories)}
    ncols = max(1, min(int(ncols), len(factors)))
    nrows = -(-len(factors) // ncols)
    width = float(np.clip(2.0 + 2.4 * ncols, 7.0, 12.0))
    fig = new_figure(width, max(3.0, nrows * (0.32 * len(categories) + 1.2) + 0.9))
    axes = np.atleast_2d(fig.subplots(nrows, ncols, sharey=True, sharex=True, squeeze=False))
    for k, ax in enumerate(axes.flat):
        if k >= len(factors):
            ax.set_visible(False)
            continue
        sub = frame[frame["factor"] == factors[k]]
        y = np.array([position[c] for c in sub["category"]])
        _forest(ax, y, sub, [INTERVAL] * len(sub))
        ax.set_title(shorten(factors[k], 30))
        if k // ncols == nrows - 1 or k + ncols >= len(factors):
            ax.set_xlabel(xlabel)
            ax.xaxis.set_tick_params(labelbottom=True)
    axes[0, 0].set_yticks([position[c] for c in categories], [shorten(c, 28) for c in categories])
    axes[0, 0].set_ylim(-0.6, len(categories) - 0.4)
    fig.suptitle(title or f"Design-factor effects by task category (mean, {pct(ci_prob)} interval)")
    handles = _zero_handles(ci_prob)
    fig.legend(handles=handles, loc="outside lower center", ncols=len(handles), frameon=False)
    return fig
