"""Methods of the harness: the Bayesian specs and the point baselines, one interface.

``method.run(split, full, random_seed)`` fits on what the split reveals and
returns the predictive distributions of the split's hidden cells on the unit
scale, plus a record of the fit. Seeds are derived from ``random_seed`` and the
split: the fit's from the training cells (so splits with the same training
cells share a fit), the prediction noise's from the split label.

* :class:`BayesMethod` (any spec of ``models/``) fits :class:`BayesCPP` on
  ``split.train``. Rows without training scores are predicted by the fit
  itself (cold start from family/category and design factors); a newcomer
  with a few revealed scores (CPP-2, CPP-T2) is conditioned on them with
  :meth:`BayesCPP.forecast` / :meth:`BayesCPP.forecast_task` without a refit,
  so the CPP-0 and CPP-2 settings of an LLM share one fit (the fit is cached
  by the training cells' fingerprint).
* :class:`PointMethod` wraps a baseline of :mod:`.baselines` fitted on
  ``split.train_with_known``. Its uncertainty is a plug-in normal whose scale
  is the root mean squared error of the baseline's own K-fold
  cross-validated predictions on the training cells, so interval metrics are
  defined but are not the baseline's own.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import numpy as np
import pandas as pd

from bayes_cpp import dims
from bayes_cpp.data import CollaborativeData
from bayes_cpp.estimator import BayesCPP
from bayes_cpp.evaluation.baselines import BASELINES, make_baseline
from bayes_cpp.evaluation.metrics import GaussianPredictive, Predictive, SamplePredictive
from bayes_cpp.evaluation.protocols import Split
from bayes_cpp.exceptions import SpecError
from bayes_cpp.inference import quiet_sampler_logs
from bayes_cpp.seeds import derived_seed
from bayes_cpp.spec import ModelSpec, available_specs

__all__ = [
    "EVALUATION_SAMPLER",
    "BayesMethod",
    "Method",
    "PointMethod",
    "available_methods",
    "factor_values",
    "fold_in_llm",
    "make_method",
]

#: Sampler settings of the harness's Bayesian fits: lighter than a default
#: fit (2 chains x 500 draws after 500 tuning steps) so a protocol of many
#: splits runs in minutes; the fits' worst r-hat and divergences are recorded.
EVALUATION_SAMPLER: dict[str, Any] = {"chains": 2, "draws": 500, "tune": 500}


class Method(Protocol):
    """What the harness needs from a method."""

    own_intervals: bool

    @property
    def name(self) -> str:
        """Name in results."""
        ...

    def run(
        self, split: Split, full: CollaborativeData, random_seed: int
    ) -> tuple[Predictive, dict[str, Any]]:
        """Predict ``split.test``; return the predictive and a fit record."""
        ...


def _plain(value: Any) -> Any:
    """JSON-ready form of an estimator parameter (priors become their records)."""
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    return value.to_dict() if hasattr(value, "to_dict") else value


def _without_scores(train: CollaborativeData, axis: Literal["llm", "task"]) -> set[str]:
    counts = train.observed_counts(axis)
    return {str(n) for n in counts.index[counts == 0]}


def factor_values(row: pd.Series, columns: tuple[str, ...]) -> dict[str, float]:
    """The known design factors of one table row (for ``BayesCPP.newcomer(factors=...)``)."""
    values = {}
    for col in columns:
        value = row.get(col)
        if value is not None and pd.notna(value):
            values[col] = float(value)
    return values


def fold_in_llm(
    est: BayesCPP,
    row: pd.Series,
    known: pd.DataFrame,
    tasks: list[str],
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-draw mean and noise sd ``(S, n)`` of an LLM at ``tasks``, without a refit.

    Its row is drawn from its family and design factors (``row`` of the LLM
    table) and conditioned per draw on its ``known`` scores (columns
    ``task``, ``score``), as for a newcomer (:meth:`BayesCPP.newcomer`).
    """
    newcomer = est.newcomer(
        dims.LLM,
        str(row["family"]),
        factors=factor_values(row, est.llm_design_.columns),
        scores=dict(zip(known["task"], known["score"], strict=True)),
    )
    others = est.positions(dims.TASK, tasks)
    return est.predictor_.forecast(newcomer, others, rng)  # type: ignore[arg-type]


