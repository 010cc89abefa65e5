"""Tables for people and for machines: draw summaries with percent-style columns, rendering.

:func:`summarize` turns labelled draws (``predict``, ``forecast``) into one row
per cell with ``mean``, ``sd`` and equal-tailed quantiles named like ``5%``
and ``95%``; :func:`interval_columns` renames a table's ``lower``/``upper``
the same way. :func:`render` writes a table as aligned text (what a person
reads), CSV or JSON records (what a script reads).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
import xarray as xr

from bayes_cpp import dims
from bayes_cpp.dims import percent_label
from bayes_cpp.exceptions import SpecError

__all__ = ["Format", "interval_columns", "quantile_levels", "render", "summarize"]

Format = Literal["text", "csv", "json"]


def quantile_levels(probs: Sequence[float]) -> list[float]:
    """Sorted lower and upper quantiles of central intervals (``0.9 -> 0.05, 0.95``).

    Examples
    --------
    >>> quantile_levels([0.5, 0.9])
    [0.05, 0.25, 0.75, 0.95]
    """
    levels: set[float] = set()
    for p in probs:
        try:
            levels |= set(dims.interval_bounds(p))
        except (TypeError, ValueError) as err:
            raise SpecError(str(err)) from None
    return sorted(levels)


def summarize(
    draws: xr.DataArray,
    by: Sequence[str] = (dims.LLM, dims.TASK),
    *,
    probs: Sequence[float] = dims.BAND_PROBS,
) -> pd.DataFrame:
    """Mean, sd and equal-tailed quantiles of draws, one row per combination of ``by``.

    Parameters
    ----------
    draws : xarray.DataArray
        Dims ``chain``, ``draw`` and ``by`` (e.g. what ``predict`` returns).
    by : sequence of str
        The dims that label rows, in order.
    probs : sequence of float
        Central interval probabilities; each adds two percent-style columns.

    Returns
    -------
    pandas.DataFrame
        Columns ``by``..., ``mean``, ``sd``, then the quantiles (``5%``, ``25%``,
        ``75%``, ``95%`` for the default 50% and 90% intervals).

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> da = xr.DataArray(
    ...     np.random.default_rng(0).normal(50, 5, size=(2, 400, 1, 2)),
    ...     dims=("chain", "draw", "llm", "task"),
    ...     coords={"llm": ["a"], "task": ["t1", "t2"]},
    ... )
    >>> summarize(da).columns.tolist()
    ['llm', 'task', 'mean', 'sd', '5%', '25%', '75%', '95%']
    """
    levels = quantile_levels(probs)
    sample = list(dims.SAMPLE_DIMS)
    da = draws.transpose(*sample, *by)
    values = da.to_numpy().astype(float).reshape(-1, *[da.sizes[d] for d in by])
    flat = values.reshape(values.shape[0], -1)
    index = pd.MultiIndex.from_product([da[d].to_numpy().tolist() for d in by], names=list(by))
    frame = index.to_frame(index=False)
    for d in by:
        frame[d] = frame[d].astype(str) if da[d].dtype.kind in "OUS" else frame[d]
    frame["mean"] = flat.mean(axis=0)
    frame["sd"] = flat.std(axis=0, ddof=1) if flat.shape[0] > 1 else np.nan
    quant = np.quantile(flat, levels, axis=0)
    for level, row in zip(levels, quant, strict=True):
        frame[percent_label(level)] = row
    return frame


def interval_columns(
    table: pd.DataFrame, prob: float = dims.CI_PROB, *, lower: str = "lower", upper: str = "upper"
) -> pd.DataFrame:
    """A copy of ``table`` with ``lower``/``upper`` renamed to their quantiles (``5%``, ``95%``).

    Examples
    --------
    >>> import pandas as pd
    >>> interval_columns(
    ...     pd.DataFrame({"mean": [1.0], "lower": [0.0], "upper": [2.0]})
    ... ).columns.tolist()
    ['mean', '5%', '95%']
    """
    lo, hi = quantile_levels([prob])
    return table.rename(columns={lower: percent_label(lo), upper: percent_label(hi)})


def _formatter(decimals: int) -> object:
    def fmt(value: object) -> str:
        if isinstance(value, float | np.floating):
            return "" if math.isnan(float(value)) else f"{float(value):.{decimals}f}"
        return str(value)

    return fmt


def render(
    table: pd.DataFrame,
    fmt: Format = "text",
    *,
    decimals: int | Mapping[str, int] = 1,
) -> str:
    """A table as aligned text, CSV or JSON records (NaN as an empty cell or ``null``).

    ``decimals`` rounds floats in the text form only (one number, or per
    column with 1 for the others); CSV and JSON keep full precision.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"task": ["a", "b"], "mean": [61.234, float("nan")]})
    >>> print(render(t))
    task mean
    a    61.2
    b
    >>> render(t, "json")
    '[{"task":"a","mean":61.234},{"task":"b","mean":null}]'
    """
    if fmt == "csv":
        return table.to_csv(index=False)
    if fmt == "json":
        return str(table.to_json(orient="records", double_precision=10))
    if fmt != "text":
        raise SpecError(f"format must be 'text', 'csv' or 'json', not {fmt!r}")
    per = decimals if isinstance(decimals, Mapping) else {}
    default = decimals if isinstance(decimals, int) else 1
    formatters: dict[str, Any] = {}
    for c in table.columns:
        if pd.api.types.is_float_dtype(table[c]):
            formatters[c] = _formatter(per.get(str(c), default))
        elif not pd.api.types.is_numeric_dtype(table[c]):
            # Names read best left-aligned (pandas right-aligns every column).
            width = max([len(str(c)), *(len(str(v)) for v in table[c])])
            formatters[c] = lambda v, w=width: str(v).ljust(w)
    text = table.to_string(index=False, formatters=formatters, na_rep="", justify="left")
    return "\n".join(line.rstrip() for line in text.splitlines())
