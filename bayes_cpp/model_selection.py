"""Choosing the rank (and other spec choices) by PSIS-LOO.

Thin wrappers over ``pm.compute_log_likelihood`` and arviz-stats ``loo`` /
``compare``: we never re-implement ELPD. Pareto-k diagnostics are reported as
ArviZ computes them; for per-cell factor models many cells can have high k,
so the ``p_worse``/``dse`` columns should be read with that in mind.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from typing import Any

import arviz_stats as azs
import pandas as pd
import pymc as pm

from bayes_cpp import dims
from bayes_cpp.data import CollaborativeData
from bayes_cpp.estimator import BayesCPP

__all__ = ["compare_ranks", "loo"]


def loo(est: BayesCPP) -> Any:
    """PSIS-LOO of a fitted estimator (adds the ``log_likelihood`` group if needed)."""
    est.check_is_fitted()
    idata = est.idata_
    if "log_likelihood" not in idata.children:
        model = getattr(est, "pymc_model_", None) or est.build_model(est.data_)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            # Only the score likelihood: the imputation network's observed
            # features also have log-likelihood terms, which LOO must not mix in.
            pm.compute_log_likelihood(idata, var_names=[dims.SCORE], model=model, progressbar=False)
    with warnings.catch_warnings():
        # High Pareto-k values are expected for per-cell MF models; they are
        # reported in the result, not as a warning per call.
        warnings.simplefilter("ignore", UserWarning)
        return azs.loo(idata, var_name=dims.SCORE)


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
