"""Declarative model specifications and priors.

A :class:`ModelSpec` is plain data (it round-trips through TOML and JSON): the
rank, the likelihood, which hierarchy levels and design-factor regressions are
on, and the priors. Specs shipped in ``models/*.toml`` are usable by name
(``BayesCPP(spec="hbmf")``). Priors are :class:`Prior` records of our own rather
than ``pymc_extras.Prior``: pymc-extras 0.15 caps pymc below 6.4, and we only
need a handful of scalar distributions that serialise to JSON.
"""

from __future__ import annotations

import dataclasses
import importlib.resources
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from bayes_cpp._validation import suggest
from bayes_cpp.exceptions import SpecError

__all__ = [
    "DEFAULT_PRIORS",
    "Feature",
    "ModelSpec",
    "Prior",
    "available_specs",
    "custom_features",
    "load_spec",
]

#: Distributions a prior may use and their parameter names.
_DISTRIBUTIONS: dict[str, tuple[str, ...]] = {
    "Normal": ("mu", "sigma"),
    "HalfNormal": ("sigma",),
    "Exponential": ("lam",),
    "Gamma": ("alpha", "beta"),
    "LogNormal": ("mu", "sigma"),
    "HalfStudentT": ("nu", "sigma"),
    "StudentT": ("nu", "mu", "sigma"),
    "Beta": ("alpha", "beta"),
}
_POSITIVE = {"HalfNormal", "Exponential", "Gamma", "LogNormal", "HalfStudentT"}


