"""Every example script and the README quickstart run end to end with tiny settings.

The scripts on ``cpp-crowdsourced`` share one tiny fit through the fit cache
(``--cache-dir``): the first test that runs samples it, the others load it.
"""

from __future__ import annotations

import importlib.util
import re

import matplotlib.image
import numpy as np
import pytest

from tests.conftest import REPO

pytestmark = [pytest.mark.slow, pytest.mark.examples]
TINY = ["--draws", "60", "--tune", "60", "--chains", "2"]
needs_data = pytest.mark.needs_data


def _load(name):
    spec = importlib.util.spec_from_file_location(name, REPO / "examples" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run(name, *argv):
    module = _load(name)
    return module.main(module.parse(list(argv)))


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    """Options giving every cpp example the same fit cache and its own figure folder."""
    cache = tmp_path_factory.mktemp("fits")
    out = tmp_path_factory.mktemp("figures")
    return out, [*TINY, "--cache-dir", str(cache), "--out-dir", str(out)]


def _not_blank(path):
    pixels = matplotlib.image.imread(path)[..., :3]
    assert pixels.shape[0] > 100
    assert pixels.shape[1] > 100
    assert np.mean(pixels.min(axis=-1) < 0.9) > 0.02
    assert pixels.std() > 0.05


def _ordered(table, columns=("5%", "25%", "75%", "95%")):
    values = table[list(columns)].to_numpy()
    assert np.isfinite(values).all()
    assert (np.diff(values, axis=1) >= 0).all()
    assert ((table["5%"] <= table["mean"]) & (table["mean"] <= table["95%"])).all()


def test_every_example_is_tested():
    scripts = sorted(p.stem for p in (REPO / "examples").glob("[0-9]*.py"))
    assert scripts == [
        "01_quickstart",
        "02_cold_start_new_llm",
        "03_evaluate",
        "04_forecast_new_llm",
        "05_whatif",
        "06_what_to_run_next",
        "07_factor_importance",
        "08_similar_llms",
        "09_paper_tables",
    ]
    for path in (REPO / "examples").glob("[0-9]*.py"):
        text = path.read_text()
        assert text.startswith("# %% [markdown]\n"), path.name  # jupytext percent format
        assert 'if "ipykernel" in sys.modules else None' in text, path.name


@needs_data
def test_quickstart_example(shared):
    out, argv = shared
    result = _run("01_quickstart", *argv)
    fc = result["forecast"]
    assert fc.dims == ("chain", "draw", "llm", "task")
    assert fc.sizes["task"] == 29
    assert np.isfinite(fc.values).all()
    _ordered(result["summary"])
    _not_blank(out / "quickstart_forecast.png")


def test_quickstart_on_simulated_data(tmp_path):
    argv = [
        *TINY,
        "--dataset",
        "simulated",
        "--cache-dir",
        str(tmp_path),
        "--out-dir",
        str(tmp_path),
    ]
    result = _run("01_quickstart", *argv)
    assert result["forecast"].sizes["task"] == 12
    assert result["estimator"].data_.n_llms == 40


@needs_data
def test_forecast_new_llm_example(shared, capsys):
    out, argv = shared
    result = _run("04_forecast_new_llm", *argv)
    table = result["table"]
    assert len(table) == 29
    _ordered(table)
    known = table.dropna(subset=["known"]).set_index("task")["known"]
    assert known.to_dict() == {"MMLU(5-shot)": 73.0, "HellaSwag(10-shot)": 85.0}
    # Conditioning on a known score puts it inside that task's 90% interval.
    rows = table.set_index("task").loc[known.index]
    assert ((rows["5%"] <= known) & (known <= rows["95%"])).all()
    assert result["forecast"].sizes["llm"] == 1
    assert "given 2 known scores" in capsys.readouterr().out
    _not_blank(out / "forecast.png")
    assert result["figure"].axes


@needs_data
def test_whatif_example(shared):
    out, argv = shared
    result = _run("05_whatif", *argv)
    curve, table = result["curve"], result["table"]
    assert curve.dims == ("chain", "draw", "value", "task")
    np.testing.assert_allclose(curve["value"].values, [2000.0, 4000.0, 8000.0, 16000.0])
    assert table["design"].astype(str).tolist()[:3] == ["plan", "2x tokens", "2x params"]
    assert len(table) == 3 * curve.sizes["task"]
    _ordered(table)
    _not_blank(out / "whatif.png")


@needs_data
def test_what_to_run_next_example(shared):
    out, argv = shared
    result = _run("06_what_to_run_next", *argv)
    plans = result["plans"]
    assert len(plans) == 3
    est = result["estimator"]
    observed = set(zip(est.data_.scores["llm"], est.data_.scores["task"], strict=True))
    for what, plan in plans.items():
        assert len(plan) == 10, what
        assert plan["rank"].tolist() == list(range(1, 11))
        assert (plan["expected_gain"] > 0).all(), what
        np.testing.assert_allclose(plan["cumulative_gain"], plan["expected_gain"].cumsum())
        cells = set(zip(plan["llm"], plan["task"], strict=True))
        assert len(cells) == 10
        assert not cells & observed, what  # only untested cells are recommended
    profile = plans["the profile of Llama 3 70B"]
    assert set(profile["llm"]) == {"Llama 3 70B"}
    _not_blank(out / "next_profile.png")


@needs_data
def test_factor_importance_example(shared):
    out, argv = shared
    result = _run("07_factor_importance", *argv)
    coefs, per_category = result["coefficients"], result["by_category"]
    assert {"log_params", "log_tokens", "log_shots"} <= set(coefs["factor"])
    assert set(coefs["on"]) == {"bias", "latent 1", "latent 2"}
    assert len(per_category) == 2 * 7  # 2 LLM features x 7 task categories
    for frame in (coefs, per_category):
        values = frame[["mean", "lower", "upper"]].to_numpy()
        assert np.isfinite(values).all()
        assert ((frame["lower"] <= frame["mean"]) & (frame["mean"] <= frame["upper"])).all()
    assert "shapley" not in result  # the default stays cheap
    _not_blank(out / "importance.png")
    _not_blank(out / "importance_by_category.png")


@needs_data
def test_factor_importance_shapley_flag(shared):
    _, argv = shared
    tiny = ["--shapley-draws", "30", "--shapley-tune", "30", "--shapley-chains", "1"]
    result = _run(
        "07_factor_importance", *argv, "--shapley", "params,ability", "--shapley-seeds", "1", *tiny
    )
    table = result["shapley"].table
    assert sorted(table["group"]) == ["ability", "params"]
    assert np.isfinite(table["value"]).all()
    subsets = result["shapley"].subsets
    assert len(subsets) == 4  # every subset of 2 groups refitted once
    full = subsets.loc[subsets["n_groups"] == 2, "score"].item()
    none = subsets.loc[subsets["n_groups"] == 0, "score"].item()
    np.testing.assert_allclose(table["value"].sum(), full - none)


@needs_data
def test_similar_llms_example(shared):
    out, argv = shared
    result = _run("08_similar_llms", *argv)
    near = result["similar"]
    assert len(near) == 5
    assert "Llama 3 70B" not in set(near["name"])
    assert near["distance"].is_monotonic_increasing
    assert ((near["lower"] <= near["distance"]) & (near["distance"] <= near["upper"])).all()
    assert len(result["similar_tasks"]) == 5
    positions = result["positions"]
    assert len(positions) == 72
    assert np.isfinite(positions[["latent_1", "latent_2", "sd_1", "sd_2"]].to_numpy()).all()
    _not_blank(out / "latent_map.png")


@needs_data
def test_paper_tables_example(capsys):
    argv = [*TINY, "--methods", "hbmf,task-mean", "--seeds", "1", "--llms", "LLama-2-70B"]
    result = _run("09_paper_tables", *argv)
    t1 = result["table1"].summary().set_index(["method", "metric"])["mean"]
    assert np.isfinite(t1["hbmf", "paper_mse"])
    assert t1["hbmf", "rmse_unit"] < t1["task-mean", "rmse_unit"]
    t4 = result["table4"].summary()
    hbmf = t4[(t4["method"] == "hbmf") & (t4["metric"] == "rmse_unit")]
    assert sorted(hbmf["k"]) == [0, 2]
    text = capsys.readouterr().out
    assert "Table 1 setting" in text
    assert "Table 4 setting: 1 LLMs held out" in text


def test_cold_start_example(capsys):
    mod = _load("02_cold_start_new_llm")
    out = mod.main(mod.parse(TINY))
    assert set(out) == {"CPP-0", "CPP-2"}
    text = capsys.readouterr().out
    assert re.search(r"CPP-2: .* RMSE [0-9.]+, 90% coverage \d+%", text)


def test_evaluate_example(capsys):
    mod = _load("03_evaluate")
    result = mod.main(mod.parse([*TINY, "--seeds", "1"]))
    table = result.summary().set_index(["method", "metric"])["mean"]
    # Even a tiny fit beats the per-task mean on simulated low-rank data.
    assert table["hbmf", "rmse_unit"] < table["task-mean", "rmse_unit"]
    assert 0.5 <= table["hbmf", "coverage_90"] <= 1.0
    # A tiny fit may miss the convergence targets: its row is then marked with ⚠.
    assert re.search(r"^\| hbmf( ⚠)? \|", capsys.readouterr().out, re.M)


def test_readme_quickstart_runs_as_written():
    text = (REPO / "README.md").read_text()
    block = re.search(r"## Quickstart\s+```python\n(.*?)```", text, re.S).group(1)
    namespace: dict = {}
    exec(compile(block, "README-quickstart", "exec"), namespace)
    assert namespace["draws"].dims == ("chain", "draw", "llm", "task")
    assert namespace["new"].sizes["task"] == 12


def test_examples_are_importable_and_default_to_the_package_settings():
    # Imported (as by these tests), a script defines its functions and runs nothing;
    # its sampler defaults are the package's (the evaluation harness's for evaluations).
    from bayes_cpp import BayesCPP
    from bayes_cpp.evaluation.names import EVALUATION_SAMPLER

    package = BayesCPP().get_params()
    for path in sorted((REPO / "examples").glob("[0-9]*.py")):
        module = _load(path.stem)
        assert getattr(module, "result", {}) == {}, path.name
        args = module.parse([])
        wanted = EVALUATION_SAMPLER if path.stem in ("03_evaluate", "09_paper_tables") else package
        assert (args.draws, args.tune, args.chains) == (
            wanted["draws"],
            wanted["tune"],
            wanted["chains"],
        ), path.name
