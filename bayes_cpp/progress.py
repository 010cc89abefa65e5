"""A short progress line for long fits, so a one-minute fit does not look hung.

:func:`fit_headline` says what is about to run ("fitting hbmf on
cpp-crowdsourced: 4 chains x 1500 iterations ..."); :class:`FitProgress` is a
nutpie progress callback (:meth:`bayes_cpp.BayesCPP.fit`'s ``progress``) that
keeps one line up to date on a terminal (percent done, elapsed, time left,
divergences) and writes a line per quarter otherwise (logs, CI, notebooks).
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, TextIO

__all__ = ["FitProgress", "fit_headline"]


def fit_headline(est: Any, what: str) -> str:
    """What a fit of ``est`` (unfitted parameters) on the data called ``what`` will run.

    Examples
    --------
    >>> import bayes_cpp as bc
    >>> fit_headline(bc.BayesCPP(draws=1000, tune=500, chains=4), "cpp-crowdsourced")
    'fitting hbmf on cpp-crowdsourced: 4 chains x 1500 iterations (500 warm-up), nutpie'
    """
    config = est.sampler_config()
    spec = est.resolved_spec()
    return (
        f"fitting {spec.name} on {what}: {config.chains} chains x "
        f"{config.tune + config.draws} iterations ({config.tune} warm-up), {config.sampler}"
    )


def _seconds(value: float) -> str:
    return f"{value:.0f} s" if value < 120 else f"{value / 60:.1f} min"


class FitProgress:
    r"""Nutpie progress callback printing one line (see the module docstring).

    Parameters
    ----------
    stream : file, optional
        Where to write (default ``sys.stderr``).
    interactive : bool, optional
        Rewrite one line with ``\\r`` (default: when ``stream`` is a terminal).
    clock : callable
        Seconds since some origin (for tests).
    """

    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        interactive: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = sys.stderr if stream is None else stream
        isatty = getattr(self.stream, "isatty", None)
        self.interactive = bool(isatty and isatty()) if interactive is None else interactive
        self.clock = clock
        self.start = clock()
        self.last_quarter = 0
        self.last_line = ""
        self._lock = threading.Lock()

    def line(self, chains: Sequence[Any]) -> str:
        """The progress line for nutpie's per-chain progress records."""
        done = sum(int(c.finished_draws) for c in chains)
        total = max(sum(int(c.total_draws) for c in chains), 1)
        divergences = sum(int(c.divergences) for c in chains)
        frac = min(done / total, 1.0)
        elapsed = self.clock() - self.start
        text = f"  {frac:4.0%} of {total} iterations, {_seconds(elapsed)}"
        if 0.05 < frac < 1.0:
            text += f", about {_seconds(elapsed / frac * (1.0 - frac))} left"
        if divergences:
            text += f", {divergences} divergent"
        return text

    def __call__(self, chains: Sequence[Any]) -> None:
        """Update the line (called by nutpie from its own thread)."""
        with self._lock:
            text = self.line(chains)
            total = max(sum(int(c.total_draws) for c in chains), 1)
            quarter = int(4 * sum(int(c.finished_draws) for c in chains) / total)
            if self.interactive:
                pad = " " * max(len(self.last_line) - len(text), 0)
                self.stream.write(f"\r{text}{pad}")
                self.stream.flush()
            elif quarter > self.last_quarter:
                self.stream.write(text + "\n")
                self.stream.flush()
            self.last_quarter = max(quarter, self.last_quarter)
            self.last_line = text

    def close(self, message: str | None = None) -> None:
        """End the line; ``message`` (e.g. "fitted in 41 s") goes on a line of its own."""
        with self._lock:
            if self.interactive and self.last_line:
                self.stream.write("\n")
            if message:
                self.stream.write(message + "\n")
            self.stream.flush()

    def elapsed(self) -> float:
        """Seconds since the progress started."""
        return self.clock() - self.start