@dataclass(frozen=True)
class Prior:
    """A scalar prior distribution as data.

    Parameters
    ----------
    dist : str
        A PyMC distribution name (Normal, HalfNormal, Exponential, Gamma,
        LogNormal, HalfStudentT, StudentT).
    **params : float
        Its parameters.

    Examples
    --------
    >>> Prior("HalfNormal", sigma=0.5).to_dict()
    {'dist': 'HalfNormal', 'sigma': 0.5}
    """

    dist: str
    params: Mapping[str, float] = field(default_factory=dict)

    def __init__(self, dist: str, /, **params: float) -> None:
        if dist not in _DISTRIBUTIONS:
            raise SpecError(
                f"unknown prior distribution {dist!r}{suggest(dist, list(_DISTRIBUTIONS))}; "
                f"use one of {', '.join(_DISTRIBUTIONS)}"
            )
        expected = _DISTRIBUTIONS[dist]
        if set(params) != set(expected):
            raise SpecError(
                f"prior {dist} takes parameters {', '.join(expected)}; got {', '.join(params) or 'none'}"
            )
        try:
            clean = {k: float(params[k]) for k in expected}
        except (TypeError, ValueError):
            raise SpecError(f"prior {dist} parameters must be numbers, got {params!r}") from None
        object.__setattr__(self, "dist", dist)
        object.__setattr__(self, "params", clean)

    @property
    def positive(self) -> bool:
        """True if the distribution's support is the positive reals."""
        return self.dist in _POSITIVE

    def create(self, name: str, **kwargs: Any) -> Any:
        """Create the PyMC random variable ``name`` (inside a model context)."""
        import pymc as pm

        return getattr(pm, self.dist)(name, **self.params, **kwargs)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready ``{"dist": ..., **params}``."""
        return {"dist": self.dist, **self.params}

    @classmethod
    def from_dict(cls, record: Mapping[str, Any]) -> Prior:
        """Inverse of :meth:`to_dict`."""
        if not isinstance(record, Mapping) or "dist" not in record:
            raise SpecError(f"a prior needs a 'dist' key, got {record!r}")
        params = {k: v for k, v in record.items() if k != "dist"}
        return cls(str(record["dist"]), **params)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v:g}" for k, v in self.params.items())
        return f"Prior({self.dist!r}, {args})"


#: Default priors of the hierarchical model (on the logit scale of the
#: chance-corrected unit score, except ``noise_*`` which are on the unit scale).
DEFAULT_PRIORS: dict[str, Prior] = {
    "intercept": Prior("Normal", mu=0.0, sigma=1.5),
    # Bias scales are the total sd of a row's deviation from its design
    # factors; the share puts part of that variance on the family (category).
    # One scale plus a share, like the loadings: two free sigmas would trade
    # off against each other wherever most groups have a single member.
    "llm_bias_scale": Prior("HalfNormal", sigma=1.0),
    "task_bias_scale": Prior("HalfNormal", sigma=1.0),
    "family_bias_share": Prior("Beta", alpha=2.0, beta=2.0),
    "category_bias_share": Prior("Beta", alpha=2.0, beta=2.0),
    "llm_bias_coef": Prior("Normal", mu=0.0, sigma=0.7),
    "task_bias_coef": Prior("Normal", mu=0.0, sigma=0.5),
    "family_loading_share": Prior("Beta", alpha=2.0, beta=2.0),
    "category_loading_share": Prior("Beta", alpha=2.0, beta=2.0),
    "task_loading_sigma": Prior("HalfNormal", sigma=0.7),
    "llm_loading_coef": Prior("Normal", mu=0.0, sigma=0.5),
    "task_loading_coef": Prior("Normal", mu=0.0, sigma=0.5),
    "noise_log_mu": Prior("Normal", mu=-3.5, sigma=1.0),
    "noise_log_sigma": Prior("HalfNormal", sigma=0.3),
    "noise_nu": Prior("Gamma", alpha=3.0, beta=0.2),
    "llm_noise_sigma": Prior("HalfNormal", sigma=0.5),
    "chance_share": Prior("Beta", alpha=4.0, beta=1.0),
}

FeatureTransform = Literal["identity", "log", "log1p", "log2"]


@dataclass(frozen=True)
class Feature:
    """One design-factor regressor.

    Parameters
    ----------
    name : str
        The coordinate in ``llm_feature``/``task_feature``.
    columns : tuple of str
        Candidate table columns, first present wins (units may differ: the
        feature is standardized, so ``log`` of billions or trillions of tokens
        is the same regressor).
    transform : {"identity", "log", "log1p", "log2"}
        Applied before standardizing.
    """

    name: str
    columns: tuple[str, ...]
    transform: FeatureTransform = "identity"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready record."""
        return {"name": self.name, "columns": list(self.columns), "transform": self.transform}

    @classmethod
    def from_dict(cls, name: str, record: Mapping[str, Any]) -> Feature:
        """Build from a TOML/JSON record ``{column | columns, transform}``."""
        cols = record.get("columns", record.get("column"))
        if cols is None:
            raise SpecError(f"feature {name!r} needs 'column' or 'columns'")
        columns = (cols,) if isinstance(cols, str) else tuple(str(c) for c in cols)
        transform = record.get("transform", "identity")
        if transform not in ("identity", "log", "log1p", "log2"):
            raise SpecError(
                f"feature {name!r}: transform {transform!r} is not one of identity, log, log1p, log2"
            )
        return cls(name=name, columns=columns, transform=transform)


#: How a user names a feature without a spec file: a column, ``(column,
#: transform)``, or a spec-file record ``{"column" | "columns": ..., "transform": ...}``.
FeatureValue = str | Sequence[str] | Mapping[str, Any]


def _parse_feature(name: Any, value: Any, side: str) -> Feature:
    if not isinstance(name, str) or not name:
        raise SpecError(f"{side} feature names must be non-empty strings, not {name!r}")
    if isinstance(value, str):
        return Feature(name=name, columns=(value,))
    if isinstance(value, Mapping):
        return Feature.from_dict(name, value)
    if isinstance(value, Sequence) and len(value) == 2 and all(isinstance(v, str) for v in value):
        return Feature.from_dict(name, {"column": value[0], "transform": value[1]})
    raise SpecError(
        f"{side} feature {name!r}: give a column name, (column, transform) or "
        f"{{'column': ..., 'transform': ...}}, not {value!r}"
    )


