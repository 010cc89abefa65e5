"""Design matrices: turn factor-table columns into standardized regressors.

The standardization (center and scale) is fitted on the training tables and
stored with the fit, so a forecast for a new LLM or task uses the same
transform. Missing values stay NaN here; the graph imputes them.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from bayes_cpp._validation import suggest
from bayes_cpp.exceptions import DataError, DataWarning
from bayes_cpp.spec import Feature

__all__ = ["EXTRAPOLATION_SD", "Design", "build_design", "check_feature_columns"]

#: A new LLM's or task's standardized feature more than this many training sds
#: beyond the training minimum or maximum is an extrapolation (forecasts warn).
EXTRAPOLATION_SD = 4.0

#: Values each transform accepts: (exclusive lower limit, how to say it).
_DOMAIN = {"log": (0.0, "> 0"), "log2": (0.0, "> 0"), "log1p": (-1.0, "> -1")}


@dataclass(frozen=True)
class Design:
    """Fitted standardization of a list of features.

    Attributes
    ----------
    features : tuple of Feature
        The features in use (those whose column was found and not constant).
    columns : tuple of str
        The table column each feature was read from.
    center, scale : tuple of float
        Standardization constants (mean and sd of the transformed column).
    """

    features: tuple[Feature, ...]
    columns: tuple[str, ...]
    center: tuple[float, ...]
    scale: tuple[float, ...]

    @property
    def names(self) -> list[str]:
        """Feature names (the ``llm_feature``/``task_feature`` coordinate)."""
        return [f.name for f in self.features]

    def __len__(self) -> int:
        return len(self.features)

    def matrix(self, table: pd.DataFrame, *, what: str = "table") -> np.ndarray:
        """Standardized ``(n_rows, n_features)`` matrix, NaN where a value is missing."""
        out = np.full((len(table), len(self.features)), np.nan)
        for j, (feat, col) in enumerate(zip(self.features, self.columns, strict=True)):
            if col not in table.columns:
                continue  # entirely missing for these rows: imputed downstream
            raw = pd.to_numeric(table[col], errors="coerce").to_numpy(dtype=float)
            if np.isnan(raw[~pd.isna(table[col]).to_numpy()]).any():
                raise DataError([f"{what}: column {col!r} (feature {feat.name!r}) must be numeric"])
            out[:, j] = (_transform(raw, feat.transform) - self.center[j]) / self.scale[j]
        return out

    def value_problem(self, column: str, value: Any) -> str | None:
        """What is wrong with ``value`` as a new row's ``column``, or None if it is usable.

        Examples
        --------
        >>> from bayes_cpp.spec import Feature
        >>> d = Design(
        ...     (Feature("log_params", ("params_b",), "log"),), ("params_b",), (2.0,), (1.0,)
        ... )
        >>> d.value_problem("params_b", 7.0) is None
        True
        >>> d.value_problem("params_b", 0.0)
        'params_b = 0 must be > 0 (the model uses log(params_b)); leave it out if it is unknown'
        """
        feat = self.features[self.columns.index(column)]
        if isinstance(value, str | bytes) or not isinstance(value, int | float | np.number):
            return f"{column} = {value!r} must be a number"
        number = float(value)
        if np.isnan(number):
            return f"{column} is NaN; leave it out if it is unknown (the model then imputes it)"
        if not np.isfinite(number):
            return f"{column} = {number} is not finite"
        if feat.transform in _DOMAIN:
            low, condition = _DOMAIN[feat.transform]
            if number <= low:
                return (
                    f"{column} = {number:g} must be {condition} (the model uses "
                    f"{feat.transform}({column})); leave it out if it is unknown"
                )
        return None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready record."""
        return {
            "features": [f.to_dict() for f in self.features],
            "columns": list(self.columns),
            "center": list(self.center),
            "scale": list(self.scale),
        }

    @classmethod
    def from_dict(cls, record: Mapping[str, Any]) -> Design:
        """Inverse of :meth:`to_dict`."""
        feats = tuple(
            Feature.from_dict(r["name"], {k: v for k, v in r.items() if k != "name"})
            for r in record["features"]
        )
        return cls(
            features=feats,
            columns=tuple(record["columns"]),
            center=tuple(float(x) for x in record["center"]),
            scale=tuple(float(x) for x in record["scale"]),
        )


def _transform(values: np.ndarray, transform: str) -> np.ndarray:
    # Non-positive values under a log are treated as missing: a zero parameter
    # count means "unknown" in leaderboard dumps, never a real zero.
    with np.errstate(divide="ignore", invalid="ignore"):
        if transform == "log":
            return np.where(values > 0, np.log(np.where(values > 0, values, 1.0)), np.nan)
        if transform == "log2":
            return np.where(values > 0, np.log2(np.where(values > 0, values, 1.0)), np.nan)
        if transform == "log1p":
            return np.where(values > -1, np.log1p(np.where(values > -1, values, 0.0)), np.nan)
    return values.astype(float)


def build_design(
    features: Sequence[Feature], table: pd.DataFrame, *, side: Literal["llm", "task"]
) -> Design:
    """Fit the standardization of ``features`` on ``table``.

    A feature whose columns are all absent from the table, or present but
    without a single value, is skipped silently: specs list optional
    regressors, and the task table always carries a ``shots`` column (empty
    unless the user gave one; a user's empty column was already reported when
    the data was read). One whose column has values that leave fewer than two
    distinct usable numbers (constant, or e.g. all non-positive under a log)
    is skipped with a :class:`DataWarning` naming it.
    """
    used: list[Feature] = []
    columns: list[str] = []
    center: list[float] = []
    scale: list[float] = []
    for feat in features:
        col = next((c for c in feat.columns if c in table.columns), None)
        if col is None:
            continue
        raw = pd.to_numeric(table[col], errors="coerce").to_numpy(dtype=float)
        values = _transform(raw, feat.transform)
        finite = values[np.isfinite(values)]
        if len(finite) < 2 or np.std(finite) == 0:
            if np.isfinite(raw).any():
                usable = (
                    "" if feat.transform == "identity" else f" after its {feat.transform} transform"
                )
                warnings.warn(
                    f"{'LLM' if side == 'llm' else 'task'} feature {feat.name!r} (column {col!r}) "
                    f"has {len(np.unique(finite))} distinct usable value(s){usable}; not used",
                    DataWarning,
                    stacklevel=3,
                )
            continue
        used.append(feat)
        columns.append(col)
        center.append(float(np.mean(finite)))
        scale.append(float(np.std(finite)))
    return Design(tuple(used), tuple(columns), tuple(center), tuple(scale))


def check_feature_columns(features: Sequence[Feature], table: pd.DataFrame, *, side: str) -> None:
    """Raise a :class:`DataError` for every feature none of whose columns is in ``table``.

    :func:`build_design` skips such features silently because spec files list
    optional regressors; features a user names explicitly (``BayesCPP(llm_features=...)``)
    must not disappear that way.
    """
    what = "LLM" if side == "llm" else "task"
    available = [str(c) for c in table.columns]
    problems = [
        f"{what} feature {feat.name!r}: column {feat.columns[0]!r} is not in the {what} table"
        f"{suggest(feat.columns[0], available)}; its columns are {', '.join(available)}"
        for feat in features
        if not any(c in table.columns for c in feat.columns)
    ]
    if problems:
        raise DataError(problems)
