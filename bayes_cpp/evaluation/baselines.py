"""Point-prediction baselines for the evaluation harness.

Every baseline works on the task-normalized unit scale ``p`` in [0, 1]
(:meth:`bayes_cpp.data.CollaborativeData.unit_scores`) and follows one protocol::

    b = make_baseline(name, random_seed=seed)  # factory by registry name
    b.fit(train)  # a CollaborativeData; returns b
    p = b.predict(llms, tasks)  # equal-length name sequences -> float array in [0, 1]

``llms``/``tasks`` may name LLMs or tasks that have rows in the training tables
but no training scores (cold start, e.g. after ``drop_cells``). When a
baseline's own method cannot predict a cell it uses a documented fallback
(by default the task's training mean, or the global mean when the task has no
training score either) and :attr:`Baseline.n_fallback_`, set by every
``predict``, counts the cells that did. Baselines give point predictions only
(``intervals = False``).

The baselines (registry keys):

``global-mean``
    The mean of all training unit scores.
``task-mean``
    The task's training mean (global mean for tasks without scores).
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
``obs-scaling``
    Observational scaling in the style of Ruan, Maddison & Hashimoto (2024,
    arXiv:2405.10938): principal components of the (soft-impute completed)
    logit score matrix; for an LLM without scores its PC scores are predicted
    from log training compute with a shared slope and per-family intercepts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, ClassVar, Literal, Self

import numpy as np
from scipy import optimize, sparse
from scipy.optimize import least_squares
from scipy.sparse.linalg import spsolve
from scipy.special import expit, logit
from threadpoolctl import threadpool_limits

from bayes_cpp._validation import listing, suggest
from bayes_cpp.data import CollaborativeData
from bayes_cpp.exceptions import DataError, NotFittedError, SpecError

__all__ = [
    "BASELINES",
    "AdditiveBaseline",
    "Baseline",
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

#: Unit scores are clipped to [_CLIP, 1 - _CLIP] before a logit: exact 0 and 1
#: occur in real tables and would map to infinities.
_CLIP = 0.01

#: Units the LLM table may give parameters and training tokens in (column -> factor).
_PARAM_COLUMNS = {"params_b": 1e9}
_TOKEN_COLUMNS = {"tokens_b": 1e9, "tokens_t": 1e12}


def _logit_clipped(p: np.ndarray, clip: float = _CLIP) -> np.ndarray:
    return np.asarray(logit(np.clip(p, clip, 1.0 - clip)), dtype=float)


def _as_names(values: Iterable[Any], what: str) -> list[str]:
    if isinstance(values, str):
        raise DataError([f"{what} must be a sequence of names, not the single string {values!r}"])
    return [str(v) for v in values]


def _table_column(train: CollaborativeData, units: dict[str, float]) -> np.ndarray:
    """The first of ``units``' columns found in the LLM table, in absolute units (NaN if none)."""
    table = train.llms
    for column, factor in units.items():
        if column in table.columns:
            return table[column].to_numpy(dtype=float) * factor
    return np.full(train.n_llms, np.nan)


def _lbfgs(
    objective: Callable[[np.ndarray], tuple[float, np.ndarray]],
    x0: np.ndarray,
    max_iter: int,
) -> tuple[np.ndarray, float, int]:
    """Minimise ``objective`` (value and gradient) with SciPy's L-BFGS-B for ``max_iter`` steps.

    The tolerances are zero so the fit stops on the iteration budget (or a
    failed line search), going as far as the paper's long SGD run rather than
    stopping on a relative decrease. BLAS is held to one thread: on these tiny
    vectors a multi-threaded BLAS busy-waits and, on a loaded 2-core machine,
    made the optimizer ~20x slower.

    Returns
    -------
    tuple
        The minimiser, its objective value and the number of iterations.
    """
    with threadpool_limits(limits=1, user_api="blas"):
        res = optimize.minimize(
            objective,
            x0,
            jac=True,
            method="L-BFGS-B",
            options={"maxiter": max_iter, "maxfun": 20 * max_iter, "ftol": 0.0, "gtol": 0.0},
        )
    return res.x, float(res.fun), int(res.nit)


