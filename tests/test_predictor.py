"""The prediction engine against closed-form Gaussian answers (no MCMC, no PyMC)."""

from __future__ import annotations

import numpy as np
import pytest

from bayes_cpp import dims
from bayes_cpp.predictor import Draws, Newcomer, NewRowPrior, Predictor, condition_new_row

S = 4000


def _draws(**values):
    return Draws(
        1,
        S,
        {
            k: np.broadcast_to(np.asarray(v, float), (S, *np.shape(v))).copy()
            for k, v in values.items()
        },
    )


def test_elliptical_slice_sampling_matches_the_gaussian_posterior():
    """Prior N(m, P) times a linear-Gaussian likelihood y ~ N(A theta, r^2 I): closed form."""
    rng = np.random.default_rng(0)
    m = np.array([0.3, -0.5, 1.0])
    chol = np.array([[1.0, 0.0, 0.0], [0.4, 0.8, 0.0], [-0.2, 0.3, 0.6]])
    prior_cov = chol @ chol.T
    a = np.array([[1.0, 0.5, 0.0], [0.0, 1.0, -1.0]])
    y, r = np.array([1.2, -0.4]), 0.3
    prior = NewRowPrior(np.tile(m, (S, 1)), lambda g: g.standard_normal((S, 3)) @ chol.T)

    def loglik(theta, rows):
        resid = y[None, :] - theta @ a.T
        return -0.5 * np.sum(resid**2, axis=1) / r**2

    theta = condition_new_row(prior, loglik, rng, n_iter=30)
    post_cov = np.linalg.inv(np.linalg.inv(prior_cov) + a.T @ a / r**2)
    post_mean = post_cov @ (np.linalg.solve(prior_cov, m) + a.T @ y / r**2)
    se = np.sqrt(np.diag(post_cov) / S)
    np.testing.assert_array_less(np.abs(theta.mean(0) - post_mean), 5 * se)
    np.testing.assert_allclose(np.cov(theta.T), post_cov, atol=0.1 * np.abs(post_cov).max())


def _every_chain_ess(prior, loglik, rng, n_iter, max_shrink=40):
    """Elliptical slice sampling evaluating every chain at every shrink (the plain form)."""
    theta = prior.mean + prior.sample_centered(rng)
    n = theta.shape[0]
    current = loglik(theta)
    for _ in range(n_iter):
        nu = prior.sample_centered(rng)
        log_y = current + np.log(rng.random(n))
        phi = rng.uniform(0.0, 2.0 * np.pi, n)
        lo, hi = phi - 2.0 * np.pi, phi.copy()
        pending = np.ones(n, dtype=bool)
        f0 = theta - prior.mean
        for _ in range(max_shrink):
            proposal = prior.mean + f0 * np.cos(phi)[:, None] + nu * np.sin(phi)[:, None]
            ll = loglik(proposal)
            accept = pending & (ll > log_y)
            theta[accept] = proposal[accept]
            current[accept] = ll[accept]
            pending &= ~accept
            if not pending.any():
                break
            below = pending & (phi < 0)
            lo[below] = phi[below]
            hi[pending & ~below] = phi[pending & ~below]
            phi = np.where(pending, rng.uniform(lo, hi), phi)
    return theta


def test_evaluating_only_searching_chains_changes_no_draw():
    """The sampler skips finished chains; its draws equal the plain every-chain form's bitwise."""
    scale = np.linspace(0.5, 2.0, S)[:, None]  # per-draw parameters, as the predictor's are
    prior = NewRowPrior(np.zeros((S, 2)), lambda g: g.standard_normal((S, 2)))
    y = np.array([1.5, -0.3])

    def loglik(theta, rows):
        return -0.5 * np.sum((y - theta * scale[rows]) ** 2, axis=1) / 0.2**2

    got = condition_new_row(prior, loglik, np.random.default_rng(5), n_iter=8)
    want = _every_chain_ess(
        prior, lambda t: loglik(t, np.arange(S)), np.random.default_rng(5), n_iter=8
    )
    assert np.array_equal(got, want)
    assert np.std(got[:, 0]) < 0.5  # the likelihood moved the draws (not a trivial equality)


