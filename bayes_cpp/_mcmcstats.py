"""Rank-normalized split r-hat, bulk ESS and tail ESS, vectorized over quantities.

The definitions are arviz-stats' (``rhat(method="rank")``, ``ess(method="bulk")``,
``ess(method="tail", prob=...)``; Vehtari et al. 2021, arXiv 1903.08008), and
``tests/test_mcmcstats.py`` holds these numbers equal to arviz-stats' own. They
exist for speed: arviz-stats loops in Python over quantities and ranks every
quantity three times, so on a default ``cpp-crowdsourced`` fit (about 1,100
identified quantities, 4,000 draws) its three calls took 2.3-3 s of the 3.3 s a
:func:`bayes_cpp.diagnostics.diagnose` took, which every fit, report and
evaluation split pays. Here one compiled pass per quantity sorts its draws once
(the folded ranks come from merging the two sides of that sort), and the
autocovariances are summed lag by lag only as far as Geyer's initial positive
sequence reaches, instead of by an FFT over every lag.
"""

from __future__ import annotations

import numba
import numpy as np
from scipy.special import ndtri

__all__ = ["TAIL_PROB", "rhat_ess"]

#: Quantiles of the tail ESS (the smaller of the two ESS is reported): the 5%
#: and 95% of Vehtari et al. (2021), pinned so ArviZ's global ``stats.ci_prob``
#: cannot change what a report calls tail ESS.
TAIL_PROB = (0.05, 0.95)

_RESOLUTION = float(np.finfo(float).resolution)


@numba.njit(cache=True)
def _average_ranks(
    values: np.ndarray, order: np.ndarray, out: np.ndarray
) -> None:  # pragma: no cover - compiled
    """1-based ranks of ``values`` (visited in sorted ``order``), ties averaged."""
    n = values.shape[0]
    j = 0
    while j < n:
        k = j
        while k + 1 < n and values[order[k + 1]] == values[order[j]]:
            k += 1
        rank = 0.5 * (j + k) + 1.0
        for i in range(j, k + 1):
            out[order[i]] = rank
        j = k + 1


@numba.njit(cache=True)
def _pooled_ranks(
    x: np.ndarray, ranks: np.ndarray, folded_ranks: np.ndarray
) -> None:  # pragma: no cover - compiled
    """Per row of ``x``: average ranks of the values and of ``|value - median|``."""
    n_q, n = x.shape
    folded = np.empty(n)
    merged = np.empty(n, dtype=np.int64)
    for q in range(n_q):
        row = x[q]
        order = np.argsort(row)
        _average_ranks(row, order, ranks[q])
        half = n // 2
        median = row[order[half]] if n % 2 else (row[order[half - 1]] + row[order[half]]) / 2.0
        for i in range(n):
            folded[i] = abs(row[i] - median)
        # |v - median| grows going down from the median and going up from it:
        # merging the two runs of the one sort orders the folded values.
        right = 0
        while right < n and row[order[right]] < median:
            right += 1
        left = right - 1
        for i in range(n):
            take_left = left >= 0 and (right >= n or folded[order[left]] <= folded[order[right]])
            if take_left:
                merged[i] = order[left]
                left -= 1
            else:
                merged[i] = order[right]
                right += 1
        _average_ranks(folded, merged, folded_ranks[q])


@numba.njit(cache=True)
def _acov(centred: np.ndarray, t: int) -> float:  # pragma: no cover - compiled
    """Chain-averaged autocovariance at lag ``t`` (the FFT estimate's, divided by n)."""
    m, n = centred.shape
    total = 0.0
    for c in range(m):
        part = 0.0
        for d in range(n - t):
            part += centred[c, d] * centred[c, d + t]
        total += part / n
    return total / m


