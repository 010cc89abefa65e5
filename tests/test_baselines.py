from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from bayes_cpp import CollaborativeData
from bayes_cpp.evaluation.baselines import (
    BASELINES,
    AdditiveBaseline,
    ObsScalingBaseline,
    ScalingLawBaseline,
    SoftImputeLogitBaseline,
    make_baseline,
)
from bayes_cpp.exceptions import DataError, NotFittedError, SpecError
from bayes_cpp.simulation import simulate

NAMES = [
    "global-mean",
    "task-mean",
    "additive",
    "mf-paper",
    "mf",
    "softimpute-logit",
    "softimpute-logit-3",
    "scaling-law",
    "obs-scaling",
    "gaussian-conditional",
]
#: Registry names that point to another baseline's class.
ALIASES = {"sample-mean": "task-mean"}


def from_matrix(
    p: np.ndarray, observed: np.ndarray, llms: pd.DataFrame | None = None
) -> CollaborativeData:
    """Unit-scale matrix -> CollaborativeData (every LLM and task keeps a table row)."""
    n_llms, n_tasks = p.shape
    llm_names = [f"m{i:02d}" for i in range(n_llms)]
    task_names = [f"t{j:02d}" for j in range(n_tasks)]
    if llms is None:
        llms = pd.DataFrame({"family": llm_names}, index=llm_names)
    li, ti = np.nonzero(observed)
    long = pd.DataFrame(
        {
            "llm": np.asarray(llm_names)[li],
            "task": np.asarray(task_names)[ti],
            "score": p[li, ti],
        }
    )
    tasks = pd.DataFrame({"category": "all"}, index=task_names)
    return CollaborativeData.from_long(
        long, llms=llms, tasks=tasks, score_range=(0.0, 1.0), allow_unobserved=True
    )


def heldout_split(data: CollaborativeData, frac: float, seed: int):
    rng = np.random.default_rng(seed)
    held = rng.choice(data.n_observed, size=round(frac * data.n_observed), replace=False)
    cells = data.scores.iloc[held]
    truth = data.unit_scores().to_numpy()[held]
    return data.drop_cells(held), cells["llm"].tolist(), cells["task"].tolist(), truth


def random_mask(rng: np.random.Generator, shape: tuple[int, int], missing: float) -> np.ndarray:
    """A mask with ``missing`` share hidden, keeping >= 3 cells in every row and column."""
    while True:
        mask = rng.random(shape) >= missing
        if mask.sum(axis=1).min() >= 3 and mask.sum(axis=0).min() >= 3:
            return mask


@pytest.fixture(scope="module")
def sim_split():
    sim = simulate(60, 12, rank=2, density=0.7, random_seed=0)
    return heldout_split(sim.data, 0.2, seed=1)


# --------------------------------------------------------------------- registry
def test_registry_and_factory():
    assert list(BASELINES) == [*NAMES, *ALIASES]
    for name, cls in BASELINES.items():
        b = make_baseline(name, random_seed=3)
        assert isinstance(b, cls)
        assert b.name == ALIASES.get(name, name)
        assert b.intervals is (name == "gaussian-conditional")
        assert b.random_seed == 3
    assert make_baseline("softimpute-logit").rank == 2
    assert make_baseline("softimpute-logit-3").rank == 3
    assert make_baseline("mf", rank=4).rank == 4


def test_unknown_name_lists_known_ones():
    with pytest.raises(SpecError, match="unknown baseline 'task_mean'") as err:
        make_baseline("task_mean")
    message = str(err.value)
    assert "did you mean 'task-mean'" in message
    for name in NAMES:
        assert repr(name) in message


def test_invalid_parameters():
    with pytest.raises(SpecError, match="ridge"):
        AdditiveBaseline(ridge=0.0)
    with pytest.raises(SpecError, match="center"):
        SoftImputeLogitBaseline(center="rows")  # type: ignore[arg-type]


# ------------------------------------------------------------------ exact values
def test_global_and_task_means_are_exact():
    long = pd.DataFrame(
        {
            "llm": ["a", "a", "b", "b", "c"],
            "task": ["x", "y", "x", "y", "x"],
            "score": [20.0, 40.0, 60.0, 100.0, 70.0],
        }
    )
    data = CollaborativeData.from_long(long, score_range=(0.0, 100.0))
    g = make_baseline("global-mean").fit(data)
    assert g.predict_cells(["c"], ["y"]) == pytest.approx([0.58])
    assert g.n_fallback_ == 0
    t = make_baseline("task-mean").fit(data)
    assert t.predict_cells(["a", "c", "b"], ["x", "y", "x"]) == pytest.approx([0.5, 0.7, 0.5])
    assert t.n_fallback_ == 0


