"""Evaluation harness: the CPP paper's protocols, calibrated metrics and baselines.

>>> import bayes_cpp as bc
>>> from bayes_cpp.evaluation import evaluate
>>> data = bc.simulate(30, 8, random_seed=0).data
>>> result = evaluate(
...     data, "random", methods=["task-mean", "additive"], holdout=0.1, seeds=2, progress=False
... )
>>> print(result.to_markdown())  # doctest: +ELLIPSIS
| method | RMSE (0-1) | ...

See :func:`evaluate`, :mod:`.protocols`, :mod:`.metrics`, :mod:`.baselines`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bayes_cpp.evaluation.baselines import BASELINES, make_baseline
    from bayes_cpp.evaluation.harness import (
        DEFAULT_METHODS,
        EvaluationResult,
        evaluate,
        file_record,
    )
    from bayes_cpp.evaluation.methods import (
        EVALUATION_SAMPLER,
        BayesMethod,
        ConformalMethod,
        DistributionMethod,
        PointMethod,
        available_methods,
        make_method,
    )
    from bayes_cpp.evaluation.metrics import (
        INTERVAL_PROBS,
        METRICS,
        GaussianPredictive,
        SamplePredictive,
        aggregate,
        score_cells,
    )
    from bayes_cpp.evaluation.protocols import (
        PAPER_TABLE4,
        PAPER_TABLE4_LLMS,
        PAPER_TABLE5_TASKS,
        PROTOCOLS,
        Split,
        family_extrapolation_splits,
        llm_holdout_splits,
        llm_strength,
        make_splits,
        paper_table4_llms,
        per_llm_fold_splits,
        per_llm_half_splits,
        random_splits,
        release_date_splits,
        stronger_than_seen_splits,
        task_holdout_splits,
    )

# Names load on first use (PEP 562): the command line reads ``names`` without
# importing the harness (scoringrules compiles numba code at import).
_LAZY: dict[str, str] = {
    "BASELINES": "bayes_cpp.evaluation.baselines",
    "BayesMethod": "bayes_cpp.evaluation.methods",
    "ConformalMethod": "bayes_cpp.evaluation.methods",
    "DistributionMethod": "bayes_cpp.evaluation.methods",
    "llm_strength": "bayes_cpp.evaluation.protocols",
    "per_llm_fold_splits": "bayes_cpp.evaluation.protocols",
    "release_date_splits": "bayes_cpp.evaluation.protocols",
    "stronger_than_seen_splits": "bayes_cpp.evaluation.protocols",
    "DEFAULT_METHODS": "bayes_cpp.evaluation.names",
    "EVALUATION_SAMPLER": "bayes_cpp.evaluation.names",
    "EvaluationResult": "bayes_cpp.evaluation.harness",
    "GaussianPredictive": "bayes_cpp.evaluation.metrics",
    "INTERVAL_PROBS": "bayes_cpp.evaluation.metrics",
    "METRICS": "bayes_cpp.evaluation.metrics",
    "PAPER_TABLE4": "bayes_cpp.evaluation.protocols",
    "PAPER_TABLE4_LLMS": "bayes_cpp.evaluation.protocols",
    "PAPER_TABLE5_TASKS": "bayes_cpp.evaluation.protocols",
    "PROTOCOLS": "bayes_cpp.evaluation.names",
    "PointMethod": "bayes_cpp.evaluation.methods",
    "SamplePredictive": "bayes_cpp.evaluation.metrics",
    "Split": "bayes_cpp.evaluation.protocols",
    "aggregate": "bayes_cpp.evaluation.metrics",
    "available_methods": "bayes_cpp.evaluation.methods",
    "evaluate": "bayes_cpp.evaluation.harness",
    "family_extrapolation_splits": "bayes_cpp.evaluation.protocols",
    "file_record": "bayes_cpp.evaluation.harness",
    "llm_holdout_splits": "bayes_cpp.evaluation.protocols",
    "make_baseline": "bayes_cpp.evaluation.baselines",
    "make_method": "bayes_cpp.evaluation.methods",
    "make_splits": "bayes_cpp.evaluation.protocols",
    "paper_table4_llms": "bayes_cpp.evaluation.protocols",
    "per_llm_half_splits": "bayes_cpp.evaluation.protocols",
    "random_splits": "bayes_cpp.evaluation.protocols",
    "score_cells": "bayes_cpp.evaluation.metrics",
    "task_holdout_splits": "bayes_cpp.evaluation.protocols",
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'bayes_cpp.evaluation' has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value


__all__ = [
    "BASELINES",
    "DEFAULT_METHODS",
    "EVALUATION_SAMPLER",
    "INTERVAL_PROBS",
    "METRICS",
    "PAPER_TABLE4",
    "PAPER_TABLE4_LLMS",
    "PAPER_TABLE5_TASKS",
    "PROTOCOLS",
    "BayesMethod",
    "ConformalMethod",
    "DistributionMethod",
    "EvaluationResult",
    "GaussianPredictive",
    "PointMethod",
    "SamplePredictive",
    "Split",
    "aggregate",
    "available_methods",
    "evaluate",
    "family_extrapolation_splits",
    "file_record",
    "llm_holdout_splits",
    "llm_strength",
    "make_baseline",
    "make_method",
    "make_splits",
    "paper_table4_llms",
    "per_llm_fold_splits",
    "per_llm_half_splits",
    "random_splits",
    "release_date_splits",
    "score_cells",
    "stronger_than_seen_splits",
    "task_holdout_splits",
]
