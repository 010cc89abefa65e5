"""Which design factors matter, for which abilities.

Two views:

* **Coefficients** (:func:`coefficients`, :func:`by_category`): the posterior
  of the design-factor regressions of one fit. Features are standardized,
  so a coefficient is the effect of a +1 sd change of the (transformed)
  factor. Bias coefficients are identified; loading coefficients rotate with
  the loadings (``x B R``), so their draws are first rotated onto a common
  reference with :func:`bayes_cpp.diagnostics.procrustes_rotations`.
  :func:`by_category` combines both into a rotation-invariant number per task
  category: the change of the linear predictor of an average task of the
  category.
* **Shapley decomposition** (:func:`shapley`): how much each group of factors
  improves held-out predictions. Every subset of groups is a model of its
  own, *refitted* without the other groups (a feature is dropped from the
  spec; the family or category hierarchy is dropped by fitting with a single
  family or category, which is the model without that level), never by
  writing zeros into inputs. The held-out score of each subset is the mean
  log predictive density (or minus the CRPS) of the hidden cells, and the
  exact Shapley values of the groups split ``v(all) - v(none)`` among them,
  as the CPP paper's Fig. 6 does with its own (zeroing) ablation.

``import bayes_cpp`` does not import ArviZ or the evaluation harness; the
functions here import them when called.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from bayes_cpp import dims
from bayes_cpp.data import CollaborativeData
from bayes_cpp.estimator import BayesCPP
from bayes_cpp.exceptions import SpecError
from bayes_cpp.spec import Feature

if TYPE_CHECKING:
    from bayes_cpp.evaluation.protocols import Split

__all__ = [
    "CPP_FEATURES",
    "CPP_GROUPS",
    "ShapleyResult",
    "by_category",
    "coefficients",
    "exact_shapley",
    "shapley",
]

#: Group members that stand for a side's hierarchy level rather than a feature.
FAMILY_LEVEL = "family"
CATEGORY_LEVEL = "category"

#: The CPP paper's design factors (Fig. 6) as features of ``cpp-crowdsourced``
#: beyond the default spec's (``log_params``, ``log_tokens``, ``log_shots``):
#: pass as ``est_params={"llm_features": CPP_FEATURES}``.
CPP_FEATURES: dict[str, tuple[str, str]] = {
    "log_context": ("context_window", "log"),
    "log_batch": ("batch_size_m", "log"),
}

#: The CPP paper's factor groups (Fig. 6) for :func:`shapley` on ``cpp-crowdsourced``
#: with :data:`CPP_FEATURES`: the family hierarchy, parameters, tokens, context
#: window, batch size, task ability (the category hierarchy) and shots.
CPP_GROUPS: dict[str, str] = {
    "family": FAMILY_LEVEL,
    "params": "log_params",
    "tokens": "log_tokens",
    "context": "log_context",
    "batch": "log_batch",
    "ability": CATEGORY_LEVEL,
    "shots": "log_shots",
}


# --------------------------------------------------------------- coefficients
_COEF_COLUMNS = ["side", "factor", "on", "mean", "sd", "lower", "upper"]


def _flat_rotations(est: BayesCPP) -> np.ndarray:
    from bayes_cpp.diagnostics import procrustes_rotations

    rot = procrustes_rotations(est.idata_["posterior"].to_dataset())
    return rot.reshape(-1, *rot.shape[-2:])


def coefficients(est: BayesCPP, *, ci_prob: float = dims.CI_PROB) -> pd.DataFrame:
    """Posterior of every standardized design-factor coefficient of a fit.

    Parameters
    ----------
    est : BayesCPP
        A fitted estimator.
    ci_prob : float
        Probability of the equal-tailed intervals.

    Returns
    -------
    pandas.DataFrame
        One row per side x feature x target, columns ``side`` (``"llm"`` /
        ``"task"``), ``factor`` (the feature name, e.g. ``log_params``),
        ``on`` (``"bias"``, ``"latent 1"``, ``"latent 2"``, ...), ``mean``,
        ``sd``, ``lower``, ``upper``. Values are per +1 sd of the feature: on
        the linear predictor (logit scale) for ``bias``, on the side's
        loading for ``latent k`` (task loadings include the task loading
        scale), after rotating the draws onto a common reference.

    Examples
    --------
    >>> import bayes_cpp as bc
    >>> sim = bc.simulate(20, 6, random_seed=0)
    >>> est = bc.BayesCPP(draws=50, tune=50, chains=2, random_seed=0).fit(sim.data)
    >>> table = coefficients(est)
    >>> table[["side", "factor", "on"]].head(3).to_numpy().tolist()
    [['llm', 'log_params', 'bias'], ['llm', 'log_params', 'latent 1'], ['llm', 'log_params', 'latent 2']]
    """
    from bayes_cpp.diagnostics import draw_summary

    est.check_is_fitted()
    values = est.predictor_.draws.values
    rank = est.spec_.rank
    rot = _flat_rotations(est) if rank else None
    rows: list[pd.DataFrame] = []
    for s, design in ((dims.LLM_SIDE, est.llm_design_), (dims.TASK_SIDE, est.task_design_)):
        if not len(design):
            continue
        parts = [values[s.bias_coef][:, :, None]]  # (S, F, 1)
        if rank and rot is not None:
            load = np.einsum("sfk,skl->sfl", values[s.loading_coef], rot)
            if s.loading_scale:
                load = load * values[s.loading_scale][:, None, None]
            parts.append(load)
        draws = np.concatenate(parts, axis=2)  # (S, F, 1 + K)
        stats = draw_summary(draws.reshape(draws.shape[0], -1), ci_prob=ci_prob)
        targets = ["bias", *[f"latent {k + 1}" for k in range(draws.shape[2] - 1)]]
        stats.insert(0, "on", targets * len(design))
        stats.insert(0, "factor", np.repeat(design.names, len(targets)))
        stats.insert(0, "side", s.name)
        rows.append(stats)
    if not rows:
        return pd.DataFrame(columns=_COEF_COLUMNS)
    return pd.concat(rows, ignore_index=True)[_COEF_COLUMNS]


def by_category(est: BayesCPP, *, ci_prob: float = dims.CI_PROB) -> pd.DataFrame:
    """Effect of +1 sd of each LLM feature on an average task of each category.

    Per draw: ``beta_f + B_f . mean_{t in c} v_t``, the LLM bias coefficient
    plus the loading coefficient times the mean loading of the category's
    fitted tasks, i.e. the change of the linear predictor (logit of the
    chance-corrected score) of that average task. The rotation cancels in the
    product, so no alignment is needed.

    Returns
    -------
    pandas.DataFrame
        Columns ``factor``, ``category``, ``mean``, ``sd``, ``lower``,
        ``upper``; one row per LLM feature x category (categories in the
        data's order).

    Examples
    --------
    >>> import bayes_cpp as bc
    >>> sim = bc.simulate(20, 6, random_seed=0)
    >>> est = bc.BayesCPP(draws=50, tune=50, chains=2, random_seed=0).fit(sim.data)
    >>> by_category(est).columns.tolist()
    ['factor', 'category', 'mean', 'sd', 'lower', 'upper']
    """
    from bayes_cpp.diagnostics import draw_summary

    est.check_is_fitted()
    columns = ["factor", "category", "mean", "sd", "lower", "upper"]
    design = est.llm_design_
    if not len(design):
        return pd.DataFrame(columns=columns)
    values = est.predictor_.draws.values
    s = dims.LLM_SIDE
    categories = est.data_.categories
    labels = est.data_.tasks["category"].astype(str).to_numpy()
    beta = values[s.bias_coef]  # (S, F)
    effect = np.repeat(beta[:, :, None], len(categories), axis=2)  # (S, F, C)
    if est.spec_.rank:
        v = values[dims.TASK_SIDE.loading]  # (S, T, K)
        vbar = np.stack([v[:, labels == c, :].mean(axis=1) for c in categories], axis=1)
        effect = effect + np.einsum("sfk,sck->sfc", values[s.loading_coef], vbar)
    stats = draw_summary(effect.reshape(effect.shape[0], -1), ci_prob=ci_prob)
    stats.insert(0, "category", categories * len(design))
    stats.insert(0, "factor", np.repeat(design.names, len(categories)))
    return stats[columns]


# -------------------------------------------------------------------- Shapley
def exact_shapley[P: Hashable](
    players: Sequence[P], value: Callable[[frozenset[P]], float]
) -> dict[P, float]:
    """Exact Shapley values of ``players`` for the set function ``value``.

    ``phi_i = sum_{S without i} |S|! (n - |S| - 1)! / n! (v(S + i) - v(S))``;
    they sum to ``v(all) - v(none)`` (efficiency). ``value`` is called once
    per subset (``2^n`` calls).

    Examples
    --------
    >>> v = {frozenset(): 0.0, frozenset("a"): 1.0, frozenset("b"): 2.0, frozenset("ab"): 5.0}
    >>> exact_shapley(["a", "b"], v.__getitem__)
    {'a': 2.0, 'b': 3.0}
    """
    n = len(players)
    if len(set(players)) != n:
        raise SpecError(f"Shapley players must be distinct, got {list(players)}")
    cache = {
        frozenset(c): float(value(frozenset(c)))
        for r in range(n + 1)
        for c in itertools.combinations(players, r)
    }
    out: dict[P, float] = {}
    for p in players:
        rest = [q for q in players if q != p]
        total = 0.0
        for r in range(n):
            weight = math.factorial(r) * math.factorial(n - r - 1) / math.factorial(n)
            for c in itertools.combinations(rest, r):
                subset = frozenset(c)
                total += weight * (cache[subset | {p}] - cache[subset])
        out[p] = total
    return out


@dataclass(frozen=True)
class _Members:
    """What one group switches on: features per side and hierarchy levels."""

    llm: tuple[str, ...] = ()
    task: tuple[str, ...] = ()
    family: bool = False
    category: bool = False


def _resolve_groups(
    groups: Mapping[str, str | Sequence[str]], spec_llm: list[str], spec_task: list[str]
) -> dict[str, _Members]:
    if not isinstance(groups, Mapping) or not groups:
        raise SpecError("groups must be a non-empty mapping of group name to members")
    both = set(spec_llm) & set(spec_task)
    known = [FAMILY_LEVEL, CATEGORY_LEVEL, *spec_llm, *spec_task]
    out: dict[str, _Members] = {}
    seen: dict[str, str] = {}
    for name, members in groups.items():
        listed = [members] if isinstance(members, str) else list(members)
        if not listed:
            raise SpecError(f"group {name!r} has no members")
        m: dict[str, Any] = {"llm": [], "task": [], "family": False, "category": False}
        for item in listed:
            if item in seen:
                raise SpecError(f"{item!r} is in groups {seen[item]!r} and {name!r}; use one")
            seen[item] = name
            if item == FAMILY_LEVEL:
                m["family"] = True
            elif item == CATEGORY_LEVEL:
                m["category"] = True
            elif item in both:
                raise SpecError(f"feature {item!r} exists on both sides; rename one")
            elif item in spec_llm:
                m["llm"].append(item)
            elif item in spec_task:
                m["task"].append(item)
            else:
                from bayes_cpp._validation import suggest

                raise SpecError(
                    f"group {name!r}: unknown member {item!r}{suggest(item, known)}; members are "
                    f"'family', 'category' or a feature of the model ({', '.join(known[2:])}); "
                    "add features with est_params={'llm_features': ...}"
                )
        out[str(name)] = _Members(
            tuple(m["llm"]), tuple(m["task"]), bool(m["family"]), bool(m["category"])
        )
    return out


def _one_group(data: CollaborativeData, side: Literal["llm", "task"]) -> CollaborativeData:
    """``data`` with every LLM in one family (every task in one category): no group level."""
    llms, tasks = data.llms, data.tasks
    if side == dims.LLM:
        llms = llms.assign(family="all")
    else:
        tasks = tasks.assign(category="all")
    return CollaborativeData(data.scores, llms, tasks, allow_unobserved=True, name=data.name)


def _subset_data(
    split: Split, full: CollaborativeData, family: bool, category: bool
) -> tuple[Split, CollaborativeData]:
    for keep, side in ((family, dims.LLM), (category, dims.TASK)):
        if not keep:
            split = dataclasses.replace(split, train=_one_group(split.train, side))  # type: ignore[arg-type]
            full = _one_group(full, side)  # type: ignore[arg-type]
    return split, full


@dataclass(frozen=True)
class ShapleyResult:
    """Result of :func:`shapley`.

    Attributes
    ----------
    table : pandas.DataFrame
        Columns ``group``, ``value`` (mean Shapley value over seeds),
        ``lower``, ``upper`` (Student-t interval of that mean over seeds at
        ``ci_prob``; NaN with one seed), ``sd`` (over seeds), in decreasing
        ``value`` order; intervals are over splits (one per seed). Values
        are in the metric's units per held-out cell
        and positive when a group helps (for CRPS: the CRPS it removes).
    per_seed : pandas.DataFrame
        Long format: ``split`` (its label), ``seed``, ``group``, ``value``.
    subsets : pandas.DataFrame
        Every subset's held-out score: ``split``, ``seed``, ``subset`` (group names joined
        by ``+``, ``""`` for none), ``n_groups``, ``score`` (mean LPD, or minus
        mean CRPS), ``max_rhat``, ``n_divergent``.
    metric : str
        ``"lpd"`` or ``"crps"``.
    """

    table: pd.DataFrame
    per_seed: pd.DataFrame
    subsets: pd.DataFrame
    metric: str


def _spec_variant(est_params: Mapping[str, Any], spec: Any) -> tuple[list[str], list[str], Any]:
    full = BayesCPP(spec, **dict(est_params)).resolved_spec()
    return [f.name for f in full.llm_features], [f.name for f in full.task_features], full


def _features(full: Any, keep_llm: set[str], keep_task: set[str]) -> dict[str, dict[str, Any]]:
    def pick(feats: tuple[Feature, ...], keep: set[str]) -> dict[str, Any]:
        return {
            f.name: {"columns": list(f.columns), "transform": f.transform}
            for f in feats
            if f.name in keep
        }

    return {
        "llm_features": pick(full.llm_features, keep_llm),
        "task_features": pick(full.task_features, keep_task),
    }


def shapley(
    data: CollaborativeData,
    groups: Mapping[str, str | Sequence[str]] = CPP_GROUPS,
    *,
    metric: Literal["lpd", "crps"] = "lpd",
    protocol: str = "random",
    holdout: float = 0.2,
    seeds: int | Sequence[int] = 3,
    splits: Sequence[Split] | None = None,
    est_params: Mapping[str, Any] | None = None,
    spec: str = "hbmf",
    ci_prob: float = dims.CI_PROB,
    random_seed: int = 0,
    progress: bool = False,
) -> ShapleyResult:
    """Exact Shapley decomposition of held-out predictive score over factor groups.

    For every split of ``protocol`` (one per seed) and every subset ``S`` of
    ``groups``, the model is refitted on the split's training cells with
    only the groups in ``S`` (plus every feature that is in no group) and
    scored on the hidden cells: ``v(S)`` = mean log predictive density per
    cell (``metric="lpd"``) or minus the mean CRPS (``"crps"``), unit scale.
    Each group's Shapley value is its average marginal improvement of ``v``
    over all orders in which groups can be added; the values of a seed sum
    to ``v(all) - v(none)`` exactly.

    Parameters
    ----------
    data : CollaborativeData
        The full data.
    groups : mapping of str to member or list of members
        Group name -> ``"family"`` (the LLM family hierarchy),
        ``"category"`` (the task category hierarchy) or feature names of the
        model (after ``est_params``' ``llm_features``/``task_features``).
        Default :data:`CPP_GROUPS` (needs :data:`CPP_FEATURES`).
    metric : {"lpd", "crps"}
        Held-out score (both via :mod:`bayes_cpp.evaluation.metrics`).
    protocol : str
        An evaluation protocol (:data:`bayes_cpp.evaluation.PROTOCOLS`);
        ``holdout`` and ``seeds`` go to :func:`~bayes_cpp.evaluation.make_splits`.
    holdout : float
        Fraction of cells hidden (``random`` protocol).
    seeds : int or sequence of int
        Split seeds (an int ``n`` means ``0..n-1``).
    splits : sequence of Split, optional
        Ready-made splits of ``data`` instead of ``protocol``, ``holdout`` and
        ``seeds`` (e.g. several LLMs held out at once, to measure what the
        factors add for LLMs without scores).
    est_params : mapping, optional
        :class:`BayesCPP` parameters (sampler settings, ``llm_features``, ...);
        :data:`bayes_cpp.evaluation.EVALUATION_SAMPLER` fills unset sampler
        settings. ``replace_features`` is set per subset.
    spec : str
        The full model's spec.
    ci_prob : float
        Probability of the intervals over seeds.
    random_seed : int
        Seeds the fits (per split; every subset of a split uses the same fit
        seed, so subsets differ by their model, not their seed).
    progress : bool
        Show a progress bar over fits.

    Returns
    -------
    ShapleyResult

    Notes
    -----
    ``2^n_groups`` fits per split (128 for the 7 default groups): use light
    sampler settings. Removing a hierarchy level refits with all LLMs in one
    family (all tasks in one category), which the graph treats as the model
    without that level.

    Examples
    --------
    >>> import bayes_cpp as bc
    >>> data = bc.simulate(20, 6, random_seed=0).data
    >>> result = shapley(
    ...     data,
    ...     {"family": "family", "params": "log_params"},
    ...     seeds=1,
    ...     est_params={"draws": 20, "tune": 20, "chains": 1},
    ... )
    >>> result.table.columns.tolist()
    ['group', 'value', 'lower', 'upper', 'sd']
    """
    from scipy import stats
    from tqdm.auto import tqdm

    from bayes_cpp.evaluation.methods import BayesMethod
    from bayes_cpp.evaluation.metrics import aggregate, score_cells
    from bayes_cpp.evaluation.protocols import make_splits
    from bayes_cpp.seeds import derived_seed

    if metric not in ("lpd", "crps"):
        raise SpecError(f"metric must be 'lpd' or 'crps', not {metric!r}")
    params = {k: v for k, v in dict(est_params or {}).items() if k != "replace_features"}
    if "spec" in params:
        raise SpecError("give the spec as shapley(spec=...), not in est_params")
    llm_names, task_names, full_spec = _spec_variant(params, spec)
    members = _resolve_groups(groups, llm_names, task_names)
    grouped_llm = {f for m in members.values() for f in m.llm}
    grouped_task = {f for m in members.values() for f in m.task}
    names = list(members)
    # A hierarchy level no group names stays on in every subset, like ungrouped features.
    family_grouped = any(m.family for m in members.values())
    category_grouped = any(m.category for m in members.values())
    if splits is None:
        splits = make_splits(data, protocol, holdout=holdout, seeds=seeds)
    subsets = [
        frozenset(c) for r in range(len(names) + 1) for c in itertools.combinations(names, r)
    ]
    bar = tqdm(total=len(splits) * len(subsets), disable=not progress, unit="fit")
    score_rows: list[dict[str, Any]] = []
    shap_rows: list[dict[str, Any]] = []
    for split in splits:
        scores: dict[frozenset[str], float] = {}
        for subset in subsets:
            on = [members[g] for g in subset]
            keep_llm = (set(llm_names) - grouped_llm) | {f for m in on for f in m.llm}
            keep_task = (set(task_names) - grouped_task) | {f for m in on for f in m.task}
            variant = {
                **params,
                **_features(full_spec, keep_llm, keep_task),
                "replace_features": True,
            }
            sub_split, sub_full = _subset_data(
                split,
                data,
                family=not family_grouped or any(m.family for m in on),
                category=not category_grouped or any(m.category for m in on),
            )
            method = BayesMethod(full_spec, variant)
            predictive, record = method.run(sub_split, sub_full, random_seed)
            rng = np.random.default_rng(derived_seed(random_seed, "shapley " + split.label))
            cells = score_cells(
                sub_split.test, predictive, full=sub_full, train=sub_split.train, rng=rng
            )
            agg = aggregate(cells)
            score = agg["lpd"] if metric == "lpd" else -agg["crps"]
            scores[subset] = score
            score_rows.append(
                {
                    "split": split.label,
                    "seed": split.seed,
                    "subset": "+".join(g for g in names if g in subset),
                    "n_groups": len(subset),
                    "score": score,
                    "max_rhat": record.get("max_rhat", np.nan),
                    "n_divergent": record.get("n_divergent", 0),
                }
            )
            bar.update()
        values = exact_shapley(names, scores.__getitem__)
        shap_rows += [
            {"split": split.label, "seed": split.seed, "group": g, "value": v}
            for g, v in values.items()
        ]
    bar.close()
    per_seed = pd.DataFrame(shap_rows)
    grouped = per_seed.groupby("group", sort=False)["value"]
    n = grouped.size()
    mean, sd = grouped.mean(), grouped.std(ddof=1)
    half = stats.t.ppf(0.5 + ci_prob / 2.0, np.maximum(n - 1, 1)) * sd / np.sqrt(n)
    half = half.where(n > 1)
    table = pd.DataFrame(
        {
            "group": mean.index,
            "value": mean.to_numpy(),
            "lower": (mean - half).to_numpy(),
            "upper": (mean + half).to_numpy(),
            "sd": sd.to_numpy(),
        }
    )
    table = table.sort_values("value", ascending=False, kind="stable").reset_index(drop=True)
    return ShapleyResult(
        table=table, per_seed=per_seed, subsets=pd.DataFrame(score_rows), metric=metric
    )
