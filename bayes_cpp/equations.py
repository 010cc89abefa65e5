"""The model's equations, written once for numpy and PyTensor alike.

The graph (:mod:`bayes_cpp.graph`, PyTensor tensors), the predictor
(:mod:`bayes_cpp.predictor`, numpy draws) and the simulator
(:mod:`bayes_cpp.simulation`) all call these functions, so the link, the noise
and the unit scale cannot drift apart. Functions that need an elementwise
``exp`` or ``sigmoid`` take ``math``: :data:`NUMPY` (default) or
:func:`tensor_math` for PyTensor; the rest use operators only and accept
either kind of array. ``tests/test_equations.py`` holds both versions equal.

Unit scale: a score ``y`` of a task with bounds ``lo..hi`` is
``p = (y - lo) / (hi - lo)``, flipped (``1 - p``) when lower is better, so 1 is
always best.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "NUMPY",
    "Math",
    "cell_loglik",
    "cell_sd",
    "chance_floor",
    "from_unit",
    "link",
    "noisy_scores",
    "pointwise_loglik",
    "task_sigma",
    "tensor_math",
    "to_unit",
]


@dataclass(frozen=True)
class Math:
    """The elementwise functions an equation needs, for one array library."""

    exp: Any
    sigmoid: Any


def _sigmoid(x: Any) -> Any:
    """``scipy.special.expit`` in numpy (``tests/test_equations.py`` holds them equal).

    Importing SciPy costs a few hundred milliseconds of a forecast's start-up;
    ``exp(-|x|)`` never overflows, and each branch is the accurate one for its sign.
    """
    e = np.exp(-np.abs(x))
    return np.where(np.asarray(x) >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


#: numpy versions.
NUMPY = Math(exp=np.exp, sigmoid=_sigmoid)


def tensor_math() -> Math:
    """PyTensor versions (imported lazily: the predictor never needs PyTensor)."""
    import pytensor.tensor as pt

    return Math(exp=pt.exp, sigmoid=pt.sigmoid)


def link(eta: Any, chance: Any, math: Math = NUMPY) -> Any:
    """Mean unit score: the chance level plus the rest of the range scaled by a sigmoid.

    ``chance + (1 - chance) * sigmoid(eta)``.

    Examples
    --------
    >>> float(link(0.0, 0.25))
    0.625
    """
    return chance + (1.0 - chance) * math.sigmoid(eta)


def task_sigma(log_excess: Any, noise_floor: float, math: Math = NUMPY) -> Any:
    """Per-task noise sd: ``noise_floor + exp(log_excess)``.

    ``log_excess ~ Normal(noise_log_mu, noise_log_sigma)`` across tasks. The
    floor stops a task with few scores from being fitted exactly (noise to
    zero: a funnel NUTS cannot cross).

    Examples
    --------
    >>> float(task_sigma(0.0, 0.005))
    1.005
    """
    return noise_floor + math.exp(log_excess)


def chance_floor(chance: Any, share: Any = None) -> Any:
    """The lower asymptote of a task's mean: its chance level, or ``share`` of it.

    ``share`` is the learned share of spec ``chance_share`` (None: the hard floor).
    Operators only (numpy and PyTensor).

    Examples
    --------
    >>> chance_floor(0.25), chance_floor(0.25, 0.8)
    (0.25, 0.2)
    """
    return chance if share is None else share * chance


def cell_sd(sigma: Any, mean: Any, noise_floor: float, scaling: str, llm_noise: Any = None) -> Any:
    """Noise sd of each cell from its task's ``sigma`` and its mean unit score.

    ``"constant"`` returns ``sigma``; ``"binomial"`` returns
    ``sqrt(floor^2 + (sigma^2 - floor^2) 4 m (1 - m))``: ``sigma`` at
    ``m = 0.5``, ``noise_floor`` at the bounds (see
    :class:`bayes_cpp.spec.ModelSpec`). ``llm_noise`` (the cell's LLM's noise
    multiplier, spec ``llm_noise``) multiplies the result. Operators only, so
    it works on numpy arrays and PyTensor tensors alike.

    Examples
    --------
    >>> round(float(cell_sd(0.1, 0.5, 0.01, "binomial")), 6)
    0.1
    >>> round(float(cell_sd(0.1, 1.0, 0.01, "binomial")), 6)
    0.01
    """
    if scaling == "constant":
        sd = sigma
    else:
        # Adding variances (not sds) keeps the slope in m bounded at the bounds,
        # where 2 sqrt(m (1 - m)) alone would be infinitely steep for NUTS.
        sd = (noise_floor**2 + (sigma**2 - noise_floor**2) * 4.0 * mean * (1.0 - mean)) ** 0.5
    return sd if llm_noise is None else sd * llm_noise


def cell_loglik(
    y: np.ndarray, mean: np.ndarray, sd: np.ndarray, nu: np.ndarray | None
) -> np.ndarray:
    """Log-likelihood of observed unit scores per draw, summed over cells.

    ``mean`` and ``sd`` are ``(S, n)``, ``y`` broadcasts to them, ``nu``
    ``(S,)`` for Student-t noise or None. The ``-log(sd)`` term is kept: the
    sd depends on the parameters under binomial noise.
    """
    return np.asarray(pointwise_loglik(y, mean, sd, nu).sum(axis=1))


def pointwise_loglik(
    y: np.ndarray, mean: np.ndarray, sd: np.ndarray, nu: np.ndarray | None
) -> np.ndarray:
    """Log-likelihood of each observed unit score per draw, ``(S, n)``.

    The terms :func:`cell_loglik` sums; PSIS-LOO needs them cell by cell.
    """
    resid = (y - mean) / sd
    return np.asarray(_std_logpdf(resid, nu) - np.log(sd))


_HALF_LOG_2PI = 0.5 * np.log(2.0 * np.pi)


def _std_logpdf(z: np.ndarray, nu: np.ndarray | None) -> np.ndarray:
    """Standard normal or Student-t log density ``(S, n)``, ``nu`` ``(S,)``.

    Written out because importing ``scipy.stats`` costs most of a second of a
    forecast's start-up; ``tests/test_equations.py`` holds it equal to
    ``scipy.stats.norm.logpdf`` / ``scipy.stats.t.logpdf``.
    """
    if nu is None:
        return -0.5 * z**2 - _HALF_LOG_2PI
    from scipy.special import gammaln  # Student-t fits only

    df = np.asarray(nu, dtype=float)[:, None]
    return (
        gammaln(0.5 * (df + 1.0))
        - gammaln(0.5 * df)
        - 0.5 * np.log(df * np.pi)
        - 0.5 * (df + 1.0) * np.log1p(z**2 / df)
    )


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


def to_unit(values: Any, lo: Any, hi: Any, higher_is_better: Any) -> np.ndarray:
    """Scores in task units to the unit scale (1 = best); broadcasts like numpy.

    Examples
    --------
    >>> to_unit([25.0, 75.0], 0.0, 100.0, [True, False]).tolist()
    [0.25, 0.25]
    """
    p = (np.asarray(values, dtype=float) - lo) / (np.asarray(hi) - lo)
    return np.asarray(np.where(higher_is_better, p, 1.0 - p))


def from_unit(values: Any, lo: Any, hi: Any, higher_is_better: Any) -> np.ndarray:
    """Inverse of :func:`to_unit`.

    Examples
    --------
    >>> from_unit([0.25, 0.25], 0.0, 100.0, [True, False]).tolist()
    [25.0, 75.0]
    """
    p = np.asarray(values, dtype=float)
    p = np.where(higher_is_better, p, 1.0 - p)
    return np.asarray(lo + p * (np.asarray(hi) - lo))