def test_additive_recovers_an_additive_matrix():
    rng = np.random.default_rng(0)
    a, b = rng.normal(0, 0.1, 30), rng.normal(0, 0.1, 10)
    p = 0.5 + a[:, None] + b[None, :]
    mask = random_mask(rng, p.shape, 0.3)
    model = AdditiveBaseline(ridge=1e-9).fit(from_matrix(p, mask))
    li, ti = np.nonzero(~mask)
    pred = model.predict_cells([f"m{i:02d}" for i in li], [f"t{j:02d}" for j in ti])
    np.testing.assert_allclose(pred, p[li, ti], atol=1e-6)
    assert model.n_fallback_ == 0


@pytest.mark.parametrize("shrinkage", [0.0, 0.03])
def test_softimpute_recovers_a_rank2_logit_matrix(shrinkage):
    rng = np.random.default_rng(1)
    z = rng.normal(0, 0.5, 12) + rng.normal(0, 1, (40, 2)) @ rng.normal(0, 0.6, (2, 12))
    # Rescaled to stay inside the logit clip (0.01, 0.99): exactly offsets + rank 2.
    p = expit(z * 3.5 / np.abs(z).max())
    mask = random_mask(rng, p.shape, 0.3)
    model = SoftImputeLogitBaseline(shrinkage=shrinkage).fit(from_matrix(p, mask))
    assert model.converged_
    li, ti = np.nonzero(~mask)
    err = np.abs(
        model.predict_cells([f"m{i:02d}" for i in li], [f"t{j:02d}" for j in ti]) - p[li, ti]
    )
    if shrinkage == 0.0:  # hard-impute: the fixed point is the true matrix
        assert err.max() < 2e-3
    else:  # the soft threshold shrinks the singular values a little
        assert err.mean() < 0.02
        assert err.max() < 0.1


def test_mf_paper_interpolates_the_training_cells():
    sim = simulate(30, 10, rank=2, density=0.5, random_seed=2)
    model = make_baseline("mf-paper", random_seed=0).fit(sim.data)
    assert model.train_mse_ < 1e-5
    scores = sim.data.scores
    pred = model.predict_cells(scores["llm"], scores["task"])
    np.testing.assert_allclose(pred, sim.data.unit_scores(), atol=0.02)


# mf-paper overfits by design and scaling-law only predicts within families with
# parameter counts, so neither is expected to beat the means on random cells.
@pytest.mark.parametrize(
    "name", ["task-mean", "additive", "mf", "softimpute-logit", "softimpute-logit-3", "obs-scaling"]
)
def test_beats_global_mean_on_heldout_cells(name, sim_split):
    train, llms, tasks, truth = sim_split
    base = np.abs(make_baseline("global-mean").fit(train).predict_cells(llms, tasks) - truth).mean()
    model = make_baseline(name, random_seed=0).fit(train)
    mae = np.abs(model.predict_cells(llms, tasks) - truth).mean()
    assert mae < base
    if name != "task-mean":
        assert mae < 0.6 * base
        task_mae = np.abs(make_baseline("task-mean").fit(train).predict_cells(llms, tasks) - truth)
        assert mae < task_mae.mean()


