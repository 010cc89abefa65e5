"""Active evaluation: which (LLM, task) cells to run next.

"Our budget allows 10 more evaluations. Which cells should we run?"
:func:`recommend` ranks untested cells by how much observing them is
expected to reduce the posterior uncertainty of what the user cares about,
without a refit per candidate; :func:`reveal_curve` checks on data with
hidden cells that revealing them in the recommended order reduces held-out
error and interval width faster than random order or "largest sd first".

The criterion (linear-Gaussian preposterior analysis)
-----------------------------------------------------
Take the posterior draws of the likelihood means ``f`` of every candidate and
target cell (unit scale, one vector per draw) and treat them, with the noise,
as jointly Gaussian: ``Sigma = Cov(f)`` over draws, and a new evaluation of
cell ``c`` is ``y_c = f_c + e_c`` with ``Var(e_c) = E[sd_c^2]`` (the law of
total variance). Observing a batch ``B`` then reduces the variance of a
target ``f_t`` by ``Var(E[f_t | y_B])`` and, for one more cell ``c`` after
``B``, by ``Cov_B(f_t, y_c)^2 / Var_B(y_c)``, where ``Cov_B`` is ``Sigma``
conditioned on ``y_B`` (rank-1 updates). The greedy batch picks the cell with
the largest expected gain, conditions ``Sigma`` on it, and repeats, so a
cell that would only re-measure what earlier picks reveal drops in the
ranking. The expected reductions are exact for a Gaussian joint; the
posterior is not Gaussian (bounded scores, the logistic link), so they are
a first-order approximation whose ranking :func:`reveal_curve` validates.
This uses every source of uncertainty the posterior carries (the rows and
columns of both sides, the global parameters), which the per-draw newcomer
conditioning of :mod:`bayes_cpp.predictor` cannot: that treats the other
side as fixed within a draw and its conditioned row is not Gaussian after
elliptical slice sampling, so it gives no closed-form expected gain.

Targets
-------
``"matrix"``
    Every untested cell's mean score: ``expected_gain`` is the expected
    reduction of their summed posterior variance (unit scale squared).
``("llm", name)``
    The untested cells of one LLM (its full profile), same units.
``("task", name)``
    The ranking of all LLMs on one task. A rank is a step function of the
    scores, so reducing the variance of the scores is not what a ranking
    needs: a pair of LLMs far apart is already ordered however uncertain
    each is. The target is instead the order of every pair ``(i, j)``, the
    indicator ``1[f_i > f_j]``, with posterior variance ``p(1 - p)`` (``p``
    the probability of that order). After observing ``B`` its expected
    variance is ``E[p'(1 - p')]``, and under the Gaussian approximation
    ``E[p'^2] = Phi_2(a, a; r)`` in closed form (``a`` = mean/sd of
    ``f_i - f_j``, ``r`` the share of its variance ``B`` explains; Owen's T
    function). ``expected_gain`` is then the expected reduction of the
    summed pairwise order variance (unit: pairs; 0.25 per fully uncertain
    pair resolved). It is the rank target in the sense of the expected
    squared rank error, up to the covariances between pairs.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd
from scipy.special import ndtr, owens_t

from bayes_cpp import dims
from bayes_cpp.estimator import BayesCPP
from bayes_cpp.exceptions import DataError, SpecError
from bayes_cpp.seeds import stage_rng

if TYPE_CHECKING:
    from bayes_cpp.data import CollaborativeData
    from bayes_cpp.evaluation.metrics import SamplePredictive

__all__ = [
    "STRATEGIES",
    "greedy_ranking_batch",
    "greedy_variance_batch",
    "order_variance_reduction",
    "recommend",
    "reveal_curve",
]

Target = str | tuple[str, str]
#: Orders compared by :func:`reveal_curve`.
STRATEGIES: tuple[str, ...] = ("recommended", "random", "largest_sd")
#: Most cells the joint covariance is built for (memory grows with its square).
MAX_CELLS = 8000
_COLUMNS = [
    "rank",
    "llm",
    "task",
    "expected_gain",
    "cumulative_gain",
    "predicted",
    "predicted_sd",
]


# ---------------------------------------------------------------- the maths
def _greedy(
    cov: np.ndarray,
    noise: np.ndarray,
    candidates: Sequence[int],
    budget: int,
    gains_of: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray],
    accept: Callable[[int], None] = lambda best: None,
) -> tuple[list[int], list[float]]:
    """The greedy loop: score every remaining candidate, take the best, condition on it.

    ``gains_of(cov, c, var_y)`` returns the expected gain of each candidate in
    ``c`` under the current (conditioned) ``cov``; ``accept(best)`` is told the
    position of the chosen one in ``c`` before ``cov`` is conditioned on it
    (a rank-1 update: observing ``y_c`` removes ``Sigma[:, c] Sigma[c, :] /
    Var(y_c)``).
    """
    cov = np.array(cov, dtype=float, copy=True)
    remaining = [int(c) for c in candidates]
    picks: list[int] = []
    gains: list[float] = []
    for _ in range(min(int(budget), len(remaining))):
        c = np.asarray(remaining)
        var_y = np.maximum(cov[c, c] + noise[c], 1e-300)
        gain = gains_of(cov, c, var_y)
        best = int(np.argmax(gain))
        accept(best)
        picks.append(int(c[best]))
        gains.append(float(gain[best]))
        col = cov[:, c[best]].copy()
        cov -= np.outer(col, col) / var_y[best]
        remaining.pop(best)
    return picks, gains


def greedy_variance_batch(
    cov: np.ndarray,
    noise: np.ndarray,
    candidates: Sequence[int],
    targets: Sequence[int],
    budget: int,
) -> tuple[list[int], list[float]]:
    """Greedy batch maximising the expected reduction of the targets' summed variance.

    Parameters
    ----------
    cov : numpy.ndarray
        ``(n, n)`` covariance of the cells' means (not modified).
    noise : numpy.ndarray
        ``(n,)`` noise variance of a new evaluation of each cell.
    candidates, targets : sequence of int
        Cell indices that may be observed, and whose variance counts.
    budget : int
        Number of picks (at most the number of candidates).

    Returns
    -------
    picks, gains : list of int, list of float
        The chosen cells in order and each one's expected gain given the
        earlier picks: ``sum_t Cov(f_t, y_c)^2 / Var(y_c)`` under the
        covariance conditioned on them.

    Examples
    --------
    Two perfectly correlated cells and an independent one: after the first
    of the pair, the second reveals nothing new.

    >>> cov = np.array([[1.0, 1.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 0.5]])
    >>> picks, gains = greedy_variance_batch(cov, np.zeros(3), [0, 1, 2], [0, 1, 2], 2)
    >>> picks, [round(g, 3) for g in gains]
    ([0, 2], [2.0, 0.5])
    """
    t = np.asarray(targets, dtype=int)

    def gains_of(cov: np.ndarray, c: np.ndarray, var_y: np.ndarray) -> np.ndarray:
        return np.asarray((cov[np.ix_(t, c)] ** 2).sum(axis=0) / var_y)

    return _greedy(cov, noise, candidates, budget, gains_of)


def order_variance_reduction(a: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Expected reduction of the variance ``p (1 - p)`` of a pairwise order indicator.

    ``d ~ N(mu, s^2)`` with ``a = mu / s``; an observation explains the share
    ``r`` of ``Var(d)``. Then ``p = Phi(a)`` and the posterior ``p'`` has
    ``E[p'^2] = Phi_2(a, a; r) = Phi(a) - 2 T(a, sqrt((1 - r) / (1 + r)))``
    (Owen's T), so the reduction is ``Phi_2(a, a; r) - Phi(a)^2``: 0 for
    ``r = 0``, ``p (1 - p)`` for ``r = 1``.

    Examples
    --------
    >>> order_variance_reduction(np.array([0.0, 0.0, 0.0]), np.array([0.0, 0.5, 1.0])).round(4)
    array([0.    , 0.0833, 0.25  ])
    """
    r = np.clip(r, 0.0, 1.0)
    phi = ndtr(a)
    both = phi - 2.0 * owens_t(a, np.sqrt((1.0 - r) / (1.0 + r)))
    return np.asarray(np.maximum(both - phi**2, 0.0))


