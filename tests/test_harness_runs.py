"""How the harness runs: convergence marks, input records, checkpoints and resume, executors."""

from __future__ import annotations

import dataclasses
import json
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pytest

from bayes_cpp import simulate
from bayes_cpp.evaluation import BayesMethod, PointMethod, evaluate
from bayes_cpp.evaluation.harness import file_record
from bayes_cpp.exceptions import SpecError
from tests.conftest import SEED

FAST = ["task-mean", "additive", "softimpute-logit"]


@pytest.fixture(scope="module")
def data():
    return simulate(24, 7, rank=2, n_families=4, density=0.8, random_seed=SEED).data


def _same(a, b) -> None:
    """Two results agree in every per-split score, per-cell score and fit record that is not a time."""
    pd.testing.assert_frame_equal(a.scores, b.scores)
    pd.testing.assert_frame_equal(a.cells, b.cells)
    timing = [c for c in a.fits.columns if "seconds" in c]
    pd.testing.assert_frame_equal(a.fits.drop(columns=timing), b.fits.drop(columns=timing))


# ------------------------------------------------------------- convergence
def test_unconverged_fits_are_marked_in_the_table_and_json(data, mock_sampling):
    # Prior draws (the mock sampler) never reach the bulk-ESS target: every fit fails.
    bayes = BayesMethod("hbmf", {"draws": 30, "tune": 5, "chains": 2})
    result = evaluate(
        data,
        "llm-holdout",
        methods=[bayes, "task-mean"],
        llms=["llm-001", "llm-002"],
        k=[0, 2],
        seeds=[0],
        progress=False,
    )
    conv = result.convergence().set_index("method")
    assert list(conv.index) == ["hbmf"]  # point baselines have no sampler diagnostics
    assert conv.loc["hbmf", "n_fits"] == 2  # CPP-0 and CPP-2 of one LLM share a fit
    assert conv.loc["hbmf", "n_failed"] == 2
    own = result.fits[(result.fits["method"] == "hbmf") & ~result.fits["reused_fit"].astype(bool)]
    assert conv.loc["hbmf", "min_ess_bulk"] == own["min_ess_bulk"].min() < 400
    # Reused fits carry the diagnostics of the fit they reuse.
    assert result.fits.loc[result.fits["method"] == "hbmf", "converged"].tolist() == [False] * 4
    table = result.table().set_index(["method", "k"])
    assert sorted(table.index) == [("hbmf ⚠", 0), ("hbmf ⚠", 2), ("task-mean", 0), ("task-mean", 2)]
    assert table.loc[("hbmf ⚠", 2), "convergence"].startswith("FAILED 2/2: r_hat ")
    assert table.loc[("task-mean", 0), "convergence"] == "-"
    text = result.to_markdown()
    assert "| hbmf ⚠ |" in text
    assert "⚠ WARNING hbmf: 2 of 2 fits failed the convergence checks" in text
    record = result.to_dict()
    assert record["problems"] == result.problems()
    assert len(record["problems"]) == 1
    assert record["convergence"][0]["n_failed"] == 2


def test_point_methods_only_have_no_convergence_column(data):
    result = evaluate(data, "random", methods=FAST[:2], seeds=1, progress=False)
    assert "convergence" not in result.table().columns
    assert result.problems() == []
    assert "WARNING" not in result.to_markdown()


# ---------------------------------------------------------------- inputs
def test_footer_and_json_name_the_input_files(data, tmp_path):
    scores = tmp_path / "scores.csv"
    data.to_wide().to_csv(scores)
    nameless = data.select()  # same content
    nameless.name = None
    inputs = [file_record("scores", scores)]
    result = evaluate(nameless, "random", methods=FAST[:1], seeds=1, progress=False, inputs=inputs)
    assert "random on scores.csv: 1 splits" in result.to_markdown()
    assert "None" not in result.to_markdown()
    (recorded,) = result.to_dict()["settings"]["inputs"]
    assert recorded["path"] == str(scores)
    import hashlib

    assert recorded["sha256"] == hashlib.sha256(scores.read_bytes()).hexdigest()
    unnamed = evaluate(nameless, "random", methods=FAST[:1], seeds=1, progress=False)
    assert f"random on unnamed data ({data.n_llms} LLMs x {data.n_tasks} tasks)" in (
        unnamed.to_markdown()
    )


# -------------------------------------------------------- checkpoint, resume
@dataclasses.dataclass
class Interrupting(PointMethod):
    """A baseline that is Ctrl-C'd after ``after`` runs (counting runs of every instance)."""

    after: int | None = None
    runs: ClassVar[list[str]] = []

    def run(self, split, full, random_seed) -> Any:
        if self.after is not None and len(Interrupting.runs) >= self.after:
            raise KeyboardInterrupt
        Interrupting.runs.append(f"{self.name} {split.label}")
        return super().run(split, full, random_seed)


def test_an_interrupted_run_resumes_from_its_checkpoint(data, tmp_path):
    settings = {"protocol": "random", "seeds": 4, "holdout": 0.2, "progress": False}
    plain = evaluate(data, methods=FAST[:2], **settings)
    path = tmp_path / "run.jsonl"
    Interrupting.runs.clear()
    methods = [Interrupting("task-mean", after=5), Interrupting("additive", after=5)]
    with pytest.raises(KeyboardInterrupt):
        evaluate(data, methods=methods, checkpoint=path, **settings)
    lines = path.read_text().splitlines()
    assert len(lines) == 1 + 5  # the header and every finished (method, split)
    # Rerun with the same settings: only the 3 missing (method, split) pairs run.
    Interrupting.runs.clear()
    methods = [Interrupting("task-mean"), Interrupting("additive")]
    resumed = evaluate(data, methods=methods, checkpoint=path, **settings)
    assert len(Interrupting.runs) == 8 - 5
    assert resumed.settings["resumed_results"] == 5
    _same(resumed, plain)
    # Everything is in the checkpoint now: a third run fits nothing.
    Interrupting.runs.clear()
    again = evaluate(data, methods=methods, checkpoint=path, **settings)
    assert Interrupting.runs == []
    _same(again, plain)


