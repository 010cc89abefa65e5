"""Exception and warning types raised by bayes_cpp.

Every error the package raises on bad input is one of these, so callers can
catch ``BayesCPPError`` (or the more specific type) without also catching
unrelated ``KeyError``/``ValueError`` from their own code.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "BayesCPPError",
    "ConvergenceWarning",
    "DataError",
    "DataWarning",
    "DatasetUnavailableError",
    "IncompatibleFileError",
    "MissingDependencyError",
    "NotFittedError",
    "SpecError",
]


class BayesCPPError(Exception):
    """Base class of every exception raised by bayes_cpp."""


class DataError(BayesCPPError, ValueError):
    """Invalid collaborative data; ``problems`` lists every problem found.

    Parameters
    ----------
    problems : sequence of str
        One human-readable line per problem, each naming the offending item.
    source : str, optional
        What was being read (a file name or "long frame"), used in the header.
    """

    def __init__(self, problems: Sequence[str], source: str | None = None) -> None:
        self.problems: tuple[str, ...] = tuple(problems)
        self.source = source
        where = f" in {source}" if source else ""
        n = len(self.problems)
        header = f"{n} problem{'s' if n != 1 else ''} found{where}:"
        super().__init__("\n".join([header, *(f"  - {p}" for p in self.problems)]))


class ConvergenceWarning(UserWarning):
    """Sampler diagnostics failed their thresholds: numbers from this fit may be wrong."""


class DataWarning(UserWarning):
    """Something in the data that the caller may have meant, but should know about."""


class DatasetUnavailableError(BayesCPPError, OSError):
    """A named dataset could be neither found locally nor downloaded."""


class NotFittedError(BayesCPPError, AttributeError):
    """A method that needs a fitted estimator was called before ``fit``."""


class SpecError(BayesCPPError, ValueError):
    """An invalid model specification or prior."""


class IncompatibleFileError(BayesCPPError, OSError):
    """A saved fit that cannot be loaded by this version (schema or damage)."""


class MissingDependencyError(BayesCPPError, ImportError):
    """An optional dependency is not installed; the message names the extra to install."""
