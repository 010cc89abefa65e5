"""Per-draw Gaussian priors for a new LLM row or a new task column.

Everything on the way from a newcomer's design to its ``(bias, loading)`` is
linear-Gaussian given one posterior draw: the family (or category) effect,
the regression on standardized factors, missing factors imputed from the
fitted feature network, and the individual offset. So the prior of the new
row is Gaussian per draw, which is what :func:`bayes_cpp.predict.condition_new_row`
needs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bayes_cpp.predict import Draws, NewRowPrior

__all__ = ["Side", "new_row_prior"]


@dataclass(frozen=True)
class Side:
    """Variable names of one side of the model (LLM rows or task columns)."""

    group_bias: str
    group_bias_sigma: str
    group_loading: str
    share: str
    coef_bias: str
    coef_loading: str
    bias_sigma: str
    features: str
    loading_scale: str | None


LLM_SIDE = Side(
    group_bias="family_bias",
    group_bias_sigma="family_bias_sigma",
    group_loading="family_loading_offset",
    share="family_loading_share",
    coef_bias="llm_bias_coef",
    coef_loading="llm_loading_coef",
    bias_sigma="llm_bias_sigma",
    features="llm_x",
    loading_scale=None,
)
TASK_SIDE = Side(
    group_bias="category_bias",
    group_bias_sigma="category_bias_sigma",
    group_loading="category_loading_offset",
    share="category_loading_share",
    coef_bias="task_bias_coef",
    coef_loading="task_loading_coef",
    bias_sigma="task_bias_sigma",
    features="task_x",
    loading_scale="task_loading_sigma",
)


def side_var_names(side: Side, n_features: int) -> list[str]:
    """Posterior variables a newcomer on ``side`` needs."""
    names = [
        side.group_bias,
        side.group_bias_sigma,
        side.group_loading,
        side.share,
        side.coef_bias,
        side.coef_loading,
        side.bias_sigma,
    ]
    if side.loading_scale:
        names.append(side.loading_scale)
    for j in range(n_features):
        names += [
            f"{side.features}_mean_{j}",
            f"{side.features}_coef_{j}",
            f"{side.features}_sd_{j}",
        ]
    return names


def _feature_gaussian(draws: Draws, prefix: str, n_feat: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean ``(S, F)`` and covariance ``(S, F, F)`` of the feature network."""
    s = draws.n_samples
    m = np.zeros((s, n_feat))
    sd = np.ones((s, n_feat))
    c = np.zeros((s, n_feat, n_feat))
    for j in range(n_feat):
        m[:, j] = draws.get(f"{prefix}_mean_{j}", 0.0)
        sd[:, j] = draws.get(f"{prefix}_sd_{j}", 1.0)
        if j and f"{prefix}_coef_{j}" in draws.values:
            c[:, j, :j] = draws.values[f"{prefix}_coef_{j}"]
    a = np.linalg.inv(np.eye(n_feat)[None] - c)
    mean = np.einsum("sij,sj->si", a, m)
    cov = np.einsum("sij,sj,skj->sik", a, sd**2, a)
    return mean, cov


def _imputation(draws: Draws, prefix: str, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Conditional mean ``(S, F)`` of the features and a ``(S, F, F)`` factor ``L``.

    Observed entries are fixed; missing ones get the Gaussian conditional, so
    ``x = mean + L e`` with ``e ~ N(0, I)``.
    """
    n_feat = x.shape[0]
    s = draws.n_samples
    miss = np.isnan(x)
    mean = np.broadcast_to(np.where(miss, 0.0, x), (s, n_feat)).copy()
    factor = np.zeros((s, n_feat, n_feat))
    if not miss.any():
        return mean, factor
    mu, cov = _feature_gaussian(draws, prefix, n_feat)
    o, m = np.flatnonzero(~miss), np.flatnonzero(miss)
    if len(o):
        soo = cov[:, o][:, :, o]
        smo = cov[:, m][:, :, o]
        gain = np.linalg.solve(soo, np.swapaxes(smo, 1, 2)).swapaxes(1, 2)
        mean[:, m] = mu[:, m] + np.einsum("smo,so->sm", gain, x[o][None] - mu[:, o])
        cond = cov[:, m][:, :, m] - np.einsum("smo,sko->smk", gain, smo)
    else:
        mean[:, m] = mu[:, m]
        cond = cov
    chol = np.linalg.cholesky(cond + 1e-9 * np.eye(len(m))[None])
    factor[np.ix_(np.arange(s), m, m)] = chol
    return mean, factor


def new_row_prior(
    draws: Draws,
    side: Side,
    *,
    group: int | None,
    x: np.ndarray,
    rank: int,
) -> NewRowPrior:
    """The per-draw Gaussian prior of a newcomer's ``(bias, loading)``.

    Parameters
    ----------
    draws : Draws
        Posterior draws (with the variables of :func:`side_var_names`).
    side : Side
        ``LLM_SIDE`` or ``TASK_SIDE``.
    group : int or None
        Index of a known family/category, or None for a new one (drawn from
        the population).
    x : numpy.ndarray
        Standardized design factors ``(F,)``, NaN where unknown.
    rank : int
        Number of latent dimensions.
    """
    s = draws.n_samples
    has_group = side.group_bias in draws.values
    has_share = side.share in draws.values
    x_mean, x_factor = _imputation(draws, side.features, x)
    beta = draws.get(side.coef_bias) if side.coef_bias in draws.values else np.zeros((s, len(x)))
    if rank:
        big_b = draws.values.get(side.coef_loading, np.zeros((s, len(x), rank)))
    share = draws.get(side.share, 0.0) if has_share else np.zeros(s)
    bias_sigma = draws.get(side.bias_sigma)
    scale = draws.get(side.loading_scale) if side.loading_scale else np.ones(s)

    mean = np.zeros((s, 1 + rank))
    mean[:, 0] = np.einsum("sf,sf->s", x_mean, beta) if len(x) else 0.0
    if rank:
        u = np.einsum("sf,sfk->sk", x_mean, big_b) if len(x) else np.zeros((s, rank))
    if group is not None and has_group:
        mean[:, 0] += draws.values[side.group_bias][:, group]
        if rank and has_share:
            u = u + np.sqrt(share)[:, None] * draws.values[side.group_loading][:, group, :]
    if rank:
        mean[:, 1:] = scale[:, None] * u

    def sample_centered(rng: np.random.Generator) -> np.ndarray:
        out = np.zeros((s, 1 + rank))
        out[:, 0] = bias_sigma * rng.standard_normal(s)
        e = np.einsum("sij,sj->si", x_factor, rng.standard_normal((s, len(x)))) if len(x) else None
        if e is not None:
            out[:, 0] += np.einsum("sf,sf->s", e, beta)
        if group is None and has_group:
            out[:, 0] += draws.get(side.group_bias_sigma) * rng.standard_normal(s)
        if rank:
            z = np.sqrt(1.0 - share)[:, None] * rng.standard_normal((s, rank))
            if group is None and has_share:
                z = z + np.sqrt(share)[:, None] * rng.standard_normal((s, rank))
            if e is not None:
                z = z + np.einsum("sf,sfk->sk", e, big_b)
            out[:, 1:] = scale[:, None] * z
        return out

    return NewRowPrior(mean=mean, sample_centered=sample_centered)
