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
