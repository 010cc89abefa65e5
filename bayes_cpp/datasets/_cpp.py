"""Loader of ``cpp-crowdsourced``: the CPP paper's crowdsourced score matrix.

Raw files (Don-Joey/CPP_LLM, ``data/``): ``crowdsource_performance.csv`` (LLMs
as rows, tasks as columns, percent, UTF-8 BOM, empty first header cell),
``model_feature.csv`` (one row per LLM) and ``benchmark_feature.csv`` (rows
``ability``, ``family``, ``output``, ``few-shot``; tasks as columns). The
curation table ``curation/cpp_crowdsourced.toml`` lists every fix.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from bayes_cpp.data import CollaborativeData
from bayes_cpp.datasets._curation import (
    Getter,
    apply_llm_edits,
    below_chance_note,
    check_columns,
    curation_table,
    to_float,
)
from bayes_cpp.exceptions import DataError
from bayes_cpp.readers import read_csv_frame

__all__ = ["load_cpp_crowdsourced"]

NAME = "cpp-crowdsourced"
_SCORES = "crowdsource_performance.csv"
_LLMS = "model_feature.csv"
_TASKS = "benchmark_feature.csv"

#: Raw LLM factor column -> (clean name, multiplier to the clean unit).
_LLM_COLUMNS: dict[str, tuple[str, float]] = {
    "Parameter Size(M)": ("params_b", 1e-3),
    "Pretraining Dataset Size(B)": ("tokens_b", 1.0),
    "GPUh": ("gpu_hours", 1.0),
    "Context window": ("context_window", 1.0),
    "batch size(M)": ("batch_size_m", 1.0),
    "Layers": ("layers", 1.0),
    "Number Heads": ("heads", 1.0),
    "Key/Value Size": ("kv_size", 1.0),
    "bottleneck activation size": ("bottleneck", 1.0),
    "Carbon Emission (tCO2Eq)": ("carbon_tco2", 1.0),
}
_TASK_FIELDS = {"ability": "category", "family": "task_family", "output": "output_format"}


def load_cpp_crowdsourced(get: Getter) -> CollaborativeData:
    """Load the 72 x 29 crowdsourced matrix with curated LLM and task factors."""
    curation = curation_table("cpp_crowdsourced.toml")
    scores = read_csv_frame(get(_SCORES))
    scores = scores.set_index(scores.columns[0])
    llm_raw = read_csv_frame(get(_LLMS))
    check_columns(llm_raw, ["Model Name", "family", "Finetuning", *_LLM_COLUMNS], _LLMS)
    llm_raw = llm_raw.set_index("Model Name")
    task_raw = read_csv_frame(get(_TASKS))
    task_raw = task_raw.set_index(task_raw.columns[0]).T
    check_columns(task_raw, [*_TASK_FIELDS, "few-shot"], _TASKS)

    notes = [
        f"source: Don-Joey/CPP_LLM data/{_SCORES}, {_LLMS}, {_TASKS}; scores in percent, "
        "gathered from papers and model cards under mixed prompt settings (noisy)"
    ]
    llm_raw = _rename_llms(llm_raw, curation.get("rename_llm", []), notes)
    llm_raw, edits = apply_llm_edits(llm_raw, curation, _LLMS)
    notes += edits
    task_raw = _edit_tasks(task_raw, curation.get("set_task", []), notes)

    llms = _llm_table(llm_raw)
    tasks = _task_table(task_raw, curation["choices"])
    wide = scores.apply(lambda col: to_float(col, f"{_SCORES} column {col.name!r}"))
    notes += below_chance_note(wide, tasks)
    return CollaborativeData.from_wide(
        wide, llms=llms, tasks=tasks, name=NAME, notes=notes, source=_SCORES
    )


def _rename_llms(
    frame: pd.DataFrame, entries: list[dict[str, Any]], notes: list[str]
) -> pd.DataFrame:
    mapping = {}
    for entry in entries:
        if entry["from"] not in frame.index:
            raise DataError([f"curation of {_LLMS}: no LLM {entry['from']!r} to rename"])
        mapping[entry["from"]] = entry["to"]
        notes.append(
            f"curation: LLM {entry['from']!r} renamed {entry['to']!r} in {entry['file']} "
            f"({entry['reason']})"
        )
    return frame.rename(index=mapping)


def _edit_tasks(raw: pd.DataFrame, entries: list[dict[str, Any]], notes: list[str]) -> pd.DataFrame:
    frame = raw.copy()
    for entry in entries:
        task, field = entry["task"], entry["field"]
        actual = frame.at[task, field] if task in frame.index else None
        if actual != entry["from"]:
            raise DataError(
                [f"curation of {_TASKS}: {task!r} {field!r} is {actual!r}, not {entry['from']!r}"]
            )
        frame.at[task, field] = entry["to"]
        notes.append(
            f"curation: task {task!r} {field} {entry['from']!r} -> {entry['to']!r} "
            f"({entry['reason']})"
        )
    return frame


def _llm_table(raw: pd.DataFrame) -> pd.DataFrame:
    unmapped = [
        c for c in raw.columns if c not in _LLM_COLUMNS and c not in ("family", "Finetuning")
    ]
    if unmapped:
        raise DataError([f"{_LLMS}: column(s) {unmapped} are neither mapped nor dropped"])
    table = pd.DataFrame({"family": raw["family"].str.strip()}, index=raw.index)
    for column, (name, scale) in _LLM_COLUMNS.items():
        table[name] = to_float(raw[column], f"{_LLMS} column {column!r}") * scale
    flag = raw["Finetuning"].str.strip().str.lower()
    if not flag.isin(["yes", "no", ""]).all():
        raise DataError([f"{_LLMS}: Finetuning must be Yes/No, got {sorted(set(flag))}"])
    table["finetuned"] = flag.map({"yes": 1.0, "no": 0.0})
    table.index.name = "llm"
    return table


def _task_table(raw: pd.DataFrame, choices: dict[str, int]) -> pd.DataFrame:
    unknown = sorted(set(raw["output"]) - set(choices))
    if unknown:
        raise DataError([f"{_TASKS}: output format(s) {unknown} have no chance level"])
    table = raw[list(_TASK_FIELDS)].rename(columns=_TASK_FIELDS)
    table["shots"] = to_float(raw["few-shot"], f"{_TASKS} row 'few-shot'")
    table["lo"] = 0.0
    table["hi"] = 100.0
    table["higher_is_better"] = True
    table["chance"] = [1.0 / choices[f] if choices[f] else 0.0 for f in raw["output"]]
    table.index.name = "task"
    return table
