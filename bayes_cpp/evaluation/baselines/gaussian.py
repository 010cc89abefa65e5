"""Gaussian conditioning on the population covariance of the training LLMs' scores.

The simplest Bayesian answer to "k scores known, predict the rest": treat each
LLM's row of unit scores as a draw from one multivariate normal over tasks,
estimate its mean and covariance from the training rows, and predict an LLM's
hidden cells by the conditional normal given its known cells. The covariance
is that of observed scores, so the conditional variance already contains the
cells' own noise; the estimation uncertainty of the mean and covariance is not
propagated (with 70 LLMs and 30 tasks it is not negligible, which makes the
intervals a little narrow rather than wide).

Estimation: score matrices are incomplete, so the mean and covariance come
from EM for a multivariate normal with missing values, where each M-step
shrinks the covariance towards a scaled identity by Ledoit & Wolf (2004,
J. Multivariate Anal. 88:365). Their intensity is computed from the rows'
expected outer products ``M_i = E[(x_i - mu)(x_i - mu)^T | observed]``, which
for complete rows are ``z_i z_i^T`` and give exactly the Ledoit-Wolf estimate
(:func:`ledoit_wolf`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import linalg

from bayes_cpp.data import CollaborativeData
from bayes_cpp.evaluation.baselines.base import Baseline
from bayes_cpp.exceptions import SpecError

__all__ = [
    "GaussianConditionalBaseline",
    "condition_normal",
    "em_covariance",
    "ledoit_wolf",
    "shrink_moments",
]

#: Smallest variance kept (unit scale squared): conditional variances below it
#: only come from rounding.
_MIN_VAR = 1e-10


def shrink_moments(moments: np.ndarray) -> tuple[np.ndarray, float]:
    """Ledoit-Wolf shrinkage of the mean of per-row second moments ``(n, p, p)``.

    Returns the covariance ``(1 - a) S + a m I`` (``S`` the mean moment,
    ``m = tr(S) / p``) and the intensity ``a = min(b2, d2) / d2`` with
    ``d2 = |S - m I|^2`` and ``b2 = sum_i |M_i - S|^2 / n^2`` (normalised
    Frobenius norms), Ledoit & Wolf's (2004) estimates.
    """
    n, p, _ = moments.shape
    s = moments.mean(axis=0)
    m = float(np.trace(s)) / p
    target = m * np.eye(p)
    d2 = float(np.sum((s - target) ** 2)) / p
    b2 = float(np.sum((moments - s) ** 2)) / (p * n**2)
    shrinkage = 1.0 if d2 <= 0.0 else min(b2, d2) / d2
    return (1.0 - shrinkage) * s + shrinkage * target, shrinkage


def ledoit_wolf(x: np.ndarray) -> tuple[np.ndarray, float]:
    """Ledoit-Wolf shrunk covariance of complete rows ``x`` ``(n, p)``: ``(cov, intensity)``.

    The sample covariance uses ``1 / n`` (as in Ledoit & Wolf and scikit-learn).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> cov, a = ledoit_wolf(rng.normal(size=(50, 4)))
    >>> cov.shape, 0.0 <= a <= 1.0
    ((4, 4), True)
    """
    x = np.asarray(x, dtype=float)
    z = x - x.mean(axis=0)
    return shrink_moments(z[:, :, None] * z[:, None, :])


def condition_normal(
    mean: np.ndarray, cov: np.ndarray, known: np.ndarray, values: np.ndarray, target: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance of ``x[target]`` given ``x[known] = values`` for ``x ~ N(mean, cov)``.

    Examples
    --------
    >>> cov = np.array([[1.0, 0.5], [0.5, 1.0]])
    >>> m, c = condition_normal(np.zeros(2), cov, np.array([0]), np.array([2.0]), np.array([1]))
    >>> float(m[0]), float(c[0, 0])
    (1.0, 0.75)
    """
    known, target = np.asarray(known, dtype=int), np.asarray(target, dtype=int)
    if not len(known):
        return mean[target].copy(), cov[np.ix_(target, target)].copy()
    factor = linalg.cho_factor(cov[np.ix_(known, known)], lower=True)
    cross = cov[np.ix_(target, known)]
    gain = linalg.cho_solve(factor, cross.T).T
    cond_mean = mean[target] + gain @ (np.asarray(values, dtype=float) - mean[known])
    cond_cov = cov[np.ix_(target, target)] - gain @ cross.T
    return cond_mean, cond_cov