@dataclass
class BayesMethod:
    """A model spec of ``models/`` fitted with :class:`BayesCPP`.

    Parameters
    ----------
    spec : str or ModelSpec
        Spec name (``bayes-cpp specs``) or a spec object (e.g. a variant made
        with :meth:`ModelSpec.replace`; give it a ``label``).
    params : mapping
        Further :class:`BayesCPP` parameters (sampler settings, rank, ...);
        :data:`EVALUATION_SAMPLER` fills those not given.
    label : str, optional
        Name in results (default: the spec name), e.g. ``"hbmf-rank3"``.

    Examples
    --------
    >>> BayesMethod("hbmf", {"rank": 3}, label="hbmf-rank3").name
    'hbmf-rank3'
    """

    spec: str | ModelSpec = "hbmf"
    params: Mapping[str, Any] = field(default_factory=dict)
    label: str | None = None
    own_intervals: bool = True
    _cache: tuple[str, int, BayesCPP] | None = field(default=None, repr=False)

    @property
    def name(self) -> str:  # noqa: D102
        return self.label or (self.spec if isinstance(self.spec, str) else self.spec.name)

    def describe(self) -> dict[str, Any]:
        """The spec in force and the estimator parameters, for result files."""
        params = {**EVALUATION_SAMPLER, **self.params}
        spec = BayesCPP(self.spec, **params).resolved_spec()
        return {"spec": spec.to_dict(), "params": {k: _plain(v) for k, v in params.items()}}

    def _fit(self, split: Split, random_seed: int) -> tuple[BayesCPP, dict[str, Any]]:
        key = split.fingerprint
        seed = derived_seed(random_seed, key)
        if self._cache is not None and self._cache[:2] == (key, seed):
            return self._cache[2], {"seconds": 0.0, "reused_fit": True}
        est = BayesCPP(self.spec, **{**EVALUATION_SAMPLER, **self.params})
        start = time.perf_counter()
        with quiet_sampler_logs():
            est.fit(split.train, random_seed=seed)
        seconds = time.perf_counter() - start
        report = est.diagnose(warn=False)
        self._cache = (key, seed, est)
        record: dict[str, Any] = {
            "seconds": round(seconds, 2),
            "reused_fit": False,
            "max_rhat": round(float(report.max_rhat), 4),
            "min_ess_bulk": round(float(report.min_ess_bulk), 1),
            "n_divergent": int(report.n_divergent),
            "sampler": est.sampler_used_,
            "fit_seed": seed,
        }
        if report.approximation is not None:
            # r-hat and ESS do not apply to a variational fit: record the optimisation.
            record.update(
                max_rhat=None,
                min_ess_bulk=None,
                approximation=report.approximation,
                iterations=report.iterations,
                converged=report.ok,
            )
        return est, record

    def run(  # noqa: D102
        self, split: Split, full: CollaborativeData, random_seed: int
    ) -> tuple[Predictive, dict[str, Any]]:
        est, record = self._fit(split, random_seed)
        start = time.perf_counter()
        rng = np.random.default_rng(derived_seed(random_seed, split.label))
        predictor = est.predictor_
        test = split.test
        n, s = len(test), predictor.n_samples
        mean, sigma = np.empty((n, s)), np.empty((n, s))
        new_llms, new_tasks = (
            set(split.known[axis]) & _without_scores(split.train, axis) for axis in ("llm", "task")
        )
        done = np.zeros(n, dtype=bool)
        for name in sorted(new_llms):
            rows = np.flatnonzero(test["llm"].to_numpy() == name)
            m, sd = fold_in_llm(
                est,
                full.llms.loc[name],
                split.known[split.known["llm"] == name],
                list(test["task"].iloc[rows]),
                rng,
            )
            mean[rows], sigma[rows] = m.T, sd.T
            done[rows] = True
        for name in sorted(new_tasks):
            rows = np.flatnonzero(test["task"].to_numpy() == name)
            known = split.known[split.known["task"] == name]
            row = full.tasks.loc[name]
            newcomer = est.newcomer(
                dims.TASK,
                str(row["category"]),
                factors=factor_values(row, est.task_design_.columns),
                scores=dict(zip(known["llm"], known["score"], strict=True)),
                chance=float(row["chance"]) if pd.notna(row["chance"]) else 0.0,
                bounds=(float(row["lo"]), float(row["hi"]), bool(row["higher_is_better"])),
            )
            others = est.positions(dims.LLM, list(test["llm"].iloc[rows]))
            m, sd = predictor.forecast(newcomer, others, rng)  # type: ignore[arg-type]
            mean[rows], sigma[rows] = m.T, sd.T
            done[rows] = True
        rest = np.flatnonzero(~done)
        if len(rest):
            m, sd = predictor.pairs(
                est.positions(dims.LLM, list(test["llm"].iloc[rest])),  # type: ignore[arg-type]
                est.positions(dims.TASK, list(test["task"].iloc[rest])),  # type: ignore[arg-type]
                rng,
            )
            mean[rest], sigma[rest] = m.T, sd.T
        draws = predictor.noisy(mean.T[:, None, :], sigma.T[:, None, :], rng)[:, 0, :].T
        record["predict_seconds"] = round(time.perf_counter() - start, 2)
        return SamplePredictive(draws, mean, sigma, predictor.nu), record