@numba.njit(cache=True)
def _ess_rows(x: np.ndarray, out: np.ndarray) -> None:  # pragma: no cover - compiled
    """ESS of each ``(chain, draw)`` block of ``x``, as arviz-stats' ``_ess``.

    The autocovariance at lag t is summed directly, and only for the lags
    Geyer's initial positive sequence visits.
    """
    n_q, m, n = x.shape
    size = m * n
    centred = np.empty((m, n))
    means = np.empty(m)
    rho = np.zeros(n)
    for q in range(n_q):
        block = x[q]
        lo, hi = block[0, 0], block[0, 0]
        for c in range(m):
            total = 0.0
            for d in range(n):
                v = block[c, d]
                total += v
                lo = min(lo, v)
                hi = max(hi, v)
            means[c] = total / n
        if hi - lo < _RESOLUTION:
            out[q] = size
            continue
        for c in range(m):
            for d in range(n):
                centred[c, d] = block[c, d] - means[c]

        mean_var = _acov(centred, 0) * n / (n - 1.0)
        var_plus = mean_var * (n - 1.0) / n
        if m > 1:
            grand = 0.0
            for c in range(m):
                grand += means[c]
            grand /= m
            spread = 0.0
            for c in range(m):
                spread += (means[c] - grand) ** 2
            var_plus += spread / (m - 1)
        rho[:] = 0.0
        even = 1.0
        rho[0] = even
        odd = 1.0 - (mean_var - _acov(centred, 1)) / var_plus
        rho[1] = odd
        t = 1
        while t < (n - 3) and (even + odd) > 0.0:
            even = 1.0 - (mean_var - _acov(centred, t + 1)) / var_plus
            odd = 1.0 - (mean_var - _acov(centred, t + 2)) / var_plus
            if (even + odd) >= 0:
                rho[t + 1] = even
                rho[t + 2] = odd
            t += 2
        max_t = t - 2
        if even > 0:
            rho[max_t + 1] = even
        t = 1
        while t <= max_t - 2:
            if (rho[t + 1] + rho[t + 2]) > (rho[t - 1] + rho[t]):
                rho[t + 1] = (rho[t - 1] + rho[t]) / 2.0
                rho[t + 2] = rho[t + 1]
            t += 2
        total = 0.0
        for i in range(max_t + 1):
            total += rho[i]
        tau = max(-1.0 + 2.0 * total + rho[max_t + 1], 1.0 / np.log10(size))
        out[q] = size / tau
        for i in range(n):
            if np.isnan(rho[i]):
                out[q] = np.nan
                break


def _split_chains(x: np.ndarray) -> np.ndarray:
    """``(q, chain, draw)`` -> ``(q, 2 chain, draw // 2)``: first halves, then second halves."""
    half = x.shape[2] // 2
    return np.ascontiguousarray(np.concatenate((x[:, :, :half], x[:, :, -half:]), axis=1))


def _rhat(z: np.ndarray) -> np.ndarray:
    n = z.shape[2]
    between = n * np.var(np.mean(z, axis=2), axis=1, ddof=1)
    within = np.mean(np.var(z, axis=2, ddof=1), axis=1)
    return np.sqrt((between / within + n - 1) / n)


def _ess(x: np.ndarray) -> np.ndarray:
    out = np.empty(x.shape[0])
    _ess_rows(np.ascontiguousarray(x, dtype=float), out)
    return out


def rhat_ess(
    draws: np.ndarray, *, tail_prob: tuple[float, float] = TAIL_PROB
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rank-normalized r-hat, bulk ESS and tail ESS of every quantity.

    Parameters
    ----------
    draws : numpy.ndarray
        Shape ``(quantity, chain, draw)``.
    tail_prob : (float, float)
        Quantiles whose indicator ESS the tail ESS is the smaller of.

    Returns
    -------
    rhat, ess_bulk, ess_tail : numpy.ndarray
        Each of shape ``(quantity,)``. NaN where a quantity has a NaN draw;
        r-hat is also NaN for a constant quantity (ESS is then the draw count)
        and with fewer than 2 chains; everything is NaN with fewer than 4 draws.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> rhat, bulk, tail = rhat_ess(rng.normal(size=(3, 4, 500)))
    >>> bool((rhat < 1.01).all()), bool((bulk > 1500).all())
    (True, True)
    """
    x = np.asarray(draws, dtype=float)
    n_q, n_chain, n_draw = x.shape
    nan = np.full(n_q, np.nan)
    if n_draw < 4 or n_q == 0:
        return nan, nan.copy(), nan.copy()
    bad = np.isnan(x).any(axis=(1, 2))
    x = np.where(bad[:, None, None], 0.0, x)
    split = _split_chains(x)
    flat = split.reshape(n_q, -1)
    ranks, folded_ranks = np.empty_like(flat), np.empty_like(flat)
    _pooled_ranks(flat, ranks, folded_ranks)
    size = flat.shape[1]
    # Blom's normal scores: (rank - 3/8) / (n - 2 (3/8) + 1).
    z = ndtri((ranks - 0.375) / (size - 0.75 + 1.0)).reshape(split.shape)
    with np.errstate(invalid="ignore", divide="ignore"):
        if n_chain >= 2:
            bulk_r = _rhat(z)
            tail_r = _rhat(ndtri((folded_ranks - 0.375) / (size - 0.75 + 1.0)).reshape(split.shape))
            # arviz-stats' max(bulk, tail): the bulk value unless the tail one is larger.
            rhat = np.where(tail_r > bulk_r, tail_r, bulk_r)
        else:
            rhat = nan.copy()
    ess_bulk = _ess(z)
    quantiles = np.quantile(x.reshape(n_q, -1), tail_prob, axis=1)
    ess_tail = np.minimum(
        *(_ess(_split_chains((x <= qs[:, None, None]).astype(float))) for qs in quantiles)
    )
    rhat[bad] = ess_bulk[bad] = ess_tail[bad] = np.nan
    return rhat, ess_bulk, ess_tail
