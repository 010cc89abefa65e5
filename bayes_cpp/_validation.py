"""Input checks shared by the data layer: collect every problem, raise once.

Nothing here knows about PyMC. Each check appends human-readable lines to a
:class:`Problems` collector; the caller raises one :class:`DataError` that lists
them all, so a user fixes a file in one pass.
"""

from __future__ import annotations

import contextlib
import difflib
import warnings
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from bayes_cpp.exceptions import DataError, DataWarning

#: Cell values that mean "missing" in CSV input (besides empty cells).
MISSING_MARKERS: tuple[str, ...] = ("-", "—", "–", "NA", "N/A", "n/a", "nan", "NaN", "null", "")

_MAX_LISTED = 12


class Problems:
    """Collect problems and warnings; raise or emit them at the end.

    :meth:`scoped` gives a view that records into the same lists under another
    source (a factor table read from its own file), so each problem is
    reported under the file it is in.

    Examples
    --------
    >>> problems = Problems("scores.csv")
    >>> problems.scoped("llms.csv").error("LLM table, row 'a': size 'x' is not a number")
    >>> problems.raise_if_any()
    Traceback (most recent call last):
    ...
    bayes_cpp.exceptions.DataError: 1 problem found in llms.csv:
      - LLM table, row 'a': size 'x' is not a number
    """

    def __init__(self, source: str | None = None) -> None:
        self.source = source
        self._errors: list[tuple[str | None, str]] = []
        self._warnings: list[tuple[str | None, str]] = []

    def scoped(self, source: str | None) -> Problems:
        """A view recording into this collector under ``source`` (None: this one's)."""
        view = Problems(source if source is not None else self.source)
        view._errors, view._warnings = self._errors, self._warnings
        return view

    @property
    def errors(self) -> list[str]:
        """The recorded problems (messages)."""
        return [m for _, m in self._errors]

    @property
    def warnings(self) -> list[str]:
        """The recorded warnings (messages)."""
        return [m for _, m in self._warnings]

    def error(self, message: str) -> None:
        """Record one problem."""
        self._errors.append((self.source, message))

    def warn(self, message: str) -> None:
        """Record one warning."""
        self._warnings.append((self.source, message))

    def raise_if_any(self) -> None:
        """Raise a :class:`DataError` listing every recorded problem, if any.

        When all problems come from one source the header names it; otherwise
        lines from another source than this collector's start with its name.
        """
        if not self._errors:
            return
        sources = {s for s, _ in self._errors}
        if len(sources) == 1:
            raise DataError(self.errors, source=sources.pop())
        lines = [m if s in (None, self.source) else f"{s}: {m}" for s, m in self._errors]
        raise DataError(lines, source=self.source)

    def emit_warnings(self, stacklevel: int = 3) -> None:
        """Emit each recorded warning as a :class:`DataWarning`, naming its source."""
        for source, message in self._warnings:
            where = f" ({source})" if source else ""
            warnings.warn(message + where, DataWarning, stacklevel=stacklevel)

    def finish(self) -> None:
        """Raise if there are problems, otherwise emit the warnings."""
        self.raise_if_any()
        self.emit_warnings(stacklevel=4)


def source_of(table: Any) -> str | None:
    """The file a table was read from (``attrs["source"]`` set by the readers), or None."""
    attrs = getattr(table, "attrs", None)
    source = attrs.get("source") if isinstance(attrs, dict) else None
    return str(source) if source is not None else None


def listing(items: Iterable[Any], limit: int = _MAX_LISTED, *, quote: bool = True) -> str:
    """Join item names for a message (quoted unless ``quote=False``), eliding past ``limit``."""
    items = [str(i) for i in items]
    shown = ", ".join(repr(i) if quote else i for i in items[:limit])
    if len(items) > limit:
        shown += f", ... ({len(items) - limit} more)"
    return shown


def suggest(name: str, candidates: Sequence[str]) -> str:
    """Return a ' (did you mean ...?)' hint for ``name`` or an empty string."""
    close = difflib.get_close_matches(name, list(candidates), n=3, cutoff=0.6)
    if not close:
        lowered = {c.lower(): c for c in candidates}
        close = [lowered[k] for k in difflib.get_close_matches(name.lower(), list(lowered), n=3)]
    if not close:
        # Names like "Luminous Base" vs "Luminous Base-13B": prefix matches.
        close = [c for c in candidates if c.startswith(name) or name.startswith(c)][:3]
    return f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""


