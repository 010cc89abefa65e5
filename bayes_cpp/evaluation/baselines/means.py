"""Means and the additive model."""

from __future__ import annotations

import numpy as np
from scipy import sparse
from scipy.sparse.linalg import spsolve

from bayes_cpp.data import CollaborativeData
from bayes_cpp.evaluation.baselines.base import (
    Baseline,
)
from bayes_cpp.exceptions import SpecError

__all__ = ["AdditiveBaseline", "GlobalMeanBaseline", "TaskMeanBaseline"]


class GlobalMeanBaseline(Baseline):
    """Predict the mean of all training unit scores for every cell."""

    name = "global-mean"

    def _predict(self, li: np.ndarray, ti: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return np.full(len(li), self.global_mean_), np.zeros(len(li), dtype=bool)


class TaskMeanBaseline(Baseline):
    """Predict the task's training mean (the global mean for tasks without scores)."""

    name = "task-mean"

    def _predict(self, li: np.ndarray, ti: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.task_mean_[ti], ~self.task_seen_[ti]


class AdditiveBaseline(Baseline):
    """Additive LLM + task effects, ``p = mu + a_llm + b_task``, by ridge least squares.

    Minimises ``sum (p - mu - a_l - b_t)^2 + ridge * (|a|^2 + |b|^2)`` exactly
    (sparse normal equations). ``mu`` is not penalized, so the effects shrink
    toward the overall level rather than toward zero score.

    Parameters
    ----------
    ridge : float, default 1.0
        L2 penalty on the effects, in units of one observation's squared error
        (an LLM with ``n`` scores has its effect shrunk by ``n / (n + ridge)``).
    random_seed : int, optional
        Unused (the fit is deterministic).

    Notes
    -----
    An LLM (task) without training scores gets ``a = 0`` (``b = 0``): its cells
    are predicted as ``mu + b_t`` (``mu + a_l``) and counted in ``n_fallback_``.
    """

    name = "additive"

    def __init__(self, *, ridge: float = 1.0, random_seed: int | None = None) -> None:
        super().__init__(random_seed=random_seed)
        if not ridge > 0:
            raise SpecError(
                f"additive: ridge must be > 0 (the system is singular without it), not {ridge!r}"
            )
        self.ridge = float(ridge)

    def _fit(self, train: CollaborativeData) -> None:
        n_llms, n_tasks, n = len(self.llm_names_), len(self.task_names_), len(self._p)
        rows = np.arange(n)
        ones = np.ones(n)
        design = sparse.csr_matrix(
            (
                np.concatenate([ones, ones, ones]),
                (
                    np.concatenate([rows, rows, rows]),
                    np.concatenate([np.zeros(n, np.intp), 1 + self._rows, 1 + n_llms + self._cols]),
                ),
            ),
            shape=(n, 1 + n_llms + n_tasks),
        )
        penalty = np.full(1 + n_llms + n_tasks, self.ridge)
        penalty[0] = 0.0
        normal = (design.T @ design + sparse.diags(penalty)).tocsc()
        theta = np.asarray(spsolve(normal, design.T @ self._p), dtype=float)
        self.mu_ = float(theta[0])
        self.llm_effect_ = theta[1 : 1 + n_llms]
        self.task_effect_ = theta[1 + n_llms :]

    def _predict(self, li: np.ndarray, ti: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        values = self.mu_ + self.llm_effect_[li] + self.task_effect_[ti]
        return values, ~self._cells_seen(li, ti)
