"""Cleaning and validation of the score, LLM and task tables (module-private).

Used by :class:`bayes_cpp.data.CollaborativeData` at construction: every
helper records problems in a :class:`~bayes_cpp._validation.Problems`
collector instead of raising, so one error lists everything wrong.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from bayes_cpp import dims
from bayes_cpp._validation import (
    Problems,
    clean_names,
    coerce_numeric,
    is_missing_marker,
    listing,
    missing_mask,
    source_of,
    suggest,
)

Aggregate = Literal["mean", "median", "first", "last", "max", "min"]
_AGGREGATES: tuple[str, ...] = ("mean", "median", "first", "last", "max", "min")

#: Columns of the task table with a fixed meaning (others are extra task factors).
TASK_COLUMNS: tuple[str, ...] = (
    "category",
    "lo",
    "hi",
    "higher_is_better",
    "chance",
    "shots",
    "output_format",
)
_TASK_STRING_COLUMNS = ("category", "output_format")
_TASK_NUMERIC_COLUMNS = ("lo", "hi", "higher_is_better", "chance")
_TASK_DEFAULT_NAN = ("shots", "output_format")
_TASK_CORE_COLUMNS = ("category", "lo", "hi", "higher_is_better", "chance")
_LLM_STRING_COLUMNS = ("family",)
#: LLM-table columns parsed as dates (release dates; never numeric design factors).
LLM_DATE_COLUMNS: tuple[str, ...] = ("date", "release_date")

#: Index name by which from_wide passes "cell" labels for messages to the constructor.
_CELL_INDEX = "__bayes_cpp_cell__"


def _ordered(table_index: pd.Index, observed: pd.Series) -> list[str]:
    """Table order first, then names seen only in the scores (in order of appearance)."""
    names = [str(x) for x in table_index]
    seen = set(names)
    names += [n for n in dict.fromkeys(observed.astype(str)) if n not in seen]
    return names


def _check_unique_labels(labels: pd.Index, what: str, problems: Problems) -> None:
    names = pd.Series([str(x).strip() for x in labels])
    dup = names[names.duplicated()].unique()
    if len(dup):
        problems.error(f"duplicate {what} name(s) {listing(dup)} in the score matrix")


def _clean_scores(
    scores: pd.DataFrame, problems: Problems, aggregate: Aggregate | None
) -> pd.DataFrame:
    if not isinstance(scores, pd.DataFrame):
        problems.error(f"scores must be a pandas DataFrame, not {type(scores).__name__}")
        return pd.DataFrame(columns=["llm", "task", "score"])
    missing = [c for c in ("llm", "task", "score") if c not in scores.columns]
    if missing:
        problems.error(
            f"scores frame lacks column(s) {listing(missing)}; it has {listing(scores.columns)}"
        )
        return pd.DataFrame(columns=["llm", "task", "score"])
    repeated = [c for c in ("llm", "task", "score") if list(scores.columns).count(c) > 1]
    if repeated:
        problems.error(f"scores frame has several columns named {listing(repeated)}")
        return pd.DataFrame(columns=["llm", "task", "score"])
    if aggregate is not None and aggregate not in _AGGREGATES:
        problems.error(f"aggregate must be one of {listing(_AGGREGATES)}, not {aggregate!r}")
    # How messages name a row: its position, or the label from_wide gives a matrix cell.
    labels = (
        [str(i) for i in scores.index]
        if scores.index.name == _CELL_INDEX
        else [f"row {i}" for i in range(len(scores))]
    )
    frame = scores[["llm", "task", "score"]].reset_index(drop=True)
    if frame.empty:
        problems.error("no scores given (the scores frame is empty)")
        return frame
    llm = clean_names(frame["llm"], problems, "llm")
    task = clean_names(frame["task"], problems, "task")

    def describe(i: Any) -> str:
        return f"{labels[i]} (llm={llm[i]!r}, task={task[i]!r})"

    score = coerce_numeric(frame["score"], problems, describe, what="score")
    long = pd.DataFrame({"llm": llm, "task": task, "score": score, "row": labels})
    unnamed = long["llm"].isna() | long["task"].isna()
    long = long[~unnamed]
    blank = long["score"].isna() & missing_mask(frame.loc[long.index, "score"])
    if blank.any():
        pairs = [f"({llm[i]!r}, {task[i]!r})" for i in blank.index[blank]]
        problems.warn(
            f"{len(pairs)} row(s) with a missing score were dropped: (llm, task) = "
            f"{listing(pairs, quote=False)}"
        )
    long = long[long["score"].notna()]
    if long.empty and not problems.errors:
        problems.error("no observed scores (every score is missing)")
        return long
    dup_mask = long.duplicated(["llm", "task"], keep=False)
    if dup_mask.any():
        if aggregate is None:
            for (llm_name, task_name), group in long[dup_mask].groupby(["llm", "task"], sort=False):
                rows = ", ".join(str(i) for i in group.index)
                values = ", ".join(f"{v:g}" for v in group["score"])
                problems.error(
                    f"duplicate scores for llm={llm_name!r}, task={task_name!r} at rows {rows} "
                    f"(values {values}); pass aggregate='mean' (or median/first/last/max/min)"
                )
        elif aggregate in _AGGREGATES:
            dups = long[dup_mask]
            pairs = [
                f"({a!r}, {b!r})"
                for a, b in dict.fromkeys(zip(dups["llm"], dups["task"], strict=True))
            ]
            problems.warn(
                f"{len(pairs)} duplicated (llm, task) pair(s) combined with {aggregate!r}: "
                f"{listing(pairs, quote=False)}"
            )
            long = long.groupby(["llm", "task"], sort=False, as_index=False).agg(
                score=("score", aggregate), row=("row", _join_rows)
            )
    return long.reset_index(drop=True)


def _join_rows(rows: pd.Series) -> str:
    """Name the rows combined into one aggregated score ("row 3" or "rows 0, 2")."""
    if len(rows) == 1:
        return str(rows.iloc[0])
    return "rows " + ", ".join(str(r).removeprefix("row ") for r in rows)


def _table_frame(
    table: pd.DataFrame, key: str, problems: Problems, what: str
) -> pd.DataFrame | None:
    """Index a factor table by name (from its index or a ``key`` column); None if unusable."""
    if not isinstance(table, pd.DataFrame):
        problems.error(f"the {what} table must be a pandas DataFrame, not {type(table).__name__}")
        return None
    frame = table.copy()
    frame.columns = pd.Index([str(c).strip() for c in frame.columns], dtype=object)
    repeated = frame.columns[frame.columns.duplicated()].unique()
    if len(repeated):
        problems.error(f"the {what} table has several columns named {listing(repeated)}")
        return None
    if key in frame.columns:
        frame = frame.set_index(key)
    names = clean_names(pd.Series(frame.index, dtype="object"), problems, what)
    frame.index = pd.Index(names.to_numpy(), name=key)
    frame = frame[frame.index.notna()]
    dup = frame.index[frame.index.duplicated()].unique()
    if len(dup):
        problems.error(f"the {what} table has duplicate row(s) {listing(dup)}")
        frame = frame[~frame.index.duplicated()]
    return frame


_BOOL_WORDS = {"yes": 1.0, "true": 1.0, "no": 0.0, "false": 0.0}


def _bool_words(values: pd.Series) -> pd.Series:
    """Map yes/no/true/false text (any case) to 1.0/0.0, leaving other values alone."""
    return values.astype(object).map(
        lambda v: _BOOL_WORDS.get(v.strip().lower(), v) if isinstance(v, str) else v
    )


def _text(values: pd.Series) -> pd.Series:
    """Return stripped text values, NaN where missing (also where the text reads "nan")."""
    text = values.astype(object).map(lambda v: np.nan if is_missing_marker(v) else str(v).strip())
    return text.where(~missing_mask(text), np.nan)


def _numeric_or_text(
    frame: pd.DataFrame,
    protected: Sequence[str],
    problems: Problems,
    what: str,
    numeric: Sequence[str] = (),
) -> pd.DataFrame:
    """Make each column numeric (errors for stray text) unless it is mostly text.

    ``protected`` columns are always text, ``numeric`` columns always numbers.
    """
    out = pd.DataFrame(index=frame.index)
    for col in frame.columns:
        values = frame[col]
        if col in protected:
            out[col] = _text(values)
            continue
        if pd.api.types.is_bool_dtype(values):
            out[col] = values.astype(float)
            continue
        present = values[~missing_mask(values)]
        words = present.astype(str).str.strip().str.lower()
        if len(present) and words.isin(list(_BOOL_WORDS)).all():
            out[col] = values.astype(object).map(
                lambda v: np.nan if is_missing_marker(v) else _BOOL_WORDS[str(v).strip().lower()]
            )
            out[col] = out[col].astype(float)
            continue
        parsed = pd.to_numeric(words.str.replace(",", ""), errors="coerce")
        if col not in numeric and len(present) and parsed.notna().mean() < 0.5:
            out[col] = _text(values)
            continue

        def describe(i: Hashable, col: str = col) -> str:
            return f"{what} table, row {i!r}, column {col!r}"

        if col == "higher_is_better":  # e.g. "true", "no" next to 1/0
            values = _bool_words(values)
        out[col] = coerce_numeric(values, problems, describe)
        if out[col].isna().all():
            problems.warn(f"{what} factor {col!r} is missing for every {what}")
    return out


def _dates(values: pd.Series, column: str, problems: Problems) -> pd.Series:
    """Parse a date column (ISO 8601 or other common formats) to time-zone-naive UTC dates."""
    if pd.api.types.is_datetime64_any_dtype(values):
        parsed = pd.to_datetime(values, utc=True)
    else:
        text = _text(values)
        parsed = pd.to_datetime(text, errors="coerce", utc=True, format="ISO8601")
        retry = parsed.isna() & text.notna()
        if retry.any():
            parsed[retry] = pd.to_datetime(text[retry], errors="coerce", utc=True, format="mixed")
        bad = parsed.isna() & text.notna()
        for name in text.index[bad][:20]:
            problems.error(
                f"LLM table, row {name!r}, column {column!r}: {text[name]!r} is not a date "
                "(use e.g. 2024-03-15)"
            )
    return parsed.dt.tz_convert(None).astype("datetime64[ns]")


def _clean_llm_table(
    llms: pd.DataFrame | None, long: pd.DataFrame, problems: Problems
) -> pd.DataFrame:
    names = list(dict.fromkeys(long["llm"]))
    if llms is None:
        return pd.DataFrame({"family": names}, index=pd.Index(names, name=dims.LLM))
    problems = problems.scoped(source_of(llms))
    frame = _table_frame(llms, dims.LLM, problems, "LLM")
    if frame is None:
        return pd.DataFrame({"family": names}, index=pd.Index(names, name=dims.LLM))
    if "family" not in frame.columns:
        frame["family"] = np.nan
    date_cols = [c for c in frame.columns if c in LLM_DATE_COLUMNS]
    dates = {c: _dates(frame[c], c, problems) for c in date_cols}
    frame = _numeric_or_text(frame.drop(columns=date_cols), _LLM_STRING_COLUMNS, problems, "LLM")
    for col, values in dates.items():
        frame[col] = values
    family = frame["family"].astype(object)
    no_family = family.isna()
    if no_family.any():
        problems.warn(
            f"LLM(s) {listing(frame.index[no_family])} have no family; each becomes its own family"
        )
        family = family.where(~no_family, pd.Series(frame.index, index=frame.index, dtype=object))
    frame["family"] = family.astype(str).str.strip()
    out = frame[["family", *[c for c in frame.columns if c != "family"]]]
    out.attrs = {}  # the reader's source label stays with the caller's frame
    return out


def _clean_task_table(
    tasks: pd.DataFrame | None,
    long: pd.DataFrame,
    problems: Problems,
    score_range: tuple[float, float] | None,
    categories: Sequence[str] | None,
) -> pd.DataFrame:
    names = list(dict.fromkeys(long["task"]))
    if tasks is None:
        frame = pd.DataFrame({"category": "all"}, index=pd.Index(names, name=dims.TASK))
    else:
        problems = problems.scoped(source_of(tasks))
        table = _table_frame(tasks, dims.TASK, problems, "task")
        if table is None:
            return pd.DataFrame(index=pd.Index(names, name=dims.TASK))
        frame = table
        if "category" not in frame.columns:
            problems.error("the task table has no 'category' column (the task's ability/category)")
            return frame
        frame = _numeric_or_text(
            frame, _TASK_STRING_COLUMNS, problems, "task", numeric=_TASK_NUMERIC_COLUMNS
        )
    no_cat = frame.index[frame["category"].isna()]
    if len(no_cat):
        problems.error(f"task(s) {listing(no_cat)} have no category; give each task a category")
    if categories is not None:
        allowed = [categories] if isinstance(categories, str) else [str(c) for c in categories]
        for task_name, cat in frame["category"].dropna().items():
            if cat not in allowed:
                problems.error(
                    f"task {task_name!r} has unknown category {cat!r}{suggest(cat, allowed)}; "
                    f"allowed: {listing(allowed)}"
                )
    given = frame.index[
        frame.get("lo", pd.Series(np.nan, index=frame.index)).notna()
        & frame.get("hi", pd.Series(np.nan, index=frame.index)).notna()
    ]
    lo_default, hi_default = _default_range(long, frame, score_range, problems)
    defaults = {"lo": lo_default, "hi": hi_default, "higher_is_better": 1.0, "chance": 0.0}
    for col, default in defaults.items():
        if col not in frame.columns:
            frame[col] = default
        else:
            frame[col] = frame[col].astype(float).fillna(float(default))
    not_bool = frame.index[~frame["higher_is_better"].isin([0.0, 1.0])]
    for task_name in not_bool:
        value = frame.loc[task_name, "higher_is_better"]
        problems.error(
            f"task {task_name!r}: higher_is_better {value:g} must be true/false (or 1/0)"
        )
    frame["higher_is_better"] = frame["higher_is_better"].astype(bool)
    for col in _TASK_DEFAULT_NAN:
        if col not in frame.columns:
            frame[col] = np.nan
    for task_name, row in frame.iterrows():
        if not row["lo"] < row["hi"]:
            problems.error(f"task {task_name!r}: bounds lo={row['lo']:g} >= hi={row['hi']:g}")
        if not 0.0 <= row["chance"] < 1.0:
            problems.error(
                f"task {task_name!r}: chance level {row['chance']:g} must be in [0, 1) "
                "(a fraction of the lo..hi range, e.g. 0.25 for 4-way multiple choice)"
            )
    _check_fractions(long, frame.loc[given], problems)
    ordered = [c for c in TASK_COLUMNS if c in frame.columns]
    out = frame[ordered + [c for c in frame.columns if c not in ordered]]
    out.attrs = {}
    return out


def _check_fractions(long: pd.DataFrame, bounded: pd.DataFrame, problems: Problems) -> None:
    """Warn about tasks given percent-like bounds whose every score is a fraction (<= 1)."""
    wide = bounded[(bounded["hi"] - bounded["lo"]) >= 50]
    if wide.empty:
        return
    scored = long[long["task"].isin(wide.index)]
    by_task = scored.groupby("task")["score"].agg(["max", "size"])
    lo = wide["lo"].reindex(by_task.index)
    fractional = by_task.index[(by_task["max"] <= lo + 1.0) & (by_task["size"] > 1)]
    for task_name in fractional:
        low, high = float(wide.loc[task_name, "lo"]), float(wide.loc[task_name, "hi"])
        problems.warn(
            f"task {task_name!r} has every score <= {low + 1:g} although the task table gives "
            f"bounds {low:g}..{high:g}: if its scores are fractions, set hi = {low + 1:g} for it "
            f"(or give the scores in the table's units)"
        )


def _default_range(
    long: pd.DataFrame,
    frame: pd.DataFrame,
    score_range: tuple[float, float] | None,
    problems: Problems,
) -> tuple[float, float]:
    if score_range is not None:
        try:
            lo, hi = (float(v) for v in score_range)
        except (TypeError, ValueError):
            problems.error(f"score_range must be two numbers (lo, hi), not {score_range!r}")
            return 0.0, 1.0
        if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
            problems.error(f"score_range must be two finite numbers lo < hi, not {score_range!r}")
            return 0.0, 1.0
        return lo, hi
    needs = [
        t
        for t in frame.index
        if any(c not in frame.columns or pd.isna(frame.loc[t, c]) for c in ("lo", "hi"))
    ]
    if not needs or long.empty:
        return 0.0, 1.0
    observed = long.loc[long["task"].isin(needs), "score"]
    if observed.empty:
        # Only unobserved tasks lack bounds: go by the scale of the other tasks.
        observed = long["score"]
    lo_seen, hi_seen = float(observed.min()), float(observed.max())
    if lo_seen >= 0.0 and hi_seen <= 1.0:
        inferred = (0.0, 1.0)
    elif lo_seen >= 0.0 and hi_seen <= 100.0:
        inferred = (0.0, 100.0)
    else:
        problems.error(
            f"cannot infer score bounds: scores range {lo_seen:g}..{hi_seen:g}; "
            "pass score_range=(lo, hi) or give lo/hi columns in the task table"
        )
        return 0.0, 1.0
    problems.warn(
        f"task bounds not given; assumed {inferred[0]:g}..{inferred[1]:g} for task(s) "
        f"{listing(needs)} (observed {lo_seen:g}..{hi_seen:g}); pass score_range= to silence"
    )
    if inferred == (0.0, 100.0):
        scored = long[long["task"].isin(needs)]
        by_task = scored.groupby("task")["score"].agg(["max", "size"])
        fractional = by_task.index[(by_task["max"] <= 1.0) & (by_task["size"] > 1)]
        if len(fractional):
            problems.warn(
                f"task(s) {listing(fractional)} look like fractions (max <= 1) in a percent table"
            )
    return inferred


def _check_names(
    long: pd.DataFrame,
    llm_table: pd.DataFrame,
    task_table: pd.DataFrame,
    problems: Problems,
    allow_unobserved: bool,
) -> None:
    for what, table, observed in (
        ("LLM", llm_table, long["llm"]),
        ("task", task_table, long["task"]),
    ):
        seen = list(dict.fromkeys(observed))
        described = [str(x) for x in table.index]
        table_set, seen_set = set(described), set(seen)
        for name in seen:
            if name not in table_set:
                problems.error(
                    f"{what} {name!r} has scores but no row in the {what} table"
                    f"{suggest(name, [d for d in described if d not in seen_set])}"
                )
        unobserved = [n for n in described if n not in seen_set]
        if unobserved and not allow_unobserved:
            for name in unobserved:
                problems.error(
                    f"{what} {name!r} in the {what} table matches no scored {what}"
                    f"{suggest(name, [s for s in seen if s not in table_set])}; "
                    "fix the name, drop the row, or pass allow_unobserved=True to predict for it"
                )


def _check_bounds(long: pd.DataFrame, task_table: pd.DataFrame, problems: Problems) -> None:
    lo = long["task"].map(task_table["lo"])
    hi = long["task"].map(task_table["hi"])
    bad = (long["score"] < lo) | (long["score"] > hi)
    for row, llm, task, score, low, high in zip(
        long["row"][bad],
        long["llm"][bad],
        long["task"][bad],
        long["score"][bad],
        lo[bad],
        hi[bad],
        strict=True,
    ):
        problems.error(
            f"{row} (llm={llm!r}, task={task!r}): score {score:g} outside "
            f"the task's bounds [{low:g}, {high:g}]"
        )
