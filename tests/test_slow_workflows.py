"""The workflows with real NUTS (tiny settings): Shapley finds the one factor that matters,
and the reveal curve runs end to end with refits."""
# Measured once (PyMC NUTS, 1 chain x 150 draws): Shapley LPD per cell params 2.65,
# tokens 0.065; v(none) -0.446, v(params) 2.266, v(tokens) -0.324, v(both) 2.274.

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from bayes_cpp import CollaborativeData, simulate
from bayes_cpp.active import reveal_curve
from bayes_cpp.evaluation.protocols import Split
from bayes_cpp.importance import shapley

pytestmark = pytest.mark.slow

#: PyMC's NUTS: its compiled graphs are cached between the fits of a test.
TINY = {"sampler": "pymc", "draws": 150, "tune": 150, "chains": 1, "cores": 1, "rank": 1}


def _params_only(seed=0, n_llms=36, n_tasks=8):
    """Scores driven by log parameters only: tokens and families carry no signal."""
    rng = np.random.default_rng(seed)
    log_params = rng.normal(np.log(10.0), 1.2, n_llms)
    z = (log_params - log_params.mean()) / log_params.std()
    task_bias = rng.normal(0.0, 0.3, n_tasks)
    mean = expit(-0.2 + 1.5 * z[:, None] + task_bias[None, :])
    score = np.clip(mean + rng.normal(0.0, 0.02, mean.shape), 0.0, 1.0) * 100
    llms = pd.DataFrame(
        {
            "family": [f"fam-{i % 4}" for i in range(n_llms)],
            "params_b": np.exp(log_params),
            "tokens_b": np.exp(rng.normal(np.log(500.0), 1.0, n_llms)),
        },
        index=pd.Index([f"llm-{i:02d}" for i in range(n_llms)], name="llm"),
    )
    tasks = pd.DataFrame(
        {
            "category": "all",
            "lo": 0.0,
            "hi": 100.0,
            "higher_is_better": True,
            "chance": 0.0,
            "shots": [0.0, 5.0] * (n_tasks // 2),
        },
        index=pd.Index([f"task-{j}" for j in range(n_tasks)], name="task"),
    )
    cells = [(i, j) for i in range(n_llms) for j in range(n_tasks) if rng.random() < 0.7]
    long = pd.DataFrame(
        {
            "llm": [llms.index[i] for i, _ in cells],
            "task": [tasks.index[j] for _, j in cells],
            "score": [round(score[i, j], 2) for i, j in cells],
        }
    )
    return CollaborativeData(long, llms, tasks)


def test_shapley_credits_the_only_factor_that_drives_scores():
    data = _params_only()
    # Hold out 9 whole LLMs at once (cold start), where factors are all the
    # model knows about them.
    held = set(data.llm_names[::4])
    mask = data.scores["llm"].isin(held).to_numpy()
    split = Split(
        protocol="llm-holdout",
        label="9 LLMs",
        seed=0,
        train=data.drop_cells(mask),
        test=data.scores.loc[mask, ["llm", "task", "score"]].reset_index(drop=True),
    )
    result = shapley(
        data,
        {"params": "log_params", "tokens": "log_tokens"},
        splits=[split],
        est_params=TINY,
        random_seed=1,
    )
    values = result.table.set_index("group")["value"]
    assert values["params"] > 0.5, result.subsets
    assert values["params"] > 5 * abs(values["tokens"]), result.subsets
    assert values.sum() == pytest.approx(
        result.subsets.set_index("subset")["score"].pipe(lambda s: s["params+tokens"] - s[""])
    )


def test_reveal_curve_with_refits_runs_end_to_end():
    # Whether an order wins is for benchmarks with many seeds; with one tiny
    # chain a refit's interval widths move by ~10% on their own.
    data = simulate(24, 8, rank=1, n_families=4, n_categories=2, density=0.7, random_seed=5).data
    curve = reveal_curve(data, budget=6, step=6, seeds=1, hide_fraction=0.3, est_params=TINY)
    assert len(curve) == 3 * 2
    assert curve["rmse"].between(0.0, 0.3).all(), curve
    assert curve["mean_width_90"].between(0.01, 0.5).all(), curve
    assert curve["coverage_90"].between(0.5, 1.0).all(), curve
    start = curve[curve["n_revealed"] == 0]
    assert start[["rmse", "mean_width_90"]].nunique().max() == 1  # one shared first fit
