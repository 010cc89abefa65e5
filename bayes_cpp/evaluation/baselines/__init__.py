"""Point-prediction baselines for the evaluation harness.

Every baseline works on the task-normalized unit scale ``p`` in [0, 1]
(:meth:`bayes_cpp.data.CollaborativeData.unit_scores`) and follows one protocol::

    b = make_baseline(name, random_seed=seed)  # factory by registry name
    b.fit(train)  # a CollaborativeData; returns b
    p = b.predict_cells(llms, tasks)  # paired (llm, task) name sequences -> float array in [0, 1]

``llms``/``tasks`` may name LLMs or tasks that have rows in the training tables
but no training scores (cold start, e.g. after ``drop_cells``). When a
baseline's own method cannot predict a cell it uses a documented fallback
(by default the task's training mean, or the global mean when the task has no
training score either) and :attr:`Baseline.n_fallback_`, set by every
``predict``, counts the cells that did. Baselines give point predictions
(``intervals = False``), except those with ``intervals = True``, which also
give a predictive normal per cell, ``predict_distribution(llms, tasks) ->
(mean, sd)``.

The baselines (registry keys):

``global-mean``
    The mean of all training unit scores.
``task-mean``
    The task's training mean (global mean for tasks without scores).
``sample-mean``
    The same as ``task-mean`` under the name of the audit of benchmark
    prediction methods (Zhang, Dorner & Hardt 2025, arXiv 2506.07673) that
    found a sample mean hard to beat when new LLMs are stronger than the
    ones seen: the mean of the training LLMs' scores of each task. (With
    ``k`` revealed scores of held-out LLMs, those ``k`` scores are training
    cells too, as for every baseline.)
``additive``
    ``p = mu + a_llm + b_task`` by ridge-penalized least squares (penalty on the
    effects only, not on ``mu``). An LLM or task without scores gets a zero effect.
``mf-paper``
    The matrix factorization of the CPP paper (Zhang et al. 2024, "Collaborative
    Performance Prediction for Large Language Models", arXiv:2407.01300):
    ``p = P_l . Q_t``, rank 10, no biases, no link, embeddings initialised
    N(0, 0.01^2), unregularized squared error on the observed cells. The paper ran
    SGD for 250k epochs; we minimise the same objective with L-BFGS and an
    analytic gradient for a fixed budget, which reaches the same (over)fitted
    regime in well under a second.
``mf``
    Regularized matrix factorization with biases, ``p = mu + a_l + b_t + P_l . Q_t``,
    fitted by alternating ridge regressions (ALS).
``softimpute-logit``, ``softimpute-logit-3``
    Soft-impute (Mazumder, Hastie & Tibshirani 2010, JMLR 11:2287) on
    ``logit(clip(p, 0.01, 0.99))`` with unpenalized task offsets, rank 2 or 3;
    predictions go back through the sigmoid.
``scaling-law``
    The paper's scaling-law baseline: per task and family,
    ``logit(p) = w log10(N) + b`` (``N`` the raw parameter count) fitted on the
    *other* members of the family by bounded least squares,
    ``w in [0.5, 2]``, ``b in [-10, -3]``.
``gaussian-conditional``
    Gaussian conditioning: each LLM's row of unit scores is a draw of one
    multivariate normal over tasks (mean and Ledoit-Wolf shrunk covariance
    estimated by EM over the incomplete training rows); an LLM's hidden
    cells are predicted by the conditional normal given its known cells,
    with their own conditional sd (``intervals = True``).
``obs-scaling``
    Observational scaling in the style of Ruan, Maddison & Hashimoto (2024,
    arXiv:2405.10938): principal components of the (soft-impute completed)
    logit score matrix; for an LLM without scores its PC scores are predicted
    from log training compute with a shared slope and per-family intercepts.
"""

from __future__ import annotations

from typing import Any

from bayes_cpp._validation import listing, suggest
from bayes_cpp.evaluation.baselines.base import Baseline
from bayes_cpp.evaluation.baselines.factorization import MFBaseline, MFPaperBaseline
from bayes_cpp.evaluation.baselines.gaussian import GaussianConditionalBaseline
from bayes_cpp.evaluation.baselines.means import (
    AdditiveBaseline,
    GlobalMeanBaseline,
    TaskMeanBaseline,
)
from bayes_cpp.evaluation.baselines.scaling import ObsScalingBaseline, ScalingLawBaseline
from bayes_cpp.evaluation.baselines.softimpute import (
    SoftImputeLogit3Baseline,
    SoftImputeLogitBaseline,
)
from bayes_cpp.exceptions import SpecError

__all__ = [
    "BASELINES",
    "AdditiveBaseline",
    "Baseline",
    "GaussianConditionalBaseline",
    "GlobalMeanBaseline",
    "MFBaseline",
    "MFPaperBaseline",
    "ObsScalingBaseline",
    "ScalingLawBaseline",
    "SoftImputeLogit3Baseline",
    "SoftImputeLogitBaseline",
    "TaskMeanBaseline",
    "make_baseline",
]

#: Registry of baseline classes by name.
BASELINES: dict[str, type[Baseline]] = {
    cls.name: cls
    for cls in (
        GlobalMeanBaseline,
        TaskMeanBaseline,
        AdditiveBaseline,
        MFPaperBaseline,
        MFBaseline,
        SoftImputeLogitBaseline,
        SoftImputeLogit3Baseline,
        ScalingLawBaseline,
        ObsScalingBaseline,
        GaussianConditionalBaseline,
    )
}
#: The audit's "sample mean" is the task mean of the training LLMs: an alias.
BASELINES["sample-mean"] = TaskMeanBaseline


def make_baseline(name: str, *, random_seed: int | None = None, **params: Any) -> Baseline:
    """Create a baseline by registry name.

    Parameters
    ----------
    name : str
        A key of :data:`BASELINES`.
    random_seed : int, optional
        Seed for baselines with a random initialisation.
    **params
        Constructor parameters overriding the defaults (e.g. ``rank=5``).

    Returns
    -------
    Baseline
        An unfitted baseline.

    Raises
    ------
    SpecError
        For an unknown name (the message lists the known ones).

    Examples
    --------
    >>> make_baseline("task-mean").name
    'task-mean'
    """
    if name not in BASELINES:
        known = list(BASELINES)
        raise SpecError(
            f"unknown baseline {name!r}{suggest(str(name), known)}; known: {listing(known)}"
        )
    return BASELINES[name](random_seed=random_seed, **params)
