"""Simulation-based calibration figures: rank ECDFs and histograms per quantity."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from bayes_cpp.exceptions import DataError
from bayes_cpp.plotting._base import (
    BAND,
    INTERVAL,
    MISSED,
    REFERENCE,
    check_probs,
    new_figure,
    pct,
    pick_names,
    require_columns,
    shorten,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def _p_text(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def plot_sbc(
    result: Any,
    *,
    quantities: Iterable[str] | str | None = None,
    kind: Literal["ecdf", "hist"] = "ecdf",
    max_panels: int = 12,
    band_prob: float = 0.99,
    bins: int | None = None,
    random_seed: int = 0,
    title: str | None = None,
) -> Figure:
    """Fractional SBC ranks of some quantities: ECDF difference or histogram, one panel each.

    Uniform ranks (an exact posterior) give an ECDF difference inside the
    band and a flat histogram. A U (ECDF difference falling, then rising)
    means posteriors too narrow; a hump, too wide; a tilt, biased.

    Parameters
    ----------
    result : SBCResult or pandas.DataFrame
        :func:`bayes_cpp.validation.sbc`'s result (or its ``ranks`` frame,
        columns ``quantity`` and ``u``), e.g. ``SBCResult.from_json(path)``.
    quantities : str or iterable of str, optional
        Quantities to draw (default: the ``max_panels`` with the smallest
        uniformity p-values).
    kind : {"ecdf", "hist"}
        ECDF minus the uniform CDF with a simultaneous band (arviz-stats'
        ``ecdf_pit``, simulated with ``random_seed``), or a histogram with a
        pointwise binomial band.
    max_panels : int
        Panels drawn when ``quantities`` is not given.
    band_prob : float
        Probability of the bands (0.99 matches the 1% test level).
    bins : int, optional
        Histogram bins (default ``n / 5`` capped to 2..20).
    random_seed : int
        Seeds the band simulation.
    title : str, optional
        Figure title.
    """
    from scipy import stats

    from bayes_cpp.validation import uniformity_tests

    if kind not in ("ecdf", "hist"):
        raise DataError([f"kind must be 'ecdf' or 'hist', not {kind!r}"])
    (band,) = check_probs([band_prob], "band_prob")
    ranks = result if isinstance(result, pd.DataFrame) else getattr(result, "ranks", None)
    require_columns(ranks, ["quantity", "u"], "SBC ranks")
    assert isinstance(ranks, pd.DataFrame)
    frame = ranks.assign(
        variable=ranks.get("variable", ranks["quantity"]),
        kind=ranks.get("kind", "posterior"),
    )
    tests = uniformity_tests(frame).set_index("quantity")
    known = list(tests.index)
    if quantities is None:
        if int(max_panels) < 1:
            raise DataError([f"max_panels must be at least 1, not {max_panels!r}"])
        shown = known[: int(max_panels)]
    else:
        shown = pick_names(quantities, known, "quantity")
    n_cols = min(4, len(shown))
    n_rows = int(np.ceil(len(shown) / n_cols))
    fig = new_figure(3.2 * n_cols, 2.6 * n_rows + 0.8)
    axes = np.atleast_1d(fig.subplots(n_rows, n_cols, squeeze=False)).ravel()
    tail = (1.0 - band) / 2.0
    rng = np.random.default_rng(random_seed)
    for ax, quantity in zip(axes, shown, strict=False):
        u = frame.loc[frame["quantity"] == quantity, "u"].to_numpy(float)
        n = len(u)
        row = tests.loc[quantity]
        color = MISSED if bool(row["rejected"]) else INTERVAL
        if kind == "ecdf":
            from arviz_stats.ecdf_utils import ecdf_pit

            x, ecdf, lower, upper = ecdf_pit(u, band, n_simulations=1000, rng=rng)
            ax.fill_between(x, lower - x, upper - x, step="post", color=BAND, alpha=0.6, lw=0)
            ax.step(x, ecdf - x, where="post", color=color, linewidth=1.5)
            ax.axhline(0.0, color=REFERENCE, linestyle="--", linewidth=1)
        else:
            b = bins or int(np.clip(n // 5, 2, 20))
            counts, edges = np.histogram(u, bins=b, range=(0.0, 1.0))
            expected = n / b
            lo = stats.binom.ppf(tail, n, 1.0 / b) / expected
            hi = stats.binom.ppf(1.0 - tail, n, 1.0 / b) / expected
            ax.bar(edges[:-1], counts / expected, width=np.diff(edges), align="edge",
                   color=color, alpha=0.75, edgecolor="white")  # fmt: skip
            ax.axhspan(lo, hi, color=BAND, alpha=0.35, lw=0, zorder=0)
            ax.axhline(1.0, color=REFERENCE, linestyle="--", linewidth=1)
        ax.set_xlim(0, 1)
        ax.grid(alpha=0.3)
        ax.set_axisbelow(True)
        ax.set_title(
            f"{shorten(quantity, 34)}\n{_p_text(float(row['p_value']))}, "
            f"adjusted {_p_text(float(row['p_adjusted']))}",
            fontsize=9,
        )
        ax.tick_params(labelsize=8)
    for ax in axes[len(shown) :]:
        ax.set_visible(False)
    ylabel = "ECDF − uniform" if kind == "ecdf" else "density (1 = uniform)"
    for ax in axes[::n_cols]:
        ax.set_ylabel(ylabel, fontsize=9)
    for ax in axes[(n_rows - 1) * n_cols :]:
        ax.set_xlabel("fractional rank of the true value", fontsize=9)
    n_rep = int(frame.groupby("quantity").size().max())
    band_kind = "simultaneous" if kind == "ecdf" else "pointwise"
    fig.suptitle(
        title
        or f"SBC ranks over {n_rep} replications (grey: {band_kind} {pct(band)} band if uniform; "
        "orange: rejected after Holm correction)",
        fontsize=11,
    )
    return fig
