"""Per-cell scores of predictive distributions, and their aggregation per split.

Definitions (``y`` the hidden score, ``p`` its unit-scale value in [0, 1]
with 1 = best, ``p_hat`` the point prediction: the predictive mean, which for
the Bayesian models is the posterior mean of the likelihood's mean, i.e. of
the expected score; the draws censored to [0, 1] only serve intervals, CRPS
and PIT):

Unit scale
    ``mse_unit``, ``mae_unit``, ``rmse_unit`` of ``p_hat - p``.
Task units
    ``rmse``, ``mae`` of the prediction in each task's own units; ``mdape``
    (MedAPE): median of ``|y_hat - y| / |y|`` in percent over cells with
    ``y != 0`` (a ratio, so the same in any units with ``lo = 0``).
Points (percent of each task's range, ``100 x`` the unit scale; equal to task
units on 0-100 tasks, the scale BenchPress reports)
    ``medae``: median absolute error; ``median_width_90_points``: median
    width of the 90% intervals.
Paper-comparable (CPP paper, arXiv 2407.01300, Table 1)
    Each LLM's scores divided as ``(x - m) / (M - m)`` with ``M`` the LLM's
    largest observed score (hidden cells included, as in the paper's code) and
    ``m = min(0, smallest)``; ``paper_mse`` and ``paper_l1`` on that scale.
    Heavy-tailed: an LLM whose best score is low inflates its errors.
Ranking
    For a hidden cell of task ``t``: its rank (1 = best, ties share the best
    rank) among the training scores of ``t`` plus itself, once with the true
    and once with the predicted value. ``rank_acc``: share of exact ranks;
    ``rank_within2``: share within 2 ranks. ``*_random`` is the expected value
    of the same metric for a uniformly random rank in the same pool.
    ``spearman``: Spearman correlation of predicted and true scores among a
    task's hidden cells (tasks with >= 3 hidden cells), averaged over tasks;
    its random expectation is 0.
Uncertainty
    ``coverage_XX``: share of hidden unit scores inside the central
    equal-tailed XX% predictive interval (per-cell bounds: columns
    ``lower_XX``/``upper_XX``); ``width_XX`` its mean width (unit scale);
    ``crps`` (scoringrules); ``lpd``: mean log predictive density of the
    unit score; ``pit``: predictive CDF at the hidden value (randomised
    at atoms), a histogram of which is flat for a calibrated method.
    ``sd_error_spearman``: Spearman correlation over the split's cells
    between the predictive standard deviation (column ``predictive_sd``) and
    the absolute error; does the method know which cells it is unsure
    about? NaN when the sd is the same for every cell (plug-in baselines).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pandas as pd
import scoringrules as sr
from arviz_stats.base import array_stats
from scipy import stats
from scipy.special import logsumexp

from bayes_cpp.data import CollaborativeData

__all__ = [
    "INTERVAL_PROBS",
    "METRICS",
    "POINTS",
    "GaussianPredictive",
    "Predictive",
    "SamplePredictive",
    "aggregate",
    "censored_pit",
    "score_cells",
]

#: Central predictive interval probabilities scored (equal-tailed intervals).
INTERVAL_PROBS: tuple[float, ...] = (0.5, 0.8, 0.9, 0.95)

#: Points per unit of the unit scale: errors and widths "in points" are percent
#: of each task's range.
POINTS = 100.0


class Predictive(Protocol):
    """Predictive distributions of ``n`` cells on the unit scale."""

    @property
    def point(self) -> np.ndarray:
        """Point predictions ``(n,)`` (the predictive mean)."""
        ...

    def interval(self, prob: float) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper bounds of the central equal-tailed ``prob`` interval."""
        ...

    def crps(self, y: np.ndarray) -> np.ndarray:
        """Continuous ranked probability score per cell (lower is better)."""
        ...

    def log_density(self, y: np.ndarray) -> np.ndarray:
        """Log predictive density per cell (higher is better)."""
        ...

    def pit(self, y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Probability integral transform per cell."""
        ...

    @property
    def sd(self) -> np.ndarray:
        """Predictive standard deviation per cell ``(n,)``."""
        ...


@dataclass(frozen=True)
class SamplePredictive:
    """Posterior predictive draws, with the likelihood's parameters per draw.

    Parameters
    ----------
    draws : ndarray, shape (n, S)
        Predictive draws of the unit score (noise included, censored to [0, 1]).
    mean, sigma : ndarray, shape (n, S)
        Per-draw mean and noise sd of the likelihood; the log predictive
        density is that of the mixture over draws (the model's own likelihood).
    nu : ndarray, shape (S,), optional
        Student-t degrees of freedom per draw (None = normal likelihood).
    """

    draws: np.ndarray
    mean: np.ndarray
    sigma: np.ndarray
    nu: np.ndarray | None = None

    @property
    def point(self) -> np.ndarray:  # noqa: D102
        # E[y] under the likelihood is its mean; averaging the censored draws
        # instead would pull cells near 0 or 1 inwards by the clipped mass.
        return np.asarray(self.mean.mean(axis=1))

    def interval(self, prob: float) -> tuple[np.ndarray, np.ndarray]:  # noqa: D102
        bounds = np.asarray(array_stats.eti(self.draws, prob, axis=-1))
        return bounds[:, 0], bounds[:, 1]

    def crps(self, y: np.ndarray) -> np.ndarray:  # noqa: D102
        return np.asarray(sr.crps_ensemble(y, self.draws, m_axis=-1, backend="numpy"))

    def log_density(self, y: np.ndarray) -> np.ndarray:  # noqa: D102
        if self.nu is None:
            return -np.asarray(
                sr.logs_mixnorm(y, self.mean, self.sigma, mc_axis=-1, backend="numpy")
            )
        logpdf = stats.t.logpdf(y[:, None], df=self.nu[None, :], loc=self.mean, scale=self.sigma)
        return np.asarray(logsumexp(logpdf, axis=1) - np.log(self.draws.shape[1]))

    def pit(self, y: np.ndarray, rng: np.random.Generator) -> np.ndarray:  # noqa: D102
        below = (self.draws < y[:, None]).mean(axis=1)
        tied = (self.draws == y[:, None]).mean(axis=1)
        return np.asarray(below + rng.random(len(y)) * tied)

    @property
    def sd(self) -> np.ndarray:  # noqa: D102
        return np.asarray(self.draws.std(axis=1))


def censored_pit(
    cdf_lo: np.ndarray,
    cdf_y: np.ndarray,
    cdf_hi: np.ndarray,
    y: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """PIT of a predictive censored to [0, 1], given its uncensored CDF at 0, ``y`` and 1.

    The censored distribution has atoms at the bounds (the mass beyond them);
    a score exactly at a bound gets a uniform PIT over its atom.
    """
    u = rng.random(len(y))
    out = np.asarray(cdf_y, dtype=float).copy()
    at_lo, at_hi = y <= 0.0, y >= 1.0
    out[at_lo] = (u * cdf_lo)[at_lo]
    out[at_hi] = (cdf_hi + u * (1.0 - cdf_hi))[at_hi]
    return out


@dataclass(frozen=True)
class GaussianPredictive:
    """A normal predictive ``N(mu, sd^2)`` per cell, optionally censored to [0, 1].

    Point baselines use it with a plug-in ``sd`` (the root mean squared error
    of the method's own cross-validated predictions on the training cells,
    ``censored=False``); the Gaussian-conditioning baseline with its own
    conditional sd, censored like the model's draws (``censored=True``):
    intervals are clipped to [0, 1], the CRPS is that of the censored normal
    and the PIT puts a score at a bound uniformly over the bound's atom. The
    log density is the normal density in both cases (the convention of the
    model's own log predictive density).
    """

    mu: np.ndarray
    sd: np.ndarray
    censored: bool = False

    @property
    def point(self) -> np.ndarray:  # noqa: D102
        return self.mu

    def interval(self, prob: float) -> tuple[np.ndarray, np.ndarray]:  # noqa: D102
        z = stats.norm.ppf(0.5 + prob / 2.0)
        lo, hi = self.mu - z * self.sd, self.mu + z * self.sd
        if self.censored:
            return np.clip(lo, 0.0, 1.0), np.clip(hi, 0.0, 1.0)
        return lo, hi

    def crps(self, y: np.ndarray) -> np.ndarray:  # noqa: D102
        if self.censored:
            return np.asarray(sr.crps_cnormal(y, self.mu, self.sd, 0.0, 1.0, backend="numpy"))
        return np.asarray(sr.crps_normal(y, self.mu, self.sd, backend="numpy"))

    def log_density(self, y: np.ndarray) -> np.ndarray:  # noqa: D102
        return -np.asarray(sr.logs_normal(y, self.mu, self.sd, backend="numpy"))

    def pit(self, y: np.ndarray, rng: np.random.Generator) -> np.ndarray:  # noqa: D102
        cdf = stats.norm.cdf(y, self.mu, self.sd)
        if not self.censored:
            return np.asarray(cdf)
        lo, hi = stats.norm.cdf(0.0, self.mu, self.sd), stats.norm.cdf(1.0, self.mu, self.sd)
        return censored_pit(lo, cdf, hi, y, rng)


def _rank_among(pool: np.ndarray, value: float) -> int:
    """Rank (1 = best) of ``value`` among ``pool`` plus itself; ties share the best."""
    return 1 + int(np.sum(pool > value))


def _random_rank_hits(true_rank: int, pool_size: int) -> tuple[float, float]:
    """Expected exact and within-2 hit rates of a uniform random rank in ``1..pool_size``."""
    ranks = np.arange(1, pool_size + 1)
    return 1.0 / pool_size, float(np.mean(np.abs(ranks - true_rank) <= 2))


def paper_scale(data: CollaborativeData) -> pd.DataFrame:
    """Per-LLM ``(m, M)`` of the CPP paper's row normalisation, from all observed cells."""
    by_llm = data.scores.groupby("llm", sort=False)["score"]
    return pd.DataFrame({"m": np.minimum(0.0, by_llm.min()), "M": by_llm.max()})


def score_cells(
    test: pd.DataFrame,
    predictive: Predictive,
    *,
    full: CollaborativeData,
    train: CollaborativeData,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Score every hidden cell of one split; one row per cell.

    Parameters
    ----------
    test : pandas.DataFrame
        Hidden cells (``llm``, ``task``, ``score`` in task units).
    predictive : Predictive
        The method's predictive distributions of the same cells, unit scale.
    full : CollaborativeData
        All data (task bounds and the paper's per-LLM normalisation).
    train : CollaborativeData
        What the method saw (the rank pools).
    rng : numpy.random.Generator
        Randomises the PIT at atoms.
    """
    tasks = test["task"].to_numpy()
    y = test["score"].to_numpy(float)
    p = full.to_unit(y, tasks).to_numpy()
    p_hat = np.asarray(predictive.point, dtype=float)
    y_hat = full.from_unit(p_hat, tasks)
    scale = paper_scale(full).reindex(test["llm"])
    m, big_m = scale["m"].to_numpy(), scale["M"].to_numpy()
    span = np.where(big_m > m, big_m - m, np.nan)
    out = pd.DataFrame(
        {
            "llm": test["llm"].to_numpy(),
            "task": tasks,
            "score": y,
            "predicted": y_hat,
            "unit_score": p,
            "unit_predicted": p_hat,
            "paper_error": (y_hat - y) / span,
        }
    )
    for prob in INTERVAL_PROBS:
        lo, hi = predictive.interval(prob)
        tag = f"{round(prob * 100):d}"
        out[f"covered_{tag}"] = (p >= lo) & (p <= hi)
        out[f"width_{tag}"] = hi - lo
        out[f"lower_{tag}"] = lo
        out[f"upper_{tag}"] = hi
    out["crps"] = predictive.crps(p)
    out["lpd"] = predictive.log_density(p)
    out["pit"] = predictive.pit(p, rng)
    out["predictive_sd"] = np.asarray(predictive.sd, dtype=float)

    pools = train.unit_scores().groupby(train.scores["task"].to_numpy()).apply(np.asarray)
    ranks = np.zeros((len(out), 3), dtype=int)
    for i, (task, truth, guess) in enumerate(zip(tasks, p, p_hat, strict=True)):
        pool = pools.get(task, np.array([]))
        ranks[i] = (_rank_among(pool, truth), _rank_among(pool, guess), len(pool) + 1)
    out["true_rank"], out["predicted_rank"], out["pool_size"] = ranks.T
    hits = [_random_rank_hits(int(r), int(n)) for r, n in ranks[:, [0, 2]]]
    out["rank_exact_random"] = [h[0] for h in hits]
    out["rank_within2_random"] = [h[1] for h in hits]
    return out


def _spearman_by_task(cells: pd.DataFrame) -> float:
    values = []
    for _, group in cells.groupby("task", sort=False):
        if (
            len(group) < 3
            or group["unit_score"].nunique() < 2
            or group["unit_predicted"].nunique() < 2
        ):
            continue
        values.append(stats.spearmanr(group["unit_predicted"], group["unit_score"]).statistic)
    return float(np.mean(values)) if values else float("nan")


def _sd_error_spearman(cells: pd.DataFrame) -> float:
    sd = cells["predictive_sd"].to_numpy(float)
    err = np.abs(cells["unit_predicted"].to_numpy(float) - cells["unit_score"].to_numpy(float))
    if (
        len(cells) < 3
        or np.ptp(sd) <= 1e-12 * max(1.0, float(np.max(np.abs(sd))))
        or np.ptp(err) == 0
    ):
        return float("nan")
    return float(stats.spearmanr(sd, err).statistic)


#: Aggregated metrics, in report order, with whether higher is better.
METRICS: dict[str, bool] = {
    "mse_unit": False,
    "mae_unit": False,
    "rmse_unit": False,
    "rmse": False,
    "mae": False,
    "mdape": False,
    "medae": False,
    "paper_mse": False,
    "paper_l1": False,
    "rank_acc": True,
    "rank_acc_random": True,
    "rank_within2": True,
    "rank_within2_random": True,
    "spearman": True,
    "coverage_50": True,
    "coverage_80": True,
    "coverage_90": True,
    "coverage_95": True,
    "width_90": False,
    "median_width_90_points": False,
    "sd_error_spearman": True,
    "crps": False,
    "lpd": True,
    "n_cells": True,
}


def aggregate(cells: pd.DataFrame) -> dict[str, float]:
    """Aggregate one split's per-cell scores into the metrics of :data:`METRICS`."""
    err_unit = cells["unit_predicted"] - cells["unit_score"]
    err = cells["predicted"] - cells["score"]
    nonzero = cells["score"] != 0
    ape = (err[nonzero].abs() / cells.loc[nonzero, "score"].abs()) * 100.0
    rank_diff = (cells["predicted_rank"] - cells["true_rank"]).abs()
    out = {
        "mse_unit": float(np.mean(err_unit**2)),
        "mae_unit": float(np.mean(np.abs(err_unit))),
        "rmse_unit": float(np.sqrt(np.mean(err_unit**2))),
        "rmse": float(np.sqrt(np.mean(err**2))),
        "mae": float(np.mean(np.abs(err))),
        "mdape": float(np.median(ape)) if len(ape) else float("nan"),
        "medae": float(np.median(np.abs(err_unit))) * POINTS,
        "paper_mse": float(np.nanmean(cells["paper_error"] ** 2)),
        "paper_l1": float(np.nanmean(np.abs(cells["paper_error"]))),
        "rank_acc": float(np.mean(rank_diff == 0)),
        "rank_acc_random": float(cells["rank_exact_random"].mean()),
        "rank_within2": float(np.mean(rank_diff <= 2)),
        "rank_within2_random": float(cells["rank_within2_random"].mean()),
        "spearman": _spearman_by_task(cells),
    }
    for prob in INTERVAL_PROBS:
        tag = f"{round(prob * 100):d}"
        out[f"coverage_{tag}"] = float(cells[f"covered_{tag}"].mean())
    out["width_90"] = float(cells["width_90"].mean())
    out["median_width_90_points"] = float(cells["width_90"].median()) * POINTS
    out["sd_error_spearman"] = _sd_error_spearman(cells)
    out["crps"] = float(cells["crps"].mean())
    out["lpd"] = float(cells["lpd"].mean())
    out["n_cells"] = float(len(cells))
    return out