# ----------------------------------------------------------------- cold start
@pytest.mark.parametrize("name", NAMES)
def test_cold_start_llm_and_task(name):
    sim = simulate(40, 10, rank=2, density=0.6, missing_factor_rate=0.0, random_seed=5)
    data = sim.data
    scores = data.scores
    cold_llm, cold_task = "llm-003", "task-07"
    hidden = (scores["llm"] == cold_llm) | (scores["task"] == cold_task)
    train = data.drop_cells(hidden.to_numpy())
    assert cold_llm in train.llm_names
    assert cold_task in train.task_names
    seen_task = "task-00"
    llms = [cold_llm, cold_llm, "llm-010", "llm-010"]
    tasks = [seen_task, cold_task, seen_task, cold_task]
    model = make_baseline(name, random_seed=0).fit(train)
    pred = model.predict_cells(llms, tasks)
    assert pred.shape == (4,)
    assert pred.dtype == float
    assert np.isfinite(pred).all()
    assert ((pred >= 0) & (pred <= 1)).all()

    unit = train.unit_scores().to_numpy()
    task_mean = unit[train.scores["task"].to_numpy() == seen_task].mean()
    expected_fallback = {
        "global-mean": 0,
        "task-mean": 2,  # the unseen task
        "additive": 3,  # zero effects for the cold LLM / task
        "mf-paper": 3,
        "mf": 3,
        "softimpute-logit": 3,
        "softimpute-logit-3": 3,
        "obs-scaling": 2,  # the cold LLM is predicted from compute on seen tasks
    }
    if name in expected_fallback:
        assert model.n_fallback_ == expected_fallback[name]
    if name in ("mf-paper", "mf", "softimpute-logit", "softimpute-logit-3"):
        assert pred[0] == pytest.approx(task_mean)
        assert pred[1] == pytest.approx(unit.mean())
        assert pred[3] == pytest.approx(unit.mean())
    if name == "additive":
        assert pred[1] == pytest.approx(model.mu_)
        effect = model.task_effect_[train.task_names.index(seen_task)]
        assert pred[0] == pytest.approx(model.mu_ + effect)


def test_n_fallback_is_reset_by_each_predict():
    sim = simulate(20, 6, random_seed=6)
    train = sim.data.drop_cells((sim.data.scores["llm"] == "llm-000").to_numpy())
    model = make_baseline("mf", random_seed=0).fit(train)
    model.predict_cells(["llm-000"], ["task-00"])
    assert model.n_fallback_ == 1
    model.predict_cells(["llm-001"], ["task-00"])
    assert model.n_fallback_ == 0


# --------------------------------------------------------------- scaling laws
def family_data(z_of: dict[str, float], params: dict[str, float], hidden: set[str]):
    """One task 'x' plus a second task 'y' observed everywhere; family 'f' for all LLMs."""
    names = list(params)
    llms = pd.DataFrame({"family": "f", "params_b": [params[n] for n in names]}, index=names)
    rows = [(n, "x", float(expit(z_of[n]))) for n in names if n not in hidden]
    rows += [(n, "y", 0.5) for n in names]
    long = pd.DataFrame(rows, columns=["llm", "task", "score"])
    return CollaborativeData.from_long(
        long, llms=llms, score_range=(0.0, 1.0), allow_unobserved=True
    )


def test_scaling_law_fits_other_family_members():
    params = {"s": 1.0, "m": 10.0, "l": 100.0, "xl": 1000.0}
    # logit = 1.0 * log10(N) - 8.5 with N the raw parameter count (inside the bounds).
    z = {n: 1.0 * np.log10(b * 1e9) - 8.5 for n, b in params.items()}
    data = family_data(z, params, hidden={"xl"})
    model = ScalingLawBaseline().fit(data)
    pred = model.predict_cells(["xl", "s"], ["x", "x"])
    assert pred == pytest.approx(expit([z["xl"], z["s"]]), abs=1e-6)
    assert model.n_fallback_ == 0


def test_scaling_law_respects_the_paper_bounds():
    params = {"s": 1.0, "m": 10.0, "l": 100.0}
    # Unconstrained: logit = 3 log10(N) - 29, outside both bounds.
    z = {n: 3.0 * np.log10(b * 1e9) - 29.0 for n, b in params.items()}
    model = ScalingLawBaseline().fit(family_data(z, params, hidden={"l"}))
    # With b at its bound -10, least squares over x = 9, 10 (targets -2, 1) gives
    # w = (9 * 8 + 10 * 11) / (81 + 100); the prediction at x = 11 shows both.
    pred = model.predict_cells(["l"], ["x"])
    assert pred == pytest.approx([expit(182 / 181 * 11 - 10)], abs=1e-6)


def test_scaling_law_falls_back_without_enough_members_or_params():
    params = {"s": 1.0, "m": 10.0, "l": np.nan}
    z = {"s": -0.5, "m": 0.5, "l": 1.0}
    data = family_data(z, params, hidden={"m"})
    model = ScalingLawBaseline().fit(data)
    # 'm': only one other member ('s') has params; 'l': no parameter count.
    pred = model.predict_cells(["m", "l"], ["x", "x"])
    assert model.n_fallback_ == 2
    assert pred == pytest.approx([np.mean(expit([z["s"], z["l"]]))] * 2)