class Baseline:
    """Base class: bookkeeping shared by every baseline.

    Subclasses implement ``_fit`` and ``_predict``; this class maps names to
    positions, computes the fallback statistics and applies the fallback.

    Parameters
    ----------
    random_seed : int, optional
        Seed for baselines with a random initialisation (ignored by the others).

    Attributes
    ----------
    name : str
        The registry key.
    intervals : bool
        Always False: baselines give point predictions only.
    llm_names_, task_names_ : list of str
        The training LLM and task tables' names (with or without scores).
    llm_seen_, task_seen_ : numpy.ndarray of bool
        Whether each LLM / task has at least one training score.
    global_mean_ : float
        Mean training unit score.
    task_mean_ : numpy.ndarray
        Per-task mean training unit score (NaN for tasks without scores).
    n_fallback_ : int
        Number of cells of the last :meth:`predict` call that used the fallback.
    """

    name: ClassVar[str] = "baseline"
    intervals: ClassVar[bool] = False

    def __init__(self, *, random_seed: int | None = None) -> None:
        self.random_seed = random_seed

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, random_seed={self.random_seed!r})"

    # ----------------------------------------------------------------- fitting
    def fit(self, train: CollaborativeData) -> Self:
        """Fit on the observed cells of ``train``.

        Parameters
        ----------
        train : CollaborativeData
            Training data; LLMs and tasks without scores may have table rows.

        Returns
        -------
        Self
            The fitted baseline.
        """
        if not isinstance(train, CollaborativeData):
            raise DataError([f"fit needs a CollaborativeData, not {type(train).__name__}"])
        self.llm_names_ = train.llm_names
        self.task_names_ = train.task_names
        self._llm_pos = {n: i for i, n in enumerate(self.llm_names_)}
        self._task_pos = {n: i for i, n in enumerate(self.task_names_)}
        scores = train.scores
        self._rows = scores["llm"].map(self._llm_pos).to_numpy(dtype=np.intp)
        self._cols = scores["task"].map(self._task_pos).to_numpy(dtype=np.intp)
        self._p = train.unit_scores().to_numpy(dtype=float)
        n_llms, n_tasks = len(self.llm_names_), len(self.task_names_)
        self.llm_seen_ = np.bincount(self._rows, minlength=n_llms) > 0
        counts = np.bincount(self._cols, minlength=n_tasks)
        self.task_seen_ = counts > 0
        sums = np.bincount(self._cols, weights=self._p, minlength=n_tasks)
        self.task_mean_ = np.where(self.task_seen_, sums / np.maximum(counts, 1), np.nan)
        self.global_mean_ = float(self._p.mean())
        self._fit(train)
        self._fitted = True
        return self

    def _fit(self, train: CollaborativeData) -> None:
        """Fit the method proper (the common statistics are already set)."""

    # -------------------------------------------------------------- prediction
    def predict(self, llms: Sequence[str], tasks: Sequence[str]) -> np.ndarray:
        """Predict unit scores of (llm, task) cells.

        Parameters
        ----------
        llms, tasks : sequence of str
            Equal-length names; each must have a row in the training tables.

        Returns
        -------
        numpy.ndarray
            Float point predictions clipped to [0, 1]. Sets :attr:`n_fallback_`.

        Raises
        ------
        NotFittedError
            Before :meth:`fit`.
        DataError
            For unequal lengths or names unknown to the training tables.
        """
        if not getattr(self, "_fitted", False):
            raise NotFittedError(
                f"This {type(self).__name__} is not fitted yet; call .fit(train) first."
            )
        li, ti = self._positions(llms, tasks)
        values, fallback = self._predict(li, ti)
        values = np.asarray(values, dtype=float).copy()
        fallback = np.asarray(fallback, dtype=bool) | ~np.isfinite(values)
        # Cells the method left as NaN get the generic fallback; a method may also
        # flag cells it filled with its own documented fallback (e.g. a zero effect).
        generic = ~np.isfinite(values)
        task_ok = self.task_seen_[ti]
        values[generic] = np.where(
            task_ok[generic], self.task_mean_[ti][generic], self.global_mean_
        )
        self.n_fallback_ = int(np.count_nonzero(fallback))
        return np.clip(values, 0.0, 1.0)

    def _predict(self, li: np.ndarray, ti: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return (values, used_fallback); NaN values get the generic fallback."""
        raise NotImplementedError

    def _positions(
        self, llms: Sequence[str], tasks: Sequence[str]
    ) -> tuple[np.ndarray, np.ndarray]:
        llm_names, task_names = _as_names(llms, "llms"), _as_names(tasks, "tasks")
        if len(llm_names) != len(task_names):
            raise DataError(
                [
                    f"llms and tasks must have equal lengths, got {len(llm_names)} and "
                    f"{len(task_names)}"
                ]
            )
        problems = [
            f"unknown {kind} {n!r}{suggest(n, known)} (not in the training {kind} table)"
            for kind, names, known in (
                ("LLM", llm_names, self.llm_names_),
                ("task", task_names, self.task_names_),
            )
            for n in dict.fromkeys(names)
            if n not in (self._llm_pos if kind == "LLM" else self._task_pos)
        ]
        if problems:
            raise DataError(problems)
        li = np.fromiter((self._llm_pos[n] for n in llm_names), np.intp, len(llm_names))
        ti = np.fromiter((self._task_pos[n] for n in task_names), np.intp, len(task_names))
        return li, ti

    def _cells_seen(self, li: np.ndarray, ti: np.ndarray) -> np.ndarray:
        return self.llm_seen_[li] & self.task_seen_[ti]


# ---------------------------------------------------------------------------
# means and the additive model
# ---------------------------------------------------------------------------
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


# ---------------------------------------------------------------------------
# matrix factorization
# ---------------------------------------------------------------------------
class MFPaperBaseline(Baseline):
    """The CPP paper's matrix factorization (arXiv:2407.01300) as a point estimate.

    ``p_hat = P_l . Q_t`` with no biases, no global mean and no link function;
    embeddings start at N(0, ``init_scale``^2) and the objective is the plain
    (unregularized) squared error on observed cells. It overfits: that is the
    method being reproduced.

    Parameters
    ----------
    rank : int, default 10
        Embedding size (the paper's 10).
    init_scale : float, default 0.01
        Standard deviation of the initial embeddings (the paper's 0.01).
    max_iter : int, default 1000
        L-BFGS iteration budget. The paper ran 250k SGD epochs; this budget
        brings the training MSE of cpp-crowdsourced to ~1e-5 (RMSE ~0.003) in
        ~0.3 s, and obsscaling's to zero; doubling it changes held-out
        predictions little. A fixed budget keeps runs comparable and
        deterministic.
    random_seed : int, optional
        Seeds the initial embeddings.

    Notes
    -----
    SciPy's L-BFGS-B minimises half the sum of squared residuals (same minimiser as the MSE, better scaled). LLMs
    or tasks without training scores have no fitted embedding: their cells use
    the generic fallback (task mean, else global mean) and are counted in
    ``n_fallback_``.
    """

    name = "mf-paper"

    def __init__(
        self,
        *,
        rank: int = 10,
        init_scale: float = 0.01,
        max_iter: int = 1000,
        random_seed: int | None = None,
    ) -> None:
        super().__init__(random_seed=random_seed)
        if rank < 1 or max_iter < 1 or not init_scale > 0:
            raise SpecError(
                f"mf-paper: need rank >= 1, max_iter >= 1 and init_scale > 0 "
                f"(got {rank}, {max_iter}, {init_scale})"
            )
        self.rank, self.init_scale, self.max_iter = int(rank), float(init_scale), int(max_iter)

    def _fit(self, train: CollaborativeData) -> None:
        n_llms, n_tasks, k = len(self.llm_names_), len(self.task_names_), self.rank
        rng = np.random.default_rng(self.random_seed)
        theta0 = rng.normal(0.0, self.init_scale, (n_llms + n_tasks) * k)
        rows, cols, p = self._rows, self._cols, self._p
        # Residuals live in a sparse matrix of fixed structure: sparse products
        # avoid multi-threaded BLAS, whose busy-waiting on tiny matrices made a
        # fit ~20x slower on a loaded 2-core machine.
        order = np.lexsort((cols, rows))
        rows, cols, p = rows[order], cols[order], p[order]
        indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=n_llms))])
        resid = sparse.csr_matrix((np.zeros(len(p)), cols, indptr), shape=(n_llms, n_tasks))

        def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
            emb_llm = theta[: n_llms * k].reshape(n_llms, k)
            emb_task = theta[n_llms * k :].reshape(n_tasks, k)
            r = np.einsum("ij,ij->i", emb_llm[rows], emb_task[cols]) - p
            resid.data = r
            grad = np.concatenate([(resid @ emb_task).ravel(), (resid.T @ emb_llm).ravel()])
            return 0.5 * float(np.einsum("i,i->", r, r)), grad

        theta, loss, self.n_iter_ = _lbfgs(objective, theta0, self.max_iter)
        self.llm_embedding_ = theta[: n_llms * k].reshape(n_llms, k)
        self.task_embedding_ = theta[n_llms * k :].reshape(n_tasks, k)
        self.train_mse_ = 2.0 * loss / len(p)

    def _predict(self, li: np.ndarray, ti: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        seen = self._cells_seen(li, ti)
        values = np.einsum("ij,ij->i", self.llm_embedding_[li], self.task_embedding_[ti])
        return np.where(seen, values, np.nan), ~seen


class MFBaseline(Baseline):
    """Regularized matrix factorization with biases, fitted by ALS.

    ``p = mu + a_l + b_t + P_l . Q_t``, minimising
    ``sum (p - p_hat)^2 + ridge * (|a|^2 + |b|^2 + |P|^2 + |Q|^2)`` by alternating
    exact ridge regressions of each LLM's ``(a_l, P_l)`` and each task's
    ``(b_t, Q_t)``; ``mu`` (unpenalized) is re-estimated every sweep.

    Parameters
    ----------
    rank : int, default 10
        Latent dimension.
    ridge : float, default 0.1
        L2 penalty in units of one observation's squared error (the objective is
        a sum, not a mean, so the penalty's relative weight falls as an LLM or
        task gains scores). The penalty on ``P`` and ``Q`` acts like a
        nuclear-norm penalty ``2 * ridge`` on the interaction, so large values
        (>= 0.5 on the unit scale) remove it and leave the additive model;
        0.1 to 0.3 predicted alike on held-out cells of the real tables.
    max_sweeps : int, default 100
        ALS sweeps (each updates all LLMs then all tasks).
    tol : float, default 1e-7
        Stop when the relative decrease of the objective in a sweep is below this.
    init_scale : float, default 0.1
        Standard deviation of the initial embeddings.
    random_seed : int, optional
        Seeds the initial embeddings.

    Notes
    -----
    LLMs or tasks without training scores have no fitted embedding: their cells
    use the generic fallback (task mean, else global mean).
    """

    name = "mf"

    def __init__(
        self,
        *,
        rank: int = 10,
        ridge: float = 0.1,
        max_sweeps: int = 100,
        tol: float = 1e-7,
        init_scale: float = 0.1,
        random_seed: int | None = None,
    ) -> None:
        super().__init__(random_seed=random_seed)
        if rank < 1 or max_sweeps < 1 or not ridge > 0 or not init_scale > 0:
            raise SpecError(
                f"mf: need rank >= 1, max_sweeps >= 1, ridge > 0, init_scale > 0 "
                f"(got {rank}, {max_sweeps}, {ridge}, {init_scale})"
            )
        self.rank, self.ridge = int(rank), float(ridge)
        self.max_sweeps, self.tol, self.init_scale = int(max_sweeps), float(tol), float(init_scale)

    def _fit(self, train: CollaborativeData) -> None:
        n_llms, n_tasks, k = len(self.llm_names_), len(self.task_names_), self.rank
        rows, cols, p, n = self._rows, self._cols, self._p, len(self._p)
        rng = np.random.default_rng(self.random_seed)
        llm_par = np.column_stack([np.zeros(n_llms), rng.normal(0, self.init_scale, (n_llms, k))])
        task_par = np.column_stack(
            [np.zeros(n_tasks), rng.normal(0, self.init_scale, (n_tasks, k))]
        )
        # Row-indicator matrices sum per-observation outer products per LLM / task.
        to_llm = sparse.csr_matrix((np.ones(n), (rows, np.arange(n))), shape=(n_llms, n))
        to_task = sparse.csr_matrix((np.ones(n), (cols, np.arange(n))), shape=(n_tasks, n))
        penalty = self.ridge * np.eye(k + 1)

        def solve(indicator: sparse.csr_matrix, x: np.ndarray, y: np.ndarray) -> np.ndarray:
            outer = (x[:, :, None] * x[:, None, :]).reshape(n, -1)
            gram = np.asarray(indicator @ outer).reshape(-1, k + 1, k + 1) + penalty
            rhs = np.asarray(indicator @ (x * y[:, None]))
            return np.linalg.solve(gram, rhs[:, :, None])[:, :, 0]

        def fitted(mu: float) -> np.ndarray:
            return (
                mu
                + llm_par[rows, 0]
                + task_par[cols, 0]
                + np.einsum("ij,ij->i", llm_par[rows, 1:], task_par[cols, 1:])
            )

        mu, previous = float(p.mean()), np.inf
        sweep = 0
        for sweep in range(1, self.max_sweeps + 1):  # noqa: B007 - reported as n_iter_
            x = np.column_stack([np.ones(n), task_par[cols, 1:]])
            llm_par = solve(to_llm, x, p - mu - task_par[cols, 0])
            x = np.column_stack([np.ones(n), llm_par[rows, 1:]])
            task_par = solve(to_task, x, p - mu - llm_par[rows, 0])
            mu += float(np.mean(p - fitted(mu)))
            r = p - fitted(mu)
            loss = float(r @ r) + self.ridge * float((llm_par**2).sum() + (task_par**2).sum())
            if previous - loss <= self.tol * max(loss, 1e-12):
                break
            previous = loss
        self.mu_ = mu
        self.llm_bias_, self.llm_embedding_ = llm_par[:, 0], llm_par[:, 1:]
        self.task_bias_, self.task_embedding_ = task_par[:, 0], task_par[:, 1:]
        self.n_iter_ = sweep

    def _predict(self, li: np.ndarray, ti: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        seen = self._cells_seen(li, ti)
        values = (
            self.mu_
            + self.llm_bias_[li]
            + self.task_bias_[ti]
            + np.einsum("ij,ij->i", self.llm_embedding_[li], self.task_embedding_[ti])
        )
        return np.where(seen, values, np.nan), ~seen


# ---------------------------------------------------------------------------
# soft-impute and observational scaling
# ---------------------------------------------------------------------------
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
        target[r, c] = _logit_clipped(self._p)
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


class ScalingLawBaseline(Baseline):
    """The CPP paper's per-family scaling-law baseline (arXiv:2407.01300).

    For a cell (LLM ``l``, task ``t``) fit ``logit(p) = w * log10(N) + b`` on
    the training scores on ``t`` of the *other* members of ``l``'s family that
    have a parameter count, by bounded least squares on
    ``logit(clip(p, 0.01, 0.99))``, and predict ``sigmoid(w log10(N_l) + b)``.

    Parameters
    ----------
    w_bounds : tuple of float, default (0.5, 2.0)
        Bounds of the slope (the paper's).
    b_bounds : tuple of float, default (-10.0, -3.0)
        Bounds of the intercept (the paper's).
    min_members : int, default 2
        Fewest other family members with scores on the task for a fit.
    random_seed : int, optional
        Unused (the fit is deterministic).

    Notes
    -----
    ``N`` is the raw parameter count (``params_b * 1e9``) and the log is
    base 10: with these units the paper's bounds cover the unconstrained
    per-family fits on the real tables (median slope ~0.55 logit per decade,
    median intercept ~-5.4), while natural logs or billions would put most
    fits on a bound. Cells whose LLM has no parameter count, or whose family
    has fewer than ``min_members`` other members with a parameter count and a
    score on the task, use the generic fallback (task mean, else global mean).
    """

    name = "scaling-law"

    def __init__(
        self,
        *,
        w_bounds: tuple[float, float] = (0.5, 2.0),
        b_bounds: tuple[float, float] = (-10.0, -3.0),
        min_members: int = 2,
        random_seed: int | None = None,
    ) -> None:
        super().__init__(random_seed=random_seed)
        if not (w_bounds[0] < w_bounds[1] and b_bounds[0] < b_bounds[1] and min_members >= 2):
            raise SpecError(
                f"scaling-law: bounds must be (low, high) with low < high and min_members >= 2 "
                f"(got {w_bounds}, {b_bounds}, {min_members})"
            )
        self.w_bounds, self.b_bounds = tuple(map(float, w_bounds)), tuple(map(float, b_bounds))
        self.min_members = int(min_members)

    def _fit(self, train: CollaborativeData) -> None:
        self.log_params_ = np.log10(_table_column(train, _PARAM_COLUMNS))
        families = train.llms["family"].astype(str).to_numpy()
        _, self._family = np.unique(families, return_inverse=True)
        z = _logit_clipped(self._p)
        usable = np.isfinite(self.log_params_[self._rows])
        # (family, task) -> member LLM positions and their logits.
        self._groups: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}
        fam = self._family[self._rows]
        keys = fam[usable] * len(self.task_names_) + self._cols[usable]
        for key in np.unique(keys):
            sel = keys == key
            members = self._rows[usable][sel]
            self._groups[(int(key) // len(self.task_names_), int(key) % len(self.task_names_))] = (
                members,
                z[usable][sel],
            )
        self._cache: dict[tuple[int, int, int], tuple[float, float]] = {}

    def _law(self, family: int, task: int, llm: int) -> tuple[float, float] | None:
        members, z = self._groups.get((family, task), (np.empty(0, np.intp), np.empty(0)))
        others = members != llm
        if np.count_nonzero(others) < self.min_members:
            return None
        # Only the excluded LLM changes the member set: cache on it.
        key = (family, task, llm if not others.all() else -1)
        if key not in self._cache:
            x, y = self.log_params_[members[others]], z[others]
            lower = np.array([self.w_bounds[0], self.b_bounds[0]])
            upper = np.array([self.w_bounds[1], self.b_bounds[1]])
            design = np.column_stack([x, np.ones_like(x)])
            start = np.clip(np.linalg.lstsq(design, y, rcond=None)[0], lower, upper)
            fit = least_squares(
                lambda wb: design @ wb - y,
                start,
                jac=lambda wb: design,
                bounds=(lower, upper),
                method="trf",
            )
            self._cache[key] = (float(fit.x[0]), float(fit.x[1]))
        return self._cache[key]

    def _predict(self, li: np.ndarray, ti: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        values = np.full(len(li), np.nan)
        for i, (llm, task) in enumerate(zip(li.tolist(), ti.tolist(), strict=True)):
            x = self.log_params_[llm]
            if not np.isfinite(x):
                continue
            law = self._law(int(self._family[llm]), task, llm)
            if law is not None:
                values[i] = expit(law[0] * x + law[1])
        return values, ~np.isfinite(values)


class ObsScalingBaseline(SoftImputeLogitBaseline):
    """Observational-scaling baseline (Ruan, Maddison & Hashimoto 2024).

    The logit score matrix is completed by soft-impute with task centering
    (rank ``rank``); its low-rank part gives each LLM with scores its
    principal-component scores and each task its loadings. LLMs with training
    scores are predicted from their own PC scores (the reconstruction).
    For an LLM without training scores the PC scores are predicted by a linear
    regression on log training compute with a slope shared by all families
    (estimated from within-family variation) and per-family intercepts, then
    mapped through the loadings and task offsets and the sigmoid.

    Parameters
    ----------
    rank : int, default 2
        Number of principal components.
    shrinkage : float, default 0.03
        Soft-impute threshold (see :class:`SoftImputeLogitBaseline`).
    min_family_size : int, default 1
        Fewest training members (with scores and compute) for a family to get
        its own intercept (the mean residual of its members). An LLM alone in
        its family, or in a smaller family, gets the population intercept (the
        mean of the family intercepts, each family weighted once). 1 predicted
        held-out LLMs of both real tables better than 2 or 3.
    random_seed : int, optional
        Unused (the fit is deterministic).

    Notes
    -----
    Log compute is ``ln(6 N D)`` with ``N = params_b * 1e9`` and ``D`` the
    training tokens (``tokens_b * 1e9`` or ``tokens_t * 1e12``). An LLM with a
    parameter count but no token count gets ``D = r N`` with ``r`` the median
    tokens-per-parameter ratio of the table, which keeps one covariate scale;
    without any token counts the covariate is ``ln N``. When there are no
    families with two members the slope is the pooled least-squares slope.
    An LLM without scores and without a parameter count, or without any
    training LLM with compute, uses the generic fallback (task mean, else global
    mean).
    """

    name = "obs-scaling"

    def __init__(
        self,
        *,
        rank: int = 2,
        shrinkage: float = 0.03,
        min_family_size: int = 1,
        random_seed: int | None = None,
    ) -> None:
        super().__init__(rank=rank, shrinkage=shrinkage, center="task", random_seed=random_seed)
        if min_family_size < 1:
            raise SpecError(f"obs-scaling: min_family_size must be >= 1, not {min_family_size}")
        self.min_family_size = int(min_family_size)

    def _fit(self, train: CollaborativeData) -> None:
        super()._fit(train)
        params = _table_column(train, _PARAM_COLUMNS)
        tokens = _table_column(train, _TOKEN_COLUMNS)
        both = np.isfinite(params) & np.isfinite(tokens) & (params > 0)
        if both.any():
            ratio = float(np.median(tokens[both] / params[both]))
            tokens = np.where(np.isfinite(tokens), tokens, ratio * params)
            self.log_compute_ = np.log(6.0 * params * tokens)
        else:
            self.log_compute_ = np.log(params)
        families = train.llms["family"].astype(str).to_numpy()
        _, family = np.unique(families, return_inverse=True)
        self._family = family
        trained = np.flatnonzero(self.llm_seen_ & np.isfinite(self.log_compute_))
        self.slope_: np.ndarray | None = None
        self._family_intercept: dict[int, np.ndarray] = {}
        if trained.size == 0:
            return
        x = self.log_compute_[trained]
        y = self._scores_pc[self._row_of[trained]]
        fam = family[trained]
        groups = [np.flatnonzero(fam == f) for f in np.unique(fam)]
        sxx, sxy = 0.0, np.zeros(y.shape[1])
        for g in groups:
            if g.size >= 2:
                dx = x[g] - x[g].mean()
                sxx += float(dx @ dx)
                sxy += dx @ (y[g] - y[g].mean(axis=0))
        if sxx <= 0.0 and x.size >= 2 and np.ptp(x) > 0:
            dx = x - x.mean()
            sxx, sxy = float(dx @ dx), dx @ (y - y.mean(axis=0))
        slope = sxy / sxx if sxx > 0.0 else np.zeros(y.shape[1])
        resid = y - np.outer(x, slope)
        means = {int(fam[g[0]]): resid[g].mean(axis=0) for g in groups}
        self.slope_ = slope
        self.population_intercept_ = np.mean(list(means.values()), axis=0)
        self._family_intercept = {
            f: m
            for (f, m), g in zip(means.items(), groups, strict=True)
            if g.size >= self.min_family_size
        }

    def _predict(self, li: np.ndarray, ti: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        values, fallback = super()._predict(li, ti)
        cold = ~self.llm_seen_[li] & self.task_seen_[ti] & np.isfinite(self.log_compute_[li])
        if self.slope_ is None or not cold.any():
            return values, fallback
        for i in np.flatnonzero(cold):
            llm = li[i]
            intercept = self._family_intercept.get(
                int(self._family[llm]), self.population_intercept_
            )
            pc = intercept + self.slope_ * self.log_compute_[llm]
            col = self._col_of[ti[i]]
            values[i] = expit(self._offsets_final[0, col] + pc @ self._loadings[:, col])
            fallback[i] = False
        return values, fallback


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
    )
}


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
