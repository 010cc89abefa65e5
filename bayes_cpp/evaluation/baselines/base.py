"""The baseline base class and the numeric helpers the baselines share."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, ClassVar, Self

import numpy as np
from scipy import optimize
from scipy.special import logit
from threadpoolctl import threadpool_limits

from bayes_cpp._validation import suggest
from bayes_cpp.data import CollaborativeData
from bayes_cpp.exceptions import DataError, NotFittedError

__all__ = [
    "CLIP",
    "PARAM_COLUMNS",
    "TOKEN_COLUMNS",
    "Baseline",
    "lbfgs",
    "logit_clipped",
    "table_column",
]

#: Unit scores are clipped to [CLIP, 1 - CLIP] before a logit: exact 0 and 1
#: occur in real tables and would map to infinities.
CLIP = 0.01

#: Units the LLM table may give parameters and training tokens in (column -> factor).
PARAM_COLUMNS = {"params_b": 1e9}
TOKEN_COLUMNS = {"tokens_b": 1e9, "tokens_t": 1e12}


def logit_clipped(p: np.ndarray, clip: float = CLIP) -> np.ndarray:
    """``logit(clip(p, clip, 1 - clip))`` as a float array."""
    return np.asarray(logit(np.clip(p, clip, 1.0 - clip)), dtype=float)


def _as_names(values: Iterable[Any], what: str) -> list[str]:
    if isinstance(values, str):
        raise DataError([f"{what} must be a sequence of names, not the single string {values!r}"])
    return [str(v) for v in values]


def table_column(train: CollaborativeData, units: dict[str, float]) -> np.ndarray:
    """The first of ``units``' columns found in the LLM table, in absolute units (NaN if none)."""
    table = train.llms
    for column, factor in units.items():
        if column in table.columns:
            return table[column].to_numpy(dtype=float) * factor
    return np.full(train.n_llms, np.nan)


def lbfgs(
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
        Number of cells of the last :meth:`predict_cells` call that used the fallback.
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
    def predict_cells(self, llms: Sequence[str], tasks: Sequence[str]) -> np.ndarray:
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
            f"unknown {what} {n!r}{suggest(n, known)} (not in the training {what} table)"
            for what, names, known in (
                ("LLM", llm_names, self.llm_names_),
                ("task", task_names, self.task_names_),
            )
            for n in dict.fromkeys(names)
            if n not in (self._llm_pos if what == "LLM" else self._task_pos)
        ]
        if problems:
            raise DataError(problems)
        li = np.fromiter((self._llm_pos[n] for n in llm_names), np.intp, len(llm_names))
        ti = np.fromiter((self._task_pos[n] for n in task_names), np.intp, len(task_names))
        return li, ti

    def _cells_seen(self, li: np.ndarray, ti: np.ndarray) -> np.ndarray:
        return self.llm_seen_[li] & self.task_seen_[ti]
