"""bayes_cpp: hierarchical Bayesian collaborative performance prediction for LLMs.

Predict how large language models score on benchmarks from a sparse LLM x task
score matrix plus design factors, with full posterior uncertainty.
"""

from bayes_cpp import datasets
from bayes_cpp._version import __version__
from bayes_cpp.data import CollaborativeData
from bayes_cpp.estimator import BayesCPP
from bayes_cpp.exceptions import (
    BayesCPPError,
    ConvergenceWarning,
    DataError,
    DatasetUnavailableError,
    DataWarning,
    IncompatibleFileError,
    MissingDependencyError,
    NotFittedError,
    SpecError,
)
from bayes_cpp.predictor import Newcomer, Predictor
from bayes_cpp.readers import (
    read_llm_factors_csv,
    read_long_csv,
    read_task_factors_csv,
    read_wide_csv,
)
from bayes_cpp.simulate import Simulation, simulate
from bayes_cpp.spec import ModelSpec, Prior, available_specs, load_spec

__all__ = [
    "BayesCPP",
    "BayesCPPError",
    "CollaborativeData",
    "ConvergenceWarning",
    "DataError",
    "DataWarning",
    "DatasetUnavailableError",
    "IncompatibleFileError",
    "MissingDependencyError",
    "ModelSpec",
    "Newcomer",
    "NotFittedError",
    "Predictor",
    "Prior",
    "Simulation",
    "SpecError",
    "__version__",
    "available_specs",
    "datasets",
    "load_spec",
    "read_llm_factors_csv",
    "read_long_csv",
    "read_task_factors_csv",
    "read_wide_csv",
    "simulate",
]
