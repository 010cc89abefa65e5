"""Which LLMs (or tasks) behave alike: latent positions and posterior distances.

:func:`latent_positions` places every LLM (task) by its posterior latent row
after rotating all draws onto a common reference
(:func:`bayes_cpp.diagnostics.align_loadings`): the loadings are identified
only up to a rotation ``U R, V R``, so raw per-draw means would average
rotated copies towards zero.

:func:`most_similar` ranks the others by a *behavioural* distance, the root
mean square difference of the two rows' linear predictors over the fitted
rows of the other side::

    d(i, j)^2 = mean_t (eta_it - eta_jt)^2
              = mean_t ((a_i - a_j) + (u_i - u_j) . v_t)^2

with ``a`` the bias and ``u`` the loading of a row and ``v_t`` the other
side's loadings (the intercept cancels). It is a Euclidean distance between
the rows' ``(bias, loading)`` vectors in the metric
``M = mean_t (1, v_t)(1, v_t)^T``, computed per posterior draw. Why this and
not the plain Euclidean distance of ``(bias, loading)``: it is invariant to
the rotation (``u R . v R = u . v``) *and* to how the model splits scale
between bias and loadings, and it weighs each latent direction by how much
the benchmarks actually vary along it, so "alike" means "score alike on these
benchmarks" on the logit scale of the chance-corrected score. It is 0 for a
row and itself and symmetric; its posterior is summarized by mean and an
equal-tailed interval.

(:mod:`bayes_cpp.diagnostics`, which imports ArviZ, is imported when a
summary is computed, so ``import bayes_cpp`` stays fast for the CLI.)
"""

from __future__ import annotations

from typing import cast

import numpy as np
import pandas as pd
import xarray as xr

from bayes_cpp import dims
from bayes_cpp.estimator import BayesCPP
from bayes_cpp.exceptions import SpecError

__all__ = ["distance_draws", "latent_positions", "most_similar"]


def _side(side: str) -> dims.Side:
    try:
        return dims.side(side)
    except ValueError as exc:
        raise SpecError(str(exc)) from None


def _groups(est: BayesCPP, side: dims.Side) -> tuple[list[str], list[str]]:
    """Names and family (category) labels of the fitted rows of ``side``."""
    data = est.data_
    if side.name == dims.LLM:
        return data.llm_names, [str(g) for g in data.llms["family"]]
    return data.task_names, [str(g) for g in data.tasks["category"]]


def latent_positions(
    est: BayesCPP, side: dims.SideName = "llm", *, ci_prob: float = dims.CI_PROB
) -> pd.DataFrame:
    """Rotation-aligned posterior latent rows of every LLM (or task).

    Parameters
    ----------
    est : BayesCPP
        A fitted estimator with rank >= 1.
    side : {"llm", "task"}
        LLM rows (loadings on the unit LLM scale) or task columns (loadings
        including the task loading scale).
    ci_prob : float
        Probability of the equal-tailed intervals.

    Returns
    -------
    pandas.DataFrame
        One row per LLM (task): ``name``, ``group`` (family or category),
        ``latent_1`` .. ``latent_K`` (posterior means after alignment),
        ``sd_1`` .. ``sd_K``, ``lower_1`` .. ``lower_K`` and ``upper_1`` ..
        ``upper_K`` (equal-tailed ``ci_prob`` interval).

    Examples
    --------
    >>> import bayes_cpp as bc
    >>> sim = bc.simulate(20, 6, random_seed=0)
    >>> est = bc.BayesCPP(draws=50, tune=50, chains=2, random_seed=0).fit(sim.data)
    >>> latent_positions(est).columns[:4].tolist()
    ['name', 'group', 'latent_1', 'latent_2']
    """
    from bayes_cpp.diagnostics import align_loadings, draw_summary

    est.check_is_fitted()
    s = _side(side)
    rank = est.spec_.rank
    if not rank:
        raise SpecError(
            f"the fit has rank 0 (spec {est.spec_.name!r}): there are no latent positions; "
            "use most_similar, which works on biases too"
        )
    aligned = align_loadings(est.idata_["posterior"].to_dataset())[s.loading]
    aligned = aligned.transpose("chain", "draw", s.dim, dims.LATENT)
    names, groups = _groups(est, s)
    flat = aligned.to_numpy().reshape(-1, len(names) * rank)
    stats = draw_summary(flat, ci_prob=ci_prob)
    out = pd.DataFrame({"name": names, "group": groups})
    for key, column in (("latent", "mean"), ("sd", "sd"), ("lower", "lower"), ("upper", "upper")):
        values = stats[column].to_numpy().reshape(len(names), rank)
        for k in range(rank):
            out[f"{key}_{k + 1}"] = values[:, k]
    return out


