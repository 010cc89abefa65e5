"""The latent map: positions with uncertainty, coloured by group, with placed labels."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from bayes_cpp.exceptions import DataError
from bayes_cpp.plotting._base import (
    BAND,
    OTHER,
    REFERENCE,
    colors_for,
    line_handle,
    new_figure,
    pick_names,
    plural,
    require_columns,
    shorten,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

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
                leader = {"arrowstyle": "-", "color": REFERENCE, "lw": 0.6, "shrinkB": 3}
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
    require_columns(positions, ["name", color_by, *cols], "positions")
    if label not in ("highlight", "all", "none"):
        raise DataError([f"label must be 'highlight', 'all' or 'none', not {label!r}"])
    frame = positions.reset_index(drop=True)
    names = frame["name"].astype(str).tolist()
    marked = (
        set(pick_names(highlight, names, "name in highlight")) if highlight is not None else set()
    )
    x, y = frame[cols[0]].to_numpy(float), frame[cols[1]].to_numpy(float)
    sx, sy = frame[cols[2]].to_numpy(float), frame[cols[3]].to_numpy(float)

    fig = new_figure(9.0, 7.0)
    ax = fig.add_subplot()
    numeric = pd.api.types.is_numeric_dtype(frame[color_by]) and color_by != "group"
    if numeric:
        from matplotlib import colormaps
        from matplotlib.colors import Normalize

        values = frame[color_by].to_numpy(float)
        norm = Normalize(np.nanmin(values), np.nanmax(values))
        cmap = colormaps["viridis"]
        point_colors = [OTHER if np.isnan(v) else cmap(norm(v)) for v in values]
        mappable = ax.scatter([], [], c=[], cmap=cmap, norm=norm)
        fig.colorbar(mappable, ax=ax, label=color_by, shrink=0.8)
        legend_groups: list[tuple[str, Any, int]] = []
    else:
        group = frame[color_by].astype(str).fillna("(none)")
        sizes = group.value_counts(sort=False)
        ranked = sorted(sizes.index, key=lambda g: (-sizes[g], g))
        top = ranked[: max(0, int(max_groups))]
        palette = colors_for(top)
        point_colors = [palette.get(g, OTHER) for g in group]
        legend_groups = [(g, palette[g], int(sizes[g])) for g in top]
        rest = ranked[len(top) :]
        if rest:
            n_rest = int(sizes[rest].sum())
            legend_groups.append((f"{len(rest)} other {plural(group_label)}", OTHER, n_rest))
    grey = np.array([c == OTHER for c in point_colors])
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
    ax.axhline(0.0, color=BAND, linewidth=0.8, zorder=1)
    ax.axvline(0.0, color=BAND, linewidth=0.8, zorder=1)
    ax.set_aspect("equal", adjustable="datalim")
    ax.grid(alpha=0.25)
    ax.set_axisbelow(True)
    ax.set_xlabel(f"latent dimension {a} (rotation-aligned posterior mean)")
    ax.set_ylabel(f"latent dimension {b}")
    ax.set_title(title or f"Latent positions of {len(frame)} items (bars: ±1 posterior sd)")
    if legend_groups:
        handles = [
            line_handle(linestyle="none", marker="o", color=c, label=f"{shorten(g, 26)} ({k})")
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
        ax.scatter([], [], color=OTHER, label=f"{color_by} missing")
        ax.legend(loc="best", fontsize=9)
    # Highlighted names first, so they get the best spots.
    wanted = [i for i, n in enumerate(names) if n in marked]
    wanted += [i for i, n in enumerate(names) if label == "all" and n not in marked]
    _place_labels(
        fig,
        ax,
        [(x[i], y[i]) for i in wanted],
        [shorten(names[i], 28) for i in wanted],
        bold=[names[i] in marked for i in wanted],
        fontsize=8 if label == "all" else 9,
        obstacles=np.column_stack([x, y]),
    )
    return fig
