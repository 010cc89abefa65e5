"""Split-conformal predictive distributions around a point prediction.

A point baseline's calibration residuals ``r_i = (y_i - y_hat_i) / s(y_hat_i)``
(scaled, see :func:`residual_scale`) define one distribution of the scaled
error. :class:`ResidualDistribution` is the continuous distribution whose CDF
passes through the conformal plotting positions ``F(r_(j)) = j / (n + 1)`` of
the sorted residuals, linear in between, with exponential tails holding the
remaining ``1 / (n + 1)`` beyond each extreme residual. Its ``q``-quantile at
``q = j / (n + 1)`` is exactly the order statistic ``r_(j)`` that
split-conformal prediction uses, so the equal-tailed ``prob`` interval
``[Q((1 - prob) / 2), Q((1 + prob) / 2)]`` has the split-conformal coverage
guarantee (up to the ``1 / (n + 1)`` of interpolating between order
statistics) for a new residual exchangeable with the calibration ones.

:class:`ScaledResidualPredictive` shifts and scales it to each cell
(``y = y_hat + s(y_hat) e``) and censors it to [0, 1] like the model's
draws: intervals, CDF (PIT), density (LPD) and CRPS all come from that one
distribution, so the interval metrics and the proper scores are consistent.
Signed residuals, not absolute ones: a baseline biased near a bound gets
asymmetric intervals.

Exchangeability is the assumption: residuals of cells hidden the way the
calibration cells were hidden. The harness calibrates on K-fold residuals of
random training cells (:class:`bayes_cpp.evaluation.methods.ConformalMethod`),
which matches random-cell protocols and per-LLM folds, not whole held-out
LLMs (CPP-0), whose errors are larger.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scoringrules as sr

from bayes_cpp.evaluation.metrics import censored_pit
from bayes_cpp.exceptions import DataError

__all__ = [
    "SCALE_FLOOR",
    "ResidualDistribution",
    "ScaledResidualPredictive",
    "residual_scale",
]

#: ``s(p) = sqrt(p (1 - p) + SCALE_FLOOR^2)``: errors shrink towards the bounds
#: of the unit scale (as the model's binomial-like noise does) but never to 0.
SCALE_FLOOR = 0.05
#: Quantile levels whose values form the ensemble the CRPS is computed from.
_CRPS_LEVELS = 400
#: Share of residuals on each side whose excess sets an exponential tail's scale.
_TAIL_SHARE = 0.1


def residual_scale(p: np.ndarray, floor: float = SCALE_FLOOR) -> np.ndarray:
    """The residual scale ``s(p) = sqrt(p (1 - p) + floor^2)`` of a unit-scale prediction.

    Examples
    --------
    >>> residual_scale(np.array([0.5, 0.0])).round(4).tolist()
    [0.5025, 0.05]
    """
    q = np.clip(np.asarray(p, dtype=float), 0.0, 1.0)
    return np.asarray(np.sqrt(q * (1.0 - q) + floor**2))


def _tail_scale(excess: np.ndarray, spread: float) -> float:
    """Mean excess beyond the tail threshold (exponential-tail scale), never 0."""
    value = float(np.mean(excess)) if len(excess) else 0.0
    return max(value, 1e-3 * spread, 1e-12)


@dataclass(frozen=True)
class ResidualDistribution:
    """The conformal distribution of calibration residuals (see the module docstring).

    Build it with :meth:`from_residuals`.

    Attributes
    ----------
    knots : ndarray
        Distinct residuals, sorted.
    levels : ndarray
        CDF at the knots: ``#(r <= knot) / (n + 1)``.
    tail_lo, tail_hi : float
        Scales of the exponential tails below the smallest and above the
        largest residual.
    n : int
        Number of calibration residuals.

    Examples
    --------
    >>> dist = ResidualDistribution.from_residuals(np.arange(1.0, 20.0))
    >>> float(dist.ppf(np.array([0.5]))[0])  # r_(10) of 19 residuals: level 10/20
    10.0
    """

    knots: np.ndarray
    levels: np.ndarray
    tail_lo: float
    tail_hi: float
    n: int
    _sd: float = field(default=float("nan"), repr=False)

    @classmethod
    def from_residuals(cls, residuals: np.ndarray) -> ResidualDistribution:
        """The distribution of ``residuals`` (at least two distinct finite values)."""
        r = np.sort(np.asarray(residuals, dtype=float).ravel())
        r = r[np.isfinite(r)]
        knots, counts = np.unique(r, return_counts=True)
        if len(knots) < 2:
            raise DataError(
                [f"conformal calibration needs at least two distinct residuals, got {len(r)}"]
            )
        n = len(r)
        levels = np.cumsum(counts) / (n + 1.0)
        spread = float(knots[-1] - knots[0])
        m = max(1, int(np.ceil(_TAIL_SHARE * n)))
        low, high = r[:m], r[-m:]
        tail_lo = _tail_scale(low[-1] - low, spread)
        tail_hi = _tail_scale(high - high[0], spread)
        dist = cls(knots, levels, tail_lo, tail_hi, n)
        grid = dist.ppf((np.arange(_CRPS_LEVELS) + 0.5) / _CRPS_LEVELS)
        object.__setattr__(dist, "_sd", float(np.std(grid)))
        return dist

    @property
    def sd(self) -> float:
        """Standard deviation (from the quantile grid the CRPS uses)."""
        return self._sd

    def cdf(self, x: np.ndarray) -> np.ndarray:
        """Cumulative distribution function."""
        x = np.asarray(x, dtype=float)
        k, lv = self.knots, self.levels
        out = np.interp(x, k, lv)
        below, above = x < k[0], x > k[-1]
        out = np.where(below, lv[0] * np.exp(np.minimum(x - k[0], 0.0) / self.tail_lo), out)
        tail = (1.0 - lv[-1]) * np.exp(-np.maximum(x - k[-1], 0.0) / self.tail_hi)
        return np.asarray(np.where(above, 1.0 - tail, out))

    def ppf(self, q: np.ndarray) -> np.ndarray:
        """Quantile function (``q`` in (0, 1))."""
        q = np.clip(np.asarray(q, dtype=float), 1e-15, 1.0 - 1e-15)
        k, lv = self.knots, self.levels
        out = np.interp(q, lv, k)
        low = k[0] + self.tail_lo * np.log(np.minimum(q / lv[0], 1.0))
        high = k[-1] - self.tail_hi * np.log(np.minimum((1.0 - q) / (1.0 - lv[-1]), 1.0))
        return np.asarray(np.where(q < lv[0], low, np.where(q > lv[-1], high, out)))

    def logpdf(self, x: np.ndarray) -> np.ndarray:
        """Log density (piecewise constant between knots, exponential in the tails)."""
        x = np.asarray(x, dtype=float)
        k, lv = self.knots, self.levels
        seg = np.clip(np.searchsorted(k, x, side="left") - 1, 0, len(k) - 2)
        inner = np.log(np.diff(lv)[seg]) - np.log(np.diff(k)[seg])
        low = np.log(lv[0] / self.tail_lo) + (x - k[0]) / self.tail_lo
        high = np.log((1.0 - lv[-1]) / self.tail_hi) - (x - k[-1]) / self.tail_hi
        return np.asarray(np.where(x < k[0], low, np.where(x > k[-1], high, inner)))


@dataclass(frozen=True)
class ScaledResidualPredictive:
    """``y = center + scale * e`` with ``e`` a :class:`ResidualDistribution`, censored to [0, 1].

    Parameters
    ----------
    center : ndarray, shape (n,)
        The point prediction (unit scale); it is also :attr:`point`, so point
        metrics equal the underlying baseline's.
    scale : ndarray, shape (n,)
        Per-cell residual scale (:func:`residual_scale` of ``center``).
    residuals : ResidualDistribution
        The scaled calibration residuals.
    """

    center: np.ndarray
    scale: np.ndarray
    residuals: ResidualDistribution

    @property
    def point(self) -> np.ndarray:  # noqa: D102
        return np.asarray(self.center, dtype=float)

    def _value(self, q: np.ndarray) -> np.ndarray:
        """Censored quantiles ``(n, len(q))``."""
        e = self.residuals.ppf(np.asarray(q, dtype=float))
        return np.clip(self.center[:, None] + self.scale[:, None] * e[None, :], 0.0, 1.0)

    def interval(self, prob: float) -> tuple[np.ndarray, np.ndarray]:  # noqa: D102
        bounds = self._value(np.array([(1.0 - prob) / 2.0, (1.0 + prob) / 2.0]))
        return bounds[:, 0], bounds[:, 1]

    def crps(self, y: np.ndarray) -> np.ndarray:  # noqa: D102
        ensemble = self._value((np.arange(_CRPS_LEVELS) + 0.5) / _CRPS_LEVELS)
        return np.asarray(sr.crps_ensemble(y, ensemble, m_axis=-1, backend="numpy"))

    def log_density(self, y: np.ndarray) -> np.ndarray:  # noqa: D102
        e = (np.asarray(y, dtype=float) - self.center) / self.scale
        return np.asarray(self.residuals.logpdf(e) - np.log(self.scale))

    def pit(self, y: np.ndarray, rng: np.random.Generator) -> np.ndarray:  # noqa: D102
        def cdf(v: np.ndarray | float) -> np.ndarray:
            return self.residuals.cdf((np.asarray(v, dtype=float) - self.center) / self.scale)

        return censored_pit(cdf(0.0), cdf(y), cdf(1.0), np.asarray(y, dtype=float), rng)

    @property
    def sd(self) -> np.ndarray:  # noqa: D102
        return np.asarray(self.scale * self.residuals.sd)
