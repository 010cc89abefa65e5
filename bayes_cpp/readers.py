"""CSV readers for scores and design-factor tables.

Every reader returns validated objects or raises :class:`~bayes_cpp.DataError`:
a missing file, a file that is not CSV, a malformed row or a bad value all
become one readable error that names the file and the offending cells. Two
common slips get a hint: a file saved with another delimiter (``;`` from a
European Excel, tabs from a TSV export) and a file in another encoding
(UTF-16 "Unicode text"; re-save as UTF-8). Factor tables remember the file
they came from (``frame.attrs["source"]``), so problems found in them later
are reported under that file's name.

Formats
-------
* wide scores: first column = LLM names, other columns = tasks (or the transpose,
  ``orientation="task_rows"``); ``-``, ``NA`` or an empty cell = missing.
* long scores: columns ``llm``, ``task``, ``score`` (other names via arguments).
* LLM factors: one row per LLM; the name column is ``llm`` (or the first column),
  ``family`` groups LLMs, every other column is a design factor.
* task factors: one row per task (name column ``task`` or the first column) with
  ``category`` and optionally ``lo``, ``hi``, ``higher_is_better``, ``chance``,
  ``shots``, ``output_format``; or the transpose (tasks as columns), detected
  when the first column lists field names such as ``category``.
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path
from typing import Literal, Unpack

import pandas as pd

from bayes_cpp import dims
from bayes_cpp._validation import listing
from bayes_cpp.data import TASK_COLUMNS, CollaborativeData, DataOptions
from bayes_cpp.exceptions import DataError

__all__ = [
    "read_csv_frame",
    "read_llm_factors_csv",
    "read_long_csv",
    "read_task_factors_csv",
    "read_wide_csv",
]

PathLike = str | os.PathLike[str]


_RESAVE = "re-save it as UTF-8 CSV (Excel: 'CSV UTF-8 (comma delimited)')"
_BOMS = {
    b"\xff\xfe\x00\x00": "UTF-32",
    b"\x00\x00\xfe\xff": "UTF-32",
    b"\xff\xfe": "UTF-16",
    b"\xfe\xff": "UTF-16",
}
_DELIMITERS = {";": "semicolon (';')", "\t": "tab", "|": "pipe ('|')"}


def _decode(raw: bytes, label: str) -> str:
    """UTF-8 text of a file, or a DataError that says which encoding it has and what to do."""
    for bom, encoding in _BOMS.items():
        if raw.startswith(bom):
            raise DataError([f"{label} is {encoding} text, not UTF-8; {_RESAVE}"])
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(
            [f"{label} is not UTF-8 text ({exc.reason} at byte {exc.start}); {_RESAVE}"]
        ) from None


def _check_text(text: str, label: str) -> None:
    """Refuse NUL bytes and other delimiters with a hint."""
    if "\x00" in text:
        # ASCII text in UTF-16 without a byte-order mark: every other byte is NUL.
        hint = (
            f"it looks like UTF-16 text without a byte-order mark; {_RESAVE}"
            if text.count("\x00") * 3 >= len(text)
            else "it is not a CSV text file"
        )
        raise DataError([f"the file contains NUL bytes; {hint}"], source=label)
    header = next((line for line in text.lstrip("\ufeff").splitlines() if line.strip()), "")
    if "," in header:
        return
    for sep, name in _DELIMITERS.items():
        if sep in header:
            raise DataError(
                [
                    f"the header line has no comma but {header.count(sep)} {name} separator(s): "
                    f"the file looks {name}-delimited; save it comma-separated (in Excel: "
                    "'CSV UTF-8 (comma delimited)'), e.g. pandas.read_csv(path, "
                    f"sep={sep!r}).to_csv(path, index=False)"
                ],
                source=label,
            )


def read_csv_frame(path: PathLike | io.StringIO) -> pd.DataFrame:
    r"""Read a CSV as text cells (no type guessing) or raise a :class:`DataError`.

    Examples
    --------
    >>> read_csv_frame(io.StringIO("llm;ARC\nA;50\n"))
    Traceback (most recent call last):
    ...
    bayes_cpp.exceptions.DataError: 1 problem found in <text>:
      - the header line has no comma but 1 semicolon (';') separator(s): ...
    """
    label = "<text>" if isinstance(path, io.StringIO) else str(path)
    try:
        text = (
            path.getvalue()
            if isinstance(path, io.StringIO)
            else _decode(Path(path).read_bytes(), label)
        )
    except FileNotFoundError:
        raise DataError([f"file not found: {label}"]) from None
    except IsADirectoryError:
        raise DataError([f"{label} is a directory, not a CSV file"]) from None
    except OSError as exc:
        raise DataError([f"cannot read {label}: {exc.strerror or exc}"]) from None
    if not text.strip():
        raise DataError(["the file is empty"], source=label)
    _check_text(text, label)
    try:
        raw = pd.read_csv(
            io.StringIO(text.lstrip("\ufeff")),
            header=None,
            dtype=str,
            keep_default_na=False,
            skipinitialspace=True,
            engine="python",
            on_bad_lines="error",
        )
    except (pd.errors.ParserError, csv.Error, ValueError) as exc:
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError([f"malformed CSV: {message}"], source=label) from None
    if raw.shape[1] == 0 or raw.shape[0] == 0:
        raise DataError(["the file has no columns"], source=label)
    # The header is parsed by hand: pandas would rename duplicate headers ("x.1"),
    # invent names for empty ones ("Unnamed: 2") or silently use a surplus first
    # data cell as the index.
    header = ["" if pd.isna(c) else str(c).strip() for c in raw.iloc[0]]
    frame = raw.iloc[1:].reset_index(drop=True)
    frame.columns = pd.Index(range(len(header)))
    problems = []
    keep = []
    for j, name in enumerate(header):
        if name or j == 0:
            keep.append(j)
        elif frame[j].map(lambda v: pd.notna(v) and str(v).strip() != "").any():
            problems.append(f"column {j + 1} has values but no header")
    named = pd.Index([name for name in header if name])
    repeated = named[named.duplicated()].unique()
    if len(repeated):
        problems.append(f"duplicate column header(s) {listing(repeated)}")
    if problems:
        raise DataError(problems, source=label)
    frame = frame[keep]
    frame.columns = pd.Index([header[j] for j in keep], dtype=object)
    return frame


def read_wide_csv(
    path: PathLike,
    *,
    orientation: Literal["llm_rows", "task_rows"] = "llm_rows",
    llms: pd.DataFrame | None = None,
    tasks: pd.DataFrame | None = None,
    **options: Unpack[DataOptions],
) -> CollaborativeData:
    """Read a wide score matrix (first column = row names).

    ``options`` go to :class:`~bayes_cpp.CollaborativeData`
    (:class:`~bayes_cpp.data.DataOptions`: ``score_range``, ``aggregate``,
    ``allow_unobserved``, ...).
    """
    frame = read_csv_frame(path)
    if frame.shape[1] < 2:
        raise DataError(
            ["a wide score file needs a name column and at least one score column"],
            source=str(path),
        )
    frame = frame.set_index(frame.columns[0])
    options.setdefault("source", str(path))
    return CollaborativeData.from_wide(
        frame, orientation=orientation, llms=llms, tasks=tasks, **options
    )


def read_long_csv(
    path: PathLike,
    *,
    llm: str = "llm",
    task: str = "task",
    score: str = "score",
    llms: pd.DataFrame | None = None,
    tasks: pd.DataFrame | None = None,
    **options: Unpack[DataOptions],
) -> CollaborativeData:
    """Read long scores (one row per llm, task, score); ``options`` as :func:`read_wide_csv`'s."""
    frame = read_csv_frame(path)
    options.setdefault("source", str(path))
    return CollaborativeData.from_long(
        frame, llm=llm, task=task, score=score, llms=llms, tasks=tasks, **options
    )


