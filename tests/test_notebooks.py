"""The committed executed notebooks match their scripts and keep their outputs."""

from __future__ import annotations

import importlib.util

import pytest

from tests.conftest import REPO

jupytext = pytest.importorskip("jupytext")
nbformat = pytest.importorskip("nbformat")


def _build_module():
    spec = importlib.util.spec_from_file_location("build", REPO / "examples" / "build_notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


BUILD = _build_module()


def _code(nb):
    return [c.source for c in nb.cells if c.cell_type == "code"]


@pytest.mark.parametrize("name", BUILD.NOTEBOOKS)
def test_notebook_is_in_sync_with_its_script(name):
    path = REPO / "examples" / "notebooks" / f"{name}.ipynb"
    assert path.is_file(), f"run `python examples/build_notebooks.py` to create {path.name}"
    committed = nbformat.read(path, as_version=4)
    script = jupytext.read(REPO / "examples" / f"{name}.py")
    assert _code(committed) == _code(script), f"{path.name} is stale: rerun build_notebooks.py"
    markdown = [c.source for c in committed.cells if c.cell_type == "markdown"]
    assert markdown[1] == BUILD.note(name)  # says how it was made and with which settings


@pytest.mark.parametrize("name", BUILD.NOTEBOOKS)
def test_notebook_has_its_outputs(name):
    nb = nbformat.read(REPO / "examples" / "notebooks" / f"{name}.ipynb", as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count is not None for c in code), "not every cell was executed"
    outputs = [o for c in code for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    stderr = [o.text for o in outputs if o.output_type == "stream" and o.name == "stderr"]
    assert not stderr, stderr
    printed = "".join(o.text for o in outputs if o.output_type == "stream" and o.name == "stdout")
    assert "5%" in printed or "expected_gain" in printed
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) >= 1
    assert all(len(o["data"]["image/png"]) > 10_000 for o in images)  # a real picture


def test_readme_figure_is_small_and_linked():
    figure = REPO / "examples" / "notebooks" / "forecast.png"
    assert figure.is_file()
    assert figure.stat().st_size < 200_000
    text = (REPO / "README.md").read_text()
    assert "examples/notebooks/forecast.png" in text
    for name in BUILD.NOTEBOOKS:
        assert f"examples/notebooks/{name}.ipynb" in text
