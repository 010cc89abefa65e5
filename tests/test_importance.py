"""Coefficients (aligned, per category) and the exact Shapley decomposition by refits."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.stats import special_ortho_group

from bayes_cpp import BayesCPP, SpecError, dims
from bayes_cpp.importance import (
    CPP_FEATURES,
    CPP_GROUPS,
    by_category,
    coefficients,
    exact_shapley,
    shapley,
)
from tests.conftest import with_posterior

S = dims.LLM_SIDE
T = dims.TASK_SIDE


def _rotated(est, seed=0):
    """Every draw: the same loadings and loading coefficients, rotated by its own R."""
    post = est.idata_["posterior"]
    n_chain, n_draw = post.sizes["chain"], post.sizes["draw"]
    first = {
        name: post[name].isel(chain=0, draw=0).values
        for name in (S.loading, T.loading, S.loading_coef, T.loading_coef)
    }
    k = first[S.loading].shape[-1]
    rot = special_ortho_group.rvs(k, size=n_chain * n_draw, random_state=seed)
    rot = rot.reshape(n_chain, n_draw, k, k)
    values = {name: np.einsum("...k,cskj->cs...j", v, rot) for name, v in first.items()}
    fixed = {
        name: post[name].isel(chain=0, draw=0).values
        for name in (S.bias_coef, T.bias_coef, T.loading_scale)
    }
    return with_posterior(est, **values, **fixed), first, fixed


def test_coefficient_table_contract(mock_fitted):
    table = coefficients(mock_fitted)
    assert list(table.columns) == ["side", "factor", "on", "mean", "sd", "lower", "upper"]
    rank = mock_fitted.spec_.rank
    assert len(table) == (2 + 1) * (1 + rank)  # log_params, log_tokens; log_shots
    assert table["on"].unique().tolist() == ["bias", "latent 1", "latent 2"]
    assert table.loc[table["side"] == "task", "factor"].unique().tolist() == ["log_shots"]
    bias = table[(table["side"] == "llm") & (table["on"] == "bias")]
    draws = mock_fitted.idata_["posterior"][S.bias_coef].values.reshape(-1, 2)
    np.testing.assert_allclose(bias["mean"], draws.mean(0))
    np.testing.assert_allclose(bias["sd"], draws.std(0))
    np.testing.assert_allclose(bias["lower"], np.quantile(draws, 0.05, axis=0))
    np.testing.assert_allclose(bias["upper"], np.quantile(draws, 0.95, axis=0))


def test_loading_coefficients_are_aligned(mock_fitted):
    est, first, fixed = _rotated(mock_fitted)
    table = coefficients(est)
    latent = table[table["on"] != "bias"]
    assert latent["sd"].max() < 1e-8  # rotated copies coincide after alignment
    llm = latent[latent["side"] == "llm"]["mean"].to_numpy().reshape(2, -1)
    task = latent[latent["side"] == "task"]["mean"].to_numpy().reshape(1, -1)
    # Equal to the true coefficients up to one common orthogonal matrix; task
    # loading coefficients are reported on the loading (times the scale).
    np.testing.assert_allclose(llm @ llm.T, first[S.loading_coef] @ first[S.loading_coef].T)
    scaled = first[T.loading_coef] * fixed[T.loading_scale]
    np.testing.assert_allclose(task @ task.T, scaled @ scaled.T)


def test_by_category_is_the_closed_form_and_rotation_invariant(mock_fitted):
    table = by_category(mock_fitted)
    cats = mock_fitted.data_.categories
    assert list(table.columns) == ["factor", "category", "mean", "sd", "lower", "upper"]
    assert table["category"].tolist() == cats * 2
    post = mock_fitted.idata_["posterior"]
    labels = mock_fitted.data_.tasks["category"].to_numpy()
    c, f = cats[1], 0
    vbar = post[T.loading].isel(task=np.flatnonzero(labels == c)).mean("task")
    effect = post[S.bias_coef].isel(llm_feature=f) + (
        post[S.loading_coef].isel(llm_feature=f) * vbar
    ).sum("latent")
    row = table[(table["factor"] == "log_params") & (table["category"] == c)].iloc[0]
    assert row["mean"] == pytest.approx(float(effect.mean()))
    est, _, _ = _rotated(mock_fitted)
    rotated = by_category(est)
    assert rotated["sd"].max() < 1e-8  # every draw is the same model, rotated
    reference = by_category(with_posterior(mock_fitted, **_first_draw(mock_fitted)))
    np.testing.assert_allclose(rotated["mean"], reference["mean"], rtol=1e-9)


def _first_draw(est):
    post = est.idata_["posterior"]
    names = (S.loading, T.loading, S.loading_coef, T.loading_coef, S.bias_coef)
    return {n: post[n].isel(chain=0, draw=0).values for n in names}


def _brute_force_shapley(players, v):
    out = dict.fromkeys(players, 0.0)
    orders = list(itertools.permutations(players))
    for order in orders:
        seen = frozenset()
        for p in order:
            out[p] += (v(seen | {p}) - v(seen)) / len(orders)
            seen = seen | {p}
    return out


def test_exact_shapley_matches_the_permutation_definition():
    rng = np.random.default_rng(0)
    players = ["a", "b", "c", "d"]
    table = {
        frozenset(c): float(rng.normal())
        for r in range(5)
        for c in itertools.combinations(players, r)
    }
    phi = exact_shapley(players, table.__getitem__)
    brute = _brute_force_shapley(players, table.__getitem__)
    for p in players:
        assert phi[p] == pytest.approx(brute[p], abs=1e-12)
    assert sum(phi.values()) == pytest.approx(table[frozenset(players)] - table[frozenset()])
    # A dummy player gets 0; symmetric players get equal shares.
    v = lambda s: float(len(s & {"a", "b"}) ** 2)  # noqa: E731
    phi = exact_shapley(players, v)
    assert phi["c"] == phi["d"] == 0.0
    assert phi["a"] == pytest.approx(phi["b"]) == pytest.approx(2.0)
    with pytest.raises(SpecError, match="distinct"):
        exact_shapley(["a", "a"], v)


@pytest.fixture
def fit_log(monkeypatch):
    """Record, per fit, the LLM and task features and the number of families and categories."""
    log = []
    original = BayesCPP.fit

    def fit(self, data, *, random_seed=None):
        out = original(self, data, random_seed=random_seed)
        log.append(
            (
                tuple(self.llm_design_.names),
                tuple(self.task_design_.names),
                len(data.families),
                len(data.categories),
                random_seed,
            )
        )
        return out

    monkeypatch.setattr(BayesCPP, "fit", fit)
    return log


GROUPS = {"family": "family", "size": ["log_params", "log_tokens"], "ability": "category"}
TINY = {"draws": 20, "tune": 10, "chains": 1}


def test_shapley_refits_every_subset_and_is_efficient(sim, mock_sampling, fit_log):
    result = shapley(sim.data, GROUPS, holdout=0.2, seeds=[0, 1], est_params=TINY)
    assert len(fit_log) == 2 * 2**3
    # Every subset is its own model: features and hierarchy levels removed by refitting.
    seen = {(llm, task, fam > 1, cat > 1) for llm, task, fam, cat, _ in fit_log}
    assert ((), ("log_shots",), False, False) in seen  # nothing: no size, no hierarchy
    assert (("log_params", "log_tokens"), ("log_shots",), True, True) in seen  # everything
    assert len(seen) == 8
    assert len({seed for *_, seed in fit_log}) == 2  # one fit seed per split
    subsets = result.subsets
    assert len(subsets) == 16
    assert list(subsets.columns) == [
        "split",
        "seed",
        "subset",
        "n_groups",
        "score",
        "max_rhat",
        "n_divergent",
    ]
    for seed, frame in result.per_seed.groupby("seed"):
        scores = subsets[subsets["seed"] == seed].set_index("subset")["score"]
        total = scores["family+size+ability"] - scores[""]
        assert frame["value"].sum() == pytest.approx(total, abs=1e-10)
    table = result.table
    assert list(table.columns) == ["group", "value", "lower", "upper", "sd"]
    assert set(table["group"]) == set(GROUPS)
    assert table["value"].is_monotonic_decreasing
    mean = result.per_seed.groupby("group")["value"].mean()
    np.testing.assert_allclose(table.set_index("group")["value"], mean[table["group"]])
    assert (table["lower"] <= table["value"]).all()
    assert (table["value"] <= table["upper"]).all()


def test_shapley_crps_metric_and_ungrouped_features(sim, mock_sampling, fit_log):
    result = shapley(sim.data, {"params": "log_params"}, metric="crps", seeds=1, est_params=TINY)
    # log_tokens and log_shots are in no group: in every fit, as are both hierarchies.
    assert {f[:2] for f in fit_log} == {
        (("log_tokens",), ("log_shots",)),
        (("log_params", "log_tokens"), ("log_shots",)),
    }
    assert all(fam > 1 and cat > 1 for _, _, fam, cat, _ in fit_log)
    assert result.metric == "crps"
    assert (result.subsets["score"] < 0).all()  # minus the CRPS
    assert np.isnan(result.table["lower"]).all()  # one seed: no interval


def test_shapley_rejects_bad_groups(sim):
    with pytest.raises(SpecError, match=r"unknown member 'log_param'.*did you mean 'log_params'"):
        shapley(sim.data, {"p": "log_param"})
    with pytest.raises(SpecError, match="'log_params' is in groups 'a' and 'b'"):
        shapley(sim.data, {"a": "log_params", "b": ["log_params"]})
    with pytest.raises(SpecError, match="metric"):
        shapley(sim.data, {"p": "log_params"}, metric="rmse")  # type: ignore[arg-type]
    with pytest.raises(SpecError, match="non-empty"):
        shapley(sim.data, {})


def test_cpp_groups_name_features_of_the_cpp_model():
    spec = BayesCPP(llm_features=CPP_FEATURES).resolved_spec()
    names = {f.name for f in (*spec.llm_features, *spec.task_features)} | {"family", "category"}
    assert set(CPP_GROUPS.values()) <= names


@pytest.mark.needs_data
def test_cpp_features_map_to_real_columns_of_cpp_crowdsourced():
    from bayes_cpp import datasets
    from bayes_cpp.features import build_design

    data = datasets.load("cpp-crowdsourced")
    spec = BayesCPP(llm_features=CPP_FEATURES).resolved_spec()
    design = build_design(spec.llm_features, data.llms, side="llm")
    assert design.names == ["log_params", "log_tokens", "log_context", "log_batch"]
    assert design.columns[2:] == ("context_window", "batch_size_m")