def custom_features(
    base: Sequence[Feature],
    extra: Mapping[str, FeatureValue] | None,
    *,
    replace: bool = False,
    side: str = "llm",
) -> tuple[Feature, ...]:
    """A spec's features with user-named ones added, overridden or substituted.

    Parameters
    ----------
    base : sequence of Feature
        The spec's features of one side.
    extra : mapping of str to column, (column, transform) or record, optional
        Features by name; a name already in ``base`` replaces that feature in
        place, a new name is appended (feature order matters only for the
        imputation network, which regresses each feature on the earlier ones).
    replace : bool
        Drop ``base`` first (when ``extra`` is given), so ``extra`` is the
        complete list of the side's features; ``{}`` then means none.
    side : str
        ``"llm"`` or ``"task"``, for messages.

    Applying the same ``extra`` twice gives the same features, so a saved
    fit's resolved spec plus its parameters rebuilds the same spec.

    Examples
    --------
    >>> base = load_spec("hbmf").llm_features
    >>> [f.name for f in custom_features(base, {"log_context": ("context_window", "log")})]
    ['log_params', 'log_tokens', 'log_context']
    >>> [f.name for f in custom_features(base, {"instruct": "is_instruct"}, replace=True)]
    ['instruct']
    """
    if extra is None:
        return tuple(base)
    if not isinstance(extra, Mapping):
        raise SpecError(
            f"{side}_features must be a mapping of feature name to column or (column, transform), "
            f"not {type(extra).__name__}"
        )
    parsed = {name: _parse_feature(name, value, side) for name, value in extra.items()}
    kept = [] if replace else [parsed.pop(f.name, f) for f in base]
    return (*kept, *parsed.values())


Likelihood = Literal["normal", "student_t"]
NoiseScaling = Literal["constant", "binomial"]


