"""Active evaluation: closed-form Gaussian gains, greedy batches, recommendations, reveal curves."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from scipy.stats import multivariate_normal, norm

from bayes_cpp import BayesCPP, DataError, NotFittedError, SpecError
from bayes_cpp.active import (
    STRATEGIES,
    greedy_ranking_batch,
    greedy_variance_batch,
    order_variance_reduction,
    recommend,
    reveal_curve,
)


def _spd(n, seed):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(n, n))
    return a @ a.T / n + 0.1 * np.eye(n)


def _conditioned(cov, noise, batch):
    """Covariance of f given noisy observations of ``batch`` (full Gaussian conditioning)."""
    b = list(batch)
    gain = cov[:, b] @ np.linalg.inv(cov[np.ix_(b, b)] + np.diag(noise[b]))
    return cov - gain @ cov[b, :]


def test_variance_gains_are_the_closed_form_gaussian_answer():
    cov, noise = _spd(6, 0), np.full(6, 0.05)
    cands, targets = [0, 2, 3, 5], [1, 2, 4]
    picks, gains = greedy_variance_batch(cov, noise, cands, targets, 3)
    first = [sum(cov[t, c] ** 2 for t in targets) / (cov[c, c] + noise[c]) for c in cands]
    assert picks[0] == cands[int(np.argmax(first))]
    assert gains[0] == pytest.approx(max(first))
    # The batch's cumulative gain is the exact reduction of the targets' summed variance.
    for k in (1, 2, 3):
        post = _conditioned(cov, noise, picks[:k])
        reduction = np.trace(cov[np.ix_(targets, targets)]) - np.trace(
            post[np.ix_(targets, targets)]
        )
        assert sum(gains[:k]) == pytest.approx(reduction, rel=1e-10)
    assert len(set(picks)) == 3


def test_the_second_pick_accounts_for_the_first():
    # Cells 0 and 1 are the same quantity, 2 is independent with less variance:
    # alone, 1 would be the second-best pick; after 0 it reveals nothing.
    cov = np.array([[1.0, 1.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 0.6]])
    noise = np.full(3, 0.1)
    picks, gains = greedy_variance_batch(cov, noise, [0, 1, 2], [0, 1, 2], 3)
    assert picks == [0, 2, 1]
    assert gains[0] == pytest.approx(2.0 / 1.1)  # reduces Var f_0 and Var f_1
    assert gains[1] == pytest.approx(0.36 / 0.7)
    left = 1.0 - 1.0 / 1.1  # what is left of Var f_0 = Var f_1 = Cov after cell 0
    assert gains[2] == pytest.approx(2 * left**2 / (left + 0.1))


@pytest.mark.parametrize(("a", "r"), [(0.0, 0.3), (0.7, 0.5), (-1.2, 0.9), (2.0, 0.05)])
def test_order_variance_reduction_is_a_bivariate_normal_probability(a, r):
    both = multivariate_normal(mean=[0.0, 0.0], cov=[[1.0, r], [r, 1.0]]).cdf([a, a])
    expected = both - norm.cdf(a) ** 2
    assert float(order_variance_reduction(np.array(a), np.array(r))) == pytest.approx(
        expected, abs=1e-6
    )


def test_order_variance_reduction_matches_monte_carlo():
    # d ~ N(mu, 1), y = d + e with Var(e) = 1: y explains r = 1/2 of Var(d).
    rng = np.random.default_rng(1)
    mu = 0.4
    d = mu + rng.standard_normal(400_000)
    y = d + rng.standard_normal(d.size)
    post_mean, post_sd = mu + 0.5 * (y - mu), np.sqrt(0.5)
    p_post = norm.cdf(post_mean / post_sd)
    p = norm.cdf(mu)
    mc = p * (1 - p) - np.mean(p_post * (1 - p_post))
    assert float(order_variance_reduction(np.array(mu), np.array(0.5))) == pytest.approx(
        mc, abs=2e-3
    )


def test_ranking_gains_equal_the_batch_formula():
    cov, noise = _spd(5, 3), np.full(5, 0.02)
    mean = np.array([0.1, 0.3, 0.2, -0.1, 0.4])
    pairs = tuple(zip(*itertools.combinations([0, 1, 2], 2), strict=True))
    picks, gains = greedy_ranking_batch(cov, mean, noise, [0, 1, 2, 3, 4], pairs, 2)
    i, j = np.asarray(pairs[0]), np.asarray(pairs[1])
    var0 = cov[i, i] + cov[j, j] - 2 * cov[i, j]
    for k in (1, 2):
        post = _conditioned(cov, noise, picks[:k])
        share = 1 - (post[i, i] + post[j, j] - 2 * post[i, j]) / var0
        total = order_variance_reduction((mean[i] - mean[j]) / np.sqrt(var0), share).sum()
        assert sum(gains[:k]) == pytest.approx(total, rel=1e-9)
    # The first pick is the best single cell by that formula.
    singles = []
    for c in range(5):
        post = _conditioned(cov, noise, [c])
        share = 1 - (post[i, i] + post[j, j] - 2 * post[i, j]) / var0
        singles.append(order_variance_reduction((mean[i] - mean[j]) / np.sqrt(var0), share).sum())
    assert picks[0] == int(np.argmax(singles))


def _joint_draws(est, cells):
    llms = est.positions("llm", [c[0] for c in cells])
    tasks = est.positions("task", [c[1] for c in cells])
    mean, sd = est.predictor_.pairs(llms, tasks, np.random.default_rng(0))
    return mean, (sd**2).mean(0)


def _untested(est):
    seen = set(zip(est.data_.scores["llm"], est.data_.scores["task"], strict=True))
    return [(m, t) for m in est.data_.llm_names for t in est.data_.task_names if (m, t) not in seen]


def test_recommend_matches_the_gaussian_answer_on_the_posterior(mock_fitted):
    plan = recommend(mock_fitted, budget=4)
    assert list(plan.columns) == [
        "rank",
        "llm",
        "task",
        "expected_gain",
        "cumulative_gain",
        "predicted",
        "predicted_sd",
    ]
    assert plan["rank"].tolist() == [1, 2, 3, 4]
    cells = _untested(mock_fitted)
    picked = list(zip(plan["llm"], plan["task"], strict=True))
    assert set(picked) <= set(cells)
    assert len(set(picked)) == 4
    f, noise = _joint_draws(mock_fitted, cells)
    cov = np.cov(f, rowvar=False)
    first = (cov**2).sum(0) / (np.diag(cov) + noise)
    assert picked[0] == cells[int(np.argmax(first))]
    assert plan["expected_gain"].iloc[0] == pytest.approx(first.max(), rel=1e-9)
    np.testing.assert_allclose(plan["cumulative_gain"], plan["expected_gain"].cumsum())
    # predicted / predicted_sd in task units (0..100 here): mean and sqrt(Var f + E sd^2).
    k = cells.index(picked[0])
    assert plan["predicted"].iloc[0] == pytest.approx(100 * f[:, k].mean())
    assert plan["predicted_sd"].iloc[0] == pytest.approx(100 * np.sqrt(cov[k, k] + noise[k]))


def test_llm_target_counts_only_that_llms_untested_cells(mock_fitted):
    llm = "llm-004"
    cells = _untested(mock_fitted)
    plan = recommend(mock_fitted, budget=2, target=("llm", llm))
    f, noise = _joint_draws(mock_fitted, cells)
    cov = np.cov(f, rowvar=False)
    mine = [k for k, c in enumerate(cells) if c[0] == llm]
    first = (cov[mine, :] ** 2).sum(0) / (np.diag(cov) + noise)
    assert plan["expected_gain"].iloc[0] == pytest.approx(first.max(), rel=1e-9)
    # Candidates restricted by the caller.
    own = [c for c in cells if c[0] == llm]
    plan = recommend(mock_fitted, budget=10, target=("llm", llm), candidates=own)
    assert len(plan) == len(own)
    assert set(plan["llm"]) == {llm}


def test_task_target_ranks_by_pairwise_order_uncertainty(mock_fitted):
    plan = recommend(mock_fitted, budget=3, target=("task", "task-02"))
    assert len(plan) == 3
    assert (plan["expected_gain"] >= 0).all()
    n_llms = mock_fitted.data_.n_llms
    assert plan["cumulative_gain"].iloc[-1] <= 0.25 * n_llms * (n_llms - 1) / 2


def test_recommend_rejects_bad_requests(mock_fitted):
    scored = tuple(mock_fitted.data_.scores[["llm", "task"]].iloc[0])
    with pytest.raises(DataError, match="already has a score"):
        recommend(mock_fitted, candidates=[scored])
    with pytest.raises(DataError, match="unknown LLM 'llm-999'"):
        recommend(mock_fitted, target=("llm", "llm-999"))
    with pytest.raises(SpecError, match="target must be"):
        recommend(mock_fitted, target="everything")
    with pytest.raises(SpecError, match="budget"):
        recommend(mock_fitted, budget=0)
    with pytest.raises(DataError, match="columns 'llm' and 'task'"):
        recommend(mock_fitted, candidates=pd.DataFrame({"llm": ["llm-000"]}))
    with pytest.raises(NotFittedError):
        recommend(BayesCPP())


@pytest.fixture
def fit_log(monkeypatch):
    log = []
    original = BayesCPP.fit

    def fit(self, data, *, random_seed=None):
        log.append(data.n_observed)
        return original(self, data, random_seed=random_seed)

    monkeypatch.setattr(BayesCPP, "fit", fit)
    return log


TINY = {"draws": 20, "tune": 10, "chains": 1}


def test_reveal_curve_refits_after_each_reveal(sim, mock_sampling, fit_log):
    curve = reveal_curve(sim.data, budget=4, step=2, seeds=[3], est_params=TINY)
    assert list(curve.columns) == [
        "strategy",
        "seed",
        "n_revealed",
        "rmse",
        "mean_width_90",
        "coverage_90",
        "lpd",
    ]
    assert len(curve) == 3 * 3
    assert set(curve["strategy"]) == set(STRATEGIES)
    assert sorted(set(curve["n_revealed"])) == [0, 2, 4]
    # Per seed: one shared first fit, then one per strategy and checkpoint,
    # each on the training cells plus the revealed ones.
    base = sim.data.n_observed - round(0.2 * sim.data.n_observed)
    assert sorted(set(fit_log)) == [base, base + 2, base + 4]
    assert fit_log.count(base) == 1
    assert len(fit_log) <= 1 + 3 * 2
    start = curve[curve["n_revealed"] == 0]
    assert start["rmse"].nunique() == 1
    assert start["mean_width_90"].nunique() == 1
    assert curve["rmse"].between(0, 1).all()
    assert curve["mean_width_90"].between(0, 1).all()


def test_reveal_curve_without_refit_fits_once(sim, mock_sampling, fit_log):
    curve = reveal_curve(
        sim.data,
        strategy=["random", "recommended"],
        budget=3,
        seeds=1,
        refit=False,
        est_params=TINY,
    )
    assert len(fit_log) == 1
    assert len(curve) == 2 * 4
    assert np.isfinite(curve[["rmse", "mean_width_90", "lpd"]].to_numpy()).all()


def test_reveal_curve_rejects_bad_settings(sim):
    with pytest.raises(SpecError, match="strategies"):
        reveal_curve(sim.data, strategy="best")
    with pytest.raises(SpecError, match="step"):
        reveal_curve(sim.data, step=0)
    with pytest.raises(SpecError, match="test_share"):
        reveal_curve(sim.data, test_share=1.0)
    with pytest.raises(DataError, match="raise hide_fraction"):
        reveal_curve(sim.data, budget=50, hide_fraction=0.1, seeds=1)
    with pytest.raises(SpecError, match="hide must be"):
        reveal_curve(sim.data, hide="tasks")
    with pytest.raises(SpecError, match="leave target unset"):
        reveal_curve(sim.data, hide="llms", target=("llm", "llm-000"))
    with pytest.raises(DataError, match="lower n_llms"):
        reveal_curve(sim.data, hide="llms", n_llms=10_000, seeds=1)


def test_reveal_curve_for_new_llms_plans_each_llm_within_its_own_pool(
    sim, mock_sampling, fit_log, monkeypatch
):
    import bayes_cpp.active as active

    planned = []
    original = active.recommend

    def spy(est, **kwargs):
        plan = original(est, **kwargs)
        planned.append((kwargs["target"], set(kwargs["candidates"]), plan))
        return plan

    monkeypatch.setattr(active, "recommend", spy)
    curve = reveal_curve(
        sim.data, hide="llms", n_llms=3, known=2, budget=2, seeds=[1], refit=False, est_params=TINY
    )
    # One fit, in which each held-out LLM keeps exactly `known` scores.
    assert len(fit_log) == 1
    assert len(planned) == 3
    scores = sim.data.scores
    held = [t[1] for t, _, _ in planned]
    assert len(set(held)) == 3
    removed = sum(int((scores["llm"] == m).sum()) - 2 for m in held)
    assert fit_log[0] == sim.data.n_observed - removed
    for (side, llm), pool, plan in planned:
        assert side == "llm"
        # Candidates are that LLM's own hidden, scored cells, and the plan picks among them.
        assert {c[0] for c in pool} == {llm}
        observed = set(zip(scores["llm"], scores["task"], strict=True))
        assert pool <= observed
        assert set(zip(plan["llm"], plan["task"], strict=True)) <= pool
        assert len(plan) == 2
    assert len(curve) == 3 * 3  # 3 strategies x checkpoints 0, 1, 2
    start = curve[curve["n_revealed"] == 0]
    assert start["rmse"].nunique() == 1
    # The revealed scores reach the predictions (the mocked posterior says nothing
    # about how much they help; benchmarks/active_eval.py measures that).
    lpd = curve.set_index(["strategy", "n_revealed"])["lpd"]
    assert all(lpd[(s, 2)] != lpd[(s, 0)] for s in STRATEGIES)


def test_benchmark_curve_summary_pairs_strategies_by_seed():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "active_eval.py"
    spec = importlib.util.spec_from_file_location("active_eval", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rows = []
    for seed in range(4):
        for strategy, offset in (("recommended", -0.01), ("random", 0.0), ("largest_sd", 0.02)):
            for n in (0, 1, 2):
                value = 0.1 + (offset * n) + 0.001 * seed
                rows.append(
                    {
                        "strategy": strategy,
                        "seed": seed,
                        "n_revealed": n,
                        "rmse": value,
                        "mean_width_90": value,
                        "lpd": -value,
                    }
                )
    md = module.curve_summary(pd.DataFrame(rows))
    # Mean over n = 1, 2 of recommended - random: -0.01 * 1.5; - largest sd: -0.03 * 1.5.
    assert "| rmse | -0.0150 ± 0.0000 (better in 4/4" in md
    assert "-0.0450 ± 0.0000 (better in 4/4" in md
    assert "| lpd | +0.0150 ± 0.0000 (better in 4/4" in md
