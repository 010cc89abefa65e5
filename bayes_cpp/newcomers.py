"""A new LLM described by the user: a small TOML or JSON file, or ``NAME=VALUE`` pairs.

The file has up to four keys (all optional)::

    name = "my-30b"            # label in tables and figures
    family = "LLama-3"         # a known family borrows its effect; else a new family
    [factors]                  # design factors in the LLM table's columns and units
    params_b = 30
    tokens_b = 4000
    [scores]                   # scores already measured, in task units
    "MMLU(5-shot)" = 62.1

(JSON: the same keys, ``{"family": "LLama-3", "factors": {"params_b": 30}, ...}``.)
:func:`describe_llm` merges a file with command-line pairs (the pairs win) and
checks the types; whether the names exist in a fit is checked by
:meth:`bayes_cpp.BayesCPP.forecast`, which says what is known.
"""

from __future__ import annotations

import json
import math
import os
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bayes_cpp.exceptions import DataError

__all__ = ["LLMDescription", "describe_llm", "parse_assignments", "read_llm_file"]

_KEYS = ("name", "family", "factors", "scores")


@dataclass(frozen=True)
class LLMDescription:
    """What :meth:`bayes_cpp.BayesCPP.forecast` needs to know about a new LLM."""

    name: str = "new-llm"
    family: str | None = None
    factors: dict[str, float] = field(default_factory=dict)
    scores: dict[str, float] = field(default_factory=dict)

    def headline(self) -> str:
        """One line: name, family, factors and the number of known scores."""
        parts = [f"family {self.family}" if self.family else "a new family"]
        parts += [f"{k}={v:g}" for k, v in self.factors.items()]
        known = len(self.scores)
        parts.append(f"{known} known score{'s' if known != 1 else ''}" if known else "no scores")
        return f"{self.name} ({', '.join(parts)})"


def _number(value: Any, where: str, problems: list[str]) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        try:
            number = float(str(value).strip())
        except ValueError:
            problems.append(f"{where}: {value!r} is not a number")
            return math.nan
    else:
        number = float(value)
    if not math.isfinite(number):
        problems.append(f"{where}: {value!r} is not a finite number (leave it out if unknown)")
    return number


def parse_assignments(items: Iterable[str], option: str) -> dict[str, float]:
    """``["params_b=30", "MMLU(5-shot)=62.1"]`` -> ``{"params_b": 30.0, ...}``.

    The value is after the last ``=``, so names may contain ``=``.

    Examples
    --------
    >>> parse_assignments(["params_b=30", " MMLU(5-shot) = 62.1"], "--factor")
    {'params_b': 30.0, 'MMLU(5-shot)': 62.1}
    """
    out: dict[str, float] = {}
    problems: list[str] = []
    for item in items:
        name, sep, value = str(item).rpartition("=")
        name = name.strip()
        if not sep or not name or not value.strip():
            problems.append(f"{option} {item!r}: write NAME=VALUE, e.g. {option} params_b=30")
            continue
        if name in out:
            problems.append(f"{option} gives {name!r} twice")
        out[name] = _number(value, f"{option} {item!r}", problems)
    if problems:
        raise DataError(problems)
    return out


def read_llm_file(path: str | os.PathLike[str]) -> LLMDescription:
    """Read a new LLM's description from a ``.toml`` or ``.json`` file (see the module docstring)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataError([f"LLM file {path} does not exist"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError([f"LLM file {path} cannot be read as UTF-8 text: {exc}"]) from None
    try:
        record = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        kind = "JSON" if path.suffix.lower() == ".json" else "TOML"
        raise DataError([f"LLM file {path} is not valid {kind}: {exc}"]) from None
    if not isinstance(record, Mapping):
        raise DataError([f"LLM file {path}: expected a table of {', '.join(_KEYS)}"])
    return _from_record(record, str(path))


def _from_record(record: Mapping[str, Any], where: str) -> LLMDescription:
    problems = [
        f"{where}: unknown key {k!r}; the file may hold {', '.join(_KEYS)}"
        for k in record
        if k not in _KEYS
    ]
    tables: dict[str, dict[str, float]] = {}
    for key in ("factors", "scores"):
        value = record.get(key, {})
        if not isinstance(value, Mapping):
            problems.append(f"{where}: {key!r} must be a table of NAME = number")
            value = {}
        tables[key] = {
            str(k): _number(v, f"{where}: {key}.{k}", problems) for k, v in value.items()
        }
    text: dict[str, str | None] = {}
    for key in ("name", "family"):
        value = record.get(key)
        if value is not None and not isinstance(value, str):
            problems.append(f"{where}: {key!r} must be a string, not {value!r}")
            value = None
        text[key] = value
    if problems:
        raise DataError(problems)
    return LLMDescription(
        name=text["name"] or "new-llm",
        family=text["family"],
        factors=tables["factors"],
        scores=tables["scores"],
    )


def describe_llm(
    *,
    file: str | os.PathLike[str] | None = None,
    name: str | None = None,
    family: str | None = None,
    factors: Iterable[str] = (),
    scores: Iterable[str] = (),
) -> LLMDescription:
    """A new LLM from an optional file plus ``NAME=VALUE`` pairs (which override the file).

    Examples
    --------
    >>> d = describe_llm(family="LLama-3", factors=["params_b=30"], scores=["MMLU(5-shot)=62.1"])
    >>> d.headline()
    'new-llm (family LLama-3, params_b=30, 1 known score)'
    """
    base = read_llm_file(file) if file is not None else LLMDescription()
    return LLMDescription(
        name=name or base.name,
        family=family if family is not None else base.family,
        factors={**base.factors, **parse_assignments(factors, "--factor")},
        scores={**base.scores, **parse_assignments(scores, "--score")},
    )
