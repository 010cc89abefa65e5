from __future__ import annotations

import json
import subprocess
import sys

import pytest

from bayes_cpp.cli import main


@pytest.mark.needs_data
def test_datasets_json(capsys):
    assert main(["datasets", "--json"]) == 0
    records = json.loads(capsys.readouterr().out)
    by_name = {r["name"]: r for r in records}
    assert {"name", "n_llms", "n_tasks", "n_observed", "source", "license"} <= set(records[0])
    assert (by_name["cpp-crowdsourced"]["n_llms"], by_name["cpp-crowdsourced"]["n_tasks"]) == (
        72,
        29,
    )
    assert by_name["cpp-crowdsourced"]["n_observed"] == 878
    assert by_name["obsscaling"]["n_llms"] == 148


@pytest.mark.needs_data
def test_datasets_table_via_module():
    out = subprocess.run(
        [sys.executable, "-m", "bayes_cpp", "datasets"], check=True, capture_output=True, text=True
    ).stdout
    assert "cpp-crowdsourced" in out
    assert "878" in out
    assert "openllm-v1" in out


def test_specs_listing(capsys):
    assert main(["specs", "--json"]) == 0
    names = [r["name"] for r in json.loads(capsys.readouterr().out)]
    assert "hbmf" in names


def test_predict_and_diagnose_from_saved_fit(mock_fitted, tmp_path, capsys):
    path = tmp_path / "fit.nc"
    mock_fitted.save(path)
    csv = tmp_path / "pred.csv"
    assert main(["predict", "--fit", str(path), "--llm", "llm-000", "--csv", str(csv)]) == 0
    text = csv.read_text().splitlines()
    assert text[0].startswith("llm,task,mean,q0.050,q0.950,observed")
    assert len(text) == 1 + mock_fitted.data_.n_tasks
    code = main(["diagnose", "--fit", str(path)])
    out = capsys.readouterr().out
    assert code in (0, 1)
    assert "r_hat" in out


def test_errors_are_reported_not_raised(capsys, tmp_path):
    assert main(["predict", "--fit", str(tmp_path / "none.nc")]) == 2
    assert "no saved fit" in capsys.readouterr().err


def test_evaluate_on_user_csvs(sim, tmp_path, capsys):
    # The documented user path: a wide score CSV plus factor CSVs.
    scores = tmp_path / "scores.csv"
    sim.data.to_wide().to_csv(scores)
    llms = tmp_path / "llms.csv"
    sim.data.llms.to_csv(llms)
    tasks = tmp_path / "tasks.csv"
    sim.data.tasks.to_csv(tasks)
    out = tmp_path / "eval.json"
    args = ["evaluate", "--scores", str(scores), "--llm-factors", str(llms)]
    args += ["--task-factors", str(tasks), "--methods", "task-mean,additive", "--seeds", "2"]
    args += ["--holdout", "0.2", "--json", str(out), "--no-progress"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert printed.splitlines()[0].startswith("| method | RMSE (0-1) |")
    record = json.loads(out.read_text())
    assert record["settings"]["seeds"] == 2
    assert record["settings"]["n_splits"] == 2
    rmse = record["methods"]["additive"]["rmse_unit"]
    assert 0.0 < rmse["mean"] < record["methods"]["task-mean"]["rmse_unit"]["mean"]
    assert rmse["n_splits"] == 2


def test_evaluate_unknown_method_is_an_error(sim, tmp_path, capsys):
    scores, tasks = tmp_path / "scores.csv", tmp_path / "tasks.csv"
    sim.data.to_wide().to_csv(scores)
    sim.data.tasks.to_csv(tasks)
    args = ["evaluate", "--scores", str(scores), "--task-factors", str(tasks)]
    assert main([*args, "--methods", "oracle"]) == 2
    assert "unknown method 'oracle'" in capsys.readouterr().err