def _llm_side_draws(rank=1):
    """A fake posterior with 2 LLM features, one family level, rank-1 loadings."""
    s = dims.LLM_SIDE
    return _draws(
        **{
            s.bias_coef: [0.5, -0.2],
            s.bias_sigma: 0.3,
            s.group_bias: [0.7, -0.7],
            s.group_bias_sigma: 0.6,
            s.loading_coef: [[0.4], [0.1]],
            s.group_loading_offset: [[1.0], [-1.0]],
            s.group_loading_share: 0.36,
            # Feature network: x0 ~ N(0.2, 1.1^2), x1 ~ N(-0.1 + 0.5 x0, 0.7^2).
            s.feature_var("mean", 0): 0.2,
            s.feature_var("sd", 0): 1.1,
            s.feature_var("mean", 1): -0.1,
            s.feature_var("coef", 1): [0.5],
            s.feature_var("sd", 1): 0.7,
        }
    )


def test_new_row_prior_matches_the_closed_form():
    from bayes_cpp.predictor import new_row_prior

    d = _llm_side_draws()
    # x0 missing, x1 = 0.6 observed: x0 | x1 by Bayes on the 2-d Gaussian.
    x = np.array([np.nan, 0.6])
    mu0, v0 = 0.2, 1.1**2
    mu1, c, v1 = -0.1 + 0.5 * 0.2, 0.5, 0.7**2
    cov01, var1 = c * v0, c**2 * v0 + v1
    m0 = mu0 + cov01 / var1 * (0.6 - mu1)
    s0 = v0 - cov01**2 / var1
    # Known family 0, beta = (0.5, -0.2), B = (0.4, 0.1):
    # bias = 0.7 + x.beta + 0.3 e; loading = 0.6 G0 + 0.8 e + x.B
    prior = new_row_prior(d, dims.LLM_SIDE, group=0, x=x, rank=1)
    expected_mean = [0.7 + 0.5 * m0 - 0.2 * 0.6, 0.6 * 1.0 + 0.4 * m0 + 0.1 * 0.6]
    np.testing.assert_allclose(prior.mean[0], expected_mean, rtol=1e-9)
    expected_cov = np.array(
        [[0.3**2 + 0.5**2 * s0, 0.5 * 0.4 * s0], [0.5 * 0.4 * s0, 0.64 + 0.4**2 * s0]]
    )
    # (the imputation's Cholesky adds a 1e-9 jitter)
    np.testing.assert_allclose(prior.cov()[0], expected_cov, atol=1e-8)
    sample = prior.sample_centered(np.random.default_rng(1))
    np.testing.assert_allclose(np.cov(sample.T), expected_cov, atol=0.03)
    # A new family adds the family-level variances (bias sigma^2, loading share).
    new = new_row_prior(d, dims.LLM_SIDE, group=None, x=x, rank=1)
    np.testing.assert_allclose(new.cov()[0] - expected_cov, [[0.6**2, 0.0], [0.0, 0.36]], atol=1e-8)
    np.testing.assert_allclose(new.mean[0], [0.5 * m0 - 0.2 * 0.6, 0.4 * m0 + 0.1 * 0.6])


def _predictor(rank=0, scaling="constant", **extra):
    """Two fitted tasks, one fitted LLM, no features: the smallest complete posterior."""
    values = {
        **extra,
        dims.INTERCEPT: 0.1,
        dims.SIGMA: [0.05, 0.08],
        dims.NOISE_LOG_MU: -3.0,
        dims.NOISE_LOG_SIGMA: 0.2,
        dims.LLM_SIDE.bias: [0.4],
        dims.LLM_SIDE.bias_sigma: 0.5,
        dims.TASK_SIDE.bias: [-0.2, 0.3],
        dims.TASK_SIDE.bias_sigma: 0.4,
    }
    return Predictor(
        _draws(**values),
        rank=rank,
        noise_floor=0.005,
        noise_scaling=scaling,
        chance=np.array([0.0, 0.25]),
        n_features={"llm": 0, "task": 0},
    )


