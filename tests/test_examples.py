"""Every example script and the README quickstart run end to end with tiny settings."""

from __future__ import annotations

import importlib.util
import re

import numpy as np
import pytest

from tests.conftest import REPO

pytestmark = [pytest.mark.slow, pytest.mark.examples]
TINY = ["--draws", "60", "--tune", "60", "--chains", "2"]


def _load(name):
    spec = importlib.util.spec_from_file_location(name, REPO / "examples" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_example_is_tested():
    scripts = sorted(p.stem for p in (REPO / "examples").glob("*.py"))
    assert scripts == ["01_quickstart", "02_cold_start_new_llm", "03_evaluate"]


def test_quickstart_example():
    out = _load("01_quickstart").main(_load("01_quickstart").parse(TINY))
    fc = out["forecast"]
    assert fc.dims == ("chain", "draw", "llm", "task")
    assert np.isfinite(fc.values).all()


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
    assert "| hbmf |" in capsys.readouterr().out


def test_readme_quickstart_runs_as_written():
    text = (REPO / "README.md").read_text()
    block = re.search(r"## Quickstart\s+```python\n(.*?)```", text, re.S).group(1)
    namespace: dict = {}
    exec(compile(block, "README-quickstart", "exec"), namespace)
    assert namespace["draws"].dims == ("chain", "draw", "llm", "task")
    assert namespace["new"].sizes["task"] == 12