@dataclass(frozen=True)
class ModelSpec:
    """A declarative model specification.

    Parameters
    ----------
    name : str
        Identifier (file stem in ``models/``).
    description : str
        One line on what the variant is for.
    rank : int
        Number of latent dimensions ``K`` (0 gives an additive model).
    likelihood : {"normal", "student_t"}
        Observation noise on the unit score scale (Student-t is robust to the
        mixed prompt settings of crowdsourced cells).
    hierarchy : bool
        Draw LLMs around their family and tasks around their category.
    chance_level : bool
        Use each task's chance level as the lower asymptote of the mean
        (``chance + (1 - chance) sigmoid(eta)``).
    noise_floor : float
        Smallest noise sd on the unit scale. Reported scores carry rounding and
        reporting noise; without a floor, tasks with few scores can be fitted
        exactly, sending their noise to zero (a funnel NUTS cannot cross).
    noise_scaling : {"constant", "binomial"}
        How a cell's noise sd depends on its mean ``m``. ``"constant"``: the
        task's ``sigma``. ``"binomial"``: ``sqrt(floor^2 + (sigma^2 -
        floor^2) 4 m (1 - m))``, so ``sigma`` is the sd at ``m = 0.5`` and scores
        near a bound (an LLM at 0.5% on a generation task) are fitted, and
        predicted, to within their much smaller sampling noise.
    chance_share : bool
        Learn which share ``s`` of the chance level floors the mean:
        ``s g + (1 - s g) sigmoid(eta)`` (with ``chance_level``). The hard floor
        (``s = 1``) reaches a score below chance only by sending the LLM's bias
        to minus infinity; a share the data can lower lets the mean undercut it.
    llm_noise : bool
        Give every LLM its own noise multiplier ``exp(llm_noise_sigma z)``,
        ``z ~ N(0, 1)``: crowdsourced scores of one LLM come from one paper's
        evaluation set-up, so some LLMs sit further from the low-rank fit than
        others. A newcomer's multiplier is drawn from the population and
        conditioned on its revealed scores with its row.
    llm_features, task_features : tuple of Feature
        Design-factor regressions on the LLM and task sides.
    priors : dict of str to Prior
        Overrides of :data:`DEFAULT_PRIORS`.
    """

    name: str = "custom"
    description: str = ""
    rank: int = 3
    likelihood: Likelihood = "normal"
    hierarchy: bool = True
    chance_level: bool = True
    noise_floor: float = 0.0
    noise_scaling: NoiseScaling = "constant"
    llm_noise: bool = False
    chance_share: bool = False
    llm_features: tuple[Feature, ...] = ()
    task_features: tuple[Feature, ...] = ()
    priors: Mapping[str, Prior] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.rank, int) or self.rank < 0:
            raise SpecError(f"rank must be a non-negative integer, not {self.rank!r}")
        if not 0.0 <= self.noise_floor < 0.5:
            raise SpecError(f"noise_floor must be in [0, 0.5), not {self.noise_floor!r}")
        if self.noise_scaling not in ("constant", "binomial"):
            raise SpecError(
                f"noise_scaling must be 'constant' or 'binomial', not {self.noise_scaling!r}"
            )
        if self.chance_share and not self.chance_level:
            raise SpecError("chance_share = true needs chance_level = true (a floor to share)")
        if self.likelihood not in ("normal", "student_t"):
            raise SpecError(f"likelihood must be 'normal' or 'student_t', not {self.likelihood!r}")
        renamed = {
            "family_bias_sigma": "family_bias_share",
            "category_bias_sigma": "category_bias_share",
            "llm_bias_sigma": "llm_bias_scale",
            "task_bias_sigma": "task_bias_scale",
        }
        old = [k for k in self.priors if k in renamed]
        if old:
            raise SpecError(
                "prior key(s) "
                + ", ".join(f"{k!r} (now {renamed[k]!r})" for k in old)
                + " were replaced: a bias has one total scale and a family/category share"
            )
        unknown = [k for k in self.priors if k not in DEFAULT_PRIORS]
        if unknown:
            raise SpecError(
                "unknown prior key(s) "
                + ", ".join(f"{k!r}{suggest(k, list(DEFAULT_PRIORS))}" for k in unknown)
                + f"; valid keys: {', '.join(DEFAULT_PRIORS)}"
            )
        for key, prior in self.priors.items():
            if not isinstance(prior, Prior):
                raise SpecError(f"prior {key!r} must be a Prior, not {type(prior).__name__}")
            if key.endswith(("_sigma", "_scale", "_nu")) and not prior.positive:
                raise SpecError(
                    f"prior {key!r} is a scale: use a positive distribution, not {prior.dist}"
                )
            if key.endswith("_share") and prior.dist != "Beta":
                raise SpecError(
                    f"prior {key!r} is a share in (0, 1): use a Beta prior, not {prior.dist}"
                )
        for side, feats in (("llm", self.llm_features), ("task", self.task_features)):
            names = [f.name for f in feats]
            if len(set(names)) != len(names):
                raise SpecError(f"duplicate {side} feature names in {names}")

    def prior(self, key: str) -> Prior:
        """The prior in force for ``key`` (override, else default)."""
        return self.priors.get(key, DEFAULT_PRIORS[key])

    def resolved_priors(self) -> dict[str, Prior]:
        """Every prior key with the prior in force."""
        return {k: self.prior(k) for k in DEFAULT_PRIORS}

    def replace(self, **changes: Any) -> ModelSpec:
        """A copy with some fields changed (priors are merged, not replaced)."""
        if "priors" in changes:
            changes["priors"] = {**self.priors, **_coerce_priors(changes["priors"])}
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """JSON/TOML-ready record (round-trips through :meth:`from_dict`)."""
        return {
            "name": self.name,
            "description": self.description,
            "rank": self.rank,
            "likelihood": self.likelihood,
            "hierarchy": self.hierarchy,
            "chance_level": self.chance_level,
            "noise_floor": self.noise_floor,
            "noise_scaling": self.noise_scaling,
            "llm_noise": self.llm_noise,
            "chance_share": self.chance_share,
            "llm_features": {f.name: f.to_dict() for f in self.llm_features},
            "task_features": {f.name: f.to_dict() for f in self.task_features},
            "priors": {k: p.to_dict() for k, p in self.priors.items()},
        }

    @classmethod
    def from_dict(cls, record: Mapping[str, Any]) -> ModelSpec:
        """Build from a TOML/JSON record, rejecting unknown keys."""
        allowed = {f.name for f in dataclasses.fields(cls)}
        if "chance_floor" in record:
            raise SpecError(
                "spec key 'chance_floor' was renamed 'chance_level' (the noise has a floor too); "
                "rename it in the spec file"
            )
        unknown = [k for k in record if k not in allowed]
        if unknown:
            raise SpecError(
                "unknown spec key(s) "
                + ", ".join(f"{k!r}{suggest(k, sorted(allowed))}" for k in unknown)
                + f"; valid keys: {', '.join(sorted(allowed))}"
            )
        kwargs = dict(record)
        for side in ("llm_features", "task_features"):
            feats = record.get(side, {})
            if isinstance(feats, Mapping):
                kwargs[side] = tuple(
                    Feature.from_dict(name, {k: v for k, v in rec.items() if k != "name"})
                    for name, rec in feats.items()
                )
        kwargs["priors"] = _coerce_priors(record.get("priors", {}))
        return cls(**kwargs)


