"""Posterior predictions and forecasts, computed from posterior draws in numpy.

Known cells reuse the sampled ``intercept``, ``llm_bias``, ``task_bias``,
``llm_loading``, ``task_loading`` and ``sigma``. A new LLM (or task) gets, per
posterior draw, a Gaussian prior for its row ``(bias, loading)`` implied by the
hierarchy and its design factors (a new family or category adds its
population variance; missing factors are imputed from the fitted feature
network). Observed scores of the newcomer are conditioned on per draw with
elliptical slice sampling, which is exact for a Gaussian prior times any
likelihood: no refit of the rest of the model is needed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr
from scipy import stats
from scipy.special import expit

from bayes_cpp import dims

__all__ = [
    "Draws",
    "NewRowPrior",
    "cell_loglik",
    "cell_means",
    "cell_sd",
    "condition_new_row",
    "noisy_scores",
]


@dataclass(frozen=True)
class Draws:
    """Posterior draws flattened to one sample axis ``S = chain * draw``."""

    n_chain: int
    n_draw: int
    values: dict[str, np.ndarray]

    @classmethod
    def from_posterior(cls, posterior: xr.Dataset, names: list[str]) -> Draws:
        """Extract ``names`` (those present) with the sample axis first."""
        n_chain, n_draw = posterior.sizes["chain"], posterior.sizes["draw"]
        values = {}
        for name in names:
            if name in posterior:
                da = posterior[name]
                order = ["chain", "draw", *[d for d in da.dims if d not in dims.SAMPLE_DIMS]]
                arr = da.transpose(*order).to_numpy()
                values[name] = arr.reshape(n_chain * n_draw, *arr.shape[2:])
        return cls(n_chain, n_draw, values)

    @property
    def n_samples(self) -> int:
        """Number of flattened samples."""
        return self.n_chain * self.n_draw

    def get(self, name: str, default: float | None = None) -> np.ndarray:
        """Draws of ``name``; a scalar default broadcast to ``(S,)`` if absent."""
        if name in self.values:
            return self.values[name]
        if default is None:
            raise KeyError(name)
        return np.full(self.n_samples, default)

    def unflatten(self, arr: np.ndarray) -> np.ndarray:
        """Reshape a leading ``S`` axis back into ``(chain, draw)``."""
        return arr.reshape(self.n_chain, self.n_draw, *arr.shape[1:])


def link(eta: np.ndarray, chance: np.ndarray) -> np.ndarray:
    """Mean unit score: chance floor plus the rest scaled by a sigmoid."""
    return chance + (1.0 - chance) * expit(eta)


def cell_means(
    intercept: np.ndarray,
    llm_bias: np.ndarray,
    task_bias: np.ndarray,
    llm_loading: np.ndarray | None,
    task_loading: np.ndarray | None,
    chance: np.ndarray,
) -> np.ndarray:
    """Mean unit scores on the ``(S, llm, task)`` grid.

    ``llm_bias`` is ``(S, L)``, ``task_bias`` ``(S, T)``, loadings ``(S, L, K)``
    and ``(S, T, K)`` (or None for rank 0), ``chance`` ``(T,)``.
    """
    eta = intercept[:, None, None] + llm_bias[:, :, None] + task_bias[:, None, :]
    if llm_loading is not None and task_loading is not None and llm_loading.shape[-1]:
        eta = eta + np.einsum("slk,stk->slt", llm_loading, task_loading)
    return link(eta, chance[None, None, :])


def cell_sd(sigma: Any, mean: Any, floor: float, scaling: str) -> Any:
    """Noise sd of each cell from its task's ``sigma`` and its mean unit score.

    Works on numpy arrays and PyTensor tensors alike (the graph, the predictor
    and the simulator share it). ``"constant"`` returns ``sigma``;
    ``"binomial"`` returns ``sqrt(floor^2 + (sigma^2 - floor^2) 4 m (1 - m))``:
    ``sigma`` at ``m = 0.5``, ``floor`` at the bounds, see
    :class:`bayes_cpp.spec.ModelSpec`.
    """
    if scaling == "constant":
        return sigma
    # Adding variances (not sds) keeps the slope in m bounded at the bounds,
    # where 2 sqrt(m (1 - m)) alone would be infinitely steep for NUTS.
    return (floor**2 + (sigma**2 - floor**2) * 4.0 * mean * (1.0 - mean)) ** 0.5


def cell_loglik(
    y: np.ndarray, mean: np.ndarray, sd: np.ndarray, nu: np.ndarray | None
) -> np.ndarray:
    """Log-likelihood of observed unit scores per draw, summed over cells.

    ``mean`` and ``sd`` are ``(S, n)``, ``y`` broadcasts to them, ``nu``
    ``(S,)`` for Student-t noise or None. The ``-log(sd)`` term is kept: the
    sd depends on the parameters under binomial noise.
    """
    resid = (y - mean) / sd
    dens = stats.norm.logpdf(resid) if nu is None else stats.t.logpdf(resid, df=nu[:, None])
    return np.asarray((dens - np.log(sd)).sum(axis=1))


def noisy_scores(
    mean: np.ndarray, sd: np.ndarray, nu: np.ndarray | None, rng: np.random.Generator
) -> np.ndarray:
    """Posterior predictive unit scores, censored to [0, 1] like real scores.

    ``mean`` and ``sd`` are ``(S, L, T)`` (``sd`` may broadcast), ``nu``
    ``(S,)`` or None.
    """
    eps = (
        rng.standard_normal(mean.shape)
        if nu is None
        else rng.standard_t(nu[:, None, None], size=mean.shape)
    )
    return np.clip(mean + eps * sd, 0.0, 1.0)


@dataclass(frozen=True)
class NewRowPrior:
    """Per-draw Gaussian prior of a new row ``theta = (bias, loading_1..K)``.

    ``mean`` is ``(S, 1 + K)``; ``sample(rng)`` returns a centered draw of
    the same shape (linear in standard normals, so the prior is Gaussian).
    """

    mean: np.ndarray
    sample_centered: Callable[[np.random.Generator], np.ndarray]


def condition_new_row(
    prior: NewRowPrior,
    loglik: Callable[[np.ndarray], np.ndarray],
    rng: np.random.Generator,
    *,
    n_iter: int = 40,
    max_shrink: int = 40,
) -> np.ndarray:
    """Condition a new row on its observed scores, one chain per posterior draw.

    Vectorised elliptical slice sampling (Murray, Adams & MacKay 2010):
    ``loglik(theta)`` maps ``(S, 1 + K)`` to ``(S,)``. Starts from a prior
    draw; returns the state after ``n_iter`` transitions.
    """
    theta = prior.mean + prior.sample_centered(rng)
    current = loglik(theta)
    n = theta.shape[0]
    for _ in range(n_iter):
        nu = prior.sample_centered(rng)
        log_y = current + np.log(rng.random(n))
        phi = rng.uniform(0.0, 2.0 * np.pi, n)
        lo, hi = phi - 2.0 * np.pi, phi.copy()
        pending = np.ones(n, dtype=bool)
        f0 = theta - prior.mean
        for _ in range(max_shrink):
            cos, sin = np.cos(phi)[:, None], np.sin(phi)[:, None]
            proposal = prior.mean + f0 * cos + nu * sin
            ll = loglik(proposal)
            accept = pending & (ll > log_y)
            theta[accept] = proposal[accept]
            current[accept] = ll[accept]
            pending &= ~accept
            if not pending.any():
                break
            shrink_lo = pending & (phi < 0)
            lo[shrink_lo] = phi[shrink_lo]
            hi[pending & ~shrink_lo] = phi[pending & ~shrink_lo]
            phi = np.where(pending, rng.uniform(lo, hi), phi)
    return theta