def greedy_ranking_batch(
    cov: np.ndarray,
    mean: np.ndarray,
    noise: np.ndarray,
    candidates: Sequence[int],
    pairs: tuple[Sequence[int], Sequence[int]],
    budget: int,
) -> tuple[list[int], list[float]]:
    """Greedy batch maximising the expected reduction of pairwise order variance.

    ``pairs = (i, j)`` index the cells whose order matters (``f_i`` vs
    ``f_j``). The batch's total gain is exact under the Gaussian
    approximation for any set ``B`` (:func:`order_variance_reduction` with the
    share of each difference's variance ``B`` explains), so each step's gain
    is the increase of that total.

    Examples
    --------
    Two cells with equal means and an unrelated one: only observing one of
    the pair informs their order.

    >>> cov = np.diag([1.0, 1.0, 1.0])
    >>> picks, gains = greedy_ranking_batch(cov, np.zeros(3), np.zeros(3), [2, 0], ([0], [1]), 1)
    >>> picks, round(gains[0], 4)
    ([0], 0.0833)
    """
    i, j = np.asarray(pairs[0], dtype=int), np.asarray(pairs[1], dtype=int)
    var0 = cov[i, i] + cov[j, j] - 2.0 * cov[i, j]
    ok = var0 > 1e-14  # pairs whose order is certain cannot gain
    i, j, var0 = i[ok], j[ok], var0[ok]
    a = (mean[i] - mean[j]) / np.sqrt(var0)
    state: dict[str, Any] = {
        "var": var0.copy(),
        "total": 0.0,
        "var_new": var0[:, None],
        "totals": np.zeros(1),
    }

    def gains_of(cov: np.ndarray, c: np.ndarray, var_y: np.ndarray) -> np.ndarray:
        cov_d = cov[np.ix_(i, c)] - cov[np.ix_(j, c)]
        state["var_new"] = state["var"][:, None] - cov_d**2 / var_y[None, :]
        share = 1.0 - state["var_new"] / var0[:, None]
        state["totals"] = order_variance_reduction(a[:, None], share).sum(axis=0)
        return np.asarray(state["totals"] - state["total"])

    def accept(best: int) -> None:
        state["total"] = float(state["totals"][best])
        state["var"] = state["var_new"][:, best]

    return _greedy(cov, noise, candidates, budget, gains_of, accept)