def _coerce_priors(priors: Mapping[str, Any]) -> dict[str, Prior]:
    return {k: v if isinstance(v, Prior) else Prior.from_dict(v) for k, v in priors.items()}


def _spec_dirs() -> list[Path]:
    """Where shipped specs live: the wheel's ``_specs`` folder, else the repo's ``models/``."""
    dirs: list[Path] = []
    packaged = importlib.resources.files("bayes_cpp") / "_specs"
    if packaged.is_dir():
        dirs.append(Path(str(packaged)))
    repo = Path(__file__).resolve().parent.parent / "models"
    if repo.is_dir():
        dirs.append(repo)
    return dirs


def available_specs() -> list[str]:
    """Names of the specs shipped in ``models/``."""
    return sorted({p.stem for d in _spec_dirs() for p in d.glob("*.toml")})


def load_spec(spec: str | Path | Mapping[str, Any] | ModelSpec) -> ModelSpec:
    """Resolve a spec given by name, TOML path, mapping or :class:`ModelSpec`.

    Examples
    --------
    >>> spec = load_spec("hbmf")
    >>> spec.rank, spec.hierarchy
    (2, True)
    """
    if isinstance(spec, ModelSpec):
        return spec
    if isinstance(spec, Mapping):
        return ModelSpec.from_dict(spec)
    path = Path(spec)
    if path.suffix != ".toml":
        for d in _spec_dirs():
            candidate = d / f"{spec}.toml"
            if candidate.is_file():
                path = candidate
                break
        else:
            names = available_specs()
            raise SpecError(
                f"unknown model spec {str(spec)!r}{suggest(str(spec), names)}; available: {', '.join(names)}"
            )
    try:
        record = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SpecError(f"spec file not found: {path}") from None
    except UnicodeDecodeError as exc:
        raise SpecError(f"spec file {path} is not UTF-8 text ({exc.reason})") from None
    except OSError as exc:
        raise SpecError(f"cannot read spec file {path}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"spec file {path} is not valid TOML: {exc}") from None
    record.setdefault("name", path.stem)
    return ModelSpec.from_dict(record)
