"""Every figure renders to a non-blank PNG and shows what its input says (fast tests)."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
from pathlib import Path

import matplotlib.image
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from matplotlib.collections import LineCollection, PathCollection

from bayes_cpp import DataError, MissingDependencyError, plotting
from bayes_cpp.evaluation import evaluate
from bayes_cpp.evaluation.metrics import INTERVAL_PROBS
from tests.conftest import REPO, SEED

#: Set to a folder to keep the rendered PNGs for a look.
PLOT_DIR = os.environ.get("BAYES_CPP_PLOT_DIR")


def _render(fig, tmp_path: Path, name: str) -> np.ndarray:
    """Save as PNG, read it back, and check it is a real picture."""
    path = (Path(PLOT_DIR) if PLOT_DIR else tmp_path) / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=60)
    pixels = matplotlib.image.imread(path)[..., :3]
    assert pixels.shape[0] > 100
    assert pixels.shape[1] > 100
    # Not blank: plenty of non-white pixels and real contrast.
    assert np.mean(pixels.min(axis=-1) < 0.9) > 0.02
    assert pixels.std() > 0.05
    width, height = fig.get_size_inches()
    assert 6.0 <= width <= 12.0
    assert 2.5 <= height <= 16.0
    return pixels


def _collections(ax, kind):
    return [c for c in ax.collections if type(c) is kind]


@pytest.fixture(scope="module")
def cells(sim):
    result = evaluate(
        sim.data,
        "random",
        methods=["task-mean", "additive"],
        holdout=0.25,
        seeds=3,
        random_seed=SEED,
        progress=False,
    )
    return result.cells


# ---------------------------------------------------------------- forecast
def test_forecast_sorts_tasks_and_marks_observed_scores(mock_fitted, sim, tmp_path):
    known = {"task-00": 55.0, "task-03": 40.0}
    draws = mock_fitted.forecast("family-00", scores=known, name="new")
    fig = plotting.plot_forecast(draws, observed=known)
    _render(fig, tmp_path, "forecast")
    (ax,) = fig.axes
    labels = [t.get_text() for t in ax.get_yticklabels()]
    ticks = ax.get_yticks()
    top_to_bottom = [label for _, label in sorted(zip(-ticks, labels, strict=True))]
    means = draws.mean(("chain", "draw")).sel(llm="new").to_series()
    assert top_to_bottom == means.sort_values(ascending=False).index.tolist()
    # One interval per task and probability, one mean per task, one mark per observed score.
    intervals = _collections(ax, LineCollection)
    assert [len(c.get_segments()) for c in intervals] == [sim.data.n_tasks] * 2
    mean_points, observed = _collections(ax, PathCollection)
    assert len(mean_points.get_offsets()) == sim.data.n_tasks
    marked = observed.get_offsets()
    assert sorted(marked[:, 0]) == sorted(known.values())
    # The marks sit on their tasks' rows.
    row = dict(zip(labels, ticks, strict=True))
    assert {row["task-00"], row["task-03"]} == set(marked[:, 1])


def test_forecast_of_a_known_llm_with_its_observed_scores(mock_fitted, tmp_path):
    draws = mock_fitted.predict(["llm-001", "llm-002"], tasks=["task-01", "task-02", "task-04"])
    observed = plotting.observed_scores(mock_fitted, "llm-002")
    fig = plotting.plot_forecast(
        draws, llm="llm-002", observed=observed, tasks=["task-01", "task-02", "task-04"]
    )
    _render(fig, tmp_path, "forecast_known")
    assert len(fig.axes[0].get_yticklabels()) == 3
    assert "llm-002" in fig.axes[0].get_title()


def test_forecast_errors_name_the_problem(mock_fitted):
    draws = mock_fitted.predict(["llm-001", "llm-002"])
    with pytest.raises(DataError, match="pass llm="):
        plotting.plot_forecast(draws)
    with pytest.raises(DataError, match="task-99"):
        plotting.plot_forecast(draws, llm="llm-001", observed={"task-99": 1.0})
    with pytest.raises(DataError, match="lacks dim 'task'"):
        plotting.plot_forecast(draws.isel(task=0, drop=True), llm="llm-001")
    with pytest.raises(DataError, match="interval probability"):
        plotting.plot_forecast(draws, llm="llm-001", probs=(0.5, 1.5))
    with pytest.raises(DataError, match="unknown LLM"):
        plotting.observed_scores(mock_fitted, "llm-999")


# --------------------------------------------------------------- held out
def test_predicted_vs_observed_draws_every_cell_with_its_intervals(cells, tmp_path):
    fig = plotting.plot_predicted_vs_observed(cells, method="additive")
    _render(fig, tmp_path, "predicted_vs_observed")
    (ax,) = fig.axes
    sub = cells[cells["method"] == "additive"]
    points = _collections(ax, PathCollection)
    assert sum(len(p.get_offsets()) for p in points) == len(sub)
    # Two intervals (50%, 90%) per cell, split into covered and missed cells.
    segments = sum(len(c.get_segments()) for c in _collections(ax, LineCollection))
    assert segments == 2 * len(sub)
    # The coverage printed comes from the bounds and agrees with score_cells' own flag.
    text = "\n".join(t.get_text() for t in ax.texts)
    assert f"90% coverage {sub['covered_90'].mean():.1%}" in text
    assert f"{len(sub)} held-out cells" in text


def test_predicted_vs_observed_needs_interval_bounds(cells):
    old = cells.drop(columns=["lower_50", "upper_50"])
    with pytest.raises(DataError, match="lacks column 'lower_50'"):
        plotting.plot_predicted_vs_observed(old, method="additive")
    with pytest.raises(DataError, match="unknown method 'hbmf'"):
        plotting.plot_predicted_vs_observed(cells, method="hbmf")


def test_calibration_plots_each_methods_coverage(cells, tmp_path):
    fig = plotting.plot_calibration(cells)
    _render(fig, tmp_path, "calibration")
    left, right = fig.axes
    for method in ("task-mean", "additive"):
        sub = cells[cells["method"] == method]
        expected = [100 * sub[f"covered_{round(100 * p)}"].mean() for p in INTERVAL_PROBS]
        (line,) = [ln for ln in left.lines if ln.get_label().startswith(method)]
        np.testing.assert_allclose(line.get_ydata(), expected)
    # The band is the binomial range for the number of cells, around the diagonal.
    n = int(cells.groupby("method").size().min())
    legend = fig.legends[0]
    assert any(f"n = {n} cells" in t.get_text() for t in legend.get_texts())
    (band,) = [c for c in left.collections if c.get_label().startswith("90% range")]
    ys = band.get_paths()[0].vertices[:, 1]
    assert ys.min() < 50 < ys.max()
    assert ys.max() <= 100
    assert len(right.lines) == 2 + 1  # two methods and the zero line


def test_calibration_selects_methods(cells, tmp_path):
    fig = plotting.plot_calibration(cells, methods=["additive"])
    _render(fig, tmp_path, "calibration_one")
    assert [ln.get_label() for ln in fig.axes[0].lines if "cells" in ln.get_label()] == [
        f"additive ({int((cells['method'] == 'additive').sum())} cells)"
    ]


def test_pit_histogram_and_ecdf_with_band(cells, tmp_path):
    fig = plotting.plot_pit(cells, method="additive")
    _render(fig, tmp_path, "pit")
    hist, ecdf = fig.axes
    heights = np.array([b.get_height() for b in hist.patches if b.get_width() < 0.5])
    assert len(heights) == 10
    assert heights.mean() == pytest.approx(1.0)  # density relative to uniform
    (step,) = [ln for ln in ecdf.lines if ln.get_drawstyle() == "steps-post"]
    x, y = step.get_xdata(), step.get_ydata()
    pit = np.sort(cells.loc[cells["method"] == "additive", "pit"].to_numpy())
    assert y[0] == pytest.approx(0.0)
    assert y[-1] == pytest.approx(0.0)
    # The curve is the ECDF minus the uniform CDF at the evaluation points.
    inner = slice(1, -1)
    np.testing.assert_allclose(
        y[inner], np.searchsorted(pit, x[inner], side="right") / len(pit) - x[inner]
    )
    assert "uniformity test" in ecdf.get_title()


def test_pit_says_why_the_test_is_missing_at_exact_edges(cells, tmp_path):
    edged = cells.copy()
    first = edged.index[edged["method"] == "additive"][:2]
    edged.loc[first, "pit"] = [0.0, 1.0]
    fig = plotting.plot_pit(edged, method="additive", kind="ecdf")
    _render(fig, tmp_path, "pit_ecdf")
    assert len(fig.axes) == 1
    assert "2 PIT values are exactly 0 or 1" in fig.axes[0].get_title()
    with pytest.raises(DataError, match="kind"):
        plotting.plot_pit(cells, method="additive", kind="qq")  # type: ignore[arg-type]


# -------------------------------------------------------------- importance
@pytest.fixture
def coefficients():
    rng = np.random.default_rng(SEED)
    rows = []
    for side, factors in (("llm", ["log_params", "log_tokens", "context"]), ("task", ["shots"])):
        for factor in factors:
            for on in ("bias", "latent 1", "latent 2"):
                mean, sd = rng.normal(0, 0.5), rng.uniform(0.05, 0.3)
                rows.append(
                    {
                        "side": side,
                        "factor": factor,
                        "on": on,
                        "mean": mean,
                        "sd": sd,
                        "lower": mean - 1.645 * sd,
                        "upper": mean + 1.645 * sd,
                    }
                )
    rows[0].update(mean=0.8, lower=0.5, upper=1.1)  # clearly non-zero
    rows[1].update(mean=0.1, lower=-0.2, upper=0.4)  # includes zero
    return pd.DataFrame(rows)


def test_importance_forest_has_a_panel_per_target(coefficients, tmp_path):
    fig = plotting.plot_importance(coefficients)
    _render(fig, tmp_path, "importance")
    assert [ax.get_title() for ax in fig.axes] == ["on bias", "on latent 1", "on latent 2"]
    bias = fig.axes[0]
    assert [t.get_text() for t in bias.get_yticklabels()] == [
        "log_params",
        "log_tokens",
        "context",
        "shots",
    ]
    (intervals,) = _collections(bias, LineCollection)
    assert len(intervals.get_segments()) == 4
    (means,) = _collections(bias, PathCollection)
    faces = means.get_facecolors()
    assert faces[0][:3].tolist() != [1.0, 1.0, 1.0]  # excludes zero: filled
    lat1 = fig.axes[1]
    (lat_means,) = _collections(lat1, PathCollection)
    assert lat_means.get_facecolors()[0][:3].tolist() == [1.0, 1.0, 1.0]  # includes zero: open


def test_importance_by_category_panels_per_factor(tmp_path):
    rows = [
        {"factor": f, "category": c, "mean": m, "lower": m - 0.2, "upper": m + 0.2}
        for f, m0 in (("log_params", 0.8), ("log_tokens", 0.4), ("context", 0.0))
        for c, m in zip(["reasoning", "commonsense", "code"], m0 + np.arange(3) * 0.1, strict=True)
    ]
    fig = plotting.plot_importance_by_category(pd.DataFrame(rows), ncols=2)
    _render(fig, tmp_path, "importance_by_category")
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in visible] == ["log_params", "log_tokens", "context"]
    assert [t.get_text() for t in visible[0].get_yticklabels()] == [
        "reasoning",
        "commonsense",
        "code",
    ]


def test_importance_rejects_missing_columns(coefficients):
    with pytest.raises(DataError, match="lacks column 'upper'"):
        plotting.plot_importance(coefficients.drop(columns="upper"))
    with pytest.raises(DataError, match="side must be"):
        plotting.plot_importance(coefficients.assign(side="model"))


# ------------------------------------------------------------- latent map
@pytest.fixture
def positions():
    rng = np.random.default_rng(SEED)
    sizes = [8, 6, 5, 4, 4, 3, 3, 2, 2, 2, 1, 1, 1, 1]  # 14 families, 43 LLMs
    groups = [f"family-{k:02d}" for k, n in enumerate(sizes) for _ in range(n)]
    centers = {g: rng.normal(0, 2, 2) for g in set(groups)}
    xy = np.array([centers[g] + rng.normal(0, 0.4, 2) for g in groups])
    return pd.DataFrame(
        {
            "name": [f"llm-{i:03d}" for i in range(len(groups))],
            "group": groups,
            "latent_1": xy[:, 0],
            "latent_2": xy[:, 1],
            "sd_1": rng.uniform(0.1, 0.4, len(groups)),
            "sd_2": rng.uniform(0.1, 0.4, len(groups)),
            "log_params": rng.uniform(0, 2, len(groups)),
        }
    )


def test_latent_map_colours_the_largest_groups(positions, tmp_path):
    fig = plotting.plot_latent_map(positions, highlight=["llm-000", "llm-040"], max_groups=10)
    _render(fig, tmp_path, "latent_map")
    (ax,) = fig.axes
    points = [c for c in _collections(ax, PathCollection) if c.get_sizes()[0] < 60]
    assert sum(len(p.get_offsets()) for p in points) == len(positions)
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert len(legend) == 11
    assert legend[0] == "family-00 (8)"
    assert legend[-1] == "4 other families (4)"
    assert sorted(t.get_text() for t in ax.texts) == ["llm-000", "llm-040"]
    # Error bars: one horizontal and one vertical per point.
    bars = _collections(ax, LineCollection)
    assert sum(len(b.get_segments()) for b in bars) == 2 * len(positions)


def test_latent_map_labels_do_not_overlap_when_there_is_room(tmp_path):
    frame = pd.DataFrame(
        {
            "name": ["alpha", "beta", "gamma", "delta", "epsilon"],
            "group": ["a", "a", "b", "b", "c"],
            "latent_1": [0.0, 0.05, 2.0, -2.0, 0.0],
            "latent_2": [0.0, 0.02, 1.0, 1.0, -2.0],
            "sd_1": 0.1,
            "sd_2": 0.1,
        }
    )
    fig = plotting.plot_latent_map(frame, label="all")
    _render(fig, tmp_path, "latent_all")
    renderer = fig.canvas.get_renderer()
    boxes = [t.get_window_extent(renderer) for t in fig.axes[0].texts]
    assert len(boxes) == 5
    # alpha and beta nearly coincide; their labels must still be apart.
    assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1 :])


def test_latent_map_numeric_colour_and_errors(positions, tmp_path):
    fig = plotting.plot_latent_map(positions, color_by="log_params", label="none")
    _render(fig, tmp_path, "latent_numeric")
    assert len(fig.axes) == 2  # the map and its colour bar
    assert fig.axes[1].get_ylabel() == "log_params"
    with pytest.raises(DataError, match="'llm-999'"):
        plotting.plot_latent_map(positions, highlight=["llm-999"])
    with pytest.raises(DataError, match="lacks column 'sd_2'"):
        plotting.plot_latent_map(positions.drop(columns="sd_2"))


# ----------------------------------------------------------------- what-if
def _curve(n_tasks: int) -> xr.DataArray:
    rng = np.random.default_rng(SEED)
    values = np.array([250.0, 500.0, 1000.0, 2000.0, 4000.0])
    slope = np.linspace(0.5, 12.0, n_tasks)  # task k changes by slope[k] per doubling
    mean = 30.0 + np.log2(values / 250.0)[:, None] * slope[None, :]
    draws = mean[None, None] + rng.normal(0, 3, (2, 50, len(values), n_tasks))
    return xr.DataArray(
        draws,
        dims=("chain", "draw", "value", "task"),
        coords={"value": values, "task": [f"task-{k:02d}" for k in range(n_tasks)]},
        attrs={"factor": "tokens_b", "units": "billions of tokens"},
    )


def test_whatif_one_panel_per_task_with_bands(tmp_path):
    curve = _curve(6)
    fig = plotting.plot_whatif(curve, reference=1000.0)
    _render(fig, tmp_path, "whatif")
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in visible] == list(curve["task"].values)
    first = visible[0]
    assert first.get_xscale() == "log"
    assert len(first.collections) == 2  # 90% and 50% bands
    (mean,) = [ln for ln in first.lines if ln.get_linestyle() == "-"]
    np.testing.assert_allclose(
        mean.get_ydata(), curve.isel(task=0).mean(("chain", "draw")).to_numpy()
    )
    assert "tokens_b (billions of tokens)" in fig.get_supxlabel()


def test_whatif_keeps_the_tasks_that_change_most(tmp_path):
    fig = plotting.plot_whatif(_curve(20), max_tasks=12)
    _render(fig, tmp_path, "whatif_many")
    visible = [ax.get_title() for ax in fig.axes if ax.get_visible()]
    assert visible == [f"task-{k:02d}" for k in range(8, 20)]
    assert "12 of 20 tasks" in fig.get_suptitle()
    with pytest.raises(DataError, match="log_x"):
        plotting.plot_whatif(_curve(3).assign_coords(value=[0.0, 1.0, 2.0, 3.0, 4.0]))


# ------------------------------------------------------- active evaluation
def test_active_curve_one_line_per_strategy(tmp_path):
    rng = np.random.default_rng(SEED)
    rows = [
        {
            "strategy": s,
            "seed": seed,
            "n_revealed": n,
            "rmse": 0.1 * np.exp(-rate * n) + rng.normal(0, 0.002),
            "mean_width_90": 0.3 * np.exp(-rate * n),
        }
        for s, rate in (("random", 0.02), ("recommended", 0.08), ("largest_sd", 0.05))
        for seed in range(4)
        for n in range(0, 21, 5)
    ]
    curve = pd.DataFrame(rows)
    fig = plotting.plot_active_curve(curve)
    _render(fig, tmp_path, "active_curve")
    rmse_ax, width_ax = fig.axes
    labels = [ln.get_label() for ln in rmse_ax.lines]
    assert labels == [
        "recommended order (4 seeds)",
        "random order (4 seeds)",
        "largest posterior sd first (4 seeds)",
    ]
    recommended = curve[curve["strategy"] == "recommended"].groupby("n_revealed")["rmse"].mean()
    np.testing.assert_allclose(rmse_ax.lines[0].get_ydata(), recommended.to_numpy())
    assert "90%" in width_ax.get_ylabel()
    with pytest.raises(DataError, match="lacks column 'rmse'"):
        plotting.plot_active_curve(curve.drop(columns="rmse"))


# ------------------------------------------------------------- diagnostics
def test_diagnostics_draws_the_worst_mixing_quantities(mock_fitted, tmp_path):
    fig = plotting.plot_diagnostics(mock_fitted, max_quantities=3)
    _render(fig, tmp_path, "diagnostics")
    titles = [ax.get_title(loc="left") for ax in fig.axes if ax.get_title(loc="left")]
    assert len(titles) == 3
    rhats = [float(t.split("r̂=")[1]) for t in titles]
    assert rhats == sorted(rhats, reverse=True)
    fig = plotting.plot_diagnostics(mock_fitted, kind="trace", max_quantities=2)
    _render(fig, tmp_path, "diagnostics_trace")


# ------------------------------------------------------------------ contract
def test_every_function_takes_keyword_only_options():
    for name in plotting.__all__:
        params = list(inspect.signature(getattr(plotting, name)).parameters.values())
        assert params[0].kind is inspect.Parameter.POSITIONAL_OR_KEYWORD, name
        rest = params[1:] if name != "observed_scores" else []
        assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in rest), name
        assert not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params), name


def test_figures_are_not_left_in_pyplot(mock_fitted, cells, positions):
    before = plt.get_fignums()
    plotting.plot_calibration(cells)
    plotting.plot_latent_map(positions)
    plotting.plot_diagnostics(mock_fitted, max_quantities=2)
    assert plt.get_fignums() == before


def test_missing_matplotlib_is_a_clear_error(monkeypatch, cells):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(MissingDependencyError, match=r"bayes_cpp\[plot\]"):
        plotting.plot_calibration(cells)


def test_the_package_never_imports_matplotlib():
    code = (
        "import sys, bayes_cpp, bayes_cpp.plotting, bayes_cpp.evaluation, bayes_cpp.cli;"
        "bad = [m for m in ('matplotlib', 'arviz_plots') if m in sys.modules];"
        "assert not bad, bad"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=REPO)
