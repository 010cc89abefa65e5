"""bayes_cpp: hierarchical Bayesian collaborative performance prediction for LLMs."""

from bayes_cpp._version import __version__
from bayes_cpp.data import CollaborativeData
from bayes_cpp.exceptions import (
    BayesCPPError,
    DataError,
    DatasetUnavailableError,
    DataWarning,
    IncompatibleFileError,
    NotFittedError,
    SpecError,
)
from bayes_cpp.readers import (
    read_llm_factors_csv,
    read_long_csv,
    read_task_factors_csv,
    read_wide_csv,
)

__all__ = [
    "BayesCPPError",
    "CollaborativeData",
    "DataError",
    "DataWarning",
    "DatasetUnavailableError",
    "IncompatibleFileError",
    "NotFittedError",
    "SpecError",
    "__version__",
    "read_llm_factors_csv",
    "read_long_csv",
    "read_task_factors_csv",
    "read_wide_csv",
]
