"""The scikit-learn-shaped estimator :class:`BayesCPP`.

It orchestrates the other modules: ``fit`` builds designs and the graph
(:mod:`bayes_cpp.graph`) and samples (:mod:`bayes_cpp.inference`); the
predictions come from the fit's :class:`~bayes_cpp.predictor.Predictor`, with
the estimator validating names and factors, choosing seeds, converting units
and labelling the output; ``diagnose`` and ``save``/``load`` delegate to
:mod:`bayes_cpp.diagnostics` and :mod:`bayes_cpp.persistence`. PyMC is
imported only when a graph is built, so loading a saved fit and predicting
from it never imports it.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Self

import numpy as np
import pandas as pd
import xarray as xr

from bayes_cpp import dims, equations
from bayes_cpp._validation import near_misses, suggest
from bayes_cpp.data import CollaborativeData
from bayes_cpp.exceptions import (
    BayesCPPError,
    DataError,
    DataWarning,
    IncompatibleFileError,
    NotFittedError,
    SpecError,
)
from bayes_cpp.features import EXTRAPOLATION_SD, Design, build_design, check_feature_columns
from bayes_cpp.inference import FORWARD_COMPILE, SamplerConfig
from bayes_cpp.inputs import uses_group_level
from bayes_cpp.predictor import Draws, Newcomer, Predictor
from bayes_cpp.seeds import stage_rng
from bayes_cpp.spec import FeatureValue, ModelSpec, Prior, custom_features, load_spec

if TYPE_CHECKING:
    import pymc as pm

    from bayes_cpp.diagnostics import DiagnosticReport
    from bayes_cpp.inputs import GraphInputs
    from bayes_cpp.persistence import SavedFit

__all__ = ["BayesCPP"]

Kind = Literal["mean", "score"]
Unseen = Literal["error", "population"]
_PARAMS = (
    "spec",
    "rank",
    "likelihood",
    "priors",
    "llm_features",
    "task_features",
    "replace_features",
    "sampler",
    "draws",
    "tune",
    "chains",
    "cores",
    "target_accept",
    "sampler_options",
    "random_seed",
)


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
    llm_features, task_features : mapping, optional
        Design features without a spec file, by name: a table column
        (``{"instruct": "is_instruct"}``), ``(column, transform)`` with a
        transform of identity, log, log1p, log2
        (``{"log_context": ("context_window", "log")}``), or a spec-file
        record. They extend the spec's features (a name the spec already has
        replaces that feature); a named column missing from the data is an
        error at ``fit``. See :func:`bayes_cpp.spec.custom_features`.
    replace_features : bool, default False
        Use ``llm_features`` / ``task_features`` (where given) instead of the
        spec's features of that side: ``llm_features={}`` then fits no LLM
        features.
    sampler : {"nutpie", "pymc", "numpyro", "advi", "fullrank_advi"}, default "nutpie"
        Inference method (recorded in the posterior's attributes):
        ``"advi"`` and ``"fullrank_advi"`` fit a variational approximation,
        fast on large matrices but approximate (:mod:`bayes_cpp.approximate`;
        :meth:`diagnose` then reports the optimisation instead of r-hat);
        ``"numpyro"`` runs NUTS through JAX (CPU devices or a GPU; the
        ``numpyro`` extra).
    draws, tune, chains, cores, target_accept
        Sampler settings, see :class:`bayes_cpp.inference.SamplerConfig`.
    sampler_options : mapping, optional
        Further :class:`~bayes_cpp.inference.SamplerConfig` settings by name,
        e.g. ``{"advi_iterations": 100_000}`` or ``{"chain_method":
        "vectorized"}`` (unknown names raise ``SpecError``).
    random_seed : int, optional
        One seed for every stochastic stage (``fit`` may override it).

    Examples
    --------
    >>> import bayes_cpp as bc
    >>> sim = bc.simulate(20, 6, random_seed=0)
    >>> est = bc.BayesCPP(draws=100, tune=100, chains=2, random_seed=0).fit(sim.data)
    >>> est.predict(["llm-000"], kind="mean").dims
    ('chain', 'draw', 'llm', 'task')
    >>> new = est.forecast("family-00", factors={"params_b": 7.0}, scores={"task-00": 50.0})
    >>> new.sizes["llm"], new.sizes["task"]
    (1, 6)

    (In the doctests the sampler is PyMC's mock, so the numbers are prior draws.)
    """

    def __init__(
        self,
        spec: str | Path | Mapping[str, Any] | ModelSpec = "hbmf",
        *,
        rank: int | None = None,
        likelihood: Literal["normal", "student_t"] | None = None,
        priors: Mapping[str, Prior] | None = None,
        llm_features: Mapping[str, FeatureValue] | None = None,
        task_features: Mapping[str, FeatureValue] | None = None,
        replace_features: bool = False,
        sampler: Literal["nutpie", "pymc", "numpyro", "advi", "fullrank_advi"] = "nutpie",
        draws: int = 1000,
        tune: int = 300,
        chains: int = 4,
        cores: int = 2,
        target_accept: float = 0.9,
        sampler_options: Mapping[str, Any] | None = None,
        random_seed: int | None = None,
    ) -> None:
        self.spec = spec
        self.rank = rank
        self.likelihood = likelihood
        self.priors = priors
        self.llm_features = llm_features
        self.task_features = task_features
        self.replace_features = replace_features
        self.sampler = sampler
        self.draws = draws
        self.tune = tune
        self.chains = chains
        self.cores = cores
        self.target_accept = target_accept
        self.sampler_options = sampler_options
        self.random_seed = random_seed

    # ------------------------------------------------------------ parameters
    def get_params(self) -> dict[str, Any]:
        """Constructor parameters (scikit-learn convention)."""
        return {k: getattr(self, k) for k in _PARAMS}

    def set_params(self, **params: Any) -> Self:
        """Set constructor parameters; returns self."""
        valid = self.get_params()
        for key, value in params.items():
            if key not in valid:
                raise SpecError(f"unknown parameter {key!r}{suggest(key, list(valid))}")
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
        for side, extra in (("llm", self.llm_features), ("task", self.task_features)):
            if extra is not None:
                base = spec.llm_features if side == "llm" else spec.task_features
                changes[f"{side}_features"] = custom_features(
                    base, extra, replace=self.replace_features, side=side
                )
        return spec.replace(**changes) if changes else spec

    def sampler_config(self) -> SamplerConfig:
        """The :class:`SamplerConfig` built from the constructor parameters."""
        options = dict(self.sampler_options or {})
        allowed = SamplerConfig.options()
        unknown = [k for k in options if k not in allowed]
        if unknown:
            raise SpecError(
                "; ".join(
                    f"unknown sampler option {k!r}{suggest(k, list(allowed))} "
                    f"(options: {', '.join(allowed)})"
                    for k in unknown
                )
            )
        return SamplerConfig(
            sampler=self.sampler,
            draws=self.draws,
            tune=self.tune,
            chains=self.chains,
            cores=self.cores,
            target_accept=self.target_accept,
            **options,
        )

    # ------------------------------------------------------------------- fit
    def _prepare(self, data: CollaborativeData) -> tuple[ModelSpec, Design, Design, GraphInputs]:
        from bayes_cpp.inputs import graph_inputs

        if not isinstance(data, CollaborativeData):
            raise DataError(
                [
                    f"fit needs a CollaborativeData, not {type(data).__name__} (see bayes_cpp.datasets.load)"
                ]
            )
        spec = self.resolved_spec()
        # Features the user named must exist (spec files may list optional ones).
        for extra, feats, table, side in (
            (self.llm_features, spec.llm_features, data.llms, dims.LLM),
            (self.task_features, spec.task_features, data.tasks, dims.TASK),
        ):
            check_feature_columns([f for f in feats if f.name in (extra or {})], table, side=side)
        llm_design = build_design(spec.llm_features, data.llms, side="llm")
        task_design = build_design(spec.task_features, data.tasks, side="task")
        inputs = graph_inputs(data, spec, llm_design, task_design)
        return spec, llm_design, task_design, inputs

    def build_model(self, data: CollaborativeData, *, rotation_gauge: bool = True) -> pm.Model:
        """The PyMC model this estimator would fit to ``data`` (nothing is sampled).

        ``rotation_gauge=False`` gives the same model without the anchors that
        fix the latent rotation (for forward sampling; see :mod:`bayes_cpp.graph`).
        """
        from bayes_cpp.graph import build_model

        spec, _, _, inputs = self._prepare(data)
        return build_model(inputs, spec, rotation_gauge=rotation_gauge)

    def fit(
        self,
        data: CollaborativeData,
        *,
        random_seed: int | None = None,
        progress: Callable[[Sequence[Any]], None] | None = None,
    ) -> Self:
        """Sample the posterior given ``data``; returns self.

        Parameters
        ----------
        data : CollaborativeData
            Training data. LLMs and tasks without any score keep their rows: they
            are predicted from their family or category and design factors (the
            paper's cold start), like :meth:`forecast` does for names not in ``data``.
        random_seed : int, optional
            Overrides the constructor's seed; recorded in ``random_seed_``.
        progress : callable, optional
            With the default ``"nutpie"`` sampler, called about every 0.5 s from a
            background thread with one ``nutpie.ChainProgress`` per chain
            (``finished_draws``, ``total_draws``, ``divergences``, ``tuning``);
            ignored by the other samplers. See :func:`bayes_cpp.inference.run_kernel`.
        """
        seed = self.random_seed if random_seed is None else random_seed
        spec, llm_design, task_design, inputs = self._prepare(data)
        config = self.sampler_config()
        if config.sampler == "nutpie":
            from bayes_cpp.inference import run_kernel
            from bayes_cpp.inputs import data_groups
            from bayes_cpp.kernel import build_layout

            idata = run_kernel(
                build_layout(inputs, spec), spec, inputs.coords, config, seed, progress=progress
            )
            idata = idata.assign(**data_groups(inputs))
        else:
            from bayes_cpp.graph import build_model
            from bayes_cpp.inference import run_inference

            model = build_model(inputs, spec)
            idata = run_inference(model, config, seed)
            self.pymc_model_ = model
        self._set_fitted(idata, data, spec, llm_design, task_design, config, seed)
        return self

    def sample_prior_predictive(
        self, data: CollaborativeData, *, draws: int = 500, random_seed: int | None = None
    ) -> xr.DataTree:
        """Draw parameters and unit scores of the observed cells from the prior.

        A prior predictive check: do the priors put scores where real
        benchmarks put them? Returns PyMC's DataTree (groups ``prior`` and
        ``prior_predictive``; ``score`` is on the unit scale, 1 = best). The
        seed is the ``prior_predictive`` child of ``random_seed`` (default:
        the constructor's).
        """
        import pymc as pm

        from bayes_cpp.seeds import stage_seed

        seed = self.random_seed if random_seed is None else random_seed
        # Forward sampling ignores potentials, so the rotation anchors' must not be there.
        model = self.build_model(data, rotation_gauge=False)
        with model:
            return pm.sample_prior_predictive(
                draws=draws,
                random_seed=stage_seed(seed, "prior_predictive"),
                compile_kwargs=FORWARD_COMPILE,
            )

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
        # The convergence summary stored in a saved file (set by from_saved).
        self.saved_diagnostics_: dict[str, Any] | None = None
        # Groups of a saved file that load(groups=...) left unread (set by from_saved).
        self.unread_groups_: tuple[str, ...] = ()
        self._predictor: Predictor | None = None

    def check_is_fitted(self) -> None:
        """Raise :class:`~bayes_cpp.NotFittedError` unless :meth:`fit` (or :meth:`load`) ran."""
        if not hasattr(self, "idata_"):
            raise NotFittedError(
                f"This {type(self).__name__} is not fitted yet; call .fit(data) first "
                "(or BayesCPP.load(path) for a saved fit)."
            )

    def check_complete(self, action: str) -> None:
        """Raise unless every group of the fit is in memory (see :meth:`load`'s ``groups``).

        Parameters
        ----------
        action : str
            What needs them, for the message (e.g. ``"diagnose()"``).
        """
        self.check_is_fitted()
        if self.unread_groups_:
            raise BayesCPPError(
                f"{action} needs the fit's {', '.join(self.unread_groups_)}, which "
                "BayesCPP.load(..., groups=...) did not read; load the file again without "
                "groups (BayesCPP.load(path)) to read every group"
            )

    @property
    def predictor_(self) -> Predictor:
        """The fit's prediction engine (unit scale, positions; built once)."""
        self.check_is_fitted()
        if self._predictor is None:
            spec, data = self.spec_, self.data_
            n_features = {dims.LLM: len(self.llm_design_), dims.TASK: len(self.task_design_)}
            groups = {
                dims.LLM: uses_group_level(spec, data.llms["family"].astype(str).to_numpy()),
                dims.TASK: uses_group_level(spec, data.tasks["category"].astype(str).to_numpy()),
            }
            required, optional = Predictor.required_variables(
                rank=spec.rank,
                likelihood=spec.likelihood,
                groups=groups,
                n_features=n_features,
                llm_noise=spec.llm_noise,
                chance_share=spec.chance_share,
            )
            draws = Draws.from_posterior(self.idata_["posterior"].to_dataset(), required, optional)
            self._predictor = Predictor(
                draws,
                rank=spec.rank,
                noise_floor=spec.noise_floor,
                noise_scaling=spec.noise_scaling,
                chance=self._chance(data.task_names),
                n_features=n_features,
            )
        return self._predictor

    # ------------------------------------------------- names, factors, units
    def positions(
        self, side: dims.SideName, names: Iterable[str] | str | None, *, unseen: Unseen = "error"
    ) -> list[int | None]:
        """Positions of ``names`` among the fit's LLMs or tasks (None = all).

        Unknown names raise a :class:`~bayes_cpp.DataError` with suggestions,
        or give ``None`` (a population draw) when ``unseen="population"``.
        """
        self.check_is_fitted()
        known = self.data_.llm_names if side == dims.LLM else self.data_.task_names
        listed = self._names(names, known, "LLM" if side == dims.LLM else "task", unseen)
        pos = {n: i for i, n in enumerate(known)}
        return [pos.get(n) for n in listed]

    def _names(
        self, names: Iterable[str] | str | None, known: list[str], what: str, unseen: str
    ) -> list[str]:
        if names is None:
            return list(known)
        out = [names] if isinstance(names, str) else [str(n) for n in names]
        missing = [n for n in out if n not in set(known)]
        if missing and unseen == "error":
            raise DataError(
                [
                    f"unknown {what} {n!r}{suggest(n, known)}; pass unseen='population' to predict it "
                    f"from the population, or use forecast() with its design"
                    for n in missing
                ]
            )
        return out

    def _chance(self, task_list: list[str]) -> np.ndarray:
        if not self.spec_.chance_level:
            return np.zeros(len(task_list))
        table = self.data_.tasks["chance"]
        return np.array([float(table.get(t, 0.0)) for t in task_list])

    def _design_row(
        self, design: Design, factors: Mapping[str, float] | None, what: str
    ) -> np.ndarray:
        factors = dict(factors or {})
        table = self.data_.llms if what == "LLM" else self.data_.tasks
        known_cols = set(design.columns)
        table_cols = set(table.columns)
        unknown = [k for k in factors if k not in known_cols and k not in table_cols]
        if unknown:
            raise DataError(
                [
                    f"unknown {what} factor {k!r}{suggest(k, sorted(known_cols | table_cols))}; "
                    f"the model uses {sorted(known_cols) or 'no factors'}"
                    for k in unknown
                ]
            )
        bad = [
            f"new {what}: {problem}"
            for k, v in factors.items()
            if k in known_cols and (problem := design.value_problem(k, v)) is not None
        ]
        if bad:
            raise DataError(bad)
        row = pd.DataFrame({c: [factors.get(c, np.nan)] for c in design.columns})
        x = design.matrix(row, what=f"new {what} factors")[0]
        self._warn_extrapolation(design, x, factors, table, what)
        return x

    @staticmethod
    def _warn_extrapolation(
        design: Design, x: np.ndarray, factors: Mapping[str, Any], table: pd.DataFrame, what: str
    ) -> None:
        """Warn when a standardized factor lies beyond the training range by EXTRAPOLATION_SD."""
        train = design.matrix(table, what=f"{what} table")
        for j, col in enumerate(design.columns):
            seen = train[:, j][np.isfinite(train[:, j])]
            if not np.isfinite(x[j]) or not len(seen):
                continue
            lo, hi = float(seen.min()), float(seen.max())
            beyond = max(lo - x[j], x[j] - hi)
            if beyond > EXTRAPOLATION_SD:
                raw = pd.to_numeric(table[col], errors="coerce")
                raw = raw[np.isfinite(train[:, j])]
                warnings.warn(
                    f"new {what}: {col} = {factors[col]:g} lies {beyond:.1f} sd (of "
                    f"{design.features[j].name}) beyond the training range {raw.min():g}.."
                    f"{raw.max():g}; the forecast extrapolates the regression on it far outside "
                    "the data. Check the units, or leave it out to impute it.",
                    DataWarning,
                    stacklevel=4,
                )

    def _warn_typo(self, group: str | None, groups: list[str], what: str) -> None:
        if group is None or group in groups:
            return
        close = near_misses(str(group), groups)
        if close:
            warnings.warn(
                f"{what} {group!r} is not in the fit (did you mean "
                f"{' or '.join(map(repr, close))}?); it is treated as a new {what} "
                f"drawn from the population. Pass a known {what} to borrow its effect.",
                DataWarning,
                stacklevel=4,
            )

    def _known_scores(
        self,
        scores: Mapping[str, Any],
        what: str,
        *,
        bounds: tuple[float, float, bool] | None = None,
        chance: float = 0.0,
    ) -> np.ndarray:
        """Known scores (task units) of a newcomer on the unit scale, checked.

        ``bounds`` and ``chance`` describe a new task (scores by LLM); without
        them the scores are by known task and use the task table.
        """
        problems, values = [], []
        for key, raw in scores.items():
            number = float("nan")
            if isinstance(raw, int | float | np.number) and not isinstance(raw, bool):
                number = float(raw)
            if not np.isfinite(number):
                problems.append(
                    f"known score {raw!r} for {what} {key!r} is not a finite number; "
                    f"leave the {what} out if its score is unknown"
                )
            values.append(number)
        if problems:
            raise DataError(problems)
        names = list(scores)
        if bounds is None:
            tasks = self.data_.tasks.loc[names]
            lo, hi = tasks["lo"].to_numpy(float), tasks["hi"].to_numpy(float)
            up = tasks["higher_is_better"].to_numpy(bool)
            chances = tasks["chance"].to_numpy(float)
        else:
            lo, hi = np.full(len(names), bounds[0]), np.full(len(names), bounds[1])
            up, chances = np.full(len(names), bounds[2]), np.full(len(names), chance)
        y = np.asarray(equations.to_unit(values, lo, hi, up), dtype=float)
        outside = [
            f"known score {v:g} for {what} {k!r} is outside its bounds {a:g}..{b:g}"
            for k, v, a, b, u in zip(names, values, lo, hi, y, strict=True)
            if not 0.0 <= u <= 1.0
        ]
        if outside:
            raise DataError(outside)
        self._warn_fractions(names, np.array(values), lo, hi, up, y, chances, what, bounds)
        return y

    def _warn_fractions(
        self,
        names: list[str],
        values: np.ndarray,
        lo: np.ndarray,
        hi: np.ndarray,
        up: np.ndarray,
        unit: np.ndarray,
        chance: np.ndarray,
        what: str,
        bounds: tuple[float, float, bool] | None,
    ) -> None:
        """Warn about scores that look like fractions on a percent-like task."""
        observed = self.data_.scores
        for i, name in enumerate(names):
            if not up[i] or hi[i] - lo[i] < 50 or values[i] > lo[i] + 1:
                continue
            reasons = []
            if unit[i] < chance[i]:
                reasons.append(f"below its chance level {lo[i] + chance[i] * (hi[i] - lo[i]):g}")
            if bounds is None:
                seen = observed.loc[observed["task"] == name, "score"]
                if len(seen) and values[i] < seen.min():
                    reasons.append(f"below every training score (min {seen.min():g})")
            if reasons:
                warnings.warn(
                    f"known score {values[i]:g} for {what} {name!r} (bounds {lo[i]:g}.."
                    f"{hi[i]:g}) is {' and '.join(reasons)}: if it is a fraction, give "
                    f"{lo[i] + values[i] * (hi[i] - lo[i]):g}",
                    DataWarning,
                    stacklevel=4,
                )

    def newcomer(
        self,
        side: dims.SideName,
        group: str | None = None,
        *,
        factors: Mapping[str, float] | None = None,
        scores: Mapping[str, float] | None = None,
        chance: float = 0.0,
        bounds: tuple[float, float, bool] = (0.0, 100.0, True),
    ) -> Newcomer:
        """Describe a new LLM (``side="llm"``) or task for the :class:`Predictor`.

        Parameters
        ----------
        side : {"llm", "task"}
            Which side the newcomer is on.
        group : str, optional
            Its family (category); unknown or None means a new one.
        factors : mapping, optional
            Design factors in the table's columns and units; missing ones are
            imputed.
        scores : mapping, optional
            Known scores in task units: by task for a new LLM, by LLM for a new
            task.
        chance, bounds
            A new task's chance level (fraction of its range) and
            ``(lo, hi, higher_is_better)``; ignored for a new LLM.

        Raises
        ------
        DataError
            For an unknown factor or score key, a factor that is not a finite
            number or lies outside its transform's domain (0 or a negative
            ``params_b`` under a log: leave it out to mean "unknown"), and a
            known score that is not a finite number or lies outside its bounds.

        Warns
        -----
        DataWarning
            When ``group`` is not known but close to a known name (a typo? it
            is then treated as a new one), when a factor extrapolates (its
            standardized value lies more than :data:`~bayes_cpp.features.EXTRAPOLATION_SD`
            training sds beyond the training minimum or maximum), and when a
            known score on a percent-like task (range >= 50) is <= 1 and below
            the task's chance level or every training score (a fraction by mistake?).
        """
        self.check_is_fitted()
        data = self.data_
        is_llm = side == dims.LLM
        what = "LLM" if is_llm else "task"
        groups = data.families if is_llm else data.categories
        self._warn_typo(group, groups, "family" if is_llm else "category")
        design = self.llm_design_ if is_llm else self.task_design_
        x = self._design_row(design, factors, what)
        index = groups.index(group) if group in groups else None
        scores = dict(scores or {})
        other = data.task_names if is_llm else data.llm_names
        pos = {n: i for i, n in enumerate(other)}
        unknown = [k for k in scores if k not in pos]
        if unknown:
            raise DataError(
                [
                    f"unknown {'task' if is_llm else 'LLM'} {k!r}{suggest(k, other)} in scores"
                    for k in unknown
                ]
            )
        y = (
            self._known_scores(scores, "task")
            if is_llm
            else self._known_scores(scores, "LLM", bounds=bounds, chance=chance)
        )
        return Newcomer(
            side=dims.LLM if is_llm else dims.TASK,
            group=index,
            x=x,
            known=np.array([pos[k] for k in scores], dtype=int),
            known_scores=y,
            chance=chance if (self.spec_.chance_level and not is_llm) else 0.0,
        )

    def _label(
        self,
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
        d = self.predictor_.draws
        values = d.unflatten(equations.from_unit(unit, lo, hi, up))
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

    @staticmethod
    def _check_choice(name: str, value: str, allowed: tuple[str, ...]) -> None:
        if value not in allowed:
            raise SpecError(
                f"{name} must be {' or '.join(repr(a) for a in allowed)}, not {value!r}"
            )

    def _rng(self, random_seed: int | None, stage: str) -> np.random.Generator:
        return stage_rng(self.random_seed_ if random_seed is None else random_seed, stage)

    # --------------------------------------------------------------- predict
    def predict(
        self,
        llms: Iterable[str] | str | None = None,
        tasks: Iterable[str] | str | None = None,
        *,
        kind: Kind = "score",
        unseen: Unseen = "error",
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
        self.check_is_fitted()
        self._check_choice("kind", kind, ("score", "mean"))
        self._check_choice("unseen", unseen, ("error", "population"))
        llm_list = self._names(llms, self.data_.llm_names, "LLM", unseen)
        task_list = self._names(tasks, self.data_.task_names, "task", unseen)
        rng = self._rng(random_seed, "predict")
        predictor = self.predictor_
        mean, sd = predictor.cells(
            self.positions(dims.LLM, llm_list, unseen=unseen),
            self.positions(dims.TASK, task_list, unseen=unseen),
            rng,
        )
        if kind == "score":
            mean = predictor.noisy(mean, sd, rng)
        return self._label(mean, llm_list, task_list, kind)

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
            (or None) is treated as a new family drawn from the population; a
            name close to a known family (``"Lama"`` for ``"Llama"``) warns first.
        factors : mapping, optional
            Design factors in the LLM table's columns and units (e.g.
            ``{"params_b": 70, "tokens_b": 2000}``); missing ones are imputed,
            so leave a factor out when it is unknown (0, a negative number or
            NaN under a log raises). A value more than 4 training sds beyond
            the training range on the standardized feature scale
            (:data:`~bayes_cpp.features.EXTRAPOLATION_SD`, e.g. ``params_b=1e9``)
            warns that the forecast extrapolates.
        scores : mapping of task to score, optional
            A few known scores of the new LLM in task units (the paper's
            "CPP-2" setting); the forecast conditions on them per draw. They
            must be finite and within the task's bounds; one that looks like a
            fraction on a percent task warns (see :meth:`newcomer`).
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
        self.check_is_fitted()
        self._check_choice("kind", kind, ("score", "mean"))
        task_list = self._names(tasks, self.data_.task_names, "task", "error")
        rng = self._rng(random_seed, "forecast")
        new = self.newcomer(dims.LLM, family, factors=factors, scores=scores)
        predictor = self.predictor_
        mean, sd = predictor.forecast(new, self.positions(dims.TASK, task_list), rng)  # type: ignore[arg-type]
        mean, sd = mean[:, None, :], sd[:, None, :]
        if kind == "score":
            mean = predictor.noisy(mean, sd, rng)
        return self._label(mean, [name], task_list, kind)

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
        The inputs are checked as in :meth:`forecast` (a category close to a
        known one warns, factors and scores must be finite numbers in their
        domain, far extrapolation and fraction-looking scores below chance warn).
        """
        self.check_is_fitted()
        self._check_choice("kind", kind, ("score", "mean"))
        try:
            lo, hi, chance = float(lo), float(hi), float(chance)
        except (TypeError, ValueError):
            raise DataError(
                [
                    f"new task {name!r}: lo, hi and chance must be numbers, not {lo!r}, {hi!r}, {chance!r}"
                ]
            ) from None
        if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi) or not 0.0 <= chance < 1.0:
            raise DataError(
                [
                    f"new task {name!r}: need finite lo < hi and 0 <= chance < 1 (a fraction of "
                    f"the range), not lo={lo:g}, hi={hi:g}, chance={chance:g}"
                ]
            )
        llm_list = self._names(llms, self.data_.llm_names, "LLM", "error")
        bounds = (lo, hi, higher_is_better)
        new = self.newcomer(
            dims.TASK, category, factors=factors, scores=scores, chance=chance, bounds=bounds
        )
        rng = self._rng(random_seed, "forecast")
        predictor = self.predictor_
        mean, sd = predictor.forecast(new, self.positions(dims.LLM, llm_list), rng)  # type: ignore[arg-type]
        mean, sd = mean[:, :, None], sd[:, :, None]
        if kind == "score":
            mean = predictor.noisy(mean, sd, rng)
        return self._label(mean, llm_list, [name], kind, bounds=bounds)

    # ---------------------------------------------------------- diagnostics
    def diagnose(self, *, warn: bool = True) -> DiagnosticReport:
        """Convergence report on identified quantities (:func:`bayes_cpp.diagnostics.diagnose`).

        Parameters
        ----------
        warn : bool
            Emit a :class:`~bayes_cpp.ConvergenceWarning` when a check fails.
        """
        from bayes_cpp.diagnostics import diagnose

        self.check_complete("diagnose()")
        return diagnose(self.idata_, warn=warn)

    def summary(
        self,
        *,
        var_names: list[str] | None = None,
        ci_prob: float = dims.CI_PROB,
        ci_kind: Literal["eti", "hdi"] = dims.CI_KIND,
    ) -> pd.DataFrame:
        """ArviZ summary of identified quantities (:func:`bayes_cpp.diagnostics.summary`)."""
        from bayes_cpp.diagnostics import summary

        self.check_complete("summary()")
        return summary(self.idata_, var_names=var_names, ci_prob=ci_prob, ci_kind=ci_kind)

    # ---------------------------------------------------------- persistence
    def save(self, path: str | Path) -> Path:
        """Write the fit to one netCDF file (atomically); see :mod:`bayes_cpp.persistence`.

        The file records the fit's convergence summary (:meth:`diagnose`), which
        :meth:`load` restores as ``saved_diagnostics_``.
        """
        from bayes_cpp.persistence import SavedFit, save_fit

        self.check_complete("save()")
        try:
            diagnostics: dict[str, Any] = self.diagnose(warn=False).to_dict()
        except Exception as exc:  # a fit must stay savable; the file says why it was not checked
            diagnostics = {"ok": False, "problems": [f"diagnostics failed: {exc!r}"[:200]]}
        params = self.get_params()
        params["spec"] = self.spec_.to_dict()
        params["priors"] = {k: p.to_dict() for k, p in (params["priors"] or {}).items()} or None
        record = SavedFit(
            idata=self.idata_,
            data=self.data_,
            spec=self.spec_,
            llm_design=self.llm_design_,
            task_design=self.task_design_,
            sampler_config=self.sampler_config_,
            random_seed=self.random_seed_,
            sampler_used=self.sampler_used_,
            params=params,
            diagnostics=diagnostics,
        )
        return save_fit(record, Path(path))

    @classmethod
    def load(cls, path: str | Path, *, groups: Iterable[str] | None = None) -> BayesCPP:
        """Load a fit written by :meth:`save` (no pickle: no code is executed).

        The checksums of everything read are verified (a damaged file raises
        :class:`~bayes_cpp.IncompatibleFileError`); ``saved_diagnostics_`` holds
        the convergence summary recorded when it was saved
        (:meth:`bayes_cpp.diagnostics.DiagnosticReport.to_dict`).

        Parameters
        ----------
        path : str or Path
            The file.
        groups : iterable of str, optional
            Read only the posterior, the training data and these groups
            (``sample_stats``, ``constant_data``, ``observed_data``); default:
            every group. Predictions, forecasts, what-if curves, recommendations
            and similarities need only the posterior, so ``groups=()`` loads
            them faster; :meth:`diagnose`, :meth:`summary` and :meth:`save` then
            raise, naming the groups left unread (``unread_groups_``).
        """
        from bayes_cpp.persistence import load_fit

        return cls.from_saved(load_fit(Path(path), groups=groups))

    @classmethod
    def from_saved(cls, record: SavedFit) -> BayesCPP:
        """Rebuild a fitted estimator from a :class:`~bayes_cpp.persistence.SavedFit`."""
        params = dict(record.params)
        unknown = sorted(set(params) - set(_PARAMS))
        if unknown:
            raise IncompatibleFileError(
                f"saved parameters hold unknown key(s) {', '.join(map(repr, unknown))}; "
                f"BayesCPP takes {', '.join(_PARAMS)}"
            )
        params["spec"] = record.spec
        if params.get("priors"):
            params["priors"] = dict(record.spec.priors)
        try:
            est = cls(**params)
            est.sampler_config()  # validates the stored sampler settings
        except (TypeError, BayesCPPError) as exc:
            raise IncompatibleFileError(f"saved parameters are invalid: {exc}") from None
        est._set_fitted(
            record.idata,
            record.data,
            record.spec,
            record.llm_design,
            record.task_design,
            record.sampler_config,
            record.random_seed,
        )
        est.saved_diagnostics_ = None if record.diagnostics is None else dict(record.diagnostics)
        est.unread_groups_ = tuple(record.unread_groups)
        return est

    # -------------------------------------------------------------- display
    def __repr__(self) -> str:
        if not hasattr(self, "idata_"):
            try:
                spec_name = load_spec(self.spec).name
            except BayesCPPError:
                spec_name = "?"
            return f"BayesCPP(spec={spec_name!r}, rank={self.rank}, sampler={self.sampler!r}) [not fitted]"
        post = self.idata_["posterior"]
        try:
            report = self.diagnose(warn=False)
            if report.approximation is not None:
                status = (
                    f"APPROXIMATION ({report.approximation}, {report.iterations} iterations, "
                    f"loss {'converged' if report.ok else 'NOT converged'}); r_hat/ESS do not apply"
                )
            else:
                status = report.headline()
                if not report.ok:
                    status += "; numbers from this fit may be wrong"
        except Exception as exc:
            status = f"unavailable ({type(exc).__name__})"
        shape = f"{post.sizes['chain']} chains x {post.sizes['draw']} draws"
        if self.sampler_config_.approximate:
            shape = (
                f"{post.sizes['chain']} x {post.sizes['draw']} independent draws (pseudo-chains)"
            )
        return "\n".join(
            [
                f"BayesCPP fitted: spec {self.spec_.name!r} (rank {self.spec_.rank}, {self.spec_.likelihood})",
                f"  data: {self.data_.n_llms} LLMs x {self.data_.n_tasks} tasks, "
                f"{self.data_.n_observed} observed ({self.data_.density:.1%})",
                f"  sampler: {self.sampler_used_}, {shape}, seed {self.random_seed_}",
                f"  diagnostics: {status}",
            ]
        )
