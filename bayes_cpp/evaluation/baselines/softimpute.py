"""Soft-impute on the logit scale (Mazumder, Hastie & Tibshirani 2010)."""

from __future__ import annotations

from typing import ClassVar, Literal

import numpy as np
from scipy.special import expit

from bayes_cpp.data import CollaborativeData
from bayes_cpp.evaluation.baselines.base import (
    Baseline,
    logit_clipped,
)
from bayes_cpp.exceptions import SpecError

__all__ = ["SoftImputeLogit3Baseline", "SoftImputeLogitBaseline"]


class SoftImputeLogitBaseline(Baseline):
    """Soft-impute on the logit scale (Mazumder, Hastie & Tibshirani 2010).

    The observed ``z = logit(clip(p, 0.01, 0.99))`` fill an LLM x task matrix
    (LLMs and tasks with at least one score). Starting from task means, each
    iteration fills the missing cells with the current estimate, removes
    unpenalized offsets (task means, or LLM + task means) of the filled
    matrix, soft-thresholds its singular values by ``lambda`` and keeps the top
    ``rank``; the estimate is offsets + low-rank part. Predictions are
    ``sigmoid`` of the estimate.

    Parameters
    ----------
    rank : int, default 2
        Number of singular values kept after thresholding.
    shrinkage : float, default 0.03
        Soft threshold as a fraction of the largest singular value of the
        centered, task-mean filled starting matrix (``lambda = shrinkage *
        s_1``); 0 gives hard-impute (plain rank truncation). Among 0 to 0.1,
        0.02-0.05 predicted held-out cells of both real tables best (10 random
        splits each); hard-impute overfits (RMSE up to 70% higher on
        obsscaling). The threshold shrinks the kept singular values, so an
        exactly low-rank matrix is recovered with a small bias (use 0 for
        exact recovery).
    center : {"task", "both"}, default "task"
        Offsets re-estimated every iteration: task means, or LLM + task means
        (task centering predicted better on the real tables; the first
        component then plays the role of general ability).
    tol : float, default 1e-5
        Stop when the relative change ``|Z_new - Z_old|_F / |Z_old|_F < tol``.
        (The softImpute R package compares the *squared* ratio with 1e-5, which
        stops hard-impute visibly short of its fixed point.)
    max_iter : int, default 500
        Iteration cap.
    random_seed : int, optional
        Unused (the fit is deterministic).

    Notes
    -----
    LLMs or tasks without training scores have no row / column: their cells
    use the generic fallback (task mean, else global mean).
    """

    name = "softimpute-logit"
    _default_rank: ClassVar[int] = 2

    def __init__(
        self,
        *,
        rank: int | None = None,
        shrinkage: float = 0.03,
        center: Literal["task", "both"] = "task",
        tol: float = 1e-5,
        max_iter: int = 500,
        random_seed: int | None = None,
    ) -> None:
        super().__init__(random_seed=random_seed)
        rank = self._default_rank if rank is None else int(rank)
        if rank < 1 or not shrinkage >= 0 or max_iter < 1 or center not in ("task", "both"):
            raise SpecError(
                f"{self.name}: need rank >= 1, shrinkage >= 0, max_iter >= 1 and center in "
                f"'task'/'both' (got {rank}, {shrinkage}, {max_iter}, {center!r})"
            )
        self.rank, self.shrinkage, self.center = rank, float(shrinkage), center
        self.tol, self.max_iter = float(tol), int(max_iter)

    def _offsets(self, filled: np.ndarray) -> np.ndarray:
        col = filled.mean(axis=0, keepdims=True)
        if self.center == "task":
            return np.broadcast_to(col, filled.shape)
        row = filled.mean(axis=1, keepdims=True)
        return np.asarray(row + col - filled.mean())

    def _fit(self, train: CollaborativeData) -> None:
        self._row_of = np.cumsum(self.llm_seen_) - 1
        self._col_of = np.cumsum(self.task_seen_) - 1
        n_rows, n_cols = int(self.llm_seen_.sum()), int(self.task_seen_.sum())
        r, c = self._row_of[self._rows], self._col_of[self._cols]
        observed = np.zeros((n_rows, n_cols), dtype=bool)
        observed[r, c] = True
        target = np.zeros((n_rows, n_cols))
        target[r, c] = logit_clipped(self._p)
        col_means = np.bincount(c, weights=target[r, c], minlength=n_cols) / np.bincount(
            c, minlength=n_cols
        )
        estimate = np.broadcast_to(col_means, (n_rows, n_cols)).copy()
        start = np.where(observed, target, estimate)
        top = np.linalg.svd(start - self._offsets(start), compute_uv=False)
        self.lambda_ = self.shrinkage * float(top[0]) if top.size else 0.0
        k = min(self.rank, n_rows, n_cols)
        offsets = self._offsets(start)
        u = np.zeros((n_rows, k))
        s = np.zeros(k)
        vt = np.zeros((k, n_cols))
        converged, it = False, 0
        for it in range(1, self.max_iter + 1):  # noqa: B007 - reported as n_iter_
            filled = np.where(observed, target, estimate)
            offsets = self._offsets(filled)
            uu, ss, vv = np.linalg.svd(filled - offsets, full_matrices=False)
            u, s, vt = uu[:, :k], np.maximum(ss[:k] - self.lambda_, 0.0), vv[:k]
            new = offsets + (u * s) @ vt
            change = float(np.sqrt(((new - estimate) ** 2).sum() / max((estimate**2).sum(), 1e-24)))
            estimate = new
            if change < self.tol:
                converged = True
                break
        self.estimate_ = estimate
        self.n_iter_, self.converged_ = it, converged
        # PC scores and loadings of the final low-rank part (used by obs-scaling).
        self._offsets_final = np.asarray(offsets)
        self._scores_pc = u * s
        self._loadings = vt

    def _predict(self, li: np.ndarray, ti: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        seen = self._cells_seen(li, ti)
        values = np.full(len(li), np.nan)
        values[seen] = expit(self.estimate_[self._row_of[li[seen]], self._col_of[ti[seen]]])
        return values, ~seen


class SoftImputeLogit3Baseline(SoftImputeLogitBaseline):
    """:class:`SoftImputeLogitBaseline` with rank 3 by default."""

    name = "softimpute-logit-3"
    _default_rank = 3
