"""Fuzz the command line: random malformed files and random arguments through ``cli.main``.

The only acceptable outcomes are exit code 0 (or 3, a finished ``diagnose``
of the unconverged mock fit), or exit code 2 with the package's one-line
``error:`` (or argparse's usage error) on stderr. A traceback, an exception
escaping ``main`` or exit code 1 is a bug. No example fits anything:
``BayesCPP.fit`` and the evaluation's executor are replaced by stubs that
raise :class:`Reached`, which counts as "the input was accepted".

Examples: ``BAYES_CPP_CLI_FUZZ_EXAMPLES`` (default 1,200, the fast suite) is
the total over the tests of this file, split 60/5/35; the longer run
committed in ``benchmarks/RESULTS.md`` is::

    BAYES_CPP_CLI_FUZZ_EXAMPLES=10000 pytest tests/test_fuzz_cli.py -p no:cacheprovider \\
        --hypothesis-show-statistics
"""

from __future__ import annotations

import contextlib
import io
import os
import string
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from bayes_cpp import BayesCPP
from bayes_cpp.cli import main
from tests.test_fuzz_inputs import csv_texts, factor_csv_texts, long_csv_texts, wide_csv_texts

TOTAL = int(os.environ.get("BAYES_CPP_CLI_FUZZ_EXAMPLES", "1200"))


def _settings(share: float) -> Any:
    return settings(
        max_examples=max(1, round(TOTAL * share)),
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


class Reached(Exception):
    """The CLI accepted its input and got to fitting (stubbed out)."""


class _StubExecutor:
    def run(self, jobs: Any, data: Any, random_seed: int) -> Any:
        raise Reached("evaluate")

    def close(self) -> None:
        return None

    def describe(self) -> dict[str, Any]:
        return {}


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory, sim: Any) -> Path:
    """Files the examples point at: a saved fit, a folder, a file standing where a folder should."""
    from tests.conftest import mocked_sampling

    root = tmp_path_factory.mktemp("fuzz-cli")
    with mocked_sampling():
        BayesCPP(draws=20, tune=5, chains=2, random_seed=1).fit(sim.data).save(root / "fit.nc")
    (root / "folder").mkdir()
    (root / "a-file").write_text("x")
    # Valid inputs, so that many examples get past reading into the options' checks.
    sim.data.to_wide().to_csv(root / "scores.csv")
    sim.data.scores.to_csv(root / "long.csv", index=False)
    sim.data.llms.to_csv(root / "llms.csv")
    sim.data.tasks.to_csv(root / "tasks.csv")
    return root


@pytest.fixture(scope="module", autouse=True)
def no_fitting(workdir: Path) -> Any:
    """Stub out fitting and the executor; keep caches and checkpoints in the work folder."""
    import bayes_cpp.evaluation.harness as harness

    patch = pytest.MonkeyPatch()

    def fit(self: Any, *args: Any, **kwargs: Any) -> None:
        raise Reached("fit")

    patch.setattr(BayesCPP, "fit", fit)
    patch.setattr(harness, "make_executor", lambda *a, **k: _StubExecutor())
    patch.setenv("BAYES_CPP_CACHE", str(workdir / "cache"))
    patch.setenv("BAYES_CPP_DATA", str(workdir / "no-data"))  # never download a dataset
    yield
    patch.undo()


# ------------------------------------------------------------- strategies
#: Text an argument can hold: no NUL (a command line cannot carry one).
TEXT = st.text(st.characters(exclude_characters="\x00"), max_size=12)
NUMBERS = st.one_of(
    st.integers(-5, 20).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["", "-", "1e400", "0x10", "1,2", "2-5", "5-2", "0,3,7", "1,,2", " 3 "]),
    TEXT,
)
CONTENTS = st.one_of(
    wide_csv_texts().map(str.encode),
    wide_csv_texts().map(str.encode),
    long_csv_texts().map(str.encode),
    factor_csv_texts().map(str.encode),
    csv_texts().map(str.encode),
    wide_csv_texts().map(lambda t: t.replace(",", ";").encode()),
    wide_csv_texts().map(lambda t: t.replace(",", "\t").encode()),
    wide_csv_texts().map(lambda t: t.encode("utf-16")),
    wide_csv_texts().map(lambda t: t.encode("utf-16-le")),
    csv_texts().map(lambda t: t.encode("latin-1", errors="replace")),
    st.binary(max_size=120),
)
NAMES = st.sampled_from(
    ["llm-000", "llm-001", "task-00", "task-07", "a", "x", "Llama", "", " llm-000", "llm-0000"]
)
PROTOCOLS = [
    "random",
    "llm-holdout",
    "task-holdout",
    "family-extrapolation",
    "per-llm-half",
    "x",
    "",
]
METHODS = st.lists(
    st.sampled_from(["task-mean", "hbmf", "additive", "bpmf", "mf", "nope", "", "HBMF"]),
    min_size=1,
    max_size=3,
).map(",".join)


