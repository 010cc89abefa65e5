"""The scikit-learn-shaped estimator :class:`BayesCPP`.

It orchestrates the other modules: ``fit`` builds designs and the graph
(:mod:`bayes_cpp.graph`), samples (:mod:`bayes_cpp.inference`); ``predict`` and
``forecast`` compute labelled draws from the posterior (:mod:`bayes_cpp.predict`,
:mod:`bayes_cpp.newcomers`); ``diagnose`` and ``save``/``load`` delegate to
:mod:`bayes_cpp.diagnostics` and :mod:`bayes_cpp.persistence`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal, Self

import numpy as np
import pandas as pd
import pymc as pm
import xarray as xr

from bayes_cpp import dims
from bayes_cpp._validation import suggest
from bayes_cpp.data import CollaborativeData
from bayes_cpp.exceptions import DataError, NotFittedError
from bayes_cpp.features import Design, build_design
from bayes_cpp.graph import GraphInputs, build_model, graph_inputs
from bayes_cpp.inference import SamplerConfig, run_inference, stage_seed
from bayes_cpp.newcomers import LLM_SIDE, TASK_SIDE, new_row_prior, side_var_names
from bayes_cpp.predict import (
    Draws,
    cell_loglik,
    cell_means,
    cell_sd,
    condition_new_row,
    link,
    noisy_scores,
)
from bayes_cpp.spec import ModelSpec, Prior, load_spec

__all__ = ["BayesCPP"]

Kind = Literal["mean", "score"]
_CORE_VARS = [
    "intercept",
    "llm_bias",
    "task_bias",
    "llm_loading",
    "task_loading",
    "sigma",
    "noise_nu",
    "noise_log_mu",
    "noise_log_sigma",
]


class BayesCPP:
    """Hierarchical Bayesian collaborative performance prediction.

    Parameters
    ----------
    spec : str, path, mapping or ModelSpec, default "hbmf"
        Model specification: a name from ``models/`` (see
        :func:`bayes_cpp.spec.available_specs`), a TOML path, or a spec.
    rank : int, optional
        Override the spec's number of latent dimensions.
    likelihood : {"normal", "student_t"}, optional
        Override the spec's likelihood.
    priors : mapping of str to Prior, optional
        Override individual priors (unknown keys raise ``SpecError``).
    sampler : {"nutpie", "pymc", "numpyro", "advi"}, default "nutpie"
        Inference method (recorded in the posterior's attributes).
    draws, tune, chains, cores, target_accept
        Sampler settings, see :class:`bayes_cpp.inference.SamplerConfig`.
    random_seed : int, optional
        One seed for every stochastic stage (``fit`` may override it).

    Examples
    --------
    >>> from bayes_cpp import BayesCPP
    >>> est = BayesCPP(rank=2, draws=200, tune=200, chains=2)
    >>> est.get_params()["rank"]
    2
    """

    def __init__(
        self,
        spec: str | Path | Mapping[str, Any] | ModelSpec = "hbmf",
        *,
        rank: int | None = None,
        likelihood: Literal["normal", "student_t"] | None = None,
        priors: Mapping[str, Prior] | None = None,
        sampler: Literal["nutpie", "pymc", "numpyro", "advi"] = "nutpie",
        draws: int = 1000,
        tune: int = 1000,
        chains: int = 4,
        cores: int = 2,
        target_accept: float = 0.9,
        random_seed: int | None = None,
    ) -> None:
        self.spec = spec
        self.rank = rank
        self.likelihood = likelihood
        self.priors = priors
        self.sampler = sampler
        self.draws = draws
        self.tune = tune
        self.chains = chains
        self.cores = cores
        self.target_accept = target_accept
        self.random_seed = random_seed

    # ------------------------------------------------------------ parameters
    def get_params(self) -> dict[str, Any]:
        """Constructor parameters (scikit-learn convention)."""
        return {
            k: getattr(self, k)
            for k in (
                "spec",
                "rank",
                "likelihood",
                "priors",
                "sampler",
                "draws",
                "tune",
                "chains",
                "cores",
                "target_accept",
                "random_seed",
            )
        }

    def set_params(self, **params: Any) -> Self:
        """Set constructor parameters; returns self."""
        valid = self.get_params()
        for key, value in params.items():
            if key not in valid:
                raise ValueError(f"unknown parameter {key!r}{suggest(key, list(valid))}")
            setattr(self, key, value)
        return self

    def resolved_spec(self) -> ModelSpec:
        """The spec with this estimator's overrides applied."""
        spec = load_spec(self.spec)
        changes: dict[str, Any] = {}
        if self.rank is not None:
            changes["rank"] = self.rank
        if self.likelihood is not None:
            changes["likelihood"] = self.likelihood
        if self.priors:
            changes["priors"] = dict(self.priors)
        return spec.replace(**changes) if changes else spec

    def sampler_config(self) -> SamplerConfig:
        """The :class:`SamplerConfig` built from the constructor parameters."""
        return SamplerConfig(
            sampler=self.sampler,
            draws=self.draws,
            tune=self.tune,
            chains=self.chains,
            cores=self.cores,
            target_accept=self.target_accept,
        )

    # ------------------------------------------------------------------- fit
    def _prepare(self, data: CollaborativeData) -> tuple[ModelSpec, Design, Design, GraphInputs]:
        if not isinstance(data, CollaborativeData):
            raise DataError(
                [
                    f"fit needs a CollaborativeData, not {type(data).__name__} (see bayes_cpp.datasets.load)"
                ]
            )
        spec = self.resolved_spec()
        llm_design = build_design(spec.llm_features, data.llms, side="LLM")
        task_design = build_design(spec.task_features, data.tasks, side="task")
        inputs = graph_inputs(data, spec, llm_design, task_design)
        return spec, llm_design, task_design, inputs

    def build_model(self, data: CollaborativeData) -> pm.Model:
        """The PyMC model this estimator would fit to ``data`` (nothing is sampled)."""
        spec, _, _, inputs = self._prepare(data)
        return build_model(inputs, spec)

    def fit(self, data: CollaborativeData, *, random_seed: int | None = None) -> Self:
        """Sample the posterior given ``data``; returns self.

        Parameters
        ----------
        data : CollaborativeData
            Training data. LLMs and tasks without any score keep their rows: they
            are predicted from their family or category and design factors (the
            paper's cold start), like :meth:`forecast` does for names not in ``data``.
        random_seed : int, optional
            Overrides the constructor's seed; recorded in ``random_seed_``.
        """
        seed = self.random_seed if random_seed is None else random_seed
        spec, llm_design, task_design, inputs = self._prepare(data)
        config = self.sampler_config()
        model = build_model(inputs, spec)
        idata = run_inference(model, config, seed)
        self._set_fitted(idata, data, spec, llm_design, task_design, config, seed)
        self.pymc_model_ = model
        return self

    def _set_fitted(
        self,
        idata: xr.DataTree,
        data: CollaborativeData,
        spec: ModelSpec,
        llm_design: Design,
        task_design: Design,
        config: SamplerConfig,
        seed: int | None,
    ) -> None:
        self.idata_ = idata
        self.data_ = data
        self.spec_ = spec
        self.llm_design_ = llm_design
        self.task_design_ = task_design
        self.sampler_config_ = config
        self.random_seed_ = seed
        self.sampler_used_ = str(idata["posterior"].attrs.get("bayes_cpp_sampler", config.sampler))
        self._draws_cache: Draws | None = None

    def _check_fitted(self) -> None:
        if not hasattr(self, "idata_"):
            raise NotFittedError(
                f"This {type(self).__name__} is not fitted yet; call .fit(data) first "
                "(or BayesCPP.load(path) for a saved fit)."
            )

    @property
    def posterior_draws_(self) -> Draws:
        """Flattened posterior draws used by predictions (cached)."""
        self._check_fitted()
        if self._draws_cache is None:
            names = _CORE_VARS + side_var_names(LLM_SIDE, len(self.llm_design_))
            names += side_var_names(TASK_SIDE, len(self.task_design_))
            self._draws_cache = Draws.from_posterior(self.idata_["posterior"].to_dataset(), names)
        return self._draws_cache

    # --------------------------------------------------------------- predict
    def _rng(self, random_seed: int | None, stage: str) -> np.random.Generator:
        seed = self.random_seed_ if random_seed is None else random_seed
        return np.random.default_rng(stage_seed(seed, stage))

    def predict(
        self,
        llms: Iterable[str] | str | None = None,
        tasks: Iterable[str] | str | None = None,
        *,
        kind: Kind = "score",
        unseen: Literal["error", "population"] = "error",
        random_seed: int | None = None,
    ) -> xr.DataArray:
        """Posterior draws for LLM x task cells, in each task's own units.

        Parameters
        ----------
        llms, tasks : str or iterable of str, optional
            Which rows and columns (None = all known).
        kind : {"score", "mean"}
            ``"score"``: posterior predictive (a new evaluation's score, noise
            included, censored to the task bounds). ``"mean"``: the expected score.
        unseen : {"error", "population"}
            What to do with names not in the training data: raise, or predict
            them as a member of a new family / category with unknown factors
            (use :meth:`forecast` to give a newcomer's family and factors).
        random_seed : int, optional
            Seed for the predictive noise (default: derived from the fit's seed).

        Returns
        -------
        xarray.DataArray
            Dims ``(chain, draw, llm, task)``, named ``kind``.
        """
        self._check_fitted()
        if kind not in ("score", "mean"):
            raise ValueError(f"kind must be 'score' or 'mean', not {kind!r}")
        if unseen not in ("error", "population"):
            raise ValueError(f"unseen must be 'error' or 'population', not {unseen!r}")
        llm_list = self._names(llms, self.data_.llm_names, "LLM", unseen)
        task_list = self._names(tasks, self.data_.task_names, "task", unseen)
        rng = self._rng(random_seed, "predict")
        mean, sigma = self._predict_unit(llm_list, task_list, rng)
        if kind == "score":
            mean = noisy_scores(mean, sigma, self.posterior_draws_.values.get("noise_nu"), rng)
        return self._label(self.posterior_draws_, mean, llm_list, task_list, kind)

    def _predict_unit(
        self, llm_list: list[str], task_list: list[str], rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        """Cell-mean and noise-sd draws ``(S, L, T)`` on the unit scale."""
        d = self.posterior_draws_
        llm_pos = {n: i for i, n in enumerate(self.data_.llm_names)}
        task_pos = {n: i for i, n in enumerate(self.data_.task_names)}
        llm_rows = [self._row(d, "llm", n, llm_pos, rng) for n in llm_list]
        task_rows = [self._row(d, "task", n, task_pos, rng) for n in task_list]
        a = np.stack([r[0] for r in llm_rows], axis=1)
        b = np.stack([r[0] for r in task_rows], axis=1)
        u = v = None
        if self.spec_.rank:
            u = np.stack([_loading(r) for r in llm_rows], axis=1)
            v = np.stack([_loading(r) for r in task_rows], axis=1)
        mean = cell_means(d.get("intercept"), a, b, u, v, self._chance(task_list))
        sigma = np.stack([self._task_sigma(d, n, task_pos, rng) for n in task_list], axis=1)
        return mean, self._cell_sd(sigma[:, None, :], mean)

    def _cell_sd(self, sigma: np.ndarray, mean: np.ndarray) -> np.ndarray:
        """Per-cell noise sd broadcast to ``mean``'s shape (see :func:`cell_sd`)."""
        sd = cell_sd(sigma, mean, self.spec_.noise_floor, self.spec_.noise_scaling)
        return np.broadcast_to(sd, mean.shape)

    def _names(
        self, names: Iterable[str] | str | None, known: list[str], kind: str, unseen: str
    ) -> list[str]:
        if names is None:
            return list(known)
        out = [names] if isinstance(names, str) else [str(n) for n in names]
        missing = [n for n in out if n not in set(known)]
        if missing and unseen == "error":
            raise DataError(
                [
                    f"unknown {kind} {n!r}{suggest(n, known)}; pass unseen='population' to predict it "
                    f"from the population, or use forecast() with its design"
                    for n in missing
                ]
            )
        return out

    def _row(
        self, d: Draws, side: str, name: str, pos: Mapping[str, int], rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """(bias, loading) draws of a known row, or a population draw for an unknown one."""
        bias_name, load_name = (
            ("llm_bias", "llm_loading") if side == "llm" else ("task_bias", "task_loading")
        )
        if name in pos:
            i = pos[name]
            load = d.values[load_name][:, i, :] if load_name in d.values else None
            return d.values[bias_name][:, i], load
        design = self.llm_design_ if side == "llm" else self.task_design_
        prior = new_row_prior(
            d,
            LLM_SIDE if side == "llm" else TASK_SIDE,
            group=None,
            x=np.full(len(design), np.nan),
            rank=self.spec_.rank,
        )
        theta = prior.mean + prior.sample_centered(rng)
        return theta[:, 0], theta[:, 1:]

    def _task_sigma(
        self, d: Draws, name: str, pos: Mapping[str, int], rng: np.random.Generator
    ) -> np.ndarray:
        if name in pos:
            return d.values["sigma"][:, pos[name]]
        return self._new_task_sigma(d, rng)

    def _new_task_sigma(self, d: Draws, rng: np.random.Generator) -> np.ndarray:
        """Noise sd of a task the fit has not seen, drawn from the shared prior."""
        z = rng.standard_normal(d.n_samples)
        return self.spec_.noise_floor + np.exp(d.get("noise_log_mu") + d.get("noise_log_sigma") * z)

    def _chance(self, task_list: list[str]) -> np.ndarray:
        if not self.spec_.chance_floor:
            return np.zeros(len(task_list))
        table = self.data_.tasks["chance"]
        return np.array([float(table.get(t, 0.0)) for t in task_list])

    def _label(
        self,
        d: Draws,
        unit: np.ndarray,
        llm_list: list[str],
        task_list: list[str],
        kind: str,
        *,
        bounds: tuple[float, float, bool] | None = None,
    ) -> xr.DataArray:
        """Unit-scale ``(S, L, T)`` draws -> labelled draws in task units.

        ``bounds`` = ``(lo, hi, higher_is_better)`` of a single new task; known
        tasks use the task table (unknown ones the unit scale).
        """
        tasks = self.data_.tasks
        if bounds is None:
            lo = np.array([float(tasks["lo"].get(t, 0.0)) for t in task_list])
            hi = np.array([float(tasks["hi"].get(t, 1.0)) for t in task_list])
            up = np.array([bool(tasks["higher_is_better"].get(t, True)) for t in task_list])
            units = "task units (lo..hi of each task)"
        else:
            lo, hi, up = (np.array([b]) for b in bounds)
            units = f"task units ({bounds[0]:g}..{bounds[1]:g})"
        p = np.where(up, unit, 1.0 - unit)
        values = d.unflatten(lo + p * (hi - lo))
        return xr.DataArray(
            values,
            dims=("chain", "draw", dims.LLM, dims.TASK),
            coords={
                "chain": np.arange(d.n_chain),
                "draw": np.arange(d.n_draw),
                dims.LLM: llm_list,
                dims.TASK: task_list,
            },
            name=kind,
            attrs={"units": units, "kind": kind},
        )

    # -------------------------------------------------------------- forecast
    def forecast(
        self,
        family: str | None = None,
        *,
        factors: Mapping[str, float] | None = None,
        scores: Mapping[str, float] | None = None,
        name: str = "new-llm",
        tasks: Iterable[str] | None = None,
        kind: Kind = "score",
        random_seed: int | None = None,
    ) -> xr.DataArray:
        """Forecast a new LLM on every known task, without refitting.

        Parameters
        ----------
        family : str, optional
            Its family: a known one borrows that family's effect, anything else
            (or None) is treated as a new family drawn from the population.
        factors : mapping, optional
            Design factors in the LLM table's columns and units (e.g.
            ``{"params_b": 70, "tokens_b": 2000}``); missing ones are imputed.
        scores : mapping of task to score, optional
            A few known scores of the new LLM in task units (the paper's
            "CPP-2" setting); the forecast conditions on them per draw.
        name : str
            Label of the new LLM in the result.
        tasks : iterable of str, optional
            Tasks to forecast (default: all known).
        kind : {"score", "mean"}
            As in :meth:`predict`.
        random_seed : int, optional
            Seed (default: derived from the fit's seed).

        Returns
        -------
        xarray.DataArray
            Dims ``(chain, draw, llm, task)`` with a single ``llm`` = ``name``.
        """
        self._check_fitted()
        task_list = self._names(tasks, self.data_.task_names, "task", "error")
        rng = self._rng(random_seed, "forecast")
        mean, sigma = self._forecast_llm_unit(family, factors, scores, task_list, rng)
        d = self.posterior_draws_
        if kind == "score":
            mean = noisy_scores(mean, sigma, d.values.get("noise_nu"), rng)
        return self._label(d, mean, [name], task_list, kind)

    def _forecast_llm_unit(
        self,
        family: str | None,
        factors: Mapping[str, float] | None,
        scores: Mapping[str, float] | None,
        task_list: list[str],
        rng: np.random.Generator,
    ) -> tuple[np.ndarray, np.ndarray]:
        """A new LLM's cell-mean and noise-sd draws ``(S, 1, T)`` (unit scale)."""
        x = self._design_row(self.llm_design_, factors, "LLM")
        families = self.data_.families
        group = families.index(family) if family in families else None
        d = self.posterior_draws_
        prior = new_row_prior(d, LLM_SIDE, group=group, x=x, rank=self.spec_.rank)
        task_pos = {n: i for i, n in enumerate(self.data_.task_names)}
        theta = self._condition(prior, scores, "task", task_pos, rng)
        rank = self.spec_.rank
        idx = [task_pos[t] for t in task_list]
        b = d.values["task_bias"][:, idx]
        v = d.values["task_loading"][:, idx, :] if rank else None
        u = theta[:, None, 1:] if rank else None
        mean = cell_means(d.get("intercept"), theta[:, None, 0], b, u, v, self._chance(task_list))
        return mean, self._cell_sd(d.values["sigma"][:, None, idx], mean)

    def forecast_task(
        self,
        category: str | None = None,
        *,
        factors: Mapping[str, float] | None = None,
        scores: Mapping[str, float] | None = None,
        name: str = "new-task",
        chance: float = 0.0,
        lo: float = 0.0,
        hi: float = 100.0,
        higher_is_better: bool = True,
        llms: Iterable[str] | None = None,
        kind: Kind = "score",
        random_seed: int | None = None,
    ) -> xr.DataArray:
        """Forecast every known LLM on a new task, without refitting.

        ``category`` (known or new), ``factors`` (task-table columns, e.g.
        ``{"shots": 5}``) and optionally a few known ``scores`` by LLM (the
        paper's "T2" setting) define the task; ``chance``, ``lo``, ``hi`` and
        ``higher_is_better`` its metric. Returns dims ``(chain, draw, llm, task)``.
        """
        self._check_fitted()
        if not lo < hi or not 0.0 <= chance < 1.0:
            raise DataError([f"new task {name!r}: need lo < hi and 0 <= chance < 1"])
        llm_list = self._names(llms, self.data_.llm_names, "LLM", "error")
        unit_scores = None
        if scores:
            unit_scores = {k: _to_unit(v, lo, hi, higher_is_better) for k, v in scores.items()}
        rng = self._rng(random_seed, "forecast")
        mean, sigma = self._forecast_task_unit(
            category, factors, unit_scores, chance, llm_list, rng
        )
        d = self.posterior_draws_
        if kind == "score":
            mean = noisy_scores(mean, sigma, d.values.get("noise_nu"), rng)
        return self._label(d, mean, llm_list, [name], kind, bounds=(lo, hi, higher_is_better))

    def _forecast_task_unit(
        self,
        category: str | None,
        factors: Mapping[str, float] | None,
        unit_scores: Mapping[str, float] | None,
        chance: float,
        llm_list: list[str],
        rng: np.random.Generator,
    ) -> tuple[np.ndarray, np.ndarray]:
        """A new task's cell-mean and noise-sd draws ``(S, L, 1)`` (unit scale)."""
        x = self._design_row(self.task_design_, factors, "task")
        cats = self.data_.categories
        group = cats.index(category) if category in cats else None
        d = self.posterior_draws_
        prior = new_row_prior(d, TASK_SIDE, group=group, x=x, rank=self.spec_.rank)
        llm_pos = {n: i for i, n in enumerate(self.data_.llm_names)}
        floor = chance if self.spec_.chance_floor else 0.0
        sigma_new = self._new_task_sigma(d, rng)
        theta = self._condition(
            prior, unit_scores, "llm", llm_pos, rng, chance=floor, sigma=sigma_new, unit=True
        )
        idx = [llm_pos[n] for n in llm_list]
        a = d.values["llm_bias"][:, idx]
        rank = self.spec_.rank
        u = d.values["llm_loading"][:, idx, :] if rank else None
        v = theta[:, None, 1:] if rank else None
        mean = cell_means(d.get("intercept"), a, theta[:, None, 0], u, v, np.array([floor]))
        return mean, self._cell_sd(sigma_new[:, None, None], mean)

    def _design_row(
        self, design: Design, factors: Mapping[str, float] | None, kind: str
    ) -> np.ndarray:
        factors = dict(factors or {})
        known_cols = set(design.columns)
        table_cols = set((self.data_.llms if kind == "LLM" else self.data_.tasks).columns)
        unknown = [k for k in factors if k not in known_cols and k not in table_cols]
        if unknown:
            raise DataError(
                [
                    f"unknown {kind} factor {k!r}{suggest(k, sorted(known_cols | table_cols))}; "
                    f"the model uses {sorted(known_cols) or 'no factors'}"
                    for k in unknown
                ]
            )
        row = pd.DataFrame({c: [factors.get(c, np.nan)] for c in design.columns})
        return design.matrix(row, what=f"new {kind} factors")[0]

    def _condition(
        self,
        prior: Any,
        scores: Mapping[str, float] | None,
        other: str,
        pos: Mapping[str, int],
        rng: np.random.Generator,
        *,
        chance: float | None = None,
        sigma: np.ndarray | None = None,
        unit: bool = False,
    ) -> np.ndarray:
        """Draw the newcomer's row given its observed scores (or its prior)."""
        if not scores:
            return np.asarray(prior.mean + prior.sample_centered(rng))
        unknown = [k for k in scores if k not in pos]
        if unknown:
            raise DataError(
                [f"unknown {other} {k!r}{suggest(k, list(pos))} in scores" for k in unknown]
            )
        d = self.posterior_draws_
        idx = np.array([pos[k] for k in scores])
        if unit:
            y = np.array(list(scores.values()), dtype=float)
        else:
            y = self.data_.to_unit(list(scores.values()), list(scores)).to_numpy()
        if np.any((y < 0) | (y > 1)):
            raise DataError([f"scores {dict(scores)} fall outside the tasks' bounds"])
        rank = self.spec_.rank
        nu = d.values.get("noise_nu")
        if other == "task":  # new LLM observed on known tasks
            fixed_bias = d.values["task_bias"][:, idx]
            fixed_load = d.values["task_loading"][:, idx, :] if rank else None
            floor = self._chance([self.data_.task_names[i] for i in idx])[None, :]
            sd = d.values["sigma"][:, idx]
        else:  # new task observed for known LLMs
            fixed_bias = d.values["llm_bias"][:, idx]
            fixed_load = d.values["llm_loading"][:, idx, :] if rank else None
            floor = np.full((1, len(idx)), chance or 0.0)
            assert sigma is not None
            sd = np.repeat(sigma[:, None], len(idx), axis=1)
        intercept = d.get("intercept")
        noise_floor, scaling = self.spec_.noise_floor, self.spec_.noise_scaling

        def loglik(theta: np.ndarray) -> np.ndarray:
            eta = intercept[:, None] + theta[:, :1] + fixed_bias
            if rank and fixed_load is not None:
                eta = eta + np.einsum("sk,sjk->sj", theta[:, 1:], fixed_load)
            mu = link(eta, floor)
            return cell_loglik(y[None, :], mu, cell_sd(sd, mu, noise_floor, scaling), nu)

        return condition_new_row(prior, loglik, rng)

    # ---------------------------------------------------------- diagnostics
    def diagnose(self, **kwargs: Any) -> Any:
        """Convergence report on identified quantities, see :func:`bayes_cpp.diagnostics.diagnose`."""
        from bayes_cpp.diagnostics import diagnose

        self._check_fitted()
        return diagnose(self.idata_, **kwargs)

    def summary(self, **kwargs: Any) -> pd.DataFrame:
        """ArviZ summary of identified quantities, see :func:`bayes_cpp.diagnostics.summary`."""
        from bayes_cpp.diagnostics import summary

        self._check_fitted()
        return summary(self.idata_, **kwargs)

    # ---------------------------------------------------------- persistence
    def save(self, path: str | Path) -> Path:
        """Write the fit to one netCDF file (atomically); see :mod:`bayes_cpp.persistence`."""
        from bayes_cpp.persistence import save_fit

        self._check_fitted()
        return save_fit(self, Path(path))

    @classmethod
    def load(cls, path: str | Path) -> BayesCPP:
        """Load a fit written by :meth:`save` (no pickle: no code is executed)."""
        from bayes_cpp.persistence import load_fit

        return load_fit(cls, Path(path))

    # -------------------------------------------------------------- display
    def __repr__(self) -> str:
        spec_name = getattr(
            load_spec(self.spec) if not isinstance(self.spec, ModelSpec) else self.spec, "name", "?"
        )
        if not hasattr(self, "idata_"):
            return f"BayesCPP(spec={spec_name!r}, rank={self.rank}, sampler={self.sampler!r}) [not fitted]"
        post = self.idata_["posterior"]
        status = "not checked"
        try:
            report = self.diagnose(warn=False)
            status = (
                "ok"
                if report.ok
                else f"PROBLEMS (max r_hat {report.max_rhat:.3f}, {report.n_divergent} divergent)"
            )
        except Exception as exc:
            status = f"unavailable ({type(exc).__name__})"
        return "\n".join(
            [
                f"BayesCPP fitted: spec {self.spec_.name!r} (rank {self.spec_.rank}, {self.spec_.likelihood})",
                f"  data: {self.data_.n_llms} LLMs x {self.data_.n_tasks} tasks, "
                f"{self.data_.n_observed} observed ({self.data_.density:.1%})",
                f"  sampler: {self.sampler_used_}, {post.sizes['chain']} chains x {post.sizes['draw']} draws, "
                f"seed {self.random_seed_}",
                f"  diagnostics: {status}",
            ]
        )


def _loading(row: tuple[np.ndarray, np.ndarray | None]) -> np.ndarray:
    if row[1] is None:
        raise RuntimeError("posterior lacks loadings although the spec has a latent rank")
    return row[1]


def _to_unit(value: float, lo: float, hi: float, higher_is_better: bool) -> float:
    p = (float(value) - lo) / (hi - lo)
    return p if higher_is_better else 1.0 - p