def _metric(est: BayesCPP, side: dims.Side) -> tuple[np.ndarray, np.ndarray]:
    """Rows ``(S, n, 1 + K)`` of ``side`` and the metric ``(S, 1 + K, 1 + K)``."""
    values = est.predictor_.draws.values
    rank = est.spec_.rank
    other = side.other
    rows = values[side.bias][:, :, None]
    cols = np.ones((*values[other.bias].shape, 1))
    if rank:
        rows = np.concatenate([rows, values[side.loading]], axis=2)
        cols = np.concatenate([cols, values[other.loading]], axis=2)
    metric = np.einsum("stk,stl->skl", cols, cols) / cols.shape[1]
    return rows, metric


def distance_draws(
    est: BayesCPP,
    name: str,
    *,
    others: list[str] | None = None,
    side: dims.SideName = "llm",
) -> xr.DataArray:
    """Posterior draws of the behavioural distance from ``name`` to ``others``.

    See the module docstring for the distance. ``others`` defaults to every
    fitted row of ``side`` (``name`` included, at distance 0).

    Returns
    -------
    xarray.DataArray
        Dims ``("chain", "draw", side)``, on the logit (linear predictor) scale.

    Examples
    --------
    >>> import bayes_cpp as bc
    >>> sim = bc.simulate(20, 6, random_seed=0)
    >>> est = bc.BayesCPP(draws=50, tune=50, chains=2, random_seed=0).fit(sim.data)
    >>> d = distance_draws(est, "llm-000", others=["llm-000", "llm-001"])
    >>> float(d.sel(llm="llm-000").max())
    0.0
    """
    est.check_is_fitted()
    s = _side(side)
    names, _ = _groups(est, s)
    me = cast(int, est.positions(s.name, [name])[0])
    targets = names if others is None else list(others)
    pos = cast(list[int], est.positions(s.name, targets))
    rows, metric = _metric(est, s)
    delta = rows[:, pos, :] - rows[:, [me], :]
    sq = np.einsum("snk,skl,snl->sn", delta, metric, delta)
    d = est.predictor_.draws
    return xr.DataArray(
        d.unflatten(np.sqrt(np.maximum(sq, 0.0))),
        dims=("chain", "draw", s.dim),
        coords={"chain": np.arange(d.n_chain), "draw": np.arange(d.n_draw), s.dim: targets},
        name="distance",
        attrs={"units": "linear predictor (logit of the chance-corrected score)"},
    )


def most_similar(
    est: BayesCPP,
    name: str,
    *,
    side: dims.SideName = "llm",
    n: int = 5,
    ci_prob: float = dims.CI_PROB,
) -> pd.DataFrame:
    """The ``n`` LLMs (tasks) closest to ``name`` by posterior mean behavioural distance.

    Parameters
    ----------
    est : BayesCPP
        A fitted estimator (any rank; rank 0 compares biases only).
    name : str
        A fitted LLM (task).
    side : {"llm", "task"}
        Compare LLMs or tasks.
    n : int
        How many to list.
    ci_prob : float
        Probability of the equal-tailed interval.

    Returns
    -------
    pandas.DataFrame
        Columns ``name``, ``group``, ``distance`` (posterior mean), ``lower``,
        ``upper``; ascending by ``distance``, ``name`` itself left out.

    Examples
    --------
    >>> import bayes_cpp as bc
    >>> sim = bc.simulate(20, 6, random_seed=0)
    >>> est = bc.BayesCPP(draws=50, tune=50, chains=2, random_seed=0).fit(sim.data)
    >>> most_similar(est, "llm-000", n=3).columns.tolist()
    ['name', 'group', 'distance', 'lower', 'upper']
    """
    from bayes_cpp.diagnostics import draw_summary

    if not isinstance(n, int | np.integer) or n < 1:
        raise SpecError(f"n must be a positive integer, not {n!r}")
    s = _side(side)
    names, groups = _groups(est, s)
    draws = distance_draws(est, name, side=side).to_numpy().reshape(-1, len(names))
    stats = draw_summary(draws, ci_prob=ci_prob)
    out = pd.DataFrame({"name": names, "group": groups, "distance": stats["mean"]})
    out[["lower", "upper"]] = stats[["lower", "upper"]]
    out = out[out["name"] != name].sort_values("distance", kind="stable")
    return out.head(int(n)).reset_index(drop=True)
