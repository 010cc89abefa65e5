"""Interval baselines (Gaussian conditioning, split conformal) and the peers' metrics (fast, exact)."""

from __future__ import annotations

import numpy as np
import pytest
import scoringrules as sr
from scipy import stats

from bayes_cpp import simulate
from bayes_cpp.evaluation import (
    ConformalMethod,
    DistributionMethod,
    GaussianPredictive,
    PointMethod,
    aggregate,
    evaluate,
    make_method,
    random_splits,
    score_cells,
)
from bayes_cpp.evaluation.baselines import GaussianConditionalBaseline
from bayes_cpp.evaluation.baselines.gaussian import condition_normal, em_covariance, ledoit_wolf
from bayes_cpp.evaluation.conformal import (
    ResidualDistribution,
    ScaledResidualPredictive,
    residual_scale,
)
from bayes_cpp.exceptions import DataError, SpecError
from tests.conftest import SEED


def _sklearn_ledoit_wolf(x: np.ndarray) -> tuple[np.ndarray, float]:
    """scikit-learn's ledoit_wolf formulas (sklearn.covariance), written out."""
    n, p = x.shape
    x = x - x.mean(0)
    emp = x.T @ x / n
    mu = np.trace(emp) / p
    x2 = x**2
    beta_ = np.sum(x2.T @ x2)
    delta_ = np.sum((x.T @ x) ** 2) / n**2
    beta = (beta_ / n - delta_) / (p * n)
    delta = (delta_ - 2.0 * mu * np.trace(emp) + p * mu**2) / p
    shrinkage = min(beta, delta) / delta
    return (1 - shrinkage) * emp + shrinkage * mu * np.eye(p), shrinkage


def _random_cov(rng, p):
    a = rng.normal(size=(p, p))
    return a @ a.T / p + 0.5 * np.eye(p)


# ------------------------------------------------------------ Gaussian parts
def test_ledoit_wolf_matches_the_closed_form():
    rng = np.random.default_rng(SEED)
    for n, p in [(30, 5), (12, 20), (200, 3)]:
        x = rng.multivariate_normal(np.arange(p), _random_cov(rng, p), size=n)
        cov, a = ledoit_wolf(x)
        ref, a_ref = _sklearn_ledoit_wolf(x)
        assert a == pytest.approx(a_ref, rel=1e-12)
        np.testing.assert_allclose(cov, ref, rtol=1e-12, atol=1e-14)


def test_em_on_complete_rows_is_ledoit_wolf():
    rng = np.random.default_rng(SEED)
    x = rng.normal(size=(25, 6)) @ rng.normal(size=(6, 6))
    mean, cov, a, n_iter = em_covariance(x)
    ref, a_ref = ledoit_wolf(x)
    np.testing.assert_allclose(mean, x.mean(0), rtol=1e-12)
    np.testing.assert_allclose(cov, ref, rtol=1e-12)
    assert a == pytest.approx(a_ref)
    assert n_iter <= 2


def test_em_recovers_a_covariance_from_incomplete_rows():
    rng = np.random.default_rng(SEED)
    p = 4
    true = _random_cov(rng, p)
    x = rng.multivariate_normal(np.zeros(p), true, size=4000)
    x[rng.random(x.shape) < 0.3] = np.nan
    mean, cov, a, _ = em_covariance(x)
    assert a < 0.01  # many rows: almost no shrinkage
    np.testing.assert_allclose(mean, 0.0, atol=0.06)
    np.testing.assert_allclose(cov, true, atol=0.08)
    with pytest.raises(SpecError, match="columns \\[1\\] have no values"):
        em_covariance(np.array([[1.0, np.nan], [2.0, np.nan]]))


def test_condition_normal_matches_the_precision_form():
    rng = np.random.default_rng(SEED)
    p = 6
    cov = _random_cov(rng, p)
    mean = rng.normal(size=p)
    known, target = np.array([0, 3, 4]), np.array([1, 2, 5])
    values = rng.normal(size=3)
    m, c = condition_normal(mean, cov, known, values, target)
    prec = np.linalg.inv(cov)
    c_ref = np.linalg.inv(prec[np.ix_(target, target)])
    m_ref = mean[target] - c_ref @ prec[np.ix_(target, known)] @ (values - mean[known])
    np.testing.assert_allclose(c, c_ref, rtol=1e-10)
    np.testing.assert_allclose(m, m_ref, rtol=1e-10)
    m0, c0 = condition_normal(mean, cov, np.array([], int), np.array([]), target)
    np.testing.assert_allclose(m0, mean[target])
    np.testing.assert_allclose(c0, cov[np.ix_(target, target)])