@st.composite
def paths(draw: st.DrawFn, files: dict[str, Path], root: Path) -> str:
    """An input or output path: a generated file, the fit, a folder, a missing or blocked one."""
    valid = ["scores.csv", "long.csv", "llms.csv", "tasks.csv"]
    choice = draw(
        # Hypothesis leans to the first choices: the valid files.
        st.sampled_from([*valid, *files, "fit", "folder", "missing", "blocked", "text"])
    )
    if choice in files:
        return str(files[choice])
    if choice in valid:
        return str(root / choice)
    return {
        "fit": str(root / "fit.nc"),
        "folder": str(root / "folder"),
        "missing": str(root / "missing" / "x.csv"),
        "blocked": str(root / "a-file" / "x.csv"),
        "text": draw(TEXT) or "-",
    }[choice]


def _mostly(valid: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """Valid values three times in four, otherwise anything."""
    return st.one_of(valid, valid, valid, NUMBERS)


def _options(
    draw: st.DrawFn, pool: dict[str, st.SearchStrategy[str] | None], usual: tuple[str, ...] = ()
) -> list[str]:
    """Some options of ``pool`` (None = a flag) in random order, sometimes with junk.

    The ``usual`` ones (a command's inputs) are there nine times in ten, so
    most examples get past argument parsing into reading files.
    """
    names = [n for n in usual if draw(st.integers(0, 9)) != 9]
    names += draw(
        st.lists(st.sampled_from(sorted(set(pool) - set(usual))), max_size=4, unique=True)
    )
    names = draw(st.permutations(names))
    argv: list[str] = []
    for name in names:
        value = pool[name]
        argv += [name] if value is None else [name, draw(value)]
    if draw(st.integers(0, 7)) == 7:
        junk = st.one_of(TEXT, st.sampled_from(["--bogus", "-x", "--", "-", "--prob=2", "-h"]))
        argv.insert(draw(st.integers(0, len(argv))), draw(junk))
    return argv


def _write(root: Path, contents: list[bytes]) -> dict[str, Path]:
    files = {}
    for i, data in enumerate(contents):
        path = root / f"in-{i}.csv"
        path.write_bytes(data)
        files[f"in-{i}"] = path
    return files


_COMMANDS = ("fit", "evaluate", "predict", "diagnose", "specs", "datasets")


def _outcome(argv: list[str]) -> tuple[int | str, str]:
    """Run the CLI; its exit code (or "reached"), and stderr, checked."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code: int | str = main(argv)
        except Reached:
            code = "reached"
    text = err.getvalue()
    usage = "usage" if "usage:" in text else "package"
    command = argv[0] if argv and argv[0] in _COMMANDS else "other"
    event(f"{command}: {code}" + (f" ({usage})" if code == 2 else ""))
    assert "Traceback" not in text, (argv, text)
    assert code in (0, 2, 3, "reached"), (argv, code, text)
    if code == 2:
        lines = [line for line in text.splitlines() if line.strip()]
        assert lines, (argv, "exit 2 without a message")
        assert any(line.startswith("error: ") or "error: " in line for line in lines), (argv, text)
    return code, text


# ------------------------------------------------------------------ tests
@_settings(0.6)
@given(data=st.data(), contents=st.lists(CONTENTS, min_size=1, max_size=3))
def test_fit_and_evaluate_with_random_files_and_options(
    workdir: Path, data: st.DataObject, contents: list[bytes]
) -> None:
    files = _write(workdir, contents)
    path = paths(files, workdir)
    command = data.draw(st.sampled_from(["fit", "evaluate"]))
    source: dict[str, st.SearchStrategy[str] | None] = {
        "--scores": path,
        "--llm-factors": path,
        "--task-factors": path,
        "--long": None,
        "--aggregate": st.sampled_from(["mean", "max", "avg", ""]),
        "--dataset": TEXT.map(lambda t: "x-" + t),
    }
    small = st.integers(0, 5).map(str)
    sampler = {name: _mostly(small) for name in ("--draws", "--tune", "--chains", "--seed")}
    if command == "fit":
        pool = {
            **source,
            **sampler,
            "--out": st.one_of(path, st.just(str(workdir / "out" / "fit.nc"))),
            "--spec": st.one_of(st.sampled_from(["hbmf", "bpmf", "nope", "x.toml"]), path),
            "--rank": _mostly(small),
            "--sampler": st.sampled_from(["nutpie", "advi", "stan", ""]),
        }
    else:
        pool = {
            **source,
            **sampler,
            "--protocol": st.sampled_from(PROTOCOLS),
            "--holdout": _mostly(st.sampled_from(["0.1", "0.2,0.3", "0.5", "1.5", "0"])),
            "--seeds": _mostly(st.sampled_from(["1", "2", "0-1", "3,5", "0"])),
            "--k": _mostly(st.sampled_from(["0", "1", "0,2", "-1", "9"])),
            "--llms": st.one_of(st.just("paper"), NAMES, TEXT),
            "--tasks": st.one_of(st.just("paper"), NAMES, TEXT),
            "--methods": METHODS,
            "--workers": _mostly(st.sampled_from(["1", "2"])),
            "--scheduler": st.sampled_from(["tcp://127.0.0.1:1", "", "nonsense"]),
            "--checkpoint": st.one_of(path, st.just(str(workdir / "ckpt" / "c.jsonl"))),
            "--no-checkpoint": None,
            "--strict": None,
            "--json": path,
            "--cells": path,
        }
    usual = ("--scores", "--out") if command == "fit" else ("--scores", "--methods")
    argv = [command, *_options(data.draw, pool, usual)]
    if command == "evaluate":
        argv.append("--no-progress")
    _outcome(argv)


@_settings(0.05)
@given(data=st.data(), contents=st.lists(CONTENTS, min_size=1, max_size=1))
def test_predict_and_diagnose_with_random_fit_files_and_options(
    workdir: Path, data: st.DataObject, contents: list[bytes]
) -> None:
    files = _write(workdir, contents)
    path = paths(files, workdir)
    command = data.draw(st.sampled_from(["predict", "predict", "diagnose"]))
    fit = st.one_of(st.just(str(workdir / "fit.nc")), path)
    if command == "predict":
        pool: dict[str, st.SearchStrategy[str] | None] = {
            "--fit": fit,
            "--llm": NAMES,
            "--task": NAMES,
            "--kind": st.sampled_from(["score", "mean", "bogus"]),
            "--prob": _mostly(st.sampled_from(["0.5", "0.9", "0.99"])),
            "--csv": st.one_of(path, st.just(str(workdir / "pred" / "p.csv"))),
        }
    else:
        pool = {"--fit": fit, "--json": None}
    code, text = _outcome([command, *_options(data.draw, pool, ("--fit",))])
    if code == 0 and command == "predict" and str(workdir / "fit.nc") in text:
        assert "FAILED convergence checks" in text  # the saved diagnostics are shown


TOKENS = st.one_of(
    st.sampled_from(["fit", "predict", "evaluate", "diagnose", "specs", "datasets", "--json"]),
    st.sampled_from(["--scores", "--out", "--fit", "--seeds", "--prob", "--help", "-h", "--"]),
    st.text(string.ascii_letters + string.digits + "-_=., ", max_size=10),
    TEXT,
)


@_settings(0.35)
@given(argv=st.lists(TOKENS, max_size=6))
def test_random_argument_lists(argv: list[str]) -> None:
    if argv[:1] == ["datasets"]:
        argv = ["specs", *argv[1:]]  # `datasets` would look for the data folder
    _outcome(argv)
