"""The collaborative data model: observed scores plus LLM and task design factors.

:class:`CollaborativeData` is the one container every other module consumes.
It is validated once, at construction, and is immutable afterwards: accessors
return copies, and constructors never mutate the caller's frames. This module
does not import PyMC.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any, Literal, Self, TypedDict, Unpack

import numpy as np
import pandas as pd
import xarray as xr

from bayes_cpp import dims, equations
from bayes_cpp._tables import (
    _CELL_INDEX,
    _LLM_STRING_COLUMNS,
    _TASK_CORE_COLUMNS,
    _TASK_DEFAULT_NAN,
    _TASK_STRING_COLUMNS,
    TASK_COLUMNS,
    Aggregate,
    _check_bounds,
    _check_names,
    _check_unique_labels,
    _clean_llm_table,
    _clean_scores,
    _clean_task_table,
    _ordered,
)
from bayes_cpp._validation import (
    Problems,
    coerce_numeric,
    is_missing_marker,
    listing,
    suggest,
)
from bayes_cpp.exceptions import DataError

__all__ = ["TASK_COLUMNS", "Aggregate", "CollaborativeData", "DataOptions"]


class DataOptions(TypedDict, total=False):
    """The keyword options of :class:`CollaborativeData` that its converters and readers pass on.

    ``score_range`` (lo, hi) for every task without its own bounds; ``aggregate``
    ("mean", "max", "last") for repeated cells; ``allow_unobserved`` keeps LLMs or
    tasks without scores; ``categories`` orders the task categories; ``name``,
    ``notes`` and ``source`` label the data and its messages.
    """

    score_range: tuple[float, float] | None
    aggregate: Aggregate | None
    allow_unobserved: bool
    categories: Sequence[str] | None
    name: str | None
    notes: Sequence[str]
    source: str | None


_XR_SCHEMA = 1


class CollaborativeData:
    """Observed LLM x task scores with LLM and task design factors.

    Parameters
    ----------
    scores : pandas.DataFrame
        Long frame with columns ``llm``, ``task``, ``score`` (one row per observed
        cell). Rows whose score is missing are dropped with a warning.
    llms : pandas.DataFrame, optional
        One row per LLM, indexed by LLM name (or with an ``llm`` column). Column
        ``family`` groups LLMs; every other column is a design factor (numeric,
        or categorical text). Missing values stay NaN. Without a table every
        LLM is its own family.
    tasks : pandas.DataFrame, optional
        One row per task, indexed by task name (or with a ``task`` column), with
        ``category`` and optionally ``lo``/``hi`` (metric bounds),
        ``higher_is_better``, ``chance`` (chance level as a fraction of the
        ``lo``..``hi`` range, e.g. 0.25 for 4-way multiple choice), ``shots`` and
        ``output_format``; other columns are extra task factors.
    score_range : tuple of float, optional
        Bounds used for tasks without ``lo``/``hi``. If omitted they are inferred
        as (0, 1) or (0, 100) from the scores, with a warning.
    aggregate : {"mean", "median", "first", "last", "max", "min"}, optional
        Policy for several scores of one (llm, task) pair. Without it, duplicates
        are an error.
    allow_unobserved : bool, default False
        Allow LLMs or tasks in the factor tables that have no score (useful
        when predicting for them; a fit still needs every LLM and task it
        trains on to be described).
    categories : sequence of str, optional
        Allowed task categories; anything else is an error.
    name : str, optional
        A label for display.
    notes : sequence of str, optional
        Provenance or curation notes (kept with the data, shown by ``describe``).

    Raises
    ------
    DataError
        Listing every problem found (non-numeric or out-of-bounds scores,
        duplicates, unmatched names with suggestions, ...).

    Examples
    --------
    >>> import pandas as pd
    >>> from bayes_cpp import CollaborativeData
    >>> long = pd.DataFrame(
    ...     {"llm": ["a", "a", "b"], "task": ["x", "y", "x"], "score": [50.0, 70.0, 60.0]}
    ... )
    >>> data = CollaborativeData(long, score_range=(0, 100))
    >>> data.n_llms, data.n_tasks, data.n_observed
    (2, 2, 3)
    >>> data.to_wide()
    task     x     y
    llm
    a     50.0  70.0
    b     60.0   NaN
    """

    def __init__(
        self,
        scores: pd.DataFrame,
        llms: pd.DataFrame | None = None,
        tasks: pd.DataFrame | None = None,
        *,
        score_range: tuple[float, float] | None = None,
        aggregate: Aggregate | None = None,
        allow_unobserved: bool = False,
        categories: Sequence[str] | None = None,
        name: str | None = None,
        notes: Sequence[str] = (),
        source: str | None = None,
    ) -> None:
        problems = Problems(source)
        long = _clean_scores(scores, problems, aggregate)
        problems.raise_if_any()
        llm_table = _clean_llm_table(llms, long, problems)
        task_table = _clean_task_table(tasks, long, problems, score_range, categories)
        problems.raise_if_any()
        _check_names(long, llm_table, task_table, problems, allow_unobserved)
        _check_bounds(long, task_table, problems)
        problems.finish()
        llm_order = _ordered(llm_table.index, long["llm"])
        task_order = _ordered(task_table.index, long["task"])
        self._llms = llm_table.loc[llm_order]
        self._tasks = task_table.loc[task_order]
        self._llms.index.name = dims.LLM
        self._tasks.index.name = dims.TASK
        long = long.drop(columns="row").assign(
            llm=pd.Categorical(long["llm"], categories=llm_order),
            task=pd.Categorical(long["task"], categories=task_order),
        )
        long = long.sort_values(["llm", "task"], kind="stable").reset_index(drop=True)
        long["llm"] = long["llm"].astype(str)
        long["task"] = long["task"].astype(str)
        self._scores = long
        self.name = name
        self.notes: tuple[str, ...] = tuple(notes)

    # ------------------------------------------------------------------ access
    @property
    def scores(self) -> pd.DataFrame:
        """Observed scores in long form (columns ``llm``, ``task``, ``score``); a copy."""
        return self._scores.copy()

    @property
    def llms(self) -> pd.DataFrame:
        """The LLM table (index ``llm``, column ``family`` plus design factors); a copy."""
        return self._llms.copy()

    @property
    def tasks(self) -> pd.DataFrame:
        """The task table (index ``task``; ``category``, bounds, chance, ...); a copy."""
        return self._tasks.copy()

    @property
    def llm_names(self) -> list[str]:
        """LLM names in matrix row order."""
        return [str(x) for x in self._llms.index]

    @property
    def task_names(self) -> list[str]:
        """Task names in matrix column order."""
        return [str(x) for x in self._tasks.index]

    @property
    def n_llms(self) -> int:
        """Number of LLMs (rows)."""
        return len(self._llms)

    @property
    def n_tasks(self) -> int:
        """Number of tasks (columns)."""
        return len(self._tasks)

    @property
    def n_observed(self) -> int:
        """Number of observed (llm, task) cells."""
        return len(self._scores)

    @property
    def density(self) -> float:
        """Share of the llm x task matrix that is observed."""
        return self.n_observed / max(1, self.n_llms * self.n_tasks)

    @property
    def families(self) -> list[str]:
        """Distinct LLM families in first-seen order."""
        return list(dict.fromkeys(self._llms["family"].astype(str)))

    @property
    def categories(self) -> list[str]:
        """Distinct task categories in first-seen order."""
        return list(dict.fromkeys(self._tasks["category"].astype(str)))

    @property
    def llm_factor_names(self) -> list[str]:
        """Numeric LLM design-factor columns."""
        return [
            c
            for c in self._llms.columns
            if c not in _LLM_STRING_COLUMNS and pd.api.types.is_numeric_dtype(self._llms[c])
        ]

    @property
    def task_factor_names(self) -> list[str]:
        """Numeric task design-factor columns (excluding bounds and chance)."""
        fixed = {"lo", "hi", "higher_is_better", "chance"}
        return [
            c
            for c in self._tasks.columns
            if c not in fixed
            and c not in _TASK_STRING_COLUMNS
            and pd.api.types.is_numeric_dtype(self._tasks[c])
        ]

    def observed_counts(self, axis: Literal["llm", "task"]) -> pd.Series:
        """Count the observed scores per LLM or per task (zeros included)."""
        names = self.llm_names if axis == dims.LLM else self.task_names
        counts = self._scores[axis].value_counts()
        return counts.reindex(names, fill_value=0).rename("n_observed")

    # -------------------------------------------------------------- unit scale
    def unit_scores(self) -> pd.Series:
        """Observed scores rescaled to [0, 1] by task bounds (1 = best)."""
        return self.to_unit(self._scores["score"].to_numpy(), self._scores["task"].to_numpy())

    def to_unit(self, values: Any, tasks: Any) -> pd.Series:
        """Map scores in task units to [0, 1], flipping lower-is-better tasks.

        Parameters
        ----------
        values : array-like of float
            Scores in each task's own units.
        tasks : array-like of str
            Task of each value (same length as ``values``).
        """
        lo, hi, up = self._bounds(tasks)
        return pd.Series(equations.to_unit(values, lo, hi, up), name="unit_score")

    def from_unit(self, values: Any, tasks: Any) -> np.ndarray:
        """Inverse of :meth:`to_unit` (broadcasts like numpy over ``tasks``)."""
        lo, hi, up = self._bounds(tasks)
        return equations.from_unit(values, lo, hi, up)

    def _bounds(self, tasks: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        tasks = np.asarray(tasks, dtype=object)
        unknown = sorted({str(t) for t in np.unique(tasks)} - set(self.task_names))
        if unknown:
            raise DataError([f"unknown task {t!r}{suggest(t, self.task_names)}" for t in unknown])
        table = self._tasks
        lo = table["lo"].reindex(tasks).to_numpy(dtype=float)
        hi = table["hi"].reindex(tasks).to_numpy(dtype=float)
        up = table["higher_is_better"].reindex(tasks).to_numpy(dtype=bool)
        return lo, hi, up

    # ------------------------------------------------------------ conversions
    @classmethod
    def from_long(
        cls,
        frame: pd.DataFrame,
        *,
        llm: str = "llm",
        task: str = "task",
        score: str = "score",
        llms: pd.DataFrame | None = None,
        tasks: pd.DataFrame | None = None,
        **options: Unpack[DataOptions],
    ) -> Self:
        """Build from a long frame whose columns may have other names.

        ``options`` are those of :class:`CollaborativeData` (:class:`DataOptions`).
        """
        problems = Problems(options.get("source"))
        if not isinstance(frame, pd.DataFrame):
            problems.error(f"the long frame must be a pandas DataFrame, not {type(frame).__name__}")
            problems.raise_if_any()
        missing = [c for c in (llm, task, score) if c not in frame.columns]
        if missing:
            problems.error(
                f"long frame lacks column(s) {listing(missing)}; it has {listing(frame.columns)}"
                " (pass llm=, task=, score= to name them)"
            )
            problems.raise_if_any()
        repeated = [
            c for c in dict.fromkeys((llm, task, score)) if list(frame.columns).count(c) > 1
        ]
        if repeated:
            problems.error(f"long frame has several columns named {listing(repeated)}")
            problems.raise_if_any()
        long = pd.DataFrame(
            {
                "llm": frame[llm].to_numpy(),
                "task": frame[task].to_numpy(),
                "score": frame[score].to_numpy(),
            }
        )
        return cls(long, llms, tasks, **options)

    @classmethod
    def from_wide(
        cls,
        frame: pd.DataFrame,
        *,
        orientation: Literal["llm_rows", "task_rows"] = "llm_rows",
        llms: pd.DataFrame | None = None,
        tasks: pd.DataFrame | None = None,
        **options: Unpack[DataOptions],
    ) -> Self:
        """Build from a wide matrix (LLMs as rows by default); NaN or ``-`` = missing.

        ``options`` are those of :class:`CollaborativeData` (:class:`DataOptions`).
        """
        if orientation not in ("llm_rows", "task_rows"):
            raise DataError([f"orientation must be 'llm_rows' or 'task_rows', not {orientation!r}"])
        problems = Problems(options.get("source"))
        if not isinstance(frame, pd.DataFrame):
            problems.error(
                f"the score matrix must be a pandas DataFrame, not {type(frame).__name__}"
            )
            problems.raise_if_any()
        wide = (frame if orientation == "llm_rows" else frame.T).astype(object)
        present = ~wide.map(is_missing_marker).to_numpy(dtype=bool)
        # Rows/columns without a name and without a value (blank lines, trailing
        # separators) are dropped; unnamed ones that hold scores are errors.
        unnamed_llm = np.array([is_missing_marker(x) for x in wide.index], dtype=bool)
        unnamed_task = np.array([is_missing_marker(x) for x in wide.columns], dtype=bool)
        for pos in np.flatnonzero(unnamed_llm & present.any(axis=1)):
            problems.error(f"the LLM at position {pos} of the score matrix has scores but no name")
        for pos in np.flatnonzero(unnamed_task & present.any(axis=0)):
            problems.error(f"the task at position {pos} of the score matrix has scores but no name")
        wide = wide.iloc[~unnamed_llm, ~unnamed_task]
        if wide.shape[0] == 0 or wide.shape[1] == 0:
            problems.error("the score matrix is empty (no rows or no columns)")
            problems.raise_if_any()
        _check_unique_labels(wide.index, "LLM", problems)
        _check_unique_labels(wide.columns, "task", problems)
        problems.raise_if_any()
        present = present[~unnamed_llm][:, ~unnamed_task]
        present_rows, present_cols = present.any(axis=1), present.any(axis=0)
        llm_idx, task_idx = np.nonzero(present)
        llm_names = np.array([str(x) for x in wide.index], dtype=object)
        task_names = np.array([str(x) for x in wide.columns], dtype=object)
        cells = pd.DataFrame(
            {
                "llm": llm_names[llm_idx],
                "task": task_names[task_idx],
                "score": wide.to_numpy(dtype=object)[llm_idx, task_idx],
            }
        )

        def describe(i: Any) -> str:
            llm_name, task_name = str(cells.at[i, "llm"]), str(cells.at[i, "task"])
            return f"cell (llm={llm_name.strip()!r}, task={task_name.strip()!r})"

        long = cells.assign(score=coerce_numeric(cells["score"], problems, describe, "score"))
        long.index = pd.Index(["cell"] * len(long), name=_CELL_INDEX)
        if long.empty:
            problems.error("no observed scores (every cell of the score matrix is missing)")
        problems.raise_if_any()
        # Without tables, LLMs and tasks keep the matrix order (not first-seen order);
        # with allow_unobserved, all-missing rows/columns stay as unobserved LLMs/tasks.
        everything = bool(options.get("allow_unobserved"))
        if llms is None:
            names = [str(n).strip() for n in llm_names[everything | present_rows]]
            llms = pd.DataFrame({"family": names}, index=pd.Index(names, name=dims.LLM))
        if tasks is None:
            names = [str(n).strip() for n in task_names[everything | present_cols]]
            tasks = pd.DataFrame({"category": "all"}, index=pd.Index(names, name=dims.TASK))
        return cls(long, llms, tasks, **options)

    def to_long(self) -> pd.DataFrame:
        """Observed scores as a long frame (``llm``, ``task``, ``score``)."""
        return self.scores

    def to_wide(self) -> pd.DataFrame:
        """Return the llm x task score matrix with NaN where unobserved."""
        wide = self._scores.pivot(index="llm", columns="task", values="score")
        wide = wide.reindex(index=self.llm_names, columns=self.task_names)
        wide.index.name = dims.LLM
        wide.columns.name = dims.TASK
        return wide

    def to_xarray(self) -> xr.Dataset:
        """Return an ``xarray.Dataset`` with ``score`` on dims ``(llm, task)`` and table columns.

        LLM-table columns become variables ``llm_<column>`` on ``llm``, task-table
        columns ``task_<column>`` on ``task``. :meth:`from_xarray` inverts it.
        """
        wide = self.to_wide()
        ds = xr.Dataset(
            {"score": ((dims.LLM, dims.TASK), wide.to_numpy(dtype=float))},
            coords={dims.LLM: self.llm_names, dims.TASK: self.task_names},
        )
        for prefix, table, dim in (
            ("llm_", self._llms, dims.LLM),
            ("task_", self._tasks, dims.TASK),
        ):
            for col in table.columns:
                values = table[col]
                if pd.api.types.is_bool_dtype(values):
                    arr = values.to_numpy(dtype=bool)
                elif pd.api.types.is_numeric_dtype(values):
                    arr = values.to_numpy(dtype=float)
                else:
                    arr = values.astype(object).where(values.notna(), "").to_numpy(dtype=str)
                ds[prefix + str(col)] = (dim, arr)
        ds.attrs["bayes_cpp_data"] = json.dumps(
            {
                "schema": _XR_SCHEMA,
                "name": self.name,
                "notes": list(self.notes),
                "llm_columns": [str(c) for c in self._llms.columns],
                "task_columns": [str(c) for c in self._tasks.columns],
                "string_columns": [
                    str(c)
                    for t in (self._llms, self._tasks)
                    for c in t.columns
                    if not pd.api.types.is_numeric_dtype(t[c])
                    and not pd.api.types.is_bool_dtype(t[c])
                ],
            }
        )
        return ds

    @classmethod
    def from_xarray(cls, ds: xr.Dataset, **options: Unpack[DataOptions]) -> Self:
        """Rebuild from :meth:`to_xarray` output (or any dataset with ``score(llm, task)``)."""
        if "score" not in ds or set(ds["score"].dims) != {dims.LLM, dims.TASK}:
            raise DataError(["dataset needs a variable 'score' with dims ('llm', 'task')"])
        try:
            meta = json.loads(ds.attrs.get("bayes_cpp_data", "{}"))
        except (TypeError, ValueError):
            raise DataError(
                ["the dataset's 'bayes_cpp_data' attribute is not valid JSON"]
            ) from None
        string_cols = set(meta.get("string_columns", []))
        score = ds["score"].transpose(dims.LLM, dims.TASK)
        wide = pd.DataFrame(
            score.to_numpy(),
            index=[str(x) for x in ds[dims.LLM].to_numpy()],
            columns=[str(x) for x in ds[dims.TASK].to_numpy()],
        )

        def table(prefix: str, dim: str, columns: list[str] | None) -> pd.DataFrame | None:
            names = columns or [
                str(v)[len(prefix) :] for v in ds.data_vars if str(v).startswith(prefix)
            ]
            names = [c for c in names if prefix + c in ds and ds[prefix + c].dims == (dim,)]
            if not names:
                return None
            out = pd.DataFrame(index=pd.Index(ds[dim].to_numpy().astype(str), name=dim))
            for col in names:
                values = ds[prefix + col].to_numpy()
                if col in string_cols:
                    out[col] = pd.Series(values.astype(str), index=out.index).replace("", np.nan)
                elif col in _TASK_DEFAULT_NAN and dim == dims.TASK and pd.isna(values).all():
                    continue  # filled in again by the constructor; no all-missing warning
                else:
                    out[col] = values
            return out

        options.setdefault("name", meta.get("name"))
        options.setdefault("notes", meta.get("notes", ()))
        options.setdefault("allow_unobserved", True)
        return cls.from_wide(
            wide,
            llms=table("llm_", dims.LLM, meta.get("llm_columns")),
            tasks=table("task_", dims.TASK, meta.get("task_columns")),
            **options,
        )

    # -------------------------------------------------------------- selection
    def select(
        self,
        llms: Iterable[str] | None = None,
        tasks: Iterable[str] | None = None,
        *,
        allow_unobserved: bool = True,
    ) -> CollaborativeData:
        """Return a new object restricted to some LLMs and/or tasks (their tables kept)."""
        llm_keep = self._resolve(llms, self.llm_names, "LLM")
        task_keep = self._resolve(tasks, self.task_names, "task")
        mask = self._scores["llm"].isin(llm_keep) & self._scores["task"].isin(task_keep)
        return self._replace(
            self._scores[mask],
            llms=self._llms.loc[llm_keep],
            tasks=self._tasks.loc[task_keep],
            allow_unobserved=allow_unobserved,
        )

    def drop_cells(self, which: Any, *, allow_unobserved: bool = True) -> CollaborativeData:
        """Return a new object without some observed cells.

        ``which`` holds row positions or a boolean mask of :attr:`scores`.

        LLMs and tasks keep their table rows even if all their cells are dropped,
        so the result can be used to predict the dropped cells.
        """
        keep = np.ones(self.n_observed, dtype=bool)
        try:
            keep[np.asarray(which)] = False
        except (IndexError, TypeError, ValueError):
            raise DataError(
                [
                    f"which must be row positions below {self.n_observed} or a boolean mask "
                    f"of length {self.n_observed}"
                ]
            ) from None
        return self._replace(self._scores[keep], allow_unobserved=allow_unobserved)

    def with_scores(
        self, scores: pd.DataFrame, *, allow_unobserved: bool = True
    ) -> CollaborativeData:
        """Return a new object with other observed scores but the same LLM and task tables."""
        return self._replace(scores, allow_unobserved=allow_unobserved)

    def _replace(
        self,
        scores: pd.DataFrame,
        *,
        llms: pd.DataFrame | None = None,
        tasks: pd.DataFrame | None = None,
        allow_unobserved: bool = True,
    ) -> CollaborativeData:
        """Rebuild with (a subset of) this object's already validated tables.

        Only the scores, names and bounds are validated again: the factor columns
        keep the types decided when this object was built (re-deciding "numeric or
        text" on a subset could change them) and do not repeat its warnings.
        """
        llms = self._llms if llms is None else llms
        tasks = self._tasks if tasks is None else tasks
        new = CollaborativeData(
            scores,
            llms[["family"]],
            tasks[list(_TASK_CORE_COLUMNS)],
            allow_unobserved=allow_unobserved,
            name=self.name,
            notes=self.notes,
        )
        new._llms = llms.loc[new.llm_names]
        new._tasks = tasks.loc[new.task_names]
        return new

    @staticmethod
    def _resolve(names: Iterable[str] | None, known: list[str], what: str) -> list[str]:
        if names is None:
            return known
        names = [names] if isinstance(names, str) else [str(n) for n in names]
        unknown = [n for n in names if n not in set(known)]
        if unknown:
            raise DataError([f"unknown {what} {n!r}{suggest(n, known)}" for n in unknown])
        return list(dict.fromkeys(names))

    # ----------------------------------------------------------------- display
    def describe(self) -> str:
        """Summarize in a few lines: size, density, families, categories, notes."""
        counts = self.observed_counts(dims.LLM)
        lines = [
            f"CollaborativeData{f' {self.name!r}' if self.name else ''}: "
            f"{self.n_llms} LLMs x {self.n_tasks} tasks, {self.n_observed} observed "
            f"({self.density:.1%})",
            f"  families: {len(self.families)}, task categories: {len(self.categories)}",
            f"  scores per LLM: min {counts.min()}, median {counts.median():g}, max {counts.max()}",
            f"  LLM factors: {', '.join(self.llm_factor_names) or '(none)'}",
            f"  task factors: {', '.join(self.task_factor_names) or '(none)'}",
        ]
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)

    def __repr__(self) -> str:
        label = f" {self.name!r}" if self.name else ""
        return (
            f"<CollaborativeData{label}: {self.n_llms} llm x {self.n_tasks} task, "
            f"{self.n_observed} observed ({self.density:.1%})>"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CollaborativeData):
            return NotImplemented
        return (
            self._scores.equals(other._scores)
            and self._llms.equals(other._llms)
            and self._tasks.equals(other._tasks)
        )

    __hash__ = None  # type: ignore[assignment]
