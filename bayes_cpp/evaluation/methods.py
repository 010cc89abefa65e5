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
* :class:`DistributionMethod` wraps a baseline that gives its own
  predictive normal (``intervals = True``, e.g. ``gaussian-conditional``),
  censored to [0, 1] like the model's draws.
* :class:`ConformalMethod` (``conformal-<baseline>``) puts split-conformal
  intervals around a point baseline: the same K-fold cross-validated
  residuals on the training cells, scaled by ``s(p_hat)``, calibrate a
  predictive distribution (:mod:`.conformal`) that gives intervals, CRPS,
  log density and PIT consistently.

Methods with ``own_intervals = True`` (the specs, the distribution
baselines and the conformal ones) are compared on intervals as they are.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import numpy as np
import pandas as pd

from bayes_cpp import dims
from bayes_cpp.data import CollaborativeData
from bayes_cpp.estimator import BayesCPP
from bayes_cpp.evaluation.baselines import BASELINES, make_baseline
from bayes_cpp.evaluation.conformal import (
    SCALE_FLOOR,
    ResidualDistribution,
    ScaledResidualPredictive,
    residual_scale,
)
from bayes_cpp.evaluation.metrics import GaussianPredictive, Predictive, SamplePredictive
from bayes_cpp.evaluation.names import EVALUATION_SAMPLER
from bayes_cpp.evaluation.protocols import Split
from bayes_cpp.exceptions import DataWarning, SpecError
from bayes_cpp.features import Design
from bayes_cpp.inference import quiet_sampler_logs
from bayes_cpp.seeds import derived_seed
from bayes_cpp.spec import ModelSpec, available_specs

__all__ = [
    "CONFORMAL_PREFIX",
    "EVALUATION_SAMPLER",
    "BayesMethod",
    "ConformalMethod",
    "DistributionMethod",
    "Method",
    "PointMethod",
    "available_methods",
    "cv_predictions",
    "factor_values",
    "fold_in_llm",
    "make_method",
]

#: ``conformal-<baseline>`` names a :class:`ConformalMethod` around that baseline.
CONFORMAL_PREFIX = "conformal-"
#: The conformal methods listed by :func:`available_methods` (any point baseline works).
_CONFORMAL_LISTED = ("softimpute-logit-3",)


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


def factor_values(row: pd.Series, design: Design) -> dict[str, float]:
    """A table row's factors as a newcomer's, missing where training treats them as missing.

    (A 0 parameter count in a leaderboard table means "unknown", which a fit
    imputes; :meth:`BayesCPP.newcomer` refuses it as a slip of a user's hand.)
    """
    values = {}
    for col in design.columns:
        value = row.get(col)
        if (
            value is not None
            and pd.notna(value)
            and design.value_problem(col, float(value)) is None
        ):
            values[col] = float(value)
    return values


