"""Evaluation harness: protocols, metrics, method adapters, results (fast tests)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import scoringrules as sr
from scipy import stats

from bayes_cpp import CollaborativeData, load_spec, simulate
from bayes_cpp.evaluation import (
    BayesMethod,
    GaussianPredictive,
    SamplePredictive,
    aggregate,
    evaluate,
    family_extrapolation_splits,
    llm_holdout_splits,
    make_method,
    make_splits,
    per_llm_half_splits,
    random_splits,
    score_cells,
    task_holdout_splits,
)
from bayes_cpp.exceptions import DataError, SpecError
from tests.conftest import SEED


@pytest.fixture(scope="module")
def dense():
    return simulate(20, 6, rank=2, n_families=4, density=1.0, random_seed=SEED).data


def _cells(frame: pd.DataFrame) -> set[tuple[str, str]]:
    return set(zip(frame["llm"], frame["task"], strict=True))


# ---------------------------------------------------------------- protocols
def test_random_split_partitions_cells_and_keeps_rows(sim):
    split = random_splits(sim.data, 0.25, seeds=[7])[0]
    assert len(split.test) == round(0.25 * sim.data.n_observed)
    train, test = _cells(split.train.scores), _cells(split.test)
    assert not train & test
    assert train | test == _cells(sim.data.scores)
    assert split.train.llm_names == sim.data.llm_names  # newcomers keep their rows
    assert split.known.empty


def test_random_splits_depend_on_seed_only(sim):
    a, b = random_splits(sim.data, 0.2, seeds=[1, 2])
    again = random_splits(sim.data, 0.2, seeds=[1])[0]
    assert _cells(a.test) == _cells(again.test)
    assert _cells(a.test) != _cells(b.test)
    assert a.fingerprint == again.fingerprint != b.fingerprint


def test_llm_holdout_reveals_k_scores(dense):
    zero = llm_holdout_splits(dense, ["llm-003"], k=0)[0]
    assert set(zero.test["llm"]) == {"llm-003"}
    assert len(zero.test) == 6
    assert zero.train.observed_counts("llm")["llm-003"] == 0
    two = llm_holdout_splits(dense, ["llm-003"], k=2, seeds=[0, 1])
    assert [len(s.known) for s in two] == [2, 2]
    assert [len(s.test) for s in two] == [4, 4]
    assert _cells(two[0].known) != _cells(two[1].known)
    assert not _cells(two[0].known) & _cells(two[0].test)
    # CPP-0 and CPP-2 of one LLM train on the same cells, so they share a fit.
    assert zero.fingerprint == two[0].fingerprint == two[1].fingerprint
    assert two[0].train_with_known.observed_counts("llm")["llm-003"] == 2


def test_holdout_errors_name_the_item(dense):
    with pytest.raises(DataError, match="unknown LLM 'nope'"):
        llm_holdout_splits(dense, ["nope"])
    with pytest.raises(DataError, match="task 'task-01' has 20 scores, fewer than k \\+ 1 = 21"):
        task_holdout_splits(dense, ["task-01"], k=20)
    with pytest.raises(SpecError, match="unknown protocol 'bogus'"):
        make_splits(dense, "bogus")
    with pytest.raises(SpecError, match="holdout must be a fraction"):
        random_splits(dense, 1.5)


def test_task_holdout_hides_the_column(dense):
    split = task_holdout_splits(dense, ["task-02"], k=3, seeds=[4])[0]
    assert set(split.test["task"]) == set(split.known["task"]) == {"task-02"}
    assert len(split.known) == 3
    assert len(split.test) == 17
    assert split.train.observed_counts("task")["task-02"] == 0


def test_family_extrapolation_hides_each_familys_largest(sim):
    split = family_extrapolation_splits(sim.data)[0]
    llms = sim.data.llms.assign(n=sim.data.observed_counts("llm"))
    expected = {
        str(g["params_b"].idxmax()) for _, g in llms[llms["n"] > 0].groupby("family") if len(g) >= 2
    }
    assert set(split.test["llm"]) == expected
    assert split.group == ",".join(sorted(expected, key=lambda n: llms.loc[n, "family"]))


def test_per_llm_half_hides_half_of_each_row(sim):
    split = per_llm_half_splits(sim.data, seeds=[0])[0]
    hidden = split.test["llm"].value_counts()
    counts = sim.data.observed_counts("llm")
    for name, n in counts.items():
        assert hidden.get(name, 0) == n // 2


def test_make_splits_groups_k_settings_by_llm(dense):
    splits = make_splits(dense, "llm-holdout", k=[0, 2], seeds=[0], llms=["llm-001", "llm-002"])
    assert [(s.group, s.k) for s in splits] == [
        ("llm-001", 0),
        ("llm-001", 2),
        ("llm-002", 0),
        ("llm-002", 2),
    ]


# ------------------------------------------------------------------ metrics
def test_gaussian_predictive_scores_match_closed_forms():
    pred = GaussianPredictive(np.array([0.5, 0.2]), np.array([0.1, 0.05]))
    y = np.array([0.6, 0.2])
    lo, hi = pred.interval(0.9)
    np.testing.assert_allclose(hi - lo, 2 * 1.6448536 * np.array([0.1, 0.05]), rtol=1e-6)
    np.testing.assert_allclose(pred.log_density(y), stats.norm.logpdf(y, [0.5, 0.2], [0.1, 0.05]))
    np.testing.assert_allclose(pred.pit(y, np.random.default_rng(0)), [stats.norm.cdf(1.0), 0.5])


def test_sample_predictive_matches_its_distribution():
    rng = np.random.default_rng(SEED)
    s = 20000
    mean = np.full((1, s), 0.4)
    sigma = np.full((1, s), 0.1)
    draws = mean + sigma * rng.standard_normal((1, s))
    pred = SamplePredictive(draws, mean, sigma)
    y = np.array([0.55])
    np.testing.assert_allclose(pred.log_density(y), stats.norm.logpdf(0.55, 0.4, 0.1), rtol=1e-9)
    np.testing.assert_allclose(pred.crps(y), sr.crps_normal(0.55, 0.4, 0.1), rtol=0.02)
    lo, hi = pred.interval(0.9)
    np.testing.assert_allclose([lo[0], hi[0]], [0.4 - 0.16449, 0.4 + 0.16449], atol=0.005)
    assert pred.pit(y, rng)[0] == pytest.approx(stats.norm.cdf(1.5), abs=0.01)
    # Student-t: the mixture density is the t density when all draws agree.
    t_pred = SamplePredictive(draws, mean, sigma, nu=np.full(s, 3.0))
    np.testing.assert_allclose(t_pred.log_density(y), stats.t.logpdf(1.5, 3) - np.log(0.1))


def test_sample_point_is_the_mean_of_the_likelihood_means():
    mean = np.array([[0.01, 0.03], [0.5, 0.7]])
    draws = np.clip(mean + np.array([[-0.05, 0.05], [0.1, -0.1]]), 0, 1)
    pred = SamplePredictive(draws, mean, np.full_like(mean, 0.05))
    np.testing.assert_allclose(pred.point, [0.02, 0.6])


def test_pit_randomises_at_censored_atoms():
    draws = np.zeros((1, 100))
    draws[0, 50:] = 0.3
    pred = SamplePredictive(draws, draws, np.ones_like(draws))
    pits = [pred.pit(np.array([0.0]), np.random.default_rng(i))[0] for i in range(200)]
    assert min(pits) >= 0.0
    assert max(pits) <= 0.5
    assert np.mean(pits) == pytest.approx(0.25, abs=0.03)


def _tiny_data() -> CollaborativeData:
    scores = pd.DataFrame(
        {
            "llm": ["a", "a", "b", "b", "c", "c", "d"],
            "task": ["t1", "t2", "t1", "t2", "t1", "t2", "t1"],
            "score": [80.0, 40.0, 60.0, 20.0, 70.0, 50.0, 10.0],
        }
    )
    return CollaborativeData.from_long(scores, score_range=(0.0, 100.0))


def test_score_cells_ranks_paper_scale_and_random_reference():
    full = _tiny_data()
    hidden = (full.scores["llm"] == "c").to_numpy()
    train = full.drop_cells(hidden)
    test = full.scores[hidden].reset_index(drop=True)
    # Predict c's t1 as 65 (true 70) and t2 as 45 (true 50), unit scale.
    pred = GaussianPredictive(np.array([0.65, 0.45]), np.array([0.1, 0.1]))
    cells = score_cells(test, pred, full=full, train=train, rng=np.random.default_rng(0))
    # t1 pool (train): 80, 60, 10 -> true 70 ranks 2nd, predicted 65 ranks 2nd.
    # t2 pool: 40, 20 -> true 50 and predicted 45 both rank 1st.
    assert cells["true_rank"].tolist() == [2, 1]
    assert cells["predicted_rank"].tolist() == [2, 1]
    assert cells["pool_size"].tolist() == [4, 3]
    # Random rank in 1..4 with truth 2: exact 1/4, within 2 all 4; in 1..3: 1/3 and 1.
    np.testing.assert_allclose(cells["rank_exact_random"], [0.25, 1 / 3])
    np.testing.assert_allclose(cells["rank_within2_random"], [1.0, 1.0])
    # Paper scale of c: divide by its max observed score 70 (min(0, 50) = 0).
    np.testing.assert_allclose(cells["paper_error"], [-5 / 70, -5 / 70])
    agg = aggregate(cells)
    assert agg["rank_acc"] == 1.0
    assert agg["mae_unit"] == pytest.approx(0.05)
    assert agg["rmse"] == pytest.approx(5.0)
    assert agg["mdape"] == pytest.approx(100 * np.median([5 / 70, 5 / 50]))
    assert agg["paper_mse"] == pytest.approx((5 / 70) ** 2)
    assert agg["coverage_50"] == 1.0
    assert agg["n_cells"] == 2


def test_score_cells_records_interval_bounds_on_the_unit_scale():
    full = _tiny_data()
    hidden = (full.scores["llm"] == "c").to_numpy()
    train = full.drop_cells(hidden)
    test = full.scores[hidden].reset_index(drop=True)
    pred = GaussianPredictive(np.array([0.65, 0.45]), np.array([0.1, 0.02]))
    cells = score_cells(test, pred, full=full, train=train, rng=np.random.default_rng(0))
    z90 = stats.norm.ppf(0.95)
    np.testing.assert_allclose(cells["lower_90"], [0.65 - z90 * 0.1, 0.45 - z90 * 0.02])
    np.testing.assert_allclose(cells["upper_90"], [0.65 + z90 * 0.1, 0.45 + z90 * 0.02])
    for tag in ("50", "80", "90", "95"):
        np.testing.assert_allclose(
            cells[f"upper_{tag}"] - cells[f"lower_{tag}"], cells[f"width_{tag}"]
        )
        inside = (cells["unit_score"] >= cells[f"lower_{tag}"]) & (
            cells["unit_score"] <= cells[f"upper_{tag}"]
        )
        assert inside.tolist() == cells[f"covered_{tag}"].tolist()
    # True unit scores 0.7 and 0.5: inside the first 90% interval, outside the narrow second.
    assert cells["covered_90"].tolist() == [True, False]


# --------------------------------------------------------- harness, methods
def test_evaluate_returns_tidy_scores_and_json(sim, tmp_path):
    result = evaluate(
        sim.data, "random", methods=["task-mean", "additive"], holdout=0.2, seeds=2, progress=False
    )
    assert set(result.scores.columns) >= {"method", "split", "seed", "metric", "value"}
    assert len(result.scores) == 2 * 2 * result.scores["metric"].nunique()
    summary = result.summary()
    rmse = summary[(summary["method"] == "task-mean") & (summary["metric"] == "rmse_unit")]
    per_split = result.scores.query("method == 'task-mean' and metric == 'rmse_unit'")["value"]
    assert rmse["mean"].item() == pytest.approx(per_split.mean())
    assert rmse["n_splits"].item() == 2
    assert result.pit_histogram("additive").sum() == 2 * round(0.2 * sim.data.n_observed)
    path = result.to_json(tmp_path / "out.json")
    record = json.loads(path.read_text())
    assert record["settings"]["protocol"] == "random"
    assert record["methods"]["additive"]["rmse_unit"]["n_splits"] == 2
    text = result.to_markdown()
    assert text.count("\n| task-mean") == 1
    assert "plug-in normal" in text


def test_additive_beats_task_mean_on_additive_truth(sim):
    result = evaluate(
        sim.data, "random", methods=["task-mean", "additive"], holdout=0.2, seeds=3, progress=False
    )
    table = result.summary().set_index(["method", "metric"])["mean"]
    assert table["additive", "rmse_unit"] < table["task-mean", "rmse_unit"]


def test_method_names_must_be_unique(sim):
    with pytest.raises(SpecError, match="method names must be unique"):
        evaluate(sim.data, methods=["task-mean", "task-mean"], seeds=1, progress=False)
    assert BayesMethod("hbmf", {"rank": 3}, label="hbmf-rank3").name == "hbmf-rank3"


def test_unknown_method_lists_the_known_ones():
    with pytest.raises(
        SpecError, match="unknown method 'nope'; choose from bpmf, factors_only, hbmf"
    ):
        make_method("nope")


def test_bayes_method_conditions_newcomers_and_reuses_fit(dense, mock_sampling):
    method = make_method("hbmf", draws=30, tune=5, chains=2)
    zero, two = make_splits(dense, "llm-holdout", k=[0, 2], seeds=[0], llms=["llm-004"])
    pred0, rec0 = method.run(zero, dense, 0)
    pred2, rec2 = method.run(two, dense, 0)
    assert not rec0["reused_fit"]
    assert rec2["reused_fit"]
    assert pred0.draws.shape == (6, 60)
    assert pred2.draws.shape == (4, 60)
    for pred in (pred0, pred2):
        assert np.all((pred.draws >= 0) & (pred.draws <= 1))
        assert np.all(np.isfinite(pred.log_density(np.full(len(pred.draws), 0.5))))
    # The new task path: noise sd comes from the population and includes the floor.
    split = make_splits(dense, "task-holdout", k=2, seeds=[0], tasks=["task-01"])[0]
    pred, _ = method.run(split, dense, 0)
    assert pred.draws.shape == (18, 60)
    assert np.all(pred.sigma >= load_spec("hbmf").noise_floor)
    # Result files record the spec in force, not just its name.
    described = method.describe()
    assert described["spec"]["noise_scaling"] == "binomial"
    assert described["params"]["draws"] == 30


def test_newcomers_from_the_table_use_training_semantics(dense, mock_sampling):
    # A leaderboard's 0 parameter count means "unknown": the harness passes it as
    # missing (as a fit does), not as the error a user's forecast(params_b=0) gets.
    llms = dense.llms
    llms.loc["llm-004", "params_b"] = 0.0
    data = CollaborativeData(dense.scores, llms, dense.tasks)
    method = make_method("hbmf", draws=30, tune=5, chains=2)
    (split,) = make_splits(data, "llm-holdout", k=2, seeds=[0], llms=["llm-004"])
    pred, _ = method.run(split, data, 0)
    assert np.isfinite(pred.draws).all()


def test_evaluate_needs_a_method(sim):
    with pytest.raises(SpecError, match="evaluate needs at least one method"):
        evaluate(sim.data, methods=[], progress=False)


def test_harness_fits_do_not_log_pymc_info(caplog):
    import logging

    from bayes_cpp.inference import quiet_sampler_logs

    logger = logging.getLogger("pymc.sampling.mcmc")
    before = logging.getLogger("pymc").level
    with caplog.at_level(logging.INFO, logger="pymc"):
        with quiet_sampler_logs():
            logger.info("NUTS[nutpie]: [...]")
            logger.warning("still shown")
        logger.info("shown again")
    messages = [r.getMessage() for r in caplog.records]
    assert messages == ["still shown", "shown again"]
    assert logging.getLogger("pymc").level == before