# ------------------------------------------------------------ on a fit
@dataclass(frozen=True)
class _Joint:
    """Posterior moments of a list of fitted cells (unit scale)."""

    llm: list[str]
    task: list[str]
    mean: np.ndarray  # (n,) posterior mean of f
    cov: np.ndarray  # (n, n) posterior covariance of f
    noise: np.ndarray  # (n,) E[sd^2]


def _joint(est: BayesCPP, cells: list[tuple[str, str]], rng: np.random.Generator) -> _Joint:
    if len(cells) > MAX_CELLS:
        raise SpecError(
            f"{len(cells)} candidate and target cells exceed {MAX_CELLS} (the joint covariance "
            "grows with their square); pass candidates= or a narrower target"
        )
    llms = [c[0] for c in cells]
    tasks = [c[1] for c in cells]
    mean, sd = est.predictor_.pairs(
        cast(list[int], est.positions(dims.LLM, llms)),
        cast(list[int], est.positions(dims.TASK, tasks)),
        rng,
    )
    cov = np.atleast_2d(np.cov(mean, rowvar=False))
    return _Joint(llms, tasks, mean.mean(axis=0), cov, (sd**2).mean(axis=0))


def _untested(est: BayesCPP) -> list[tuple[str, str]]:
    data = est.data_
    seen = set(zip(data.scores["llm"], data.scores["task"], strict=True))
    return [(m, t) for m in data.llm_names for t in data.task_names if (m, t) not in seen]


