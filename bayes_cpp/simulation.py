"""Simulate collaborative data with known ground truth.

The generative process mirrors :mod:`bayes_cpp.graph` (families, categories,
design-factor regressions, chance levels, bounded scores) so tests and
benchmarks can check parameter recovery and calibration, and adds a
missingness pattern with long-tailed coverage like real leaderboards (a few
LLMs and tasks are evaluated everywhere, most rarely).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
import xarray as xr
from scipy.special import expit

from bayes_cpp import dims, equations
from bayes_cpp.data import CollaborativeData
from bayes_cpp.exceptions import DataError

__all__ = ["Simulation", "simulate"]


@dataclass(frozen=True)
class Simulation:
    """Simulated data with the truth that generated it.

    Attributes
    ----------
    data : CollaborativeData
        The observed cells with LLM and task tables (what a user would have).
    truth : xarray.Dataset
        ``mean`` and ``score`` (every cell, observed or not, in task units),
        ``unit_mean``, ``eta``, ``observed`` (bool), ``llm_bias``, ``task_bias``,
        ``llm_loading``, ``task_loading``, ``sigma`` and the scalars ``intercept``.
    random_seed : int
        The seed used.
    """

    data: CollaborativeData
    truth: xr.Dataset
    random_seed: int

    def heldout(self) -> pd.DataFrame:
        """The unobserved cells as a long frame with true ``score`` and ``mean``."""
        t = self.truth
        frame = t[["score", "mean"]].to_dataframe().reset_index()
        observed = t["observed"].to_dataframe().reset_index()["observed"].to_numpy()
        return frame.loc[~observed].reset_index(drop=True)


def _sizes(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
    """Assign n items to k groups with Zipf-like sizes, every group non-empty."""
    k = min(k, n)
    weights = 1.0 / np.arange(1, k + 1) ** 0.8
    groups = np.concatenate([np.arange(k), rng.choice(k, size=n - k, p=weights / weights.sum())])
    return rng.permutation(groups)


def simulate(
    n_llms: int = 60,
    n_tasks: int = 20,
    *,
    rank: int = 2,
    n_families: int = 12,
    n_categories: int = 4,
    density: float = 0.5,
    coverage: Literal["long_tail", "uniform"] = "long_tail",
    noise: float = 0.03,
    noise_scaling: Literal["constant", "binomial"] = "binomial",
    noise_floor: float = 0.005,
    missing_factor_rate: float = 0.1,
    score_range: tuple[float, float] = (0.0, 100.0),
    random_seed: int = 0,
) -> Simulation:
    """Draw a synthetic collaborative dataset and its ground truth.

    Parameters
    ----------
    n_llms, n_tasks : int
        Matrix size.
    rank : int
        True number of latent dimensions.
    n_families, n_categories : int
        Number of LLM families and task categories (Zipf-like group sizes).
    density : float
        Target share of observed cells (every LLM and task keeps at least one).
    coverage : {"long_tail", "uniform"}
        Missingness pattern: long-tailed popularity of LLMs and tasks, or
        uniform at random.
    noise : float
        Typical per-task noise sd on the 0-1 scale (at a mean of 0.5 under
        binomial scaling).
    noise_scaling : {"constant", "binomial"}
        How a cell's noise sd depends on its mean, as in
        :class:`bayes_cpp.spec.ModelSpec` (the default model uses binomial).
    noise_floor : float
        Noise sd left at the bounds under binomial scaling.
    missing_factor_rate : float
        Share of LLM design factors (tokens, parameters) removed.
    score_range : tuple of float
        Task units (all tasks share them).
    random_seed : int
        Seed; the same seed gives the same dataset.

    Returns
    -------
    Simulation

    Examples
    --------
    >>> sim = simulate(30, 8, random_seed=1)
    >>> sim.data.n_llms, sim.data.n_tasks
    (30, 8)
    >>> bool(sim.truth["observed"].sum() == sim.data.n_observed)
    True
    """
    if n_llms < 2 or n_tasks < 2:
        raise DataError([f"simulate needs at least 2 LLMs and 2 tasks, got {n_llms} x {n_tasks}"])
    if not 0.0 < density <= 1.0:
        raise DataError([f"density must be in (0, 1], not {density}"])
    if noise_scaling not in ("constant", "binomial") or not 0.0 <= noise_floor < noise:
        raise DataError(
            [
                f"noise_scaling must be 'constant' or 'binomial' and 0 <= noise_floor < noise; "
                f"got {noise_scaling!r}, floor {noise_floor}, noise {noise}"
            ]
        )
    rng = np.random.default_rng(random_seed)
    llm_names = [f"llm-{i:03d}" for i in range(n_llms)]
    task_names = [f"task-{j:02d}" for j in range(n_tasks)]

    # LLM design: log parameters by family, tokens correlated with parameters.
    fam = _sizes(rng, n_llms, n_families)
    n_fam = int(fam.max()) + 1
    fam_size = rng.normal(np.log(7.0), 1.0, n_fam)
    log_params = fam_size[fam] + rng.normal(0.0, 1.0, n_llms)
    log_tokens = np.log(300.0) + 0.5 * (log_params - np.log(7.0)) + rng.normal(0.0, 0.8, n_llms)
    x = np.column_stack([log_params, log_tokens])
    xs = (x - x.mean(0)) / x.std(0)

    cat = _sizes(rng, n_tasks, n_categories)
    n_cat = int(cat.max()) + 1
    shots = rng.choice([0, 1, 3, 5, 10, 25], size=n_tasks)
    fmt = rng.choice(["free-form", "4 choice", "binary choice"], size=n_tasks, p=[0.4, 0.4, 0.2])
    chance = np.select([fmt == "4 choice", fmt == "binary choice"], [0.25, 0.5], 0.0)
    ws = (np.log1p(shots) - np.log1p(shots).mean()) / max(np.log1p(shots).std(), 1e-9)

    intercept = rng.normal(0.0, 0.5)
    family_bias = rng.normal(0.0, 0.5, n_fam)
    llm_bias = family_bias[fam] + xs @ np.array([0.6, 0.3]) + rng.normal(0.0, 0.3, n_llms)
    category_bias = rng.normal(0.0, 0.6, n_cat)
    task_bias = category_bias[cat] + 0.1 * ws + rng.normal(0.0, 0.4, n_tasks)
    fam_load = rng.normal(0.0, 1.0, (n_fam, rank))
    llm_loading = (
        np.sqrt(0.5) * fam_load[fam]
        + np.sqrt(0.5) * rng.normal(0.0, 1.0, (n_llms, rank))
        + xs @ rng.normal(0.0, 0.3, (2, rank))
    )
    cat_load = rng.normal(0.0, 1.0, (n_cat, rank))
    task_loading = 0.5 * (
        np.sqrt(0.5) * cat_load[cat] + np.sqrt(0.5) * rng.normal(0.0, 1.0, (n_tasks, rank))
    )
    sigma = noise * np.exp(rng.normal(0.0, 0.2, n_tasks))

    eta = intercept + llm_bias[:, None] + task_bias[None, :] + llm_loading @ task_loading.T
    unit_mean = equations.link(eta, chance[None, :])
    sd = equations.cell_sd(sigma[None, :], unit_mean, noise_floor, noise_scaling)
    unit_score = np.clip(unit_mean + rng.normal(0.0, 1.0, eta.shape) * sd, 0.0, 1.0)
    lo, hi = score_range
    mean = equations.from_unit(unit_mean, lo, hi, True)
    score = np.round(equations.from_unit(unit_score, lo, hi, True), 2)

    observed = _missingness(rng, n_llms, n_tasks, density, coverage)

    params_b = np.exp(log_params)
    tokens_b = np.exp(log_tokens)
    drop_p = rng.random(n_llms) < missing_factor_rate
    drop_t = rng.random(n_llms) < missing_factor_rate
    llms = pd.DataFrame(
        {
            "family": [f"family-{f:02d}" for f in fam],
            "params_b": np.where(drop_p, np.nan, np.round(params_b, 3)),
            "tokens_b": np.where(drop_t, np.nan, np.round(tokens_b, 1)),
        },
        index=pd.Index(llm_names, name=dims.LLM),
    )
    tasks = pd.DataFrame(
        {
            "category": [f"category-{c}" for c in cat],
            "lo": lo,
            "hi": hi,
            "higher_is_better": True,
            "chance": chance,
            "shots": shots.astype(float),
            "output_format": fmt,
        },
        index=pd.Index(task_names, name=dims.TASK),
    )
    li, ti = np.nonzero(observed)
    long = pd.DataFrame(
        {
            "llm": np.asarray(llm_names)[li],
            "task": np.asarray(task_names)[ti],
            "score": score[li, ti],
        }
    )
    data = CollaborativeData(
        long,
        llms,
        tasks,
        name=f"simulated(seed={random_seed})",
        notes=[f"simulated: rank {rank}, {n_fam} families, {n_cat} categories, seed {random_seed}"],
    )
    cell = (dims.LLM, dims.TASK)
    truth = xr.Dataset(
        {
            "mean": (cell, mean),
            "score": (cell, score),
            "unit_mean": (cell, unit_mean),
            "eta": (cell, eta),
            "observed": (cell, observed),
            "intercept": ((), intercept),
            "llm_bias": (dims.LLM, llm_bias),
            "task_bias": (dims.TASK, task_bias),
            "llm_loading": ((dims.LLM, dims.LATENT), llm_loading),
            "task_loading": ((dims.TASK, dims.LATENT), task_loading),
            "sigma": (dims.TASK, sigma),
        },
        coords={dims.LLM: llm_names, dims.TASK: task_names, dims.LATENT: np.arange(rank)},
    )
    return Simulation(data=data, truth=truth, random_seed=random_seed)


def _missingness(
    rng: np.random.Generator, n_llms: int, n_tasks: int, density: float, coverage: str
) -> np.ndarray:
    if coverage == "uniform":
        observed = rng.random((n_llms, n_tasks)) < density
    elif coverage == "long_tail":
        # Popularity on the logit scale; a shift is solved so the mean density
        # hits the target.
        pop = (
            rng.standard_exponential(n_llms)[:, None] * 1.8
            + rng.standard_exponential(n_tasks) * 1.0
        )
        lo_s, hi_s = -20.0, 20.0
        for _ in range(60):
            mid = 0.5 * (lo_s + hi_s)
            if expit(pop + mid).mean() < density:
                lo_s = mid
            else:
                hi_s = mid
        observed = rng.random((n_llms, n_tasks)) < expit(pop + 0.5 * (lo_s + hi_s))
    else:
        raise DataError([f"coverage must be 'long_tail' or 'uniform', not {coverage!r}"])
    # Every LLM and task keeps at least one observation.
    for i in np.flatnonzero(~observed.any(1)):
        observed[i, rng.integers(n_tasks)] = True
    for j in np.flatnonzero(~observed.any(0)):
        observed[rng.integers(n_llms), j] = True
    return observed
