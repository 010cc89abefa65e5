"""Loader of ``obsscaling``: base LLMs evaluated by Observational Scaling Laws.

Raw files (ryoungj/ObsScaling, ``eval_results/``): the base table (LLM
metadata + 8 benchmarks) and two optional tables joined on ``Model``.
``curation/obsscaling.toml`` holds the task table and the metadata fixes.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd

from bayes_cpp._validation import listing, suggest
from bayes_cpp.data import CollaborativeData
from bayes_cpp.datasets._curation import (
    Getter,
    apply_llm_edits,
    below_chance_note,
    check_columns,
    curation_table,
    task_notes,
    task_table,
    to_float,
)
from bayes_cpp.exceptions import DataError
from bayes_cpp.readers import read_csv_frame

__all__ = ["load_obsscaling"]

NAME = "obsscaling"
_BASE = "base_llm_benchmark_eval.csv"
#: Raw metadata column -> clean LLM factor name (units kept: B params, T tokens, 1e21 FLOPs).
_META = {
    "Model Size (B)": "params_b",
    "Pretraining Data Size (T)": "tokens_t",
    "FLOPs (1E21)": "flops_1e21",
}


def load_obsscaling(get: Getter, *, extra: str | Iterable[str] | None = None) -> CollaborativeData:
    """Load the 148 base LLMs x 8 benchmarks, optionally joined with extra tables.

    Parameters
    ----------
    get : callable
        Returns the local path of a raw file.
    extra : str or iterable of str, optional
        ``"leaderboard_v2"`` (6 Open LLM Leaderboard v2 tasks) and/or ``"emergent"``
        (8 BIG-bench tasks); their LLMs are a subset of the base table.
    """
    curation = curation_table("obsscaling.toml")
    extras = _extras(extra, curation["extra"])
    raw = read_csv_frame(get(_BASE))
    check_columns(raw, ["Model", "Model Family", *_META, *curation["tasks"]], _BASE)
    raw = raw.set_index("Model")
    notes = [
        f"source: ryoungj/ObsScaling eval_results/{_BASE}; fractions from one evaluation "
        "harness (Open LLM Leaderboard v1 setup)"
    ]
    raw, edits = apply_llm_edits(raw, curation, _BASE)
    notes += edits

    spec: dict[str, Any] = dict(curation["tasks"])
    wide = raw[list(curation["tasks"])]
    for key in extras:
        table = curation["extra"][key]
        frame = read_csv_frame(get(table["file"]))
        check_columns(frame, ["Model", *table["tasks"]], table["file"])
        frame = frame.set_index("Model")
        strangers = [m for m in frame.index if m not in wide.index]
        if strangers:
            raise DataError([f"{table['file']}: LLM(s) {listing(strangers)} are not in {_BASE}"])
        wide = wide.join(frame[list(table["tasks"])], how="left")
        spec.update(table["tasks"])
        notes.append(
            f"joined {table['file']} on Model ({len(frame)} LLMs x {len(table['tasks'])} tasks)"
        )

    numeric = wide.apply(lambda col: to_float(col, f"column {col.name!r}"))
    tasks = task_table(spec, list(numeric.columns), hi=1.0, source=_BASE)
    notes += task_notes(spec, tasks.index)
    notes += below_chance_note(numeric, tasks)
    llms = pd.DataFrame({"family": raw["Model Family"].str.strip()}, index=raw.index)
    for column, name in _META.items():
        llms[name] = to_float(raw[column], f"{_BASE} column {column!r}")
    llms.index.name = "llm"
    return CollaborativeData.from_wide(
        numeric, llms=llms, tasks=tasks, name=NAME, notes=notes, source=_BASE
    )


def _extras(extra: str | Iterable[str] | None, known: dict[str, Any]) -> list[str]:
    if extra is None:
        return []
    if not isinstance(extra, str | Iterable):
        raise DataError([f"extra must be a table name or a sequence of them, not {extra!r}"])
    names = [extra] if isinstance(extra, str) else [str(e) for e in extra]
    bad = [n for n in names if n not in known]
    if bad:
        raise DataError(
            [
                f"unknown extra table {n!r}{suggest(n, list(known))}; known: {listing(known)}"
                for n in bad
            ]
        )
    return list(dict.fromkeys(names))