def test_known_cells_use_the_link_and_the_chance_level():
    from scipy.special import expit

    p = _predictor()
    mean, sd = p.cells([0], [0, 1], np.random.default_rng(0))
    np.testing.assert_allclose(mean[0, 0], [expit(0.3), 0.25 + 0.75 * expit(0.8)])
    np.testing.assert_allclose(sd[0, 0], [0.05, 0.08])


def test_forecast_of_a_new_llm_conditions_on_its_scores():
    """With rank 0 the new LLM's bias has a 1-d posterior we can integrate on a grid."""
    from scipy.special import expit
    from scipy.stats import norm

    p = _predictor()
    y = np.array([0.62])
    new = Newcomer(side="llm", group=None, x=np.zeros(0), known=np.array([0]), known_scores=y)
    mean, _ = p.forecast(new, [1], np.random.default_rng(3))
    # Grid posterior of the bias a: prior N(0, 0.5^2), y ~ N(expit(0.1 + a - 0.2), 0.05).
    grid = np.linspace(-3, 3, 20001)
    w = norm.pdf(grid, 0, 0.5) * norm.pdf(y[0], expit(0.1 + grid - 0.2), 0.05)
    w /= w.sum()
    target = 0.25 + 0.75 * expit(0.1 + grid + 0.3)
    expected = np.sum(w * target)
    sd = np.sqrt(np.sum(w * (target - expected) ** 2))
    assert mean[:, 0].mean() == pytest.approx(expected, abs=4 * sd / np.sqrt(S) + 1e-3)
    assert mean[:, 0].std() == pytest.approx(sd, rel=0.1)


def test_new_task_noise_comes_from_the_noise_population():
    p = _predictor()
    sigma = p.new_task_sigma(np.random.default_rng(0))
    log = np.log(sigma - 0.005)
    assert log.mean() == pytest.approx(-3.0, abs=0.02)
    assert log.std() == pytest.approx(0.2, rel=0.05)


def test_pairs_gather_the_grid(mock_fitted):
    predictor = mock_fitted.predictor_
    llms, tasks = [3, 0, 3, 7], [1, 1, 5, 0]
    mean, sd = predictor.pairs(llms, tasks, np.random.default_rng(0))
    grid_mean, grid_sd = predictor.cells(range(8), range(6), np.random.default_rng(0))
    np.testing.assert_array_equal(mean, grid_mean[:, llms, tasks])
    np.testing.assert_array_equal(sd, grid_sd[:, llms, tasks])
    with pytest.raises(ValueError, match="2 LLM positions but 1 task"):
        predictor.pairs([0, 1], [0], np.random.default_rng(0))


def test_llm_noise_multiplies_the_sd_of_fitted_and_new_llms():
    p = _predictor(**{dims.LLM_NOISE: [1.5], dims.LLM_NOISE_SIGMA: 0.4})
    assert p.has_llm_noise
    assert not _predictor().has_llm_noise
    _, sd = p.cells([0, None], [0, 1], np.random.default_rng(0))
    np.testing.assert_allclose(sd[0, 0], [0.075, 0.12])
    # A population LLM: log multiplier ~ N(0, 0.4^2).
    log_tau = np.log(sd[:, 1, 0] / 0.05)
    assert log_tau.mean() == pytest.approx(0.0, abs=0.03)
    assert log_tau.std() == pytest.approx(0.4, rel=0.05)
    # A new task's cells take the fitted LLM's multiplier.
    new_task = Newcomer(side="task", group=None, x=np.zeros(0))
    _, sd_task = p.forecast(new_task, [0], np.random.default_rng(1))
    np.testing.assert_allclose(sd_task[:, 0] / 1.5, p.new_task_sigma(np.random.default_rng(1)))