def test_gaussian_baseline_conditions_each_llm_on_its_own_cells():
    data = simulate(30, 6, density=0.7, random_seed=SEED).data
    hidden = (data.scores["llm"] == "llm-004").to_numpy()
    train = data.drop_cells(hidden & (data.scores["task"] != "task-00").to_numpy())
    b = GaussianConditionalBaseline().fit(train)
    tasks = ["task-01", "task-02", "task-03"]
    mean, sd = b.predict_distribution(["llm-004"] * 3, tasks)
    row = np.full(6, np.nan)
    known = train.scores[train.scores["llm"] == "llm-004"]
    unit = train.unit_scores()[known.index].to_numpy()
    cols = [train.task_names.index(t) for t in known["task"]]
    row[cols] = unit
    m, c = condition_normal(
        b.mean_, b.cov_, np.array(cols), unit, np.array([train.task_names.index(t) for t in tasks])
    )
    np.testing.assert_allclose(mean, m)
    np.testing.assert_allclose(sd, np.sqrt(np.diag(c)))
    np.testing.assert_allclose(b.predict_cells(["llm-004"] * 3, tasks), np.clip(m, 0, 1))
    # More known cells give narrower intervals than the population (CPP-0) sd.
    assert np.all(sd < np.sqrt(np.diag(b.cov_))[[1, 2, 3]])
    assert b.shrinkage_ > 0


def test_gaussian_baseline_cold_start_is_the_population():
    data = simulate(30, 6, density=0.8, random_seed=SEED).data
    train = data.drop_cells((data.scores["llm"] == "llm-002").to_numpy())
    b = GaussianConditionalBaseline().fit(train)
    mean, sd = b.predict_distribution(["llm-002", "llm-002"], ["task-00", "task-05"])
    np.testing.assert_allclose(mean, b.mean_[[0, 5]])
    np.testing.assert_allclose(sd, np.sqrt(np.diag(b.cov_))[[0, 5]])


# ----------------------------------------------------------------- conformal
def test_residual_distribution_knots_are_conformal_quantiles():
    rng = np.random.default_rng(SEED)
    r = rng.normal(size=99)
    dist = ResidualDistribution.from_residuals(r)
    order = np.sort(r)
    j = np.arange(1, 100)
    np.testing.assert_allclose(dist.ppf(j / 100), order, rtol=1e-12)
    q = np.linspace(0.001, 0.999, 101)
    np.testing.assert_allclose(dist.cdf(dist.ppf(q)), q, atol=1e-12)
    # The density integrates to one and matches the CDF's slope.
    x = np.linspace(order[0] - 20 * dist.tail_lo, order[-1] + 20 * dist.tail_hi, 400001)
    dens = np.exp(dist.logpdf(x))
    assert np.trapezoid(dens, x) == pytest.approx(1.0, abs=2e-3)  # jumps cost a little
    mid = np.array([order[0] - 1.0, order[10] + 0.3 * (order[11] - order[10]), order[-1] + 0.5])
    slope = (dist.cdf(mid + 1e-7) - dist.cdf(mid - 1e-7)) / 2e-7
    np.testing.assert_allclose(np.exp(dist.logpdf(mid)), slope, rtol=1e-5)
    with pytest.raises(DataError, match="two distinct residuals"):
        ResidualDistribution.from_residuals(np.ones(5))


def test_conformal_interval_has_its_finite_sample_coverage():
    # n = 19 residuals: the 90% interval is [r_(1), r_(19)], whose coverage of a
    # new exchangeable residual is exactly 18/20 on average over calibrations.
    rng = np.random.default_rng(SEED)
    cover = []
    for _ in range(4000):
        dist = ResidualDistribution.from_residuals(rng.standard_t(4, size=19))
        lo, hi = dist.ppf(np.array([0.05, 0.95]))
        cover.append(stats.t.cdf(hi, 4) - stats.t.cdf(lo, 4))
    assert np.mean(cover) == pytest.approx(0.9, abs=0.004)


def test_scaled_residual_predictive_is_one_consistent_distribution():
    rng = np.random.default_rng(SEED)
    dist = ResidualDistribution.from_residuals(rng.normal(size=500))
    center = np.array([0.5, 0.9, 0.05])
    pred = ScaledResidualPredictive(center, residual_scale(center), dist)
    lo, hi = pred.interval(0.9)
    assert np.all((lo >= 0) & (hi <= 1) & (lo < center) & (hi > center))
    # Widths follow the scale: the cell near a bound is the narrowest.
    assert np.argmin(hi - lo) == 2
    # CRPS: the quantile ensemble against a large sample of the same distribution.
    y = np.array([0.55, 0.98, 0.0])
    e = dist.ppf(rng.random(200000))
    sample = np.clip(center[:, None] + pred.scale[:, None] * e[None, :], 0, 1)
    ref = sr.crps_ensemble(y, sample, m_axis=-1, backend="numpy")
    np.testing.assert_allclose(pred.crps(y), ref, rtol=0.02)
    np.testing.assert_allclose(
        pred.log_density(y), dist.logpdf((y - center) / pred.scale) - np.log(pred.scale)
    )
    # PIT of draws from the censored distribution is uniform.
    pit = np.concatenate(
        [
            pred.pit(np.clip(center + pred.scale * dist.ppf(rng.random(3)), 0, 1), rng)
            for _ in range(3000)
        ]
    )
    assert stats.kstest(pit, "uniform").pvalue > 0.01
    assert np.all(pred.sd > 0)