def _candidate_cells(est: BayesCPP, candidates: Any) -> list[tuple[str, str]]:
    if candidates is None:
        cells = _untested(est)
    elif isinstance(candidates, pd.DataFrame):
        if not {"llm", "task"} <= set(candidates.columns):
            raise DataError(["candidates needs columns 'llm' and 'task'"])
        cells = list(
            zip(candidates["llm"].astype(str), candidates["task"].astype(str), strict=True)
        )
    else:
        try:
            cells = [(str(m), str(t)) for m, t in candidates]
        except (TypeError, ValueError):
            raise DataError(
                ["candidates must be (llm, task) pairs or a frame with 'llm' and 'task' columns"]
            ) from None
    cells = list(dict.fromkeys(cells))
    est.positions(dims.LLM, [c[0] for c in cells])  # unknown names raise, with suggestions
    est.positions(dims.TASK, [c[1] for c in cells])
    data = est.data_
    seen = set(zip(data.scores["llm"], data.scores["task"], strict=True))
    scored = [c for c in cells if c in seen]
    if scored:
        raise DataError(
            [
                f"candidate ({m!r}, {t!r}) already has a score; candidates are untested cells"
                for m, t in scored
            ]
        )
    if not cells:
        raise DataError(["no candidate cells: every cell of the matrix has a score"])
    return cells


def _parse_target(est: BayesCPP, target: Target) -> tuple[str, str | None]:
    if isinstance(target, str):
        if target != "matrix":
            raise SpecError(
                f"target must be 'matrix', ('llm', name) or ('task', name), not {target!r}"
            )
        return "matrix", None
    if not isinstance(target, tuple) or len(target) != 2 or target[0] not in (dims.LLM, dims.TASK):
        raise SpecError(f"target must be 'matrix', ('llm', name) or ('task', name), not {target!r}")
    side, name = target[0], str(target[1])
    est.positions(cast(dims.SideName, side), [name])
    return side, name


def recommend(
    est: BayesCPP,
    *,
    budget: int = 10,
    target: Target = "matrix",
    candidates: pd.DataFrame | Iterable[tuple[str, str]] | None = None,
    random_seed: int | None = None,
) -> pd.DataFrame:
    """The ``budget`` untested cells to evaluate next, as a greedy batch.

    Parameters
    ----------
    est : BayesCPP
        A fitted estimator.
    budget : int
        Number of evaluations to plan (at most the number of candidates).
    target : "matrix", ("llm", name) or ("task", name)
        What the evaluations should inform: every untested cell, one LLM's
        untested cells, or the ranking of the LLMs on one task (see the
        module docstring for the criteria).
    candidates : frame with ``llm``, ``task`` columns or (llm, task) pairs, optional
        Cells that may be evaluated (default: every untested cell).
    random_seed : int, optional
        Seed of the predictive draws (default: derived from the fit's seed).

    Returns
    -------
    pandas.DataFrame
        One row per pick, in order: ``rank`` (1 = first), ``llm``, ``task``,
        ``expected_gain`` (expected reduction of the target's summed
        predictive variance, unit scale, given the earlier picks; pairwise
        order variance for a task target), ``cumulative_gain``,
        ``predicted`` (posterior mean score, task units) and
        ``predicted_sd`` (predictive sd of a new evaluation now, task units).

    Examples
    --------
    >>> import bayes_cpp as bc
    >>> sim = bc.simulate(20, 6, random_seed=0)
    >>> est = bc.BayesCPP(draws=50, tune=50, chains=2, random_seed=0).fit(sim.data)
    >>> plan = recommend(est, budget=3)
    >>> plan.columns.tolist()
    ['rank', 'llm', 'task', 'expected_gain', 'cumulative_gain', 'predicted', 'predicted_sd']
    >>> bool((plan["cumulative_gain"].diff().dropna() > 0).all())
    True
    """
    est.check_is_fitted()
    if not isinstance(budget, int | np.integer) or budget < 1:
        raise SpecError(f"budget must be a positive integer, not {budget!r}")
    kind, name = _parse_target(est, target)
    cand = _candidate_cells(est, candidates)
    data = est.data_
    if kind == dims.TASK:
        if data.n_llms < 2:
            raise DataError(["a ranking target needs at least 2 LLMs in the fit"])
        target_cells = [(m, cast(str, name)) for m in data.llm_names]
    else:
        target_cells = [c for c in _untested(est) if kind == "matrix" or c[0] == name]
        if not target_cells:
            raise DataError([f"LLM {name!r} has a score on every task: nothing to target"])
    cells = list(dict.fromkeys([*cand, *target_cells]))
    index = {c: k for k, c in enumerate(cells)}
    seed = est.random_seed_ if random_seed is None else random_seed
    joint = _joint(est, cells, stage_rng(seed, "predict"))
    cand_idx = [index[c] for c in cand]
    if kind == dims.TASK:
        t_idx = [index[c] for c in target_cells]
        first, second = zip(*itertools.combinations(t_idx, 2), strict=True)
        picks, gains = greedy_ranking_batch(
            joint.cov, joint.mean, joint.noise, cand_idx, (first, second), budget
        )
    else:
        picks, gains = greedy_variance_batch(
            joint.cov, joint.noise, cand_idx, [index[c] for c in target_cells], budget
        )
    llms = [joint.llm[p] for p in picks]
    tasks = [joint.task[p] for p in picks]
    p = np.asarray(picks, dtype=int)
    span = np.abs(data.from_unit(np.ones(len(p)), tasks) - data.from_unit(np.zeros(len(p)), tasks))
    sd_unit = np.sqrt(np.diag(joint.cov)[p] + joint.noise[p])
    return pd.DataFrame(
        {
            "rank": np.arange(1, len(p) + 1),
            "llm": llms,
            "task": tasks,
            "expected_gain": gains,
            "cumulative_gain": np.cumsum(gains),
            "predicted": data.from_unit(joint.mean[p], tasks),
            "predicted_sd": sd_unit * span,
        },
        columns=_COLUMNS,
    )


