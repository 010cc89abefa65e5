"""Shared steps of the dataset loaders: curation tables, checked edits, task tables.

Curation tables are TOML files in ``bayes_cpp/datasets/curation/``. Every edit
names the raw value it expects (``from``) and is refused with a
:class:`DataError` if the raw file says something else, so a changed source
file never gets silently "fixed". Each applied edit returns one note line.
"""

from __future__ import annotations

import functools
import importlib.resources
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from bayes_cpp._validation import is_missing_marker, listing
from bayes_cpp.exceptions import DataError

__all__ = [
    "Getter",
    "apply_llm_edits",
    "below_chance_note",
    "chance_of",
    "check_columns",
    "curation_table",
    "drop_empty_columns",
    "task_notes",
    "task_table",
    "to_float",
]

#: Returns the local path of a raw file of the dataset being loaded, by file name.
Getter = Callable[[str], Path]


@functools.cache
def curation_table(fname: str) -> dict[str, Any]:
    """Return a parsed curation TOML shipped with the package (cached: do not mutate)."""
    resource = importlib.resources.files("bayes_cpp.datasets") / "curation" / fname
    with resource.open("rb") as handle:
        return tomllib.load(handle)


def to_float(values: pd.Series, what: str) -> pd.Series:
    """Parse text cells as floats (missing markers -> NaN) or raise naming bad cells."""
    text = values.astype(object)
    missing = text.map(is_missing_marker).astype(bool)
    stripped = text.where(missing, text.astype(str).str.strip())
    parsed = pd.to_numeric(stripped.where(~missing), errors="coerce").astype("float64")
    bad = parsed.isna() & ~missing
    if bad.any():
        raise DataError(
            [f"{what}, row {k!r}: {text[k]!r} is not a number" for k in text[bad].index]
        )
    parsed.name = values.name
    return parsed


def check_columns(frame: pd.DataFrame, expected: Iterable[str], source: str) -> None:
    """Raise if ``frame`` lacks any ``expected`` column (the source file changed)."""
    missing = [c for c in expected if c not in frame.columns]
    if missing:
        raise DataError(
            [f"{source} lacks column(s) {listing(missing)}; it has {listing(frame.columns)}"]
        )


def _expect(frame: pd.DataFrame, row: str, column: str, expected: str, source: str) -> None:
    if row not in frame.index or column not in frame.columns:
        raise DataError([f"curation of {source}: no cell ({row!r}, {column!r})"])
    actual = str(frame.at[row, column]).strip()
    if actual != expected:
        raise DataError(
            [
                f"curation of {source}: cell ({row!r}, {column!r}) is {actual!r}, "
                f"expected {expected!r}; the curation table no longer matches the file"
            ]
        )


def apply_llm_edits(
    raw: pd.DataFrame, table: Mapping[str, Any], source: str
) -> tuple[pd.DataFrame, list[str]]:
    """Apply ``set_llm``, ``move_llm`` and ``drop_llm_column`` entries to a copy.

    ``raw`` is the raw text table indexed by LLM name, with raw column names.
    Returns the edited copy and one note per applied entry.
    """
    frame = raw.copy()
    notes: list[str] = []
    for entry in table.get("set_llm", []):
        llm, column = entry["llm"], entry["column"]
        _expect(frame, llm, column, entry["from"], source)
        frame.at[llm, column] = entry["to"]
        notes.append(
            f"curation: {llm!r} {column!r} {entry['from']} -> {entry['to']} ({entry['reason']})"
        )
    for entry in table.get("move_llm", []):
        llm, src, dst = entry["llm"], entry["from_column"], entry["to_column"]
        _expect(frame, llm, src, entry["value"], source)
        _expect(frame, llm, dst, "", source)
        frame.at[llm, dst] = entry["value"]
        frame.at[llm, src] = ""
        notes.append(
            f"curation: {llm!r} value {entry['value']} moved from {src!r} to {dst!r} "
            f"({entry['reason']})"
        )
    for entry in table.get("drop_llm_column", []):
        column = entry["column"]
        check_columns(frame, [column], source)
        frame = frame.drop(columns=column)
        notes.append(f"curation: LLM column {column!r} dropped ({entry['reason']})")
    return frame, notes


def chance_of(entry: Mapping[str, Any]) -> float:
    """Chance level from a task entry's ``choices`` (0 = no fixed chance level)."""
    choices = int(entry.get("choices", 0))
    return 1.0 / choices if choices else 0.0


def task_table(
    spec: Mapping[str, Mapping[str, Any]], names: Sequence[str], *, hi: float, source: str
) -> pd.DataFrame:
    """Task table (category, lo, hi, higher_is_better, chance) for ``names`` from ``spec``.

    Each spec entry may override ``hi``; ``lo`` is 0 and higher is better for all.
    """
    missing = [n for n in names if n not in spec]
    if missing:
        raise DataError([f"{source}: task(s) {listing(missing)} have no curation entry"])
    rows = {
        name: {
            "category": spec[name]["category"],
            "lo": 0.0,
            "hi": float(spec[name].get("hi", hi)),
            "higher_is_better": True,
            "chance": chance_of(spec[name]),
        }
        for name in names
    }
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index.name = "task"
    return frame


def task_notes(spec: Mapping[str, Mapping[str, Any]], names: Iterable[str]) -> list[str]:
    """Return the ``note`` of each task entry in ``names`` that has one, as note lines."""
    return [f"task {n!r}: {spec[n]['note']}" for n in names if "note" in spec.get(n, {})]


def below_chance_note(wide: pd.DataFrame, tasks: pd.DataFrame) -> list[str]:
    """One note counting scores below their task's chance level (empty if none).

    ``wide`` holds numeric scores (LLMs x tasks) in task units.
    """
    counts: dict[str, int] = {}
    for task, row in tasks.iterrows():
        if row["chance"] <= 0 or task not in wide.columns:
            continue
        level = row["lo"] + row["chance"] * (row["hi"] - row["lo"])
        n = int((wide[task] < level).sum())
        if n:
            counts[str(task)] = n
    if not counts:
        return []
    parts = ", ".join(f"{t!r} {n}" for t, n in counts.items())
    return [
        f"{sum(counts.values())} score(s) lie below their task's chance level (kept as "
        f"reported): {parts}"
    ]


def drop_empty_columns(table: pd.DataFrame, what: str) -> tuple[pd.DataFrame, list[str]]:
    """Drop factor columns that are missing for every row (e.g. in a small subset)."""
    empty = [c for c in table.columns if c != "family" and table[c].isna().all()]
    if not empty:
        return table, []
    note = f"{what} column(s) {listing(empty)} dropped: missing for every LLM in this selection"
    return table.drop(columns=empty), [note]