def test_conformal_method_calibrates_on_cross_validated_residuals():
    data = simulate(40, 8, density=0.8, random_seed=SEED).data
    split = random_splits(data, 0.2, seeds=[1])[0]
    method = make_method("conformal-softimpute-logit-3")
    assert isinstance(method, ConformalMethod)
    pred, record = method.run(split, data, 0)
    point, _ = PointMethod("softimpute-logit-3").run(split, data, 0)
    np.testing.assert_allclose(pred.point, point.point)  # same point as the baseline
    assert record["n_calibration"] == split.train.n_observed
    assert np.ptp(pred.sd) > 0
    with pytest.raises(SpecError, match="has its own intervals"):
        make_method("conformal-gaussian-conditional")
    with pytest.raises(SpecError, match="unknown method"):
        make_method("conformal-nope")


def test_interval_baselines_run_in_the_harness_next_to_the_others():
    data = simulate(40, 8, density=0.8, random_seed=SEED).data
    result = evaluate(
        data,
        "random",
        methods=["task-mean", "gaussian-conditional", "conformal-softimpute-logit-3"],
        holdout=0.2,
        seeds=2,
        progress=False,
    )
    assert isinstance(make_method("gaussian-conditional"), DistributionMethod)
    assert result.settings["own_intervals"] == {
        "task-mean": False,
        "gaussian-conditional": True,
        "conformal-softimpute-logit-3": True,
    }
    note = result.to_markdown().splitlines()[-1]
    assert "Plug-in intervals (task-mean)" in note
    cells = result.cells
    # The same hidden cells for every method.
    by = cells.groupby("method")[["llm", "task"]].apply(
        lambda f: sorted(zip(f.llm, f.task, strict=False))
    )
    assert by.iloc[0] == by.iloc[1] == by.iloc[2]
    means = result.summary().query("metric == 'coverage_90'").set_index("method")["mean"]
    assert means["gaussian-conditional"] > 0.6
    assert means["conformal-softimpute-logit-3"] > 0.7
    rho = result.summary().query("metric == 'sd_error_spearman'").set_index("method")["mean"]
    assert np.isnan(rho["task-mean"])
    assert np.isfinite(rho["gaussian-conditional"])


# ------------------------------------------------------------------- metrics
def test_peer_metrics_on_hand_made_cells():
    data = simulate(6, 3, density=1.0, random_seed=SEED).data
    test = data.scores.iloc[:5].reset_index(drop=True)
    p = data.to_unit(test["score"].to_numpy(), test["task"].to_numpy()).to_numpy()
    err = np.array([0.01, -0.05, 0.02, 0.10, -0.03])
    sd = np.array([0.02, 0.04, 0.03, 0.08, 0.01])
    pred = GaussianPredictive(p + err, sd)
    cells = score_cells(test, pred, full=data, train=data, rng=np.random.default_rng(0))
    out = aggregate(cells)
    assert out["medae"] == pytest.approx(100 * np.median(np.abs(err)))
    width = 2 * stats.norm.ppf(0.95) * sd
    assert out["median_width_90_points"] == pytest.approx(100 * np.median(width))
    assert out["sd_error_spearman"] == pytest.approx(stats.spearmanr(sd, np.abs(err)).statistic)
    np.testing.assert_allclose(cells["predictive_sd"], sd)
    y_hat = data.from_unit(p + err, test["task"].to_numpy())
    ape = np.abs(y_hat - test["score"]) / np.abs(test["score"]) * 100
    assert out["mdape"] == pytest.approx(np.median(ape))
    flat = aggregate(cells.assign(predictive_sd=0.05))
    assert np.isnan(flat["sd_error_spearman"])


def test_censored_gaussian_predictive():
    mu, sd = np.array([0.97, 0.5, 0.02]), np.array([0.05, 0.1, 0.04])
    pred = GaussianPredictive(mu, sd, censored=True)
    lo, hi = pred.interval(0.9)
    assert hi[0] == 1.0
    assert lo[2] == 0.0
    assert 0 < lo[1] < hi[1] < 1
    y = np.array([1.0, 0.4, 0.0])
    rng = np.random.default_rng(SEED)
    sample = np.clip(rng.normal(mu[:, None], sd[:, None], (3, 400000)), 0, 1)
    np.testing.assert_allclose(
        pred.crps(y), sr.crps_ensemble(y, sample, m_axis=-1, backend="numpy"), rtol=0.01
    )
    pit = pred.pit(y, rng)
    assert stats.norm.cdf(1.0, mu[0], sd[0]) <= pit[0] <= 1.0
    assert 0.0 <= pit[2] <= stats.norm.cdf(0.0, mu[2], sd[2])
    assert pit[1] == pytest.approx(stats.norm.cdf(0.4, 0.5, 0.1))