# ---------------------------------------------------------------- validation
def _largest_sd(est: BayesCPP, pool: list[tuple[str, str]], budget: int) -> list[tuple[str, str]]:
    joint = _joint(est, pool, stage_rng(est.random_seed_, "predict"))
    sd = np.sqrt(np.diag(joint.cov) + joint.noise)
    order = np.argsort(-sd, kind="stable")[:budget]
    return [pool[k] for k in order]


def _fold_in(
    est: BayesCPP,
    data: CollaborativeData,
    known: pd.DataFrame,
    test: pd.DataFrame,
    rng: np.random.Generator,
) -> SamplePredictive:
    """Predict ``test`` from ``est`` with each test LLM conditioned on all its ``known`` scores.

    The LLM's row is re-derived from its family and factors and conditioned
    per draw on its known cells (the fit's and the revealed ones) with the
    newcomer machinery, so revealed cells count without a refit.
    """
    from bayes_cpp.evaluation.methods import fold_in_llm
    from bayes_cpp.evaluation.metrics import SamplePredictive

    predictor = est.predictor_
    n, s = len(test), predictor.n_samples
    mean, sigma = np.empty((n, s)), np.empty((n, s))
    for llm in sorted(set(test["llm"])):
        rows = np.flatnonzero(test["llm"].to_numpy() == llm)
        m, sd = fold_in_llm(
            est, data.llms.loc[llm], known[known["llm"] == llm], list(test["task"].iloc[rows]), rng
        )
        mean[rows], sigma[rows] = m.T, sd.T
    draws = predictor.noisy(mean.T[:, None, :], sigma.T[:, None, :], rng)[:, 0, :].T
    return SamplePredictive(draws, mean, sigma, predictor.nu)


def _refit_predict(est: BayesCPP, test: pd.DataFrame, rng: np.random.Generator) -> SamplePredictive:
    from bayes_cpp.evaluation.metrics import SamplePredictive

    predictor = est.predictor_
    mean, sd = predictor.pairs(
        cast(list[int], est.positions(dims.LLM, list(test["llm"]))),
        cast(list[int], est.positions(dims.TASK, list(test["task"]))),
        rng,
    )
    draws = predictor.noisy(mean[:, None, :], sd[:, None, :], rng)[:, 0, :]
    return SamplePredictive(draws.T, mean.T, sd.T, predictor.nu)


@dataclass(frozen=True)
class _RevealSplit:
    """One seed of :func:`reveal_curve`.

    A training set, a fixed test set and the groups whose pools are planned
    separately (one per target).
    """

    seed: int
    label: str
    train: CollaborativeData
    test: pd.DataFrame
    groups: list[tuple[Target, pd.DataFrame]]  # each target and its pool (revealable cells)
    rng: np.random.Generator  # continues the partition's stream: draws the random order


