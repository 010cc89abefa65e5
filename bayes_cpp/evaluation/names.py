"""Names of the evaluation harness's protocols, default methods and sampler settings.

Plain constants in a module that imports nothing heavy, so the command line
can show them in ``--help`` without loading the harness.
"""

from __future__ import annotations

from typing import Any

__all__ = ["DEFAULT_METHODS", "EVALUATION_SAMPLER", "PROTOCOLS"]

#: Protocol names accepted by :func:`bayes_cpp.evaluation.make_splits` and ``bayes-cpp evaluate``.
PROTOCOLS: tuple[str, ...] = (
    "random",
    "llm-holdout",
    "family-extrapolation",
    "task-holdout",
    "per-llm-half",
    "per-llm-folds",
    "release-date",
    "stronger-than-seen",
)

#: Methods run when none are named: the default model and every baseline.
DEFAULT_METHODS: tuple[str, ...] = (
    "hbmf",
    "global-mean",
    "task-mean",
    "additive",
    "mf-paper",
    "mf",
    "softimpute-logit",
    "softimpute-logit-3",
    "scaling-law",
    "obs-scaling",
    "gaussian-conditional",
    "conformal-softimpute-logit-3",
)

#: Sampler settings of the harness's Bayesian fits: lighter than a default
#: fit (2 chains x 500 draws after 500 tuning steps) so a protocol of many
#: splits runs in minutes; the fits' worst r-hat and divergences are recorded.
EVALUATION_SAMPLER: dict[str, Any] = {"chains": 2, "draws": 500, "tune": 500}