def test_new_llm_conditions_its_noise_multiplier_with_its_bias():
    """Rank 0: the posterior of (bias a, log multiplier l) is 2-d; integrate it on a grid."""
    from scipy.special import expit
    from scipy.stats import norm

    s_tau = 0.6
    p = _predictor(**{dims.LLM_NOISE: [1.0], dims.LLM_NOISE_SIGMA: s_tau})
    y = np.array([0.45, 0.80])  # far apart given the task biases: evidence of a large multiplier
    new = Newcomer(side="llm", group=None, x=np.zeros(0), known=np.array([0, 1]), known_scores=y)
    rng = np.random.default_rng(5)
    theta = p.newcomer_row(new, rng)
    assert theta.shape == (S, 2)
    a, lt = np.meshgrid(np.linspace(-3, 3, 601), np.linspace(-3, 3, 601), indexing="ij")
    m0 = expit(0.1 + a - 0.2)
    m1 = 0.25 + 0.75 * expit(0.1 + a + 0.3)
    w = norm.pdf(a, 0, 0.5) * norm.pdf(lt, 0, s_tau)
    w = w * norm.pdf(y[0], m0, 0.05 * np.exp(lt)) * norm.pdf(y[1], m1, 0.08 * np.exp(lt))
    w /= w.sum()
    for got, grid in ((theta[:, 0], a), (theta[:, 1], lt)):
        mean = float(np.sum(w * grid))
        sd = float(np.sqrt(np.sum(w * (grid - mean) ** 2)))
        assert got.mean() == pytest.approx(mean, abs=5 * sd / np.sqrt(S) + 0.01)
        assert got.std() == pytest.approx(sd, rel=0.1)
    assert float(np.sum(w * lt)) > 0.1  # the check has teeth: the multiplier moved up
    # The forecast's noise uses the conditioned multiplier.
    _, sd = p.forecast(new, [1], np.random.default_rng(5))
    assert np.log(sd[:, 0] / 0.08).mean() == pytest.approx(float(np.sum(w * lt)), abs=0.05)


def test_a_learned_chance_share_lowers_the_floor_of_every_prediction():
    from scipy.special import expit

    p = _predictor(**{dims.CHANCE_SHARE: 0.4})
    mean, _ = p.cells([0], [0, 1], np.random.default_rng(0))
    np.testing.assert_allclose(mean[0, 0], [expit(0.3), 0.1 + 0.9 * expit(0.8)])
    np.testing.assert_allclose(p.floor(np.array([0.25, 0.5]))[0], [0.1, 0.2])
    # A new LLM's forecast and its conditioning use the same floor.
    new = Newcomer(side="llm", group=None, x=np.zeros(0), known=np.array([0]), known_scores=[0.05])
    f_mean, _ = p.forecast(new, [1], np.random.default_rng(1))
    assert f_mean.min() > 0.1
    assert np.quantile(f_mean, 0.01) < 0.25  # below the task's chance level: the floor moved


def test_benchmark_sensitivity_predictor_is_the_model_at_scale_one(mock_fitted):
    """benchmarks/cpp2_diagnosis.py rescales the known scores' noise through public overrides."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "cpp2_diagnosis.py"
    spec = importlib.util.spec_from_file_location("cpp2_diagnosis", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    est = mock_fitted
    tasks = est.data_.task_names
    newcomer = est.newcomer(dims.LLM, None, scores={tasks[0]: 60.0, tasks[1]: 55.0})
    others = est.positions(dims.TASK, tasks[2:])

    def forecast(predictor):
        return predictor.forecast(newcomer, others, np.random.default_rng(3))

    same = module.Sensitivity(est.predictor_)
    for got, want in zip(forecast(same), forecast(est.predictor_), strict=True):
        np.testing.assert_array_equal(got, want)
    # Noisier known scores pull the row less far from its prior: the forecast's
    # per-draw means spread more.
    loose_mean, _ = forecast(module.Sensitivity(est.predictor_, reveal_noise=5.0))
    mean, _ = forecast(est.predictor_)
    assert loose_mean.std(axis=0).mean() > 1.2 * mean.std(axis=0).mean()
    # A wider row prior spreads the means (less than 2x: the link saturates).
    prior_only = est.newcomer(dims.LLM, None)
    base_prior, _ = est.predictor_.forecast(prior_only, others, np.random.default_rng(3))
    wide_prior, _ = module.Sensitivity(est.predictor_, prior_scale=2.0).forecast(
        prior_only, others, np.random.default_rng(3)
    )
    assert wide_prior.std(axis=0).mean() > 1.25 * base_prior.std(axis=0).mean()
