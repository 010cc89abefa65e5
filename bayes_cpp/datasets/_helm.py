"""Loader of ``cpp-helm``: the HELM leaderboard matrix released with the CPP paper.

Raw file ``helm_core.csv`` (Don-Joey/CPP_LLM, ``data/``): metric rows x LLM
columns, fractions, ``-`` = missing. Only bounded accuracy-like metrics are
kept; ``curation/cpp_helm.toml`` lists the kept tasks and the drop rules.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from bayes_cpp._validation import listing
from bayes_cpp.data import CollaborativeData
from bayes_cpp.datasets._curation import (
    Getter,
    below_chance_note,
    curation_table,
    task_notes,
    task_table,
    to_float,
)
from bayes_cpp.exceptions import DataError
from bayes_cpp.readers import read_csv_frame

__all__ = ["load_cpp_helm"]

NAME = "cpp-helm"
_FILE = "helm_core.csv"
_SIZE = re.compile(r"\((\d+(?:\.\d+)?)([BM])\)$")


def load_cpp_helm(get: Getter, *, min_llms: int = 20) -> CollaborativeData:
    """Load the HELM matrix restricted to bounded accuracy-like metrics.

    Parameters
    ----------
    get : callable
        Returns the local path of a raw file.
    min_llms : int, default 20
        Keep a metric only if at least this many LLMs have a score for it.
    """
    if isinstance(min_llms, bool) or not isinstance(min_llms, int) or min_llms < 1:
        raise DataError([f"min_llms must be a positive integer, not {min_llms!r}"])
    curation = curation_table("cpp_helm.toml")
    spec: dict[str, Any] = curation["tasks"]
    raw = read_csv_frame(get(_FILE))
    raw = raw.set_index(raw.columns[0])
    kept, dropped = _split_metrics(raw.index, spec, curation["drop"])
    wide = raw.loc[kept].T.apply(lambda col: to_float(col, f"{_FILE} row {col.name!r}"))
    counts = wide.notna().sum()
    rare = counts[counts < min_llms]
    if len(rare):
        listed = ", ".join(f"{t!r} ({n})" for t, n in rare.items())
        dropped[f"observed for fewer than {min_llms} LLMs"] = [listed]
        wide = wide.drop(columns=rare.index)
    empty = wide.index[wide.notna().sum(axis=1) == 0]
    wide = wide.drop(index=empty)

    tasks = task_table(spec, list(wide.columns), hi=1.0, source=_FILE)
    parts = [str(t).split(" - ", 1) for t in tasks.index]
    tasks["scenario"] = [p[0] for p in parts]
    tasks["metric"] = [p[1] if len(p) > 1 else "" for p in parts]
    notes = [
        f"source: Don-Joey/CPP_LLM data/{_FILE} (HELM classic, plus HELM lite rows such as "
        "'MATH - Equivalent (CoT)', 'LegalBench', 'MedQA', 'WMT 2014'); scores are fractions"
    ]
    notes += [f"metrics dropped ({why}): {', '.join(m)}" for why, m in dropped.items()]
    if len(empty):
        notes.append(f"LLMs dropped (no score left): {listing(empty)}")
    notes += list(curation.get("notes", []))
    notes += task_notes(spec, tasks.index)
    notes += below_chance_note(wide, tasks)
    llms = _llm_table(list(wide.index), curation["family"])
    return CollaborativeData.from_wide(
        wide, llms=llms, tasks=tasks, name=NAME, notes=notes, source=_FILE
    )


def _split_metrics(
    labels: pd.Index, spec: dict[str, Any], rules: list[dict[str, str]]
) -> tuple[list[str], dict[str, list[str]]]:
    """Kept metric rows and dropped ones grouped by reason; unknown rows are errors."""
    kept: list[str] = []
    dropped: dict[str, list[str]] = {}
    unknown: list[str] = []
    for label in (str(x) for x in labels):
        if label in spec:
            kept.append(label)
            continue
        rule = next((r for r in rules if r["match"] in label), None)
        if rule is None:
            unknown.append(label)
        else:
            dropped.setdefault(rule["reason"], []).append(repr(label))
    absent = [t for t in spec if t not in set(map(str, labels))]
    problems = [f"metric row {u!r} is neither kept nor dropped by cpp_helm.toml" for u in unknown]
    problems += [f"task {t!r} of cpp_helm.toml is not a row of {_FILE}" for t in absent]
    if problems:
        raise DataError(problems, source=_FILE)
    return kept, dropped


def _llm_table(names: list[str], rules: list[dict[str, Any]]) -> pd.DataFrame:
    families: dict[str, str] = {}
    for name in names:
        rule = next((r for r in rules if any(name.startswith(p) for p in r["prefix"])), None)
        if rule is None:
            raise DataError([f"LLM {name!r} of {_FILE} matches no family rule in cpp_helm.toml"])
        families[name] = rule["family"]
    params = []
    for name in names:
        match = _SIZE.search(name)
        if match is None:
            params.append(np.nan)
        else:
            value = float(match.group(1))
            params.append(value if match.group(2) == "B" else value / 1000.0)
    table = pd.DataFrame(
        {"family": [families[n] for n in names], "params_b": params},
        index=pd.Index(names, name="llm"),
    )
    return table
