"""bayes_cpp: hierarchical Bayesian collaborative performance prediction for LLMs.

Predict how large language models score on benchmarks from a sparse LLM x task
score matrix plus design factors, with full posterior uncertainty.
"""

from bayes_cpp import active, datasets, importance, similarity, validation, whatif
from bayes_cpp._version import __version__
from bayes_cpp.active import recommend, reveal_curve
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
from bayes_cpp.importance import by_category, coefficients, shapley
from bayes_cpp.predictor import Newcomer, Predictor
from bayes_cpp.readers import (
    read_llm_factors_csv,
    read_long_csv,
    read_task_factors_csv,
    read_wide_csv,
)
from bayes_cpp.similarity import distance_draws, latent_positions, most_similar
from bayes_cpp.simulate import Simulation, simulate
from bayes_cpp.spec import ModelSpec, Prior, available_specs, load_spec
from bayes_cpp.validation import sbc
from bayes_cpp.whatif import curve_summary, forecast_curve

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
    "active",
    "available_specs",
    "by_category",
    "coefficients",
    "curve_summary",
    "datasets",
    "distance_draws",
    "forecast_curve",
    "importance",
    "latent_positions",
    "load_spec",
    "most_similar",
    "read_llm_factors_csv",
    "read_long_csv",
    "read_task_factors_csv",
    "read_wide_csv",
    "recommend",
    "reveal_curve",
    "sbc",
    "shapley",
    "similarity",
    "simulate",
    "validation",
    "whatif",
]