def _e_step(x: np.ndarray, mean: np.ndarray, cov: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Conditional means of every cell and conditional covariances of each row's missing cells."""
    n, p = x.shape
    observed = ~np.isnan(x)
    filled = np.where(observed, x, 0.0)
    extra = np.zeros((n, p, p))
    patterns: dict[bytes, list[int]] = {}
    for i in range(n):
        patterns.setdefault(observed[i].tobytes(), []).append(i)
    for rows in patterns.values():
        obs = np.flatnonzero(observed[rows[0]])
        mis = np.flatnonzero(~observed[rows[0]])
        if not len(mis):
            continue
        idx = np.asarray(rows)
        if len(obs):
            factor = linalg.cho_factor(cov[np.ix_(obs, obs)], lower=True)
            cross = cov[np.ix_(mis, obs)]
            gain = linalg.cho_solve(factor, cross.T).T
            filled[np.ix_(idx, mis)] = mean[mis] + (x[np.ix_(idx, obs)] - mean[obs]) @ gain.T
            cond = cov[np.ix_(mis, mis)] - gain @ cross.T
        else:
            filled[np.ix_(idx, mis)] = mean[mis]
            cond = cov[np.ix_(mis, mis)]
        extra[np.ix_(idx, mis, mis)] = cond
    return filled, extra


def em_covariance(
    x: np.ndarray, *, max_iter: int = 500, tol: float = 1e-8
) -> tuple[np.ndarray, np.ndarray, float, int]:
    """Mean and Ledoit-Wolf shrunk covariance of rows with missing cells (NaN), by EM.

    Parameters
    ----------
    x : ndarray, shape (n, p)
        Rows (LLMs) by columns (tasks); every column needs at least one value.
    max_iter : int
        EM iterations at most.
    tol : float
        Stop when no entry of the mean or covariance moves by more than ``tol``.

    Returns
    -------
    tuple
        ``(mean, cov, shrinkage, n_iter)``. On complete rows the first
        iteration is :func:`ledoit_wolf` and the result.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(40, 3))
    >>> x[::3, 1] = np.nan
    >>> mean, cov, a, it = em_covariance(x)
    >>> cov.shape, bool(np.all(np.linalg.eigvalsh(cov) > 0))
    ((3, 3), True)
    """
    x = np.asarray(x, dtype=float)
    empty = np.flatnonzero(np.isnan(x).all(axis=0))
    if len(empty):
        raise SpecError(f"em_covariance: columns {empty.tolist()} have no values")
    mean = np.nanmean(x, axis=0)
    var = np.nanvar(x, axis=0)
    pooled = float(np.nanmean(var[var > 0])) if np.any(var > 0) else 1.0
    cov = np.diag(np.where(var > 0, var, pooled))
    shrinkage = 1.0
    n_iter = 0
    for n_iter in range(1, max_iter + 1):  # noqa: B007
        filled, extra = _e_step(x, mean, cov)
        new_mean = filled.mean(axis=0)
        z = filled - new_mean
        new_cov, shrinkage = shrink_moments(z[:, :, None] * z[:, None, :] + extra)
        moved = max(float(np.max(np.abs(new_mean - mean))), float(np.max(np.abs(new_cov - cov))))
        mean, cov = new_mean, new_cov
        if moved < tol:
            break
    return mean, cov, shrinkage, n_iter


class GaussianConditionalBaseline(Baseline):
    """Predict an LLM's cells by the conditional normal given its training cells.

    Unit scores of each LLM are modelled as one draw of ``N(mean, cov)`` over
    the tasks (mean and Ledoit-Wolf shrunk covariance by EM over the training
    rows, :func:`em_covariance`). A cell ``(l, t)`` is predicted from the
    other training cells of ``l`` (all of them when ``(l, t)`` is hidden; an
    LLM without scores gets the population ``mean_t``, ``cov_tt``).

    Parameters
    ----------
    max_iter, tol : int, float
        EM settings.
    random_seed : int, optional
        Unused (the fit is deterministic).

    Notes
    -----
    Tasks without training scores have no mean or covariance: their cells
    use the generic fallback (the global mean) with the average task sd, and
    are counted in ``n_fallback_``.

    Examples
    --------
    >>> from bayes_cpp.simulation import simulate
    >>> data = simulate(20, 5, density=0.8, random_seed=0).data
    >>> b = GaussianConditionalBaseline().fit(data)
    >>> mean, sd = b.predict_distribution(["llm-000"], ["task-01"])
    >>> bool(sd[0] > 0)
    True
    """

    name = "gaussian-conditional"
    intervals = True

    def __init__(
        self, *, max_iter: int = 500, tol: float = 1e-8, random_seed: int | None = None
    ) -> None:
        super().__init__(random_seed=random_seed)
        self.max_iter = int(max_iter)
        self.tol = float(tol)

    def _fit(self, train: CollaborativeData) -> None:
        n_llms, n_tasks = len(self.llm_names_), len(self.task_names_)
        x = np.full((n_llms, n_tasks), np.nan)
        x[self._rows, self._cols] = self._p
        self._matrix = x
        cols = np.flatnonzero(self.task_seen_)
        rows = np.flatnonzero(self.llm_seen_)
        mean, cov, shrinkage, n_iter = em_covariance(
            x[np.ix_(rows, cols)], max_iter=self.max_iter, tol=self.tol
        )
        self.columns_ = cols
        self.mean_ = mean
        self.cov_ = cov
        self.shrinkage_ = shrinkage
        self.n_iter_ = n_iter

    def _distribution(self, li: np.ndarray, ti: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Conditional mean and sd per cell (NaN for tasks without training scores)."""
        column = np.full(len(self.task_names_), -1)
        column[self.columns_] = np.arange(len(self.columns_))
        mean = np.full(len(li), np.nan)
        sd = np.full(len(li), float(np.sqrt(np.mean(np.diag(self.cov_)))))
        col = column[ti]
        for llm in np.unique(li[col >= 0]):
            at = np.flatnonzero((li == llm) & (col >= 0))
            row = self._matrix[llm, self.columns_]
            target = col[at]
            known = np.setdiff1d(np.flatnonzero(~np.isnan(row)), target)
            unique, inverse = np.unique(target, return_inverse=True)
            m, c = condition_normal(self.mean_, self.cov_, known, row[known], unique)
            mean[at] = m[inverse]
            sd[at] = np.sqrt(np.maximum(np.diag(c), _MIN_VAR))[inverse]
        return mean, sd

    def _predict(self, li: np.ndarray, ti: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        mean, _ = self._distribution(li, ti)
        return mean, ~self.task_seen_[ti]

    def predict_distribution(self, llms: Any, tasks: Any) -> tuple[np.ndarray, np.ndarray]:
        """Conditional normal ``(mean, sd)`` of (llm, task) cells on the unit scale.

        The mean is not clipped (the predictive normal is censored to [0, 1]
        by the harness); tasks without training scores get the global mean.
        """
        self.predict_cells(llms, tasks)  # validates names, sets n_fallback_
        li, ti = self._positions(llms, tasks)
        mean, sd = self._distribution(li, ti)
        return np.where(np.isnan(mean), self.global_mean_, mean), sd
