"""Convergence figures of a fit (arviz-plots rank and trace plots)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import xarray as xr

from bayes_cpp import dims
from bayes_cpp.exceptions import DataError, MissingDependencyError
from bayes_cpp.plotting._base import (
    INSTALL,
    new_figure,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure


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
    est.check_complete("plot_diagnostics()")
    new_figure(1, 1)  # the matplotlib check, before arviz-plots
    try:
        import arviz_plots
        import matplotlib.pyplot as plt
    except ImportError as err:
        raise MissingDependencyError(f"plot_diagnostics needs arviz-plots; {INSTALL}") from err
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
