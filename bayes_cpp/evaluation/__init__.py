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

from bayes_cpp.evaluation.baselines import BASELINES, make_baseline
from bayes_cpp.evaluation.harness import DEFAULT_METHODS, EvaluationResult, evaluate, file_record
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
