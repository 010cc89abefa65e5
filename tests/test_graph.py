"""The PyMC graph: named variables, dims, finite log-density and gradient."""

from __future__ import annotations

import numpy as np
import pytest

from bayes_cpp import BayesCPP, available_specs, load_spec


@pytest.mark.parametrize(
    "spec",
    # Each case compiles a PyMC graph (seconds); the default spec stays in the fast suite.
    [s if s == "hbmf" else pytest.param(s, marks=pytest.mark.slow) for s in available_specs()],
)
def test_logp_and_gradient_finite_at_initial_point(spec, sim):
    model = BayesCPP(spec).build_model(sim.data)
    point = model.initial_point(random_seed=1)
    # FAST_COMPILE: the values are what matter here, not numba's speed. The
    # per-variable terms (sum=False) avoid one Add with > 32 inputs, which the
    # Python linker cannot run.
    terms = model.compile_logp(mode="FAST_COMPILE", sum=False)(point)
    logp = sum(float(np.sum(t)) for t in terms)
    grad = model.compile_dlogp(mode="FAST_COMPILE")(point)
    assert np.isfinite(logp)
    assert np.all(np.isfinite(grad))
    assert grad.size > 0


def test_hbmf_variables_and_dims(sim):
    model = BayesCPP("hbmf").build_model(sim.data)
    named = model.named_vars_to_dims
    assert named["llm_bias"] == ("llm",)
    assert named["task_bias"] == ("task",)
    assert named["llm_loading"] == ("llm", "latent")
    assert named["task_loading"] == ("task", "latent")
    assert named["score"] == ("obs",)
    assert named["llm_bias_coef"] == ("llm_feature",)
    assert list(model.coords["llm_feature"]) == ["log_params", "log_tokens"]
    assert list(model.coords["task_feature"]) == ["log_shots"]
    assert len(model.coords["latent"]) == 2
    assert len(model.coords["obs"]) == sim.data.n_observed
    # Missing design factors are imputed in the model, never zero-filled.
    n_missing = int(sim.data.llms[["params_b", "tokens_b"]].isna().sum().sum())
    imputed = [v for v in model.free_RVs if v.name.endswith("_unobserved")]
    assert sum(int(np.prod(model.initial_point()[v.name].shape)) for v in imputed) == n_missing


def test_bpmf_has_no_hierarchy_or_regressors(sim):
    model = BayesCPP("bpmf").build_model(sim.data)
    names = set(model.named_vars)
    assert "family_bias" not in names
    assert "llm_bias_coef" not in names
    assert "llm_loading" in names


def test_prior_predictive_scores_are_plausible(sim):
    """Prior draws of unit scores spread over [0, 1] instead of piling at the ends."""
    import pymc as pm

    model = BayesCPP("hbmf").build_model(sim.data, rotation_gauge=False)
    with model:
        prior = pm.sample_prior_predictive(
            draws=300, random_seed=3, var_names=["score"], compile_kwargs={"mode": "FAST_COMPILE"}
        )
    p = prior["prior_predictive"]["score"].values.ravel()
    inside = p[(p > 0.0) & (p < 1.0)]
    assert 0.25 < np.median(inside) < 0.8
    assert np.mean((p < 0.02) | (p > 0.98)) < 0.2
    hist, _ = np.histogram(np.clip(p, 0, 1), bins=5, range=(0, 1))
    assert hist.min() > 0.05 * hist.sum()


def test_graph_likelihood_matches_the_numpy_predictor(sim):
    """The graph's score log-density equals the predictor's cell means and sds."""
    from scipy import stats

    from bayes_cpp.equations import cell_sd, link

    spec = load_spec("hbmf")
    model = BayesCPP(spec).build_model(sim.data)
    point = model.initial_point(random_seed=2)
    names = ["intercept", "llm_bias", "task_bias", "llm_loading", "task_loading", "sigma"]
    outs = model.replace_rvs_by_values([model[n] for n in names])
    fn = model.compile_fn(
        outs, inputs=model.value_vars, mode="FAST_COMPILE", on_unused_input="ignore"
    )
    values = fn(point)
    v = dict(zip(names, values, strict=True))
    chance = sim.data.tasks["chance"].to_numpy(float)
    eta = v["intercept"] + v["llm_bias"][:, None] + v["task_bias"][None, :]
    mean = link(eta + v["llm_loading"] @ v["task_loading"].T, chance[None, :])
    li = sim.data.scores["llm"].map({n: i for i, n in enumerate(sim.data.llm_names)}).to_numpy()
    ti = sim.data.scores["task"].map({n: i for i, n in enumerate(sim.data.task_names)}).to_numpy()
    m = mean[li, ti]
    sd = cell_sd(v["sigma"][ti], m, spec.noise_floor, spec.noise_scaling)
    expected = stats.norm.logpdf(sim.data.unit_scores().to_numpy(), m, sd).sum()
    graph = model.compile_logp(vars=[model["score"]], mode="FAST_COMPILE")(point)
    np.testing.assert_allclose(graph, expected, rtol=1e-8)
