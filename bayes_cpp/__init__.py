"""bayes_cpp: hierarchical Bayesian collaborative performance prediction for LLMs.

Predict how large language models score on benchmarks from a sparse LLM x task
score matrix plus design factors, with full posterior uncertainty.

The public names below are imported on first use (PEP 562), so ``import
bayes_cpp`` and the command line start without loading pandas, xarray, numba
or PyMC until something needs them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from bayes_cpp._version import __version__
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

if TYPE_CHECKING:
    from bayes_cpp import active, datasets, importance, similarity, validation, whatif
    from bayes_cpp.active import recommend, reveal_curve
    from bayes_cpp.data import CollaborativeData
    from bayes_cpp.estimator import BayesCPP
    from bayes_cpp.importance import by_category, coefficients, shapley
    from bayes_cpp.predictor import Newcomer, Predictor
    from bayes_cpp.readers import (
        read_llm_factors_csv,
        read_long_csv,
        read_task_factors_csv,
        read_wide_csv,
    )
    from bayes_cpp.similarity import distance_draws, latent_positions, most_similar
    from bayes_cpp.simulation import Simulation, simulate
    from bayes_cpp.spec import ModelSpec, Prior, available_specs, load_spec
    from bayes_cpp.validation import sbc
    from bayes_cpp.whatif import curve_summary, forecast_curve

#: Public name -> the module that defines it (modules map to themselves).
_LAZY: dict[str, str] = {
    "active": "bayes_cpp.active",
    "datasets": "bayes_cpp.datasets",
    "importance": "bayes_cpp.importance",
    "similarity": "bayes_cpp.similarity",
    "validation": "bayes_cpp.validation",
    "whatif": "bayes_cpp.whatif",
    "recommend": "bayes_cpp.active",
    "reveal_curve": "bayes_cpp.active",
    "CollaborativeData": "bayes_cpp.data",
    "BayesCPP": "bayes_cpp.estimator",
    "by_category": "bayes_cpp.importance",
    "coefficients": "bayes_cpp.importance",
    "shapley": "bayes_cpp.importance",
    "Newcomer": "bayes_cpp.predictor",
    "Predictor": "bayes_cpp.predictor",
    "read_llm_factors_csv": "bayes_cpp.readers",
    "read_long_csv": "bayes_cpp.readers",
    "read_task_factors_csv": "bayes_cpp.readers",
    "read_wide_csv": "bayes_cpp.readers",
    "distance_draws": "bayes_cpp.similarity",
    "latent_positions": "bayes_cpp.similarity",
    "most_similar": "bayes_cpp.similarity",
    "Simulation": "bayes_cpp.simulation",
    "simulate": "bayes_cpp.simulation",
    "ModelSpec": "bayes_cpp.spec",
    "Prior": "bayes_cpp.spec",
    "available_specs": "bayes_cpp.spec",
    "load_spec": "bayes_cpp.spec",
    "sbc": "bayes_cpp.validation",
    "curve_summary": "bayes_cpp.whatif",
    "forecast_curve": "bayes_cpp.whatif",
}


#: Public names that are submodules themselves.
_MODULES = {"active", "datasets", "importance", "similarity", "validation", "whatif"}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'bayes_cpp' has no attribute {name!r}")
    module = importlib.import_module(_LAZY[name])
    value = module if name in _MODULES else getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


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