@dataclass
class PointMethod:
    """A point baseline with a cross-validated plug-in normal error.

    Parameters
    ----------
    baseline : str
        Name in :data:`bayes_cpp.evaluation.baselines.BASELINES`.
    inner_folds : int
        Folds of the cross-validation on the training cells that sets the
        plug-in error scale.
    """

    baseline: str
    inner_folds: int = 5
    own_intervals: bool = False

    @property
    def name(self) -> str:  # noqa: D102
        return self.baseline

    def _cv_rmse(self, train: CollaborativeData, seed: int) -> float:
        rng = np.random.default_rng(seed)
        fold = rng.permutation(train.n_observed) % self.inner_folds
        truth = train.unit_scores().to_numpy()
        errors = []
        for f in range(self.inner_folds):
            inner = train.drop_cells(fold == f)
            cells = train.scores[fold == f]
            fitted = make_baseline(self.baseline, random_seed=seed).fit(inner)
            guess = fitted.predict_cells(list(cells["llm"]), list(cells["task"]))
            errors.append(guess - truth[fold == f])
        return float(np.sqrt(np.mean(np.concatenate(errors) ** 2)))

    def run(  # noqa: D102
        self, split: Split, full: CollaborativeData, random_seed: int
    ) -> tuple[Predictive, dict[str, Any]]:
        train = split.train_with_known
        seed = derived_seed(random_seed, split.fingerprint)
        start = time.perf_counter()
        fitted = make_baseline(self.baseline, random_seed=seed).fit(train)
        mu = fitted.predict_cells(list(split.test["llm"]), list(split.test["task"]))
        n_fallback = int(getattr(fitted, "n_fallback_", 0))
        seconds = time.perf_counter() - start
        sd = self._cv_rmse(train, seed)
        record = {
            "seconds": round(seconds, 3),
            "cv_seconds": round(time.perf_counter() - start - seconds, 3),
            "plugin_sd": round(sd, 5),
            "n_fallback": n_fallback,
        }
        return GaussianPredictive(np.asarray(mu, float), np.full(len(mu), sd)), record


def available_methods() -> list[str]:
    """Names accepted by :func:`make_method`: model specs, then baselines."""
    return [*available_specs(), *BASELINES]


def make_method(name: str, **params: Any) -> BayesMethod | PointMethod:
    """The harness method called ``name``; ``params`` go to :class:`BayesCPP` for specs."""
    if name in available_specs():
        return BayesMethod(name, params)
    if name in BASELINES:
        if params:
            raise SpecError(f"baseline {name!r} takes no parameters, got {sorted(params)}")
        return PointMethod(name)
    raise SpecError(f"unknown method {name!r}; choose from {', '.join(available_methods())}")