def _edits(a: str, b: str) -> int:
    """Optimal-string-alignment distance: insertions, deletions, substitutions, swaps."""
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        row = [i]
        for j, cb in enumerate(b, 1):
            cost = min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cost = min(cost, prev2[j - 2] + 1)
            row.append(cost)
        prev2, prev = prev, row
    return prev[-1]


def near_misses(name: str, candidates: Sequence[str]) -> list[str]:
    """Known names that ``name`` is probably a typo of.

    Equal up to case, spaces, ``-`` and ``_``, or one edit away (two for names
    of nine or more characters). Stricter than :func:`suggest`, which also offers loosely similar names: this
    one decides whether an unknown name deserves a warning.

    Examples
    --------
    >>> near_misses("Lama", ["Llama", "Mistral", "GPT"])
    ['Llama']
    >>> near_misses("new-category", ["category-1", "category-2"])
    []
    """

    def norm(text: str) -> str:
        return "".join(text.lower().split()).replace("-", "").replace("_", "")

    limit = 2 if len(name) >= 9 else 1
    return [
        c
        for c in candidates
        if c != name and (norm(c) == norm(name) or _edits(name.lower(), c.lower()) <= limit)
    ]


def is_missing_marker(value: Any) -> bool:
    """Return True for NaN/None and the textual missing markers of CSV files."""
    if isinstance(value, str):
        return value.strip() in MISSING_MARKERS
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if pd.api.types.is_scalar(value):
        # float/numpy NaN, Decimal("NaN"), numpy NaT, ...
        with contextlib.suppress(TypeError, ValueError, ArithmeticError):
            return bool(pd.isna(value))
    return False


def missing_mask(values: pd.Series) -> pd.Series:
    """Boolean Series, True where ``values`` holds a missing marker (any dtype)."""
    flags = [is_missing_marker(v) for v in values.astype(object)]
    return pd.Series(flags, index=values.index, dtype=bool)


def coerce_numeric(
    values: pd.Series, problems: Problems, describe: Any, what: str = "value"
) -> pd.Series:
    """Convert ``values`` to float, recording a problem for each non-number.

    Missing markers become NaN silently. ``describe(index)`` names the cell in
    messages (e.g. "row 3 (llm='A', task='B')").
    """
    out: list[float] = []
    for idx, raw in values.items():
        out.append(np.nan)
        if is_missing_marker(raw):
            continue
        if isinstance(raw, bool | np.bool_):
            out[-1] = float(raw)
            continue
        try:
            number = (
                float(str(raw).strip().replace(",", "")) if isinstance(raw, str) else float(raw)
            )
        except OverflowError:  # an int beyond the float range
            number = np.inf
        except (TypeError, ValueError):
            problems.error(f"{describe(idx)}: {what} {raw!r} is not a number")
            continue
        if not np.isfinite(number):
            problems.error(f"{describe(idx)}: {what} {raw!r} is not finite")
            continue
        out[-1] = number
    return pd.Series(out, index=values.index, dtype="float64")


def clean_names(values: pd.Series, problems: Problems, what: str) -> pd.Series:
    """Strip names, record missing ones as problems, warn on stripped whitespace."""
    out = values.astype("object")
    stripped: list[str] = []
    result: list[str | None] = []
    for idx, raw in out.items():
        if is_missing_marker(raw):
            problems.error(f"row {idx}: {what} name is missing")
            result.append(None)
            continue
        text = str(raw)
        name = text.strip().lstrip("\ufeff").strip()
        if not name:
            problems.error(f"row {idx}: {what} name is missing")
            result.append(None)
            continue
        if text != text.strip():
            stripped.append(text)
        result.append(name)
    if stripped:
        names = listing(sorted(set(stripped)))
        problems.warn(f"leading/trailing whitespace removed from {what} names {names}")
    return pd.Series(result, index=values.index, dtype="object")