def test_obs_scaling_predicts_a_cold_llm_from_compute():
    # Rank-1 logit matrix whose LLM scores are linear in log compute with
    # per-family intercepts: the cold LLM is recovered exactly.
    rng = np.random.default_rng(7)
    fam = np.array(["A"] * 5 + ["B"] * 4)
    params = np.array([0.5, 1.0, 3.0, 7.0, 13.0, 1.0, 2.0, 6.0, 20.0])
    tokens = np.array([300, 300, 600, 1000, 1000, 200, 1500, 1500, 2000], dtype=float)
    log_c = np.log(6 * params * 1e9 * tokens * 1e9)
    ability = 0.2 * (log_c - log_c.mean()) + np.where(fam == "A", 0.3, -0.4)
    loading = rng.uniform(0.5, 1.5, 6)
    z = rng.normal(0, 0.5, 6) + np.outer(ability, loading)
    observed = np.ones(z.shape, dtype=bool)
    observed[3] = False  # cold LLM in family A
    llms = pd.DataFrame(
        {"family": fam, "params_b": params, "tokens_b": tokens},
        index=[f"m{i:02d}" for i in range(len(fam))],
    )
    data = from_matrix(expit(z), observed, llms=llms)
    model = ObsScalingBaseline(rank=1, shrinkage=0.0).fit(data)
    pred = model.predict_cells(["m03"] * 6, [f"t{j:02d}" for j in range(6)])
    assert model.n_fallback_ == 0
    np.testing.assert_allclose(pred, expit(z[3]), atol=1e-4)


# ------------------------------------------------------------- determinism, errors
@pytest.mark.parametrize("name", ["mf-paper", "mf"])
def test_same_seed_same_predictions(name, sim_split):
    train, llms, tasks, _ = sim_split
    first = make_baseline(name, random_seed=11).fit(train).predict_cells(llms, tasks)
    again = make_baseline(name, random_seed=11).fit(train).predict_cells(llms, tasks)
    other = make_baseline(name, random_seed=12).fit(train).predict_cells(llms, tasks)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_predict_errors(sim_split):
    train, *_ = sim_split
    model = make_baseline("task-mean")
    with pytest.raises(NotFittedError, match="fit"):
        model.predict_cells(["llm-000"], ["task-00"])
    model.fit(train)
    with pytest.raises(DataError, match=r"unknown LLM 'llm-0000'.*did you mean"):
        model.predict_cells(["llm-0000"], ["task-00"])
    with pytest.raises(DataError, match="equal lengths"):
        model.predict_cells(["llm-000", "llm-001"], ["task-00"])
    with pytest.raises(DataError, match="single string"):
        model.predict_cells("llm-000", "task-00")
    assert model.predict_cells([], []).shape == (0,)


def test_logit_clipping_handles_zero_and_one():
    p = np.array([[0.0, 0.2, 1.0], [0.1, 0.5, 0.9], [0.3, 0.6, 1.0], [0.0, 0.4, 0.8]])
    data = from_matrix(p, np.ones(p.shape, dtype=bool))
    for name in NAMES:
        pred = (
            make_baseline(name, random_seed=0)
            .fit(data)
            .predict_cells(["m00", "m03"], ["t02", "t00"])
        )
        assert np.isfinite(pred).all(), name
    # Rank 3 fits a full 4 x 3 matrix exactly: observed 0 and 1 come back clipped.
    si = make_baseline("softimpute-logit-3", shrinkage=0.0).fit(data)
    assert si.predict_cells(["m00", "m00"], ["t00", "t02"]) == pytest.approx([0.01, 0.99], abs=1e-4)


# ------------------------------------------------------------------- real data
@pytest.mark.needs_data
def test_real_crowdsourced_heldout_rmse():
    from bayes_cpp import datasets

    data = datasets.load("cpp-crowdsourced")
    train, llms, tasks, truth = heldout_split(data, 0.05, seed=0)
    rmse = {}
    for name in NAMES:
        pred = make_baseline(name, random_seed=0).fit(train).predict_cells(llms, tasks)
        assert np.isfinite(pred).all()
        rmse[name] = float(np.sqrt(np.mean((pred - truth) ** 2)))
    assert 0.03 < rmse["softimpute-logit-3"] < 0.10
    assert rmse["softimpute-logit-3"] < rmse["task-mean"] < rmse["global-mean"]
