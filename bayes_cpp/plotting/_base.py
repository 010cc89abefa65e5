"""Shared pieces of the figures: colours, checks, intervals, a figure pyplot does not track."""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import xarray as xr

from bayes_cpp import dims
from bayes_cpp.exceptions import DataError, MissingDependencyError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

INSTALL = "install the plot extra: pip install 'bayes_cpp[plot]'"

# One colour per role, the same in every figure.
INTERVAL = "#1f77b4"
MEAN_EDGE = "#0b3c68"
OBSERVED = "#d62728"
MISSED = "#ff7f0e"
REFERENCE = "#4d4d4d"
BAND = "#bdbdbd"
OTHER = "#c7c7c7"
TAB10 = (
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


def new_figure(width: float, height: float) -> Figure:
    """A constrained-layout figure that pyplot does not track."""
    try:
        from matplotlib.figure import Figure
    except ImportError as err:
        raise MissingDependencyError(f"plotting needs matplotlib; {INSTALL}") from err
    return Figure(figsize=(width, height), layout="constrained")


def pct(prob: float) -> str:
    return f"{100 * prob:g}%"


def check_probs(probs: Iterable[float], what: str = "probs") -> tuple[float, ...]:
    try:
        out = tuple(sorted(float(p) for p in probs))
    except (TypeError, ValueError):
        raise DataError([f"{what} must be interval probabilities, not {probs!r}"]) from None
    if not out or len(set(out)) < len(out):
        raise DataError([f"{what} must be distinct interval probabilities, not {probs!r}"])
    for p in out:
        try:
            dims.interval_bounds(p)
        except ValueError as err:
            raise DataError([f"{what}: {err}"]) from None
    return out


def require_columns(frame: Any, columns: Iterable[str], what: str) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise DataError([f"{what} must be a pandas DataFrame, not {type(frame).__name__}"])
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(
            [f"{what} lacks column {c!r} (it has {list(frame.columns)})" for c in missing]
        )
    if frame.empty:
        raise DataError([f"{what} has no rows"])


def require_dims(array: Any, wanted: Sequence[str], what: str) -> xr.DataArray:
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


def pick_names(names: Iterable[str] | str | None, known: Sequence[str], what: str) -> list[str]:
    if names is None:
        return list(known)
    out = [names] if isinstance(names, str) else [str(n) for n in names]
    unknown = [n for n in out if n not in set(known)]
    if unknown:
        raise DataError([f"unknown {what} {n!r}; known: {list(known)}" for n in unknown])
    if not out:
        raise DataError([f"no {what} selected"])
    return out


def eti(values: np.ndarray, prob: float, axis: int | tuple[int, ...]) -> np.ndarray:
    """Equal-tailed interval (last axis: lower, upper) via arviz-stats."""
    from arviz_stats.base import array_stats

    return np.asarray(array_stats.eti(values, prob, axis=axis))


def shorten(text: str, width: int) -> str:
    return textwrap.shorten(str(text), width=width, placeholder="…")


def line_handle(**kwargs: Any) -> Any:
    from matplotlib.lines import Line2D

    return Line2D([], [], **kwargs)


def plural(word: str) -> str:
    return word[:-1] + "ies" if word.endswith("y") else word + "s"


def colors_for(names: Sequence[str]) -> dict[str, str]:
    return {n: TAB10[i % len(TAB10)] for i, n in enumerate(names)}


def interval_widths(probs: tuple[float, ...]) -> dict[float, float]:
    """Line widths of nested intervals: the narrowest is the thickest."""
    return {p: 1.4 + 3.6 * i / max(1, len(probs) - 1) for i, p in enumerate(reversed(probs))}


def band_alphas(probs: tuple[float, ...]) -> dict[float, float]:
    """Fill opacities of nested bands: the narrowest is the darkest."""
    return {p: 0.18 + 0.27 * i / max(1, len(probs) - 1) for i, p in enumerate(reversed(probs))}