@contextmanager
def _table_newcomers() -> Iterator[None]:
    """Silence ``newcomer``'s input warnings for rows of the validated data tables.

    Their new families and low scores are real, not a user's slips.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        yield


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
    with _table_newcomers():
        newcomer = est.newcomer(
            dims.LLM,
            str(row["family"]),
            factors=factor_values(row, est.llm_design_),
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
    _cache: tuple[str, int, BayesCPP, dict[str, Any]] | None = field(default=None, repr=False)

    @property
    def name(self) -> str:  # noqa: D102
        return self.label or (self.spec if isinstance(self.spec, str) else self.spec.name)

    def __getstate__(self) -> dict[str, Any]:
        # A worker gets the method, not its cached fit (which may be large).
        return {**self.__dict__, "_cache": None}

    def describe(self) -> dict[str, Any]:
        """The spec in force and the estimator parameters, for result files."""
        params = {**EVALUATION_SAMPLER, **self.params}
        spec = BayesCPP(self.spec, **params).resolved_spec()
        return {"spec": spec.to_dict(), "params": {k: _plain(v) for k, v in params.items()}}

    def _fit(self, split: Split, random_seed: int) -> tuple[BayesCPP, dict[str, Any]]:
        key = split.fingerprint
        seed = derived_seed(random_seed, key)
        if self._cache is not None and self._cache[:2] == (key, seed):
            # The reused fit's diagnostics go with every split it predicts.
            return self._cache[2], {**self._cache[3], "seconds": 0.0, "reused_fit": True}
        est = BayesCPP(self.spec, **{**EVALUATION_SAMPLER, **self.params})
        start = time.perf_counter()
        with quiet_sampler_logs():
            est.fit(split.train, random_seed=seed)
        seconds = time.perf_counter() - start
        report = est.diagnose(warn=False)
        record: dict[str, Any] = {
            "seconds": round(seconds, 2),
            "reused_fit": False,
            "converged": bool(report.ok),
            "max_rhat": round(float(report.max_rhat), 4),
            "min_ess_bulk": round(float(report.min_ess_bulk), 1),
            "n_divergent": int(report.n_divergent),
            "problems": report.problems(),
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
        self._cache = (key, seed, est, record)
        return est, dict(record)

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
            with _table_newcomers():
                newcomer = est.newcomer(
                    dims.TASK,
                    str(row["category"]),
                    factors=factor_values(row, est.task_design_),
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


def cv_predictions(
    baseline: str, train: CollaborativeData, folds: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """K-fold cross-validated predictions of ``baseline`` on the training cells.

    Returns ``(guess, truth)`` on the unit scale, one entry per training cell
    (folds drawn with ``seed``; each fold's cells predicted by a fit on the
    others).
    """
    rng = np.random.default_rng(seed)
    fold = rng.permutation(train.n_observed) % folds
    truth = train.unit_scores().to_numpy()
    guess = np.empty(train.n_observed)
    for f in range(folds):
        inner = train.drop_cells(fold == f)
        cells = train.scores[fold == f]
        fitted = make_baseline(baseline, random_seed=seed).fit(inner)
        guess[fold == f] = fitted.predict_cells(list(cells["llm"]), list(cells["task"]))
    return guess, truth


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

    def describe(self) -> dict[str, Any]:
        """The baseline and its cross-validation, for result files and checkpoints."""
        return {"baseline": self.baseline, "inner_folds": self.inner_folds}

    def _cv_rmse(self, train: CollaborativeData, seed: int) -> float:
        guess, truth = cv_predictions(self.baseline, train, self.inner_folds, seed)
        return float(np.sqrt(np.mean((guess - truth) ** 2)))

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


@dataclass
class DistributionMethod:
    """A baseline with its own predictive normal (``intervals = True``), censored to [0, 1].

    Parameters
    ----------
    baseline : str
        Name in :data:`bayes_cpp.evaluation.baselines.BASELINES` of a baseline
        with ``predict_distribution`` (e.g. ``"gaussian-conditional"``).
    """

    baseline: str
    own_intervals: bool = True

    @property
    def name(self) -> str:  # noqa: D102
        return self.baseline

    def run(  # noqa: D102
        self, split: Split, full: CollaborativeData, random_seed: int
    ) -> tuple[Predictive, dict[str, Any]]:
        seed = derived_seed(random_seed, split.fingerprint)
        start = time.perf_counter()
        fitted = make_baseline(self.baseline, random_seed=seed).fit(split.train_with_known)
        mean, sd = fitted.predict_distribution(  # type: ignore[attr-defined]
            list(split.test["llm"]), list(split.test["task"])
        )
        record = {
            "seconds": round(time.perf_counter() - start, 3),
            "n_fallback": int(getattr(fitted, "n_fallback_", 0)),
            "shrinkage": round(float(getattr(fitted, "shrinkage_", float("nan"))), 4),
        }
        return GaussianPredictive(np.asarray(mean, float), np.asarray(sd, float), True), record


@dataclass
class ConformalMethod:
    """Split-conformal intervals around a point baseline (see :mod:`.conformal`).

    The baseline is fitted on ``split.train_with_known``; its K-fold
    cross-validated residuals on those training cells, divided by
    ``s(p_hat) = sqrt(p_hat (1 - p_hat) + scale_floor^2)``, calibrate the
    scaled-error distribution. The center of fold-``f`` residuals is a fit
    without fold ``f`` while the test cells' center is the fit on all training
    cells, which errs a little less, so the intervals lean conservative.

    Parameters
    ----------
    baseline : str
        A point baseline (default ``softimpute-logit-3``, the best one on cpp).
    inner_folds : int
        Folds of the calibration cross-validation.
    scale_floor : float
        The floor of the residual scale; ``None`` for unscaled residuals
        (the same width for every cell).

    Examples
    --------
    >>> ConformalMethod("softimpute-logit-3").name
    'conformal-softimpute-logit-3'
    """

    baseline: str = "softimpute-logit-3"
    inner_folds: int = 5
    scale_floor: float | None = SCALE_FLOOR
    own_intervals: bool = True

    @property
    def name(self) -> str:  # noqa: D102
        return CONFORMAL_PREFIX + self.baseline

    def _scale(self, p: np.ndarray) -> np.ndarray:
        if self.scale_floor is None:
            return np.ones_like(np.asarray(p, dtype=float))
        return residual_scale(p, self.scale_floor)

    def run(  # noqa: D102
        self, split: Split, full: CollaborativeData, random_seed: int
    ) -> tuple[Predictive, dict[str, Any]]:
        train = split.train_with_known
        seed = derived_seed(random_seed, split.fingerprint)
        start = time.perf_counter()
        fitted = make_baseline(self.baseline, random_seed=seed).fit(train)
        center = fitted.predict_cells(list(split.test["llm"]), list(split.test["task"]))
        guess, truth = cv_predictions(self.baseline, train, self.inner_folds, seed)
        residuals = ResidualDistribution.from_residuals((truth - guess) / self._scale(guess))
        record = {
            "seconds": round(time.perf_counter() - start, 3),
            "n_calibration": residuals.n,
            "n_fallback": int(getattr(fitted, "n_fallback_", 0)),
        }
        center = np.asarray(center, dtype=float)
        return ScaledResidualPredictive(center, self._scale(center), residuals), record


def available_methods() -> list[str]:
    """Names accepted by :func:`make_method`: model specs, baselines, conformal baselines.

    Any ``conformal-<point baseline>`` is accepted; the listed one is the
    best point baseline on cpp-crowdsourced.
    """
    return [
        *available_specs(),
        *BASELINES,
        *(CONFORMAL_PREFIX + b for b in _CONFORMAL_LISTED),
    ]


def make_method(
    name: str, **params: Any
) -> BayesMethod | PointMethod | DistributionMethod | ConformalMethod:
    """The harness method called ``name``; ``params`` go to :class:`BayesCPP` for specs."""
    if name in available_specs():
        return BayesMethod(name, params)
    inner = name.removeprefix(CONFORMAL_PREFIX)
    if name in BASELINES or (name.startswith(CONFORMAL_PREFIX) and inner in BASELINES):
        if params:
            raise SpecError(f"baseline {name!r} takes no parameters, got {sorted(params)}")
        if name != inner:
            if BASELINES[inner].intervals:
                raise SpecError(
                    f"{name!r}: {inner!r} has its own intervals; conformal methods wrap point "
                    "baselines"
                )
            return ConformalMethod(inner)
        return DistributionMethod(name) if BASELINES[name].intervals else PointMethod(name)
    raise SpecError(f"unknown method {name!r}; choose from {', '.join(available_methods())}")
