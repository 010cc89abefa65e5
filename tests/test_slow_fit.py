"""Real NUTS on small simulated data (fixed seed, tiny settings): marked slow, run in CI."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from bayes_cpp import BayesCPP, simulate

pytestmark = pytest.mark.slow

SETTINGS = {"draws": 300, "tune": 300, "chains": 2, "cores": 2}


@pytest.fixture(scope="module")
def sim40():
    return simulate(40, 12, rank=2, n_families=8, n_categories=3, density=0.5, random_seed=11)


@pytest.fixture(scope="module")
def fitted(sim40):
    return BayesCPP(random_seed=1, **SETTINGS).fit(sim40.data)


def _heldout(sim, est, kind):
    held = sim.heldout()
    draws = est.predict(kind=kind, random_seed=2)
    values = draws.stack(sample=("chain", "draw")).transpose("sample", "llm", "task")
    li = [sim.data.llm_names.index(n) for n in held["llm"]]
    ti = [sim.data.task_names.index(n) for n in held["task"]]
    return held, values.values[:, li, ti]


def test_beats_per_task_mean_and_is_calibrated(sim40, fitted):
    held, score_draws = _heldout(sim40, fitted, "score")
    _, mean_draws = _heldout(sim40, fitted, "mean")
    truth = held["score"].to_numpy()
    pred = mean_draws.mean(axis=0)
    rmse = np.sqrt(np.mean((pred - truth) ** 2))
    task_mean = sim40.data.scores.groupby("task")["score"].mean()
    baseline = np.sqrt(np.mean((held["task"].map(task_mean).to_numpy() - truth) ** 2))
    assert rmse < 0.6 * baseline, (rmse, baseline)
    lo, hi = np.quantile(score_draws, [0.05, 0.95], axis=0)
    coverage = np.mean((truth >= lo) & (truth <= hi))
    assert 0.85 <= coverage <= 0.95, coverage


def test_true_identified_quantities_recovered(sim40, fitted):
    """True cell means (all cells) and noise sds fall in their 90% intervals near nominally."""
    mean_draws = fitted.predict(kind="mean", random_seed=3).stack(sample=("chain", "draw"))
    lo, hi = (
        mean_draws.quantile([0.05, 0.95], dim="sample").transpose("quantile", "llm", "task").values
    )
    true_mean = sim40.truth["mean"].transpose("llm", "task").values
    cover_mean = np.mean((true_mean >= lo) & (true_mean <= hi))
    assert 0.8 <= cover_mean <= 0.99, cover_mean
    sigma = fitted.idata_["posterior"]["sigma"].stack(sample=("chain", "draw"))
    s_lo, s_hi = sigma.quantile([0.05, 0.95], dim="sample").values
    true_sigma = sim40.truth["sigma"].values
    # On a 40 x 12 matrix the per-task noise is overestimated by ~20-30% (shrunk
    # means leave larger residuals), so its 90% intervals cover 8-9 of 12 tasks
    # (measured), below nominal; the cell means above are the nominal-rate check.
    assert np.mean((true_sigma >= s_lo) & (true_sigma <= s_hi)) >= 0.5
    ratio = sigma.median("sample").values / true_sigma
    assert np.all((ratio > 0.7) & (ratio < 1.6)), ratio


def test_diagnostics_on_identified_quantities(fitted):
    """The report's numbers are arviz-stats' on the identified quantities.

    Its convergence verdict is not asserted here: at these tiny settings this
    40 x 12 matrix gives 1-5 divergences and r-hat 1.02-1.08 depending on the
    seed (measured; benchmarks/RESULTS.md), and the report must say so.
    """
    import arviz_stats as azs

    report = fitted.diagnose(warn=False)
    assert {"eta", "sigma", "llm_bias"} <= set(report.table.index)
    assert {"llm_loading", "task_loading"}.isdisjoint(report.table.index)
    n_div = int(fitted.idata_["sample_stats"]["diverging"].sum())
    assert report.n_divergent == n_div
    rhat = azs.rhat(fitted.idata_["posterior"]["sigma"].to_dataset(), method="rank")["sigma"]
    assert report.table.loc["sigma", "max_rhat"] == pytest.approx(float(rhat.max()), rel=1e-6)
    assert report.ok == (
        report.max_rhat <= 1.01
        and report.min_ess_bulk >= 400
        and n_div == 0
        and not report.min_bfmi < 0.3
    )
    assert report.max_rhat < 1.1  # sampling works at all


def test_same_seed_same_posterior(sim40, fitted):
    again = BayesCPP(random_seed=1, **SETTINGS).fit(sim40.data)
    xr.testing.assert_equal(
        again.idata_["posterior"]["llm_bias"], fitted.idata_["posterior"]["llm_bias"]
    )
    xr.testing.assert_equal(again.predict(random_seed=5), fitted.predict(random_seed=5))


def test_forecast_with_two_scores_matches_refit(sim40, fitted):
    data = sim40.data
    counts = data.observed_counts("llm")
    target = counts.idxmax()
    others = [n for n in data.llm_names if n != target]
    row = data.llms.loc[target]
    target_scores = data.scores[data.scores["llm"] == target].set_index("task")["score"]
    known = target_scores.iloc[:2]
    rest = [t for t in target_scores.index if t not in known.index]

    base = BayesCPP(random_seed=4, **SETTINGS).fit(data.select(llms=others, allow_unobserved=False))
    fc = base.forecast(
        row["family"],
        # A factor the data do not know stays out (the model imputes it).
        factors={k: row[k] for k in ("params_b", "tokens_b") if np.isfinite(row[k])},
        scores=known.to_dict(),
        name=target,
        tasks=rest,
        kind="mean",
    )

    keep = data.scores[(data.scores["llm"] != target) | data.scores["task"].isin(known.index)]
    refit = BayesCPP(random_seed=4, **SETTINGS).fit(data.with_scores(keep, allow_unobserved=False))
    rf = refit.predict([target], rest, kind="mean")
    a = fc.stack(sample=("chain", "draw"))
    b = rf.stack(sample=("chain", "draw"))
    diff = np.abs(a.mean("sample").values - b.mean("sample").values).ravel()
    scale = np.sqrt(a.var("sample").values + b.var("sample").values).ravel()
    # Same posterior up to Monte Carlo error (ESS ~ hundreds) and the tiny
    # change that one LLM's two scores make to the shared parameters.
    assert np.median(diff / scale) < 0.35, diff / scale
    width_ratio = (a.std("sample") / b.std("sample")).values.ravel()
    assert 0.6 < np.median(width_ratio) < 1.6, width_ratio


def _rmse_and_coverage(sim, est):
    held, score_draws = _heldout(sim, est, "score")
    _, mean_draws = _heldout(sim, est, "mean")
    truth = held["score"].to_numpy()
    rmse = np.sqrt(np.mean((mean_draws.mean(axis=0) - truth) ** 2))
    lo, hi = np.quantile(score_draws, [0.05, 0.95], axis=0)
    return rmse, np.mean((truth >= lo) & (truth <= hi)), held, truth


@pytest.mark.parametrize("sampler", ["advi", "fullrank_advi"])
def test_approximations_predict_held_out_cells(sim40, fitted, sampler):
    """Both approximations keep the (chain, draw) contract, say what they are, stop on
    their own and predict held-out cells far better than the task means and not far
    from NUTS.

    Mean-field ADVI lands in one of two optima here: held-out RMSE 7.4 or 9.8 points
    against 6.17 for NUTS (`python benchmarks/advi_optima.py`, 2026-12-02: seeds 0-3
    gave 9.80, 9.80, 7.41, 9.82, full-rank 9.83 for seed 0; inside this test 9.78 and
    9.69, the compile-cache state moving the optimizer's path). Which one a seed reaches changed with the environment
    (the same code and versions passed at 1.25x NUTS in an earlier CI run), so the
    bound is 1.75x, and the bound against the task means is what catches a broken
    approximation.
    """
    est = BayesCPP(sampler=sampler, draws=250, chains=2, random_seed=0).fit(sim40.data)
    post = est.idata_["posterior"]
    assert (post.sizes["chain"], post.sizes["draw"]) == (2, 250)
    assert post.attrs["bayes_cpp_sampler"] == sampler
    report = est.diagnose(warn=False)
    assert report.ok, str(report)  # the loss converged before the iteration cap
    assert report.iterations < est.sampler_config_.advi_iterations
    assert ("full-rank" in report.approximation) == (sampler == "fullrank_advi")
    rmse, coverage, held, truth = _rmse_and_coverage(sim40, est)
    nuts_rmse, _, _, _ = _rmse_and_coverage(sim40, fitted)
    task_mean = sim40.data.scores.groupby("task")["score"].mean()
    baseline = np.sqrt(np.mean((held["task"].map(task_mean).to_numpy() - truth) ** 2))
    assert rmse < 0.7 * baseline, (rmse, baseline)
    assert rmse < 1.75 * nuts_rmse, (rmse, nuts_rmse)
    assert 0.7 <= coverage <= 0.99, coverage


def _cell_mean_agreement(first, second):
    """Median over cells of |difference of posterior means| / sd, and of the sd ratio."""
    a = first.predict(kind="mean", random_seed=0).stack(sample=("chain", "draw"))
    b = second.predict(kind="mean", random_seed=0).stack(sample=("chain", "draw"))
    diff = np.abs(a.mean("sample") - b.mean("sample")).values.ravel()
    scale = np.sqrt(a.var("sample") + b.var("sample")).values.ravel()
    ratio = (a.std("sample") / b.std("sample")).values.ravel()
    return float(np.median(diff / scale)), float(np.median(ratio))


def test_numpyro_sampler_agrees_with_the_default_sampler(sim40, fitted):
    """NUTS through JAX (numpyro, chains on CPU devices) samples the posterior the
    default sampler does: cell means and per-task noise sd agree within Monte Carlo error."""
    pytest.importorskip("numpyro")
    # numpyro's windowed adaptation needs more tuning than nutpie's on this model
    # (tune=300 left bulk ESS near 20); 1000 + 500 gives ESS in the hundreds.
    jax_fit = BayesCPP(sampler="numpyro", draws=500, tune=1000, chains=2, random_seed=3)
    jax_fit.fit(sim40.data)
    assert jax_fit.sampler_used_ == "numpyro"
    assert jax_fit.idata_["sample_stats"].sizes["chain"] == 2
    z_mean, sd_ratio = _cell_mean_agreement(fitted, jax_fit)
    assert z_mean < 0.2, z_mean
    assert 0.8 < sd_ratio < 1.2, sd_ratio
    sa = fitted.idata_["posterior"]["sigma"].stack(sample=("chain", "draw"))
    sb = jax_fit.idata_["posterior"]["sigma"].stack(sample=("chain", "draw"))
    z = np.abs(sa.mean("sample") - sb.mean("sample")) / np.sqrt(sa.var("sample") + sb.var("sample"))
    assert float(z.max()) < 0.5, z.values


def test_compare_ranks_prefers_a_latent_rank():
    """On rank-2 data, LOO ranks a rank-2 model above an additive (rank-0) one."""
    from bayes_cpp.model_selection import compare_ranks

    sim = simulate(30, 10, rank=2, density=0.7, noise=0.02, random_seed=5)
    table = compare_ranks(
        sim.data, ranks=(0, 2), random_seed=1, draws=150, tune=150, chains=2, cores=2
    )
    assert list(table.index) == ["rank=2", "rank=0"]
    # arviz-stats reports the worse model's elpd_diff as negative.
    assert -table.loc["rank=0", "elpd_diff"] > 2 * table.loc["rank=0", "dse"]


def test_kernel_sampler_agrees_with_the_pymc_graph(sim40, fitted):
    """The default sampler (nutpie on the numba kernel) and nutpie on PyTensor's graph
    sample the same posterior: cell means agree within Monte Carlo error."""
    graph = BayesCPP(sampler="nutpie-pymc", random_seed=2, **SETTINGS).fit(sim40.data)
    z_mean, sd_ratio = _cell_mean_agreement(fitted, graph)
    # Independent fits of ~600 draws: the difference of means is ~0.1 posterior sd.
    assert z_mean < 0.15, z_mean
    assert 0.85 < sd_ratio < 1.15, sd_ratio
