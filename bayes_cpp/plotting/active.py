"""Active-evaluation curves: held-out error and width vs cells revealed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from bayes_cpp.plotting._base import (
    OTHER,
    colors_for,
    new_figure,
    require_columns,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure

_STRATEGIES = {
    "recommended": ("recommended order", "#1f77b4"),
    "random": ("random order", "#7f7f7f"),
    "largest_sd": ("largest posterior sd first", "#ff7f0e"),
}


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
    require_columns(curve, ["strategy", "seed", "n_revealed", *metrics], "curve")
    names = {"rmse": "held-out RMSE", "mean_width_90": "mean width of 90% intervals"}
    strategies = list(dict.fromkeys(curve["strategy"].astype(str)))
    known_order = [s for s in _STRATEGIES if s in strategies]
    strategies = known_order + [s for s in strategies if s not in _STRATEGIES]
    extra = colors_for([s for s in strategies if s not in _STRATEGIES][::-1] or ["-"])
    fig = new_figure(float(np.clip(4.6 * len(metrics), 7.0, 11.0)), 4.4)
    axes = np.atleast_1d(fig.subplots(1, len(metrics)))
    n_seeds = curve.groupby("strategy")["seed"].nunique()
    for ax, metric in zip(axes, metrics, strict=True):
        for strategy in strategies:
            label, color = _STRATEGIES.get(strategy, (strategy, extra.get(strategy, OTHER)))
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