def _split_hidden(
    hidden: pd.DataFrame, test_share: float, rng: np.random.Generator
) -> tuple[pd.DataFrame, pd.DataFrame]:
    perm = rng.permutation(len(hidden))
    n_test = round(test_share * len(hidden))
    test = hidden.iloc[np.sort(perm[:n_test])].reset_index(drop=True)
    pool = hidden.iloc[np.sort(perm[n_test:])].reset_index(drop=True)
    return test, pool


def _cell_pairs(frame: pd.DataFrame) -> list[tuple[str, str]]:
    return list(zip(frame["llm"], frame["task"], strict=True))


def _reveal_cells(
    data: CollaborativeData,
    seeds: int | Sequence[int],
    hide_fraction: float,
    test_share: float,
    budget: int,
    target: Target,
    random_seed: int,
) -> list[_RevealSplit]:
    from bayes_cpp.evaluation.protocols import random_splits
    from bayes_cpp.seeds import derived_seed

    out = []
    for split in random_splits(data, hide_fraction, seeds):
        rng = np.random.default_rng(derived_seed(random_seed, f"reveal {split.label}"))
        test, pool = _split_hidden(split.test, test_share, rng)
        if len(test) < 1 or len(pool) < budget:
            raise DataError(
                [
                    f"seed {split.seed}: {len(split.test)} hidden cells leave {len(pool)} to "
                    f"reveal and {len(test)} to test; need at least {budget} and 1 "
                    "(raise hide_fraction)"
                ]
            )
        assert split.seed is not None
        out.append(
            _RevealSplit(
                split.seed,
                split.label,
                split.train,
                test,
                [(target, pool)],
                rng,
            )
        )
    return out


def _reveal_llms(
    data: CollaborativeData,
    seeds: int | Sequence[int],
    n_llms: int,
    known: int,
    test_share: float,
    budget: int,
    random_seed: int,
) -> list[_RevealSplit]:
    """Hold out ``n_llms`` LLMs per seed, each keeping ``known`` random scores.

    Each one's other scores are split into its own pool and test cells, and
    each is its own target.
    """
    from bayes_cpp.evaluation.protocols import seed_list
    from bayes_cpp.seeds import derived_seed

    scores = data.scores
    # An LLM qualifies when its hidden scores leave `budget` to reveal and >= 1 to test
    # (the split :func:`_split_hidden` makes).
    hidden_n = scores.groupby("llm").size() - known
    test_n = (test_share * hidden_n).round()
    eligible = sorted(hidden_n.index[(hidden_n - test_n >= budget) & (test_n >= 1)])
    if len(eligible) < n_llms:
        raise DataError(
            [
                f"only {len(eligible)} LLMs have enough scores for known={known}, "
                f"budget={budget} and test_share={test_share:g}; need n_llms={n_llms} "
                "(lower n_llms, known or budget)"
            ]
        )
    out = []
    for seed in seed_list(seeds):
        label = f"llms={n_llms} known={known} seed={seed}"
        rng = np.random.default_rng(derived_seed(random_seed, f"reveal {label}"))
        chosen = sorted(rng.choice(eligible, size=n_llms, replace=False).tolist())
        keep = np.ones(len(scores), dtype=bool)
        tests: list[pd.DataFrame] = []
        groups: list[tuple[Target, pd.DataFrame]] = []
        for llm in chosen:
            rows = np.flatnonzero(scores["llm"].to_numpy() == llm)
            shown = rng.choice(rows, size=known, replace=False)
            hidden_rows = np.setdiff1d(rows, shown)
            keep[hidden_rows] = False
            hidden = scores.iloc[hidden_rows][["llm", "task", "score"]].reset_index(drop=True)
            test, pool = _split_hidden(hidden, test_share, rng)
            tests.append(test)
            groups.append(((dims.LLM, str(llm)), pool))
        train = data.with_scores(scores.loc[keep].reset_index(drop=True))
        out.append(
            _RevealSplit(seed, label, train, pd.concat(tests, ignore_index=True), groups, rng)
        )
    return out


