"""Simulation-based calibration: ranks, uniformity tests, the replication plumbing (fast, exact)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from bayes_cpp import BayesCPP, CollaborativeData, DataError
from bayes_cpp.persistence import SavedFit
from bayes_cpp.validation import (
    SBCResult,
    plan_sbc,
    rank_statistics,
    replication_ranks,
    run_sbc,
    sbc,
    sbc_layout,
    uniformity_tests,
)
from tests.conftest import SEED, mocked_sampling


def _ranks_frame(u: np.ndarray, name: str = "x") -> pd.DataFrame:
    return pd.DataFrame({"quantity": name, "variable": name, "kind": "posterior", "u": u})


def _sbc_of(truth_loc: float, draw_sd: float, rng, n_rep=300, ar=0.0, thin="ess"):
    """Fractional ranks of N(0, 1) truths among N(truth_loc, draw_sd) 'posteriors'."""
    u = []
    for _ in range(n_rep):
        noise = rng.normal(size=(1, 2, 200))
        if ar:
            for t in range(1, 200):
                noise[..., t] = ar * noise[..., t - 1] + np.sqrt(1 - ar**2) * noise[..., t]
        theta = rng.normal()
        # An exact posterior here: prior N(0, 1), the "data" fix nothing.
        draws = truth_loc + draw_sd * noise
        u.append(rank_statistics(np.array([theta]), draws, rng, thin=thin)[2][0])
    return np.array(u)


def test_rank_statistics_detect_wrong_posteriors():
    rng = np.random.default_rng(SEED)
    frames = [
        _ranks_frame(_sbc_of(0.0, 1.0, rng), "exact"),
        _ranks_frame(_sbc_of(0.0, 1.0, rng, ar=0.9), "exact-autocorrelated"),
        _ranks_frame(_sbc_of(0.5, 1.0, rng), "biased"),
        _ranks_frame(_sbc_of(0.0, 0.6, rng), "too-narrow"),
        _ranks_frame(_sbc_of(0.0, 1.6, rng), "too-wide"),
    ]
    tests = uniformity_tests(pd.concat(frames)).set_index("quantity")
    assert not tests.loc["exact", "rejected"]
    assert not tests.loc["exact-autocorrelated", "rejected"]  # thinned to its ESS
    assert tests.loc[["biased", "too-narrow", "too-wide"], "rejected"].all()
    assert tests["n"].eq(300).all()


def test_rank_statistics_count_and_thin():
    rng = np.random.default_rng(0)
    draws = np.arange(20.0).reshape(1, 2, 10)
    rank, kept, u = rank_statistics(np.array([9.5]), draws, rng, thin=2)
    assert kept.tolist() == [10]  # every other draw of each chain
    assert rank.tolist() == [5]  # 0, 2, 4, 6, 8 of chain one
    assert 5 / 11 <= u[0] < 6 / 11
    with pytest.raises(Exception, match="thin must be"):
        rank_statistics(np.zeros(1), draws, rng, thin=0)


def test_holm_correction():
    ranks = pd.concat(
        [_ranks_frame(np.random.default_rng(i).random(50), f"q{i}") for i in range(4)]
    )
    tests = uniformity_tests(ranks)
    p = np.sort(tests["p_value"].to_numpy())
    expected = np.minimum(1, np.maximum.accumulate(p * (4 - np.arange(4))))
    np.testing.assert_allclose(tests.sort_values("p_value")["p_adjusted"], expected)
    bonf = uniformity_tests(ranks, correction="bonferroni").sort_values("p_value")
    np.testing.assert_allclose(bonf["p_adjusted"], np.minimum(1, 4 * p))


def _prior_as_posterior(plan, n_draws: int) -> BayesCPP:
    """A fitted estimator whose posterior is independent accepted prior draws of the layout."""
    import pymc as pm

    with mocked_sampling():
        est = BayesCPP(draws=5, tune=5, chains=1, random_seed=SEED).fit(plan.jobs[0].data)
    model = est.build_model(plan.fit_layout, rotation_gauge=False)
    with model:
        tree = pm.sample_prior_predictive(draws=4 * n_draws, random_seed=SEED + 1)
    y = tree["prior_predictive"]["score"].to_numpy()[0]
    # The truths are prior draws accepted on in-range data: select these the same way.
    keep = np.flatnonzero(((y >= 0) & (y <= 1)).all(axis=1))[:n_draws]
    assert len(keep) == n_draws
    post = tree["prior"].to_dataset().isel(draw=keep).assign_coords(draw=np.arange(n_draws))
    idata = est.idata_.copy()
    idata["posterior"] = post
    record = SavedFit(
        idata=idata,
        data=est.data_,
        spec=est.spec_,
        llm_design=est.llm_design_,
        task_design=est.task_design_,
        sampler_config=est.sampler_config_,
        random_seed=est.random_seed_,
        sampler_used=est.sampler_used_,
        params=est.get_params(),
    )
    return BayesCPP.from_saved(record)


def _fake_map(est):
    def map_fn(_, jobs):
        for job in jobs:
            yield {
                "fit": {"replication": job.index, "error": None},
                "ranks": replication_ranks(est, job),
            }

    return map_fn


@pytest.mark.slow  # hundreds of exact-posterior replications (seconds)
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_sbc_is_uniform_when_the_posterior_is_exact():
    # With a "posterior" of independent (accepted) prior draws every rank is
    # exactly uniform: this checks that truths and draws are the same
    # quantities (names, cells, the task-bias shift, the predictor's held-out
    # cells), and a wrong truth is caught.
    plan = plan_sbc(sbc_layout(10, 5, random_seed=SEED), replications=60, random_seed=SEED)
    est = _prior_as_posterior(plan, 300)
    result = run_sbc(plan, map_fn=_fake_map(est))
    assert set(result.ranks["kind"]) == {"posterior", "prediction"}
    assert result.ranks.groupby("quantity").size().eq(60).all()
    variables = set(result.ranks["variable"])
    assert {
        "intercept",
        "llm_bias",
        "task_bias",
        "sigma",
        "eta",
        "loading_gram_eigenvalues",
    } <= variables
    assert {"heldout_mean", "heldout_score", "llm_bias_scale", "family_bias_share"} <= variables
    tests = result.tests()
    assert not tests["rejected"].any(), tests.head()
    assert result.ok()
    # A truth shifted by one prior sd is rejected.
    shifted = dataclasses.replace(
        plan,
        jobs=[
            dataclasses.replace(j, truth={**j.truth, "intercept": j.truth["intercept"] + 1.5})
            for j in plan.jobs
        ],
    )
    bad = run_sbc(shifted, map_fn=_fake_map(est)).tests().set_index("quantity")
    assert bad.loc["intercept", "rejected"]


def test_plan_is_seeded_per_replication():
    layout = sbc_layout(8, 4, random_seed=SEED)
    a = plan_sbc(layout, replications=3, random_seed=5, newcomers=1, revealed=1)
    b = plan_sbc(layout, replications=6, random_seed=5, newcomers=1, revealed=1)
    for x, y in zip(a.jobs, b.jobs[:3], strict=True):
        assert x.truth == y.truth
        assert x.fit_seed == y.fit_seed
        pd.testing.assert_frame_equal(x.data.scores, y.data.scores)
    job = a.jobs[0]
    (new,) = job.newcomers
    assert new.name not in set(job.data.scores["llm"])  # withheld from the fit
    assert len(new.known_tasks) == 1
    assert len(new.targets) == 3
    assert all(0.0 <= s <= 100.0 for s in new.known_scores)
    unit = job.data.unit_scores()
    assert unit.between(0, 1).all()
    assert 0 < a.settings["acceptance"] <= 1


def test_sbc_runs_end_to_end_and_round_trips(tmp_path, mock_sampling):
    result = sbc(
        sbc_layout(8, 4, random_seed=SEED),
        replications=3,
        params={"draws": 20, "tune": 10},
        newcomers=1,
        random_seed=SEED,
    )
    assert set(result.ranks["kind"]) == {"posterior", "prediction", "newcomer"}
    assert result.fits["error"].isna().all()
    assert result.ranks["u"].between(0, 1).all()
    assert (result.ranks["rank"] <= result.ranks["n_draws"]).all()
    path = result.to_json(tmp_path / "sbc.json")
    back = SBCResult.from_json(path)
    pd.testing.assert_frame_equal(back.tests(), result.tests())
    assert back.settings["layout"]["withheld_llms"] == result.settings["layout"]["withheld_llms"]
    summary = result.summary()
    assert list(summary.columns) == [
        "kind",
        "variable",
        "quantities",
        "min_p",
        "min_p_adjusted",
        "rejected",
    ]
    with pytest.raises(DataError, match="not an SBC result file"):
        SBCResult.from_json(tmp_path / "missing.json")


def test_sbc_needs_complete_design_factors():
    layout = sbc_layout(8, 4, random_seed=SEED)
    llms = layout.llms
    llms.loc["llm-001", "params_b"] = np.nan
    holey = CollaborativeData(layout.scores, llms, layout.tasks)
    with pytest.raises(DataError, match="feature 'log_params' is missing for 1 rows"):
        plan_sbc(holey, replications=1)


@pytest.mark.slow
def test_sbc_short_real_run():
    # The machinery on real fits: 20 replications of a tiny problem, short chains.
    result = sbc(
        sbc_layout(10, 5, random_seed=SEED),
        replications=20,
        params={"chains": 2, "draws": 100, "tune": 200},
        newcomers=1,
        random_seed=SEED,
    )
    assert len(result.fits) == 20
    assert result.fits["error"].isna().all()
    tests = result.tests()
    assert tests["n"].eq(20).all()
    assert set(tests["kind"]) == {"posterior", "prediction", "newcomer"}
    assert tests["p_value"].between(0, 1).all()


@pytest.mark.slow
def test_sbc_in_worker_processes():
    result = sbc(
        sbc_layout(8, 4, random_seed=SEED),
        replications=2,
        params={"chains": 2, "draws": 50, "tune": 50},
        random_seed=SEED,
        workers=2,
    )
    assert result.fits["error"].isna().all()
    assert result.settings["params"]["cores"] == 1
    serial = sbc(
        sbc_layout(8, 4, random_seed=SEED),
        replications=2,
        params={"chains": 2, "draws": 50, "tune": 50, "cores": 1},
        random_seed=SEED,
    )
    # The same seeds give the same ranks wherever a replication runs.
    pd.testing.assert_frame_equal(result.ranks, serial.ranks)


def test_plot_sbc_panels(tmp_path):
    from bayes_cpp import plotting

    rng = np.random.default_rng(SEED)
    ranks = pd.concat(
        [
            _ranks_frame(rng.random(100), "flat"),
            _ranks_frame(rng.beta(3, 3, 100), "too-wide"),
            _ranks_frame(rng.random(100) ** 2, "biased"),
        ]
    )
    result = SBCResult(ranks.assign(replication=0), pd.DataFrame(), {})
    fig = plotting.plot_sbc(result, max_panels=2)
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(visible) == 2
    assert "biased" in visible[0].get_title() or "too-wide" in visible[0].get_title()
    fig.savefig(tmp_path / "sbc.png")
    fig = plotting.plot_sbc(ranks, quantities=["flat"], kind="hist")
    assert "flat" in fig.axes[0].get_title()
    with pytest.raises(DataError, match="unknown quantity 'nope'"):
        plotting.plot_sbc(result, quantities=["nope"])
    with pytest.raises(DataError, match="kind must be"):
        plotting.plot_sbc(result, kind="bars")
