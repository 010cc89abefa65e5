"""The approximate path's plumbing: settings, the convergence rule, reports (fast, no fitting)."""

from __future__ import annotations

import numpy as np
import pytest

from bayes_cpp import BayesCPP, ConvergenceWarning, SpecError
from bayes_cpp.approximate import APPROXIMATIONS, LossPlateau, jittered_start
from bayes_cpp.inference import SamplerConfig, numpyro_chain_method
from tests.conftest import with_posterior


def _run(rule, loss):
    for i in range(1, len(loss) + 1):
        try:
            rule(None, loss[:i], i)
        except StopIteration:
            return i
    return None


def test_sampler_config_accepts_both_approximations_and_validates_their_settings():
    assert SamplerConfig(sampler="advi").approximate
    assert SamplerConfig(sampler="fullrank_advi").approximate
    assert not SamplerConfig(sampler="numpyro").approximate
    for bad in (
        {"advi_window": 5},
        {"advi_iterations": 0},
        {"advi_learning_rate": 0.0},
        {"advi_learning_rate": "fast"},
        {"chain_method": "sequential"},
        {"sampler": "pathfinder"},
        {"draws": True},
    ):
        with pytest.raises(SpecError):
            SamplerConfig(**bad)


def test_sampler_options_reach_the_config_and_unknown_ones_raise():
    est = BayesCPP(sampler="fullrank_advi", sampler_options={"advi_iterations": 123})
    config = est.sampler_config()
    assert (config.sampler, config.advi_iterations) == ("fullrank_advi", 123)
    assert est.get_params()["sampler_options"] == {"advi_iterations": 123}
    with pytest.raises(SpecError, match="advi_iteration"):
        BayesCPP(sampler_options={"advi_iteration": 5}).sampler_config()
    with pytest.raises(SpecError, match="draws"):
        BayesCPP(sampler_options={"draws": 5}).sampler_config()


def test_explicit_chain_method_is_used_as_given():
    assert numpyro_chain_method(SamplerConfig(chain_method="vectorized")) == "vectorized"
    assert numpyro_chain_method(SamplerConfig(chain_method="parallel")) == "parallel"


def test_loss_plateau_stops_after_the_loss_flattens():
    rng = np.random.default_rng(0)
    loss = np.concatenate([np.linspace(1000.0, 0.0, 5000), np.zeros(5000)]) + rng.normal(
        0, 5, 10_000
    )
    rule = LossPlateau(window=500, patience=2)
    stopped = _run(rule, loss)
    assert stopped == rule.converged_at
    assert 5500 <= stopped <= 7000


def test_loss_plateau_keeps_going_while_the_loss_falls():
    rng = np.random.default_rng(1)
    loss = np.linspace(1000.0, 0.0, 8000) + rng.normal(0, 5, 8000)
    rule = LossPlateau(window=500)
    assert _run(rule, loss) is None
    assert rule.converged_at is None


def test_loss_plateau_ignores_rare_huge_losses():
    rng = np.random.default_rng(2)
    loss = np.linspace(1000.0, 0.0, 6000) + rng.normal(0, 5, 6000)
    loss[rng.choice(6000, 30, replace=False)] = 1e12  # Monte Carlo ELBO blow-ups
    assert _run(LossPlateau(window=500), loss) is None


def test_loss_plateau_rejects_a_tiny_window():
    with pytest.raises(SpecError):
        LossPlateau(window=2)


def _approximate_fit(est, converged):
    fake = with_posterior(est)
    post = fake.idata_["posterior"]
    post.attrs.update(
        {
            "bayes_cpp_approximation": APPROXIMATIONS["advi"],
            "bayes_cpp_iterations": 4500,
            "bayes_cpp_converged": int(converged),
            "bayes_cpp_sampler": "advi",
        }
    )
    return fake


def test_diagnose_says_an_approximation_has_no_mcmc_diagnostics(mock_fitted):
    fake = _approximate_fit(mock_fitted, converged=True)
    report = fake.diagnose(warn=False)
    assert report.ok
    assert report.approximation == "mean-field ADVI"
    assert report.iterations == 4500
    assert np.isnan(report.max_rhat)
    assert report.table.empty
    text = str(report)
    assert "APPROXIMATION" in text
    assert "do not apply" in text
    assert "APPROXIMATION (mean-field ADVI, 4500 iterations, loss converged)" in repr(fake)


def test_an_unconverged_approximation_warns_and_says_what_to_do(mock_fitted):
    fake = _approximate_fit(mock_fitted, converged=False)
    with pytest.warns(ConvergenceWarning, match="advi_iterations"):
        report = fake.diagnose()
    assert not report.ok
    assert "NOT converged" in repr(fake)


def test_approximation_attributes_survive_save_and_load(mock_fitted, tmp_path):
    fake = _approximate_fit(mock_fitted, converged=True)
    back = BayesCPP.load(fake.save(tmp_path / "fit.nc"))
    report = back.diagnose(warn=False)
    assert (report.approximation, report.iterations, report.ok) == ("mean-field ADVI", 4500, True)


def test_jittered_start_is_accepted_by_pymc_advi(sim):
    """Regression: numpy start values broke ZeroSumTransform.backward inside pm.fit."""
    import pymc as pm
    import pytensor

    model = BayesCPP(random_seed=0).build_model(sim.data)
    start = jittered_start(model, np.random.default_rng(0))
    assert any(k.endswith("_zerosum__") for k in start)
    with model, pytensor.config.change_flags(mode="FAST_COMPILE"):
        advi = pm.ADVI(start=start, random_seed=0)
    mu = advi.approx.groups[0].shared_params["mu"].get_value()
    expected = np.concatenate([np.ravel(start[k].data) for k in advi.approx.groups[0].ordering])
    np.testing.assert_allclose(mu, expected)
