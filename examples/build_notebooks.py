"""Regenerate the executed notebooks in ``examples/notebooks/`` from their scripts.

Usage (from the repository root, with the ``dev`` extra installed)::

    BAYES_CPP_DATA=/path/to/data python examples/build_notebooks.py

Each script in :data:`NOTEBOOKS` is converted with jupytext (its ``# %%`` cells
become notebook cells), executed top to bottom with nbclient in a fresh
``python3`` kernel from the repository root with the script's defaults (the
package's sampler settings; the fits go through the user's fit cache, so the
first notebook samples and the others load that fit), and written with its
outputs and figures. The forecast figure is copied next to the notebooks for the
README. ``--only NAME`` rebuilds one notebook.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
OUT = HERE / "notebooks"
#: Scripts published as executed notebooks.
NOTEBOOKS = ("01_quickstart", "04_forecast_new_llm", "06_what_to_run_next")
#: Figures the README shows (written by the notebooks into examples/output/).
FIGURES = {"forecast.png": "forecast.png"}


def note(name: str) -> str:
    return (
        f"*Generated from [`examples/{name}.py`](../{name}.py) by "
        "`python examples/build_notebooks.py` and executed with the script's defaults: "
        "the package's sampler settings (4 chains x 1000 draws after 500 warm-up steps) "
        "on `cpp-crowdsourced`.*"
    )


def build(name: str, timeout: int) -> Path:
    import jupytext
    import nbformat
    from nbclient import NotebookClient

    nb = jupytext.read(HERE / f"{name}.py")
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells.insert(1, nbformat.v4.new_markdown_cell(note(name)))
    client = NotebookClient(
        nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(REPO)}}
    )
    client.execute()
    for cell in nb.cells:  # execution times and ids differ between runs: keep diffs small
        cell.metadata.pop("execution", None)
    target = OUT / f"{name}.ipynb"
    nbformat.write(nb, target)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=NOTEBOOKS, help="rebuild this notebook only")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds per cell")
    args = parser.parse_args(argv)
    OUT.mkdir(exist_ok=True)
    # pooch imports tqdm.auto, which warns in a kernel without ipywidgets: not the reader's concern.
    os.environ.setdefault("PYTHONWARNINGS", "ignore:IProgress not found")
    for name in [args.only] if args.only else NOTEBOOKS:
        start = time.perf_counter()
        path = build(name, args.timeout)
        print(f"{path.relative_to(REPO)}: executed in {time.perf_counter() - start:.0f} s")
    for source, target in FIGURES.items():
        figure = REPO / "examples" / "output" / source
        if figure.is_file():
            shutil.copyfile(figure, OUT / target)
            print(f"copied {figure.relative_to(REPO)} to {(OUT / target).relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
