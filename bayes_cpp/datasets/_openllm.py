"""Loader of ``openllm-v1``: the Open LLM Leaderboard v1 dump (for scale).

Raw file ``open-llm-leaderboard_v1.csv`` (felipemaiapolo/sloth,
``data/open-llm-leaderboard_old.csv``): one row per submission, six task
columns in percent, metadata. ``curation/openllm_v1.toml`` holds the task
table and the architecture aliases.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from bayes_cpp.data import CollaborativeData
from bayes_cpp.datasets._curation import (
    Getter,
    below_chance_note,
    check_columns,
    curation_table,
    drop_empty_columns,
    task_notes,
    task_table,
    to_float,
)
from bayes_cpp.exceptions import DataError
from bayes_cpp.readers import read_csv_frame

__all__ = ["load_openllm_v1"]

NAME = "openllm-v1"
_FILE = "open-llm-leaderboard_v1.csv"
_META = [
    "Model",
    "Type",
    "Architecture",
    "Precision",
    "#Params (B)",
    "Merged",
    "Flagged",
    "MoE",
    "date",
]
_LEADING_SYMBOLS = re.compile(r"^[^A-Za-z0-9]+")


def load_openllm_v1(
    get: Getter, *, exclude_merges: bool = False, max_llms: int | None = None
) -> CollaborativeData:
    """Load the leaderboard (7,169 submissions x 6 tasks, percent).

    Parameters
    ----------
    get : callable
        Returns the local path of a raw file.
    exclude_merges : bool, default False
        Drop submissions whose Type is "base merges and moerges".
    max_llms : int, optional
        Keep only the first ``max_llms`` submissions in file order (after the
        merge filter): a deterministic subset for quick runs.
    """
    if not isinstance(exclude_merges, bool):
        raise DataError([f"exclude_merges must be True or False, not {exclude_merges!r}"])
    if max_llms is not None and (
        isinstance(max_llms, bool) or not isinstance(max_llms, int) or max_llms < 1
    ):
        raise DataError([f"max_llms must be a positive integer or None, not {max_llms!r}"])
    curation = curation_table("openllm_v1.toml")
    spec: dict[str, Any] = curation["tasks"]
    raw = read_csv_frame(get(_FILE))
    check_columns(raw, [*_META, *spec], _FILE)
    notes = [
        f"source: felipemaiapolo/sloth data/open-llm-leaderboard_old.csv ({len(raw)} "
        "submissions to the Hugging Face Open LLM Leaderboard v1); scores in percent",
        "raw 'Merged', 'Flagged' and 'MoE' flags are kept as merged_flag, flagged_flag and "
        "moe_flag; their meaning is unclear (Flagged is True for 7,060 rows, MoE is False for "
        "most Mixtral rows), so nothing is filtered on them",
    ]
    raw.index = pd.Index(_unique_names(raw, notes), name="llm")
    llm_type = raw["Type"].map(lambda t: _LEADING_SYMBOLS.sub("", t).strip() or np.nan)
    if exclude_merges:
        merges = llm_type == curation["merge_type"]
        notes.append(f"exclude_merges: {int(merges.sum())} merged LLMs dropped")
        raw, llm_type = raw[~merges], llm_type[~merges]
    if max_llms is not None and max_llms < len(raw):
        notes.append(f"max_llms: kept the first {max_llms} of {len(raw)} LLMs in file order")
        raw, llm_type = raw.iloc[:max_llms], llm_type.iloc[:max_llms]

    llms = _llm_table(raw, llm_type, curation, notes)
    llms, dropped = drop_empty_columns(llms, "LLM")
    notes += dropped
    wide = raw[list(spec)].apply(lambda col: to_float(col, f"{_FILE} column {col.name!r}"))
    tasks = task_table(spec, list(spec), hi=100.0, source=_FILE)
    notes += task_notes(spec, tasks.index)
    notes += below_chance_note(wide, tasks)
    return CollaborativeData.from_wide(
        wide, llms=llms, tasks=tasks, name=NAME, notes=notes, source=_FILE
    )


def _unique_names(raw: pd.DataFrame, notes: list[str]) -> list[str]:
    """Model names, with '<model> [<precision>]' for names submitted more than once."""
    names = raw["Model"].str.strip()
    dup = names.duplicated(keep=False)
    out = names.where(~dup, names + " [" + raw["Precision"].str.strip() + "]")
    if out.duplicated().any():
        clash = sorted(set(out[out.duplicated()]))
        raise DataError([f"{_FILE}: submissions not told apart by precision: {clash[:5]}"])
    if dup.any():
        notes.append(
            f"{int(dup.sum())} rows share a Model name with another row ({names[dup].nunique()} "
            "names evaluated at several precisions); each such row is named "
            "'<model> [<precision>]' and kept as its own LLM"
        )
    return [str(n) for n in out]


def _flag(values: pd.Series, column: str) -> pd.Series:
    text = values.str.strip()
    if not text.isin(["True", "False"]).all():
        raise DataError([f"{_FILE}: column {column!r} must be True/False"])
    return (text == "True").astype(float)


def _llm_table(
    raw: pd.DataFrame, llm_type: pd.Series, curation: dict[str, Any], notes: list[str]
) -> pd.DataFrame:
    aliases = {a["from"]: a for a in curation["family_alias"]}
    arch = raw["Architecture"].str.strip()
    for source, alias in aliases.items():
        n = int((arch == source).sum())
        if n:
            notes.append(f"family {source!r} -> {alias['to']!r} for {n} LLM(s) ({alias['reason']})")
    family = arch.map(lambda a: aliases[a]["to"] if a in aliases else a)
    params = to_float(raw["#Params (B)"], f"{_FILE} column '#Params (B)'")
    table = pd.DataFrame(
        {
            "family": family,
            # 0 marks an unknown size in this dump, never a real one.
            "params_b": params.where(params > 0),
            "llm_type": llm_type,
            "precision": raw["Precision"].str.strip(),
            "is_merge": (llm_type == curation["merge_type"]).astype(float).where(llm_type.notna()),
            "moe": family.isin(curation["moe_architectures"])
            .astype(float)
            .where(family != "unknown"),
            "merged_flag": _flag(raw["Merged"], "Merged"),
            "flagged_flag": _flag(raw["Flagged"], "Flagged"),
            "moe_flag": _flag(raw["MoE"], "MoE"),
            # Parsed to a date by CollaborativeData (bayes_cpp._tables.LLM_DATE_COLUMNS).
            "date": raw["date"].str.strip(),
        },
        index=raw.index,
    )
    notes.append(
        "params_b: '#Params (B)' is rounded to whole billions; 0 (unknown) became NaN "
        f"for {int(params.eq(0).sum())} LLM(s)"
    )
    notes.append(
        "date: the dump's 'date' column (when the submission was evaluated, a proxy for its "
        "release date: a model is submitted soon after its weights appear); the release-date "
        "protocol reads it"
    )
    notes.append(
        "moe: 1 for architectures that are mixtures of experts by construction "
        f"({', '.join(curation['moe_architectures'])}), NaN when the architecture is unknown"
    )
    return table
