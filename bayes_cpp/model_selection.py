"""Choosing the rank (and other spec choices) by PSIS-LOO.

The pointwise log-likelihood comes from the model's equations
(:func:`bayes_cpp.equations.pointwise_loglik` on the prediction engine's cell
means and sds), so it exists for fits by the numba kernel too, which have no
PyMC graph; ELPD itself is arviz-stats' ``loo`` / ``compare``, never
re-implemented. Pareto-k diagnostics are reported as
ArviZ computes them; for per-cell factor models many cells can have high k,
so the ``p_worse``/``dse`` columns should be read with that in mind.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from typing import Any

import arviz_stats as azs
import numpy as np
import pandas as pd
import xarray as xr

from bayes_cpp import dims, equations
from bayes_cpp.data import CollaborativeData
from bayes_cpp.estimator import BayesCPP

__all__ = ["compare_ranks", "loo", "pointwise_log_likelihood"]


def loo(est: BayesCPP) -> Any:
    """PSIS-LOO of a fitted estimator (adds the ``log_likelihood`` group if needed)."""
    est.check_is_fitted()
    idata = est.idata_
    if "log_likelihood" not in idata.children:
        idata["log_likelihood"] = xr.Dataset({dims.SCORE: pointwise_log_likelihood(est)})
    with warnings.catch_warnings():
        # High Pareto-k values are expected for per-cell MF models; they are
        # reported in the result, not as a warning per call.
        warnings.simplefilter("ignore", UserWarning)
        return azs.loo(idata, var_name=dims.SCORE)


def pointwise_log_likelihood(est: BayesCPP) -> xr.DataArray:
    """Log-likelihood of every observed score per posterior draw, ``(chain, draw, obs)``.

    Only the score likelihood: the imputation network's observed features
    have log-likelihood terms too, which LOO must not mix in.
    """
    est.check_is_fitted()
    scores = est.data_.scores
    llms = est.positions(dims.LLM, scores["llm"].astype(str).tolist())
    tasks = est.positions(dims.TASK, scores["task"].astype(str).tolist())
    predictor = est.predictor_
    # Fitted rows only, so the generator is never drawn from.
    mean, sd = predictor.pairs(llms, tasks, np.random.default_rng(0))  # type: ignore[arg-type]
    y = est.data_.unit_scores().to_numpy(float)
    ll = equations.pointwise_loglik(y[None, :], mean, sd, predictor.nu)
    draws = predictor.draws
    return xr.DataArray(
        ll.reshape(draws.n_chain, draws.n_draw, -1),
        dims=("chain", "draw", dims.OBS),
        coords={
            "chain": est.idata_["posterior"]["chain"].values,
            "draw": est.idata_["posterior"]["draw"].values,
        },
    )


def compare_ranks(
    data: CollaborativeData,
    ranks: Iterable[int] = (1, 2, 3),
    *,
    random_seed: int = 0,
    **estimator_params: Any,
) -> pd.DataFrame:
    """Fit one estimator per rank and compare them with ``arviz_stats.compare``.

    Returns ArviZ's comparison table (index ``rank=K``; ``elpd``, ``elpd_diff``,
    ``dse``, ``weight``, ...), best first.

    Examples
    --------
    It fits one model per rank by MCMC (minutes), so it is not run as a doctest
    (``tests/test_slow_fit.py`` runs it):

    >>> import bayes_cpp as bc
    >>> from bayes_cpp.model_selection import compare_ranks
    >>> table = compare_ranks(bc.simulate(30, 8).data, ranks=(1, 2))  # doctest: +SKIP
    >>> list(table.index)  # doctest: +SKIP
    ['rank=2', 'rank=1']
    """
    results = {}
    for rank in ranks:
        est = BayesCPP(rank=rank, random_seed=random_seed, **estimator_params).fit(data)
        loo(est)
        results[f"rank={rank}"] = est.idata_
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return azs.compare(results, var_name=dims.SCORE)