def reveal_curve(
    data: CollaborativeData,
    *,
    strategy: str | Sequence[str] = STRATEGIES,
    budget: int = 10,
    step: int = 1,
    seeds: int | Sequence[int] = 3,
    hide: str = "cells",
    hide_fraction: float = 0.2,
    n_llms: int = 6,
    known: int = 2,
    test_share: float = 0.5,
    target: Target = "matrix",
    est_params: Mapping[str, Any] | None = None,
    spec: str = "hbmf",
    refit: bool = True,
    random_seed: int = 0,
    progress: bool = False,
) -> pd.DataFrame:
    """Held-out error and interval width as cells are revealed in each strategy's order.

    Two settings (``hide``):

    ``"cells"``
        Per seed, hide ``hide_fraction`` of the observed cells and split them
        into a *pool* (revealable, ``1 - test_share``) and a fixed *test* set;
        fit on the rest; plan ``budget`` evaluations from the pool with each
        strategy, ``target`` being what the recommendation serves.
    ``"llms"``
        "A new LLM has ``known`` scores; which ``budget`` benchmarks should
        we run next?" Per seed, ``n_llms`` LLMs keep ``known`` random scores
        each; each one's other scores are split into its own pool and test
        cells; one fit on the rest; each LLM is planned separately, with its
        own profile as the target (``("llm", name)``) and its pool as the
        candidates, and ``budget`` is per LLM.

    Strategies: ``"recommended"`` (:func:`recommend`, one greedy batch from
    the first fit), ``"random"`` (a seeded random order) and ``"largest_sd"``
    (the largest predictive sd first, among the same candidates). Cells are
    revealed ``step`` at a time (per LLM for ``"llms"``) and the test cells
    scored after each step.

    Parameters
    ----------
    data : CollaborativeData
        The full data.
    strategy : str or sequence of str
        Strategies to compare (:data:`STRATEGIES`).
    budget, step : int
        Cells revealed in total (per held-out LLM for ``hide="llms"``), and
        between measurements.
    seeds : int or sequence of int
        Seeds of the hidden sets (an int ``n`` means ``0..n-1``).
    hide : {"cells", "llms"}
        What is hidden (see above).
    hide_fraction : float
        Fraction of observed cells hidden (``hide="cells"``).
    n_llms, known : int
        LLMs held out per seed, and the scores each keeps (``hide="llms"``).
    test_share : float
        Share of the hidden cells kept as the test set (per LLM for ``"llms"``).
    target : "matrix", ("llm", name) or ("task", name)
        The recommendation's target for ``hide="cells"`` (see :func:`recommend`).
    est_params : mapping, optional
        :class:`BayesCPP` parameters; :data:`bayes_cpp.evaluation.EVALUATION_SAMPLER`
        fills unset sampler settings.
    spec : str
        The model's spec.
    refit : bool
        True: refit after each reveal (slow, exact). False: keep the first
        fit and condition each test LLM per draw on its known and revealed
        scores (the newcomer fold-in; revealed cells then inform their LLM's
        row only, not their task's column).
    random_seed : int
        Seeds the fits (per training set), the partition and the random order.
    progress : bool
        Show a progress bar.

    Returns
    -------
    pandas.DataFrame
        One row per strategy x seed x checkpoint: ``strategy``, ``seed``,
        ``n_revealed`` (per LLM for ``hide="llms"``), ``rmse`` (test RMSE of
        the posterior mean, unit scale), ``mean_width_90`` (mean width of the
        central 90% predictive interval, unit scale), ``coverage_90``, ``lpd``.

    Examples
    --------
    >>> import bayes_cpp as bc
    >>> data = bc.simulate(16, 5, density=0.8, random_seed=0).data
    >>> curve = reveal_curve(
    ...     data, budget=2, seeds=1, refit=False, est_params={"draws": 20, "tune": 20, "chains": 1}
    ... )
    >>> curve.columns.tolist()
    ['strategy', 'seed', 'n_revealed', 'rmse', 'mean_width_90', 'coverage_90', 'lpd']
    """
    from tqdm.auto import tqdm

    from bayes_cpp.evaluation.methods import EVALUATION_SAMPLER
    from bayes_cpp.evaluation.metrics import aggregate, score_cells
    from bayes_cpp.evaluation.protocols import Split
    from bayes_cpp.inference import quiet_sampler_logs
    from bayes_cpp.seeds import derived_seed

    strategies = [strategy] if isinstance(strategy, str) else list(strategy)
    unknown = [s for s in strategies if s not in STRATEGIES]
    if unknown or not strategies:
        raise SpecError(f"strategies must be among {', '.join(STRATEGIES)}, not {unknown}")
    for label, value in (("budget", budget), ("step", step), ("n_llms", n_llms)):
        if not isinstance(value, int | np.integer) or value < 1:
            raise SpecError(f"{label} must be a positive integer, not {value!r}")
    if not isinstance(known, int | np.integer) or known < 0:
        raise SpecError(f"known must be a non-negative integer, not {known!r}")
    if not 0.0 < test_share < 1.0:
        raise SpecError(f"test_share must be strictly between 0 and 1, not {test_share!r}")
    if hide == "cells":
        splits = _reveal_cells(data, seeds, hide_fraction, test_share, budget, target, random_seed)
    elif hide == "llms":
        if target != "matrix":
            raise SpecError("hide='llms' targets each held-out LLM's profile; leave target unset")
        splits = _reveal_llms(data, seeds, n_llms, known, test_share, budget, random_seed)
    else:
        raise SpecError(f"hide must be 'cells' or 'llms', not {hide!r}")
    params = {**EVALUATION_SAMPLER, **dict(est_params or {})}
    fits: dict[str, BayesCPP] = {}

    def fit(train: CollaborativeData) -> BayesCPP:
        # One fit per training set, seeded by its cells as in the evaluation harness.
        key = Split("reveal", "", None, train, train.scores.iloc[:0]).fingerprint
        if key not in fits:
            with quiet_sampler_logs():
                fits[key] = BayesCPP(spec, **params).fit(
                    train, random_seed=derived_seed(random_seed, key)
                )
        return fits[key]

    checkpoints = sorted({0, *range(int(step), int(budget), int(step)), int(budget)})
    rows: list[dict[str, Any]] = []
    bar = tqdm(total=len(splits) * len(strategies) * len(checkpoints), disable=not progress)
    for split in splits:
        rng = split.rng
        test = split.test
        base = fit(split.train)
        # orders[strategy][g]: the planned order of group g's pool
        orders: dict[str, list[list[tuple[str, str]]]] = {name: [] for name in strategies}
        for group_target, pool in split.groups:
            pool_cells = _cell_pairs(pool)
            for name in strategies:
                if name == "recommended":
                    plan = recommend(
                        base, budget=budget, target=group_target, candidates=pool_cells
                    )
                    order = _cell_pairs(plan)
                elif name == "largest_sd":
                    order = _largest_sd(base, pool_cells, budget)
                else:
                    order = [pool_cells[k] for k in rng.permutation(len(pool_cells))[:budget]]
                orders[name].append(order)
        score_of = {
            c: v
            for _, pool in split.groups
            for c, v in zip(_cell_pairs(pool), pool["score"], strict=True)
        }
        for name in strategies:
            for n in checkpoints:
                shown = [c for order in orders[name] for c in order[:n]]
                revealed = pd.DataFrame(
                    {
                        "llm": [c[0] for c in shown],
                        "task": [c[1] for c in shown],
                        "score": [score_of[c] for c in shown],
                    }
                )
                known_scores = (
                    pd.concat([split.train.scores, revealed], ignore_index=True)
                    if n
                    else split.train.scores
                )
                train = split.train.with_scores(known_scores) if n else split.train
                pred_rng = np.random.default_rng(derived_seed(random_seed, f"{split.label} {n}"))
                if refit:
                    predictive = _refit_predict(fit(train), test, pred_rng)
                else:
                    predictive = _fold_in(base, data, known_scores, test, pred_rng)
                cells = score_cells(test, predictive, full=data, train=train, rng=pred_rng)
                agg = aggregate(cells)
                rows.append(
                    {
                        "strategy": name,
                        "seed": split.seed,
                        "n_revealed": n,
                        "rmse": agg["rmse_unit"],
                        "mean_width_90": agg["width_90"],
                        "coverage_90": agg["coverage_90"],
                        "lpd": agg["lpd"],
                    }
                )
                bar.update()
    bar.close()
    return pd.DataFrame(rows)