def read_llm_factors_csv(path: PathLike, *, name_column: str | None = None) -> pd.DataFrame:
    """Read an LLM factor table; the result is indexed by ``llm``.

    The name column is ``name_column``, else a column called ``llm``, else the
    first column. Values stay text here; :class:`~bayes_cpp.CollaborativeData`
    converts and validates them.
    """
    frame = read_csv_frame(path)
    out = _index_by(
        frame, name_column or (dims.LLM if dims.LLM in frame.columns else None), dims.LLM, path
    )
    out.attrs["source"] = str(path)
    return out


def read_task_factors_csv(
    path: PathLike,
    *,
    orientation: Literal["auto", "task_rows", "task_columns"] = "auto",
    name_column: str | None = None,
    rename: dict[str, str] | None = None,
) -> pd.DataFrame:
    """Read a task factor table in either orientation; the result is indexed by ``task``.

    With ``orientation="auto"`` the table is taken as tasks-in-columns when its
    first column lists field names (``category``, ``lo``, ...). ``rename`` maps
    source field names to ours, e.g. ``{"ability": "category"}``.
    """
    frame = read_csv_frame(path)
    rename = rename or {}
    fields = set(TASK_COLUMNS) | set(rename)
    if orientation == "auto":
        first = frame.iloc[:, 0].astype(str).str.strip()
        orientation = (
            "task_columns"
            if first.isin(fields).any() and dims.TASK not in frame.columns
            else "task_rows"
        )
    if orientation == "task_columns":
        frame = frame.set_index(frame.columns[0]).T
        frame.index.name = dims.TASK
        frame.columns = [str(c).strip() for c in frame.columns]
        frame = frame.rename(columns=rename)
        frame.attrs["source"] = str(path)
        return frame
    if orientation != "task_rows":
        raise DataError(
            [f"orientation must be 'auto', 'task_rows' or 'task_columns', not {orientation!r}"]
        )
    out = _index_by(
        frame, name_column or (dims.TASK if dims.TASK in frame.columns else None), dims.TASK, path
    ).rename(columns=rename)
    out.attrs["source"] = str(path)
    return out


def _index_by(frame: pd.DataFrame, column: str | None, name: str, path: PathLike) -> pd.DataFrame:
    column = column or frame.columns[0]
    if column not in frame.columns:
        raise DataError(
            [f"no column {column!r}; columns are {list(frame.columns)}"], source=str(path)
        )
    out = frame.set_index(column)
    out.index = pd.Index([str(x).strip() for x in out.index], name=name)
    return out