def test_a_checkpoint_of_other_settings_is_refused(data, tmp_path):
    path = tmp_path / "run.jsonl"
    evaluate(data, "random", methods=FAST[:1], seeds=2, checkpoint=path, progress=False)
    with pytest.raises(SpecError, match=r"other settings \(they differ in .*seeds"):
        evaluate(data, "random", methods=FAST[:1], seeds=3, checkpoint=path, progress=False)
    other = data.drop_cells([0])
    with pytest.raises(SpecError, match=r"differ in .*data_sha256"):
        evaluate(other, "random", methods=FAST[:1], seeds=2, checkpoint=path, progress=False)
    bogus = tmp_path / "bogus.jsonl"
    bogus.write_text("hello\n")
    with pytest.raises(SpecError, match="is not a bayes_cpp evaluation checkpoint"):
        evaluate(data, "random", methods=FAST[:1], seeds=2, checkpoint=bogus, progress=False)


def test_a_line_torn_by_a_kill_is_recomputed(data, tmp_path):
    path = tmp_path / "run.jsonl"
    full = evaluate(data, "random", methods=FAST[:1], seeds=3, checkpoint=path, progress=False)
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:-1]) + lines[-1][: len(lines[-1]) // 2])
    again = evaluate(data, "random", methods=FAST[:1], seeds=3, checkpoint=path, progress=False)
    assert again.settings["resumed_results"] == 2
    _same(again, full)
    assert len(path.read_text().splitlines()) == 4
    assert all(json.loads(line) for line in path.read_text().splitlines())


# --------------------------------------------------------------- executors
def test_local_worker_processes_give_the_serial_results(data):
    # Most of this test's time is the two spawned workers importing the package.
    settings = {"protocol": "llm-holdout", "llms": ["llm-003", "llm-005"], "k": [0, 2]}
    settings |= {"seeds": [0], "progress": False, "methods": FAST[:2]}
    serial = evaluate(data, **settings)
    parallel = evaluate(data, workers=2, **settings)
    _same(parallel, serial)
    assert parallel.settings["executor"] == {"kind": "processes", "workers": 2}
    assert serial.settings["executor"] == {"kind": "serial", "workers": 1}


def test_workers_and_scheduler_are_checked(data):
    with pytest.raises(SpecError, match="workers must be a positive integer"):
        evaluate(data, methods=FAST[:1], seeds=1, workers=0, progress=False)
    with pytest.raises(SpecError, match="not both"):
        evaluate(data, methods=FAST[:1], seeds=1, workers=2, scheduler="tcp://x:1", progress=False)


@pytest.fixture(scope="module")
def cluster():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as local:
        yield local


def test_dask_cluster_gives_the_serial_results(data, cluster, tmp_path):
    settings = {"protocol": "random", "holdout": 0.15, "seeds": 3, "progress": False}
    settings |= {"methods": FAST}
    serial = evaluate(data, **settings)
    distributed_run = evaluate(data, scheduler=cluster.scheduler_address, **settings)
    _same(distributed_run, serial)
    executor = distributed_run.settings["executor"]
    assert executor["kind"] == "dask"
    assert executor["workers"] == 2
    # The per-cell scores are bitwise the serial ones.
    np.testing.assert_array_equal(
        distributed_run.cells["crps"].to_numpy(), serial.cells["crps"].to_numpy()
    )


_WARM = """
from bayes_cpp import simulate
from bayes_cpp.evaluation import BayesMethod, evaluate
from tests.conftest import SEED
data = simulate(24, 7, rank=2, n_families=4, density=0.8, random_seed=SEED).data
bayes = BayesMethod("hbmf", {"draws": 30, "tune": 30, "chains": 1}, label="hbmf-tiny")
evaluate(data, "llm-holdout", llms=["llm-003"], k=[0, 2], seeds=[0], progress=False,
         methods=[bayes])
"""


@pytest.mark.slow
def test_dask_cluster_runs_a_bayesian_method_like_serial(data, cluster):
    import os
    import subprocess
    import sys

    from tests.conftest import REPO

    # Cold-compiled and cache-loaded PyTensor code give different (deterministic) draws
    # (ARCHITECTURE.md, Seeds): compile this model into the disk cache in another process
    # first, so that this process and the workers all run cache-loaded code.
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    subprocess.run([sys.executable, "-c", _WARM], check=True, env=env, cwd=REPO)
    bayes = BayesMethod("hbmf", {"draws": 30, "tune": 30, "chains": 1}, label="hbmf-tiny")
    settings = {"protocol": "llm-holdout", "llms": ["llm-003"], "k": [0, 2], "seeds": [0]}
    settings |= {"progress": False, "methods": [bayes, "task-mean"]}
    serial = evaluate(data, **settings)
    distributed_run = evaluate(data, scheduler=cluster.scheduler_address, **settings)
    _same(distributed_run, serial)
    hbmf = distributed_run.fits[distributed_run.fits["method"] == "hbmf-tiny"]
    assert hbmf["reused_fit"].tolist() == [False, True]  # CPP-0 and CPP-2 share one fit
