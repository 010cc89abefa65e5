"""Checkpoint of an evaluation: one JSON line per finished (method, split).

The first line is a header holding the run's settings and their sha256
(:func:`settings_hash`: protocol, methods and their full specs, seeds,
sampler, the data's content hash and the package version; not the executor,
so a run started serially may resume on a cluster). Every further line is a
:func:`bayes_cpp.evaluation.executor.cell_result`, appended and flushed to
disk as soon as its job finishes. A rerun with the same settings loads the
finished results and runs only the rest; other settings are refused with the
keys that differ, never mixed in. A line torn by a kill mid-write is dropped
on the next load (that result is simply recomputed).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from bayes_cpp.data import CollaborativeData
from bayes_cpp.exceptions import SpecError
from bayes_cpp.persistence import array_checksums

__all__ = ["Checkpoint", "data_hash", "settings_hash"]

_FORMAT = "bayes_cpp evaluation checkpoint"
_VERSION = 1


def data_hash(data: CollaborativeData) -> str:
    """sha256 of the data's content: scores, LLM and task tables (not its name or notes)."""
    ds = data.to_xarray()
    ds.attrs = {}
    text = json.dumps(array_checksums(ds), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def settings_hash(settings: dict[str, Any]) -> str:
    """sha256 of JSON-ready ``settings`` (key order does not matter)."""
    text = json.dumps(settings, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


class Checkpoint:
    """Append-only JSON-lines store of finished results for one set of settings.

    Parameters
    ----------
    path : path
        The checkpoint file (created with its folder if missing).
    settings : dict
        What the results depend on; must be JSON-ready.
    """

    def __init__(self, path: str | os.PathLike[str], settings: dict[str, Any]) -> None:
        self.path = Path(path)
        self.settings = json.loads(json.dumps(settings, default=str))
        self.key = settings_hash(self.settings)

    def load(self) -> dict[tuple[str, str], dict[str, Any]]:
        """Finished results by ``(method, split label)``; creates the file if missing.

        Raises
        ------
        SpecError
            When the file holds results of other settings, or is not a checkpoint.
        """
        if self.path.is_dir():
            raise SpecError(f"checkpoint {self.path} is a directory; give a file name")
        if not self.path.exists():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            new = {"format": _FORMAT, "version": _VERSION, "key": self.key}
            self.path.write_text(json.dumps({**new, "settings": self.settings}) + "\n")
            return {}
        lines = self.path.read_text(encoding="utf-8").splitlines(keepends=True)
        header: Any = None
        with contextlib.suppress(ValueError):
            header = json.loads(lines[0]) if lines else None
        if not isinstance(header, dict) or header.get("format") != _FORMAT:
            raise SpecError(
                f"{self.path} is not a bayes_cpp evaluation checkpoint; delete it or pass "
                "another checkpoint path"
            )
        if header.get("key") != self.key:
            old: dict[str, Any] = header.get("settings") or {}
            keys = sorted(k for k in {*old, *self.settings} if old.get(k) != self.settings.get(k))
            raise SpecError(
                f"checkpoint {self.path} holds results of other settings (they differ in "
                f"{', '.join(keys) or 'the package version'}); rerun with the same settings to "
                "resume, or delete the file (or pass another checkpoint path) to start over"
            )
        results: dict[tuple[str, str], dict[str, Any]] = {}
        good = 1
        for i, line in enumerate(lines[1:], start=1):
            try:
                record = json.loads(line)
                results[(record["method"], record["split"])] = record
                good = i + 1
            except (ValueError, KeyError, TypeError):
                if i == len(lines) - 1:
                    break  # torn last line: rewritten below, recomputed later
                raise SpecError(
                    f"checkpoint {self.path} is damaged at line {i + 1}; delete it to start over"
                ) from None
        if good < len(lines) or (lines and not lines[-1].endswith("\n")):
            self.path.write_text("".join(lines[:good]).rstrip("\n") + "\n")
        return results

    def append(self, result: dict[str, Any]) -> None:
        """Write one finished result and force it to disk."""
        with self.path.open("a", encoding="utf-8") as out:
            out.write(json.dumps(result) + "\n")
            out.flush()
            os.fsync(out.fileno())
