from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
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
    assert text[0].startswith("llm,task,mean,5%,95%,observed")
    assert len(text) == 1 + mock_fitted.data_.n_tasks
    code = main(["diagnose", "--fit", str(path)])
    out = capsys.readouterr().out
    assert code == 3  # prior draws (the mock sampler) fail the bulk-ESS check
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


# ------------------------------------------------------ failing cleanly
@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    # evaluate's default checkpoint folder lives in the cache: keep it in the test's folder.
    monkeypatch.setenv("BAYES_CPP_CACHE", str(tmp_path / "cache"))


def _csvs(sim, tmp_path):
    scores, llms, tasks = tmp_path / "scores.csv", tmp_path / "llms.csv", tmp_path / "tasks.csv"
    sim.data.to_wide().to_csv(scores)
    sim.data.llms.to_csv(llms)
    sim.data.tasks.to_csv(tasks)
    return [
        "--scores",
        str(scores),
        "--llm-factors",
        str(llms),
        "--task-factors",
        str(tasks),
    ]


def _refuse_fitting(monkeypatch):
    from bayes_cpp import BayesCPP

    def fit(*args, **kwargs):
        raise AssertionError("the CLI started fitting")

    monkeypatch.setattr(BayesCPP, "fit", fit)


def test_fit_checks_its_output_before_fitting(sim, tmp_path, capsys, monkeypatch):
    _refuse_fitting(monkeypatch)
    folder = tmp_path / "existing"
    folder.mkdir()
    assert main(["fit", *_csvs(sim, tmp_path), "--out", str(folder)]) == 2
    assert f"--out {folder} is a directory" in capsys.readouterr().err
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    assert main(["fit", *_csvs(sim, tmp_path), "--out", str(blocker / "fit.nc")]) == 2
    assert f"{blocker} is not a directory" in capsys.readouterr().err
    # A bad spec also fails before the data is read or anything is fitted.
    assert (
        main(["fit", *_csvs(sim, tmp_path), "--out", str(tmp_path / "f.nc"), "--spec", "nope"]) == 2
    )
    assert "error:" in capsys.readouterr().err


def test_predict_prob_outside_0_1_is_a_usage_error(mock_fitted, tmp_path, capsys):
    path = tmp_path / "fit.nc"
    mock_fitted.save(path)
    # 6.8e-303 (found by the CLI fuzz test) rounds to an empty interval
    for prob in ("1.5", "0", "nan", "ninety", "6.813223419546742e-303", "0.9999999999"):
        assert main(["predict", "--fit", str(path), "--prob", prob]) == 2
        err = capsys.readouterr().err
        assert "--prob" in err
        assert "Traceback" not in err
    assert main(["predict", "--fit", str(path), "--kind", "bogus"]) == 2
    assert "invalid choice: 'bogus'" in capsys.readouterr().err


def test_saved_diagnostics_are_shown_on_predict(mock_fitted, tmp_path, capsys):
    path = tmp_path / "fit.nc"
    mock_fitted.save(path)
    assert main(["predict", "--fit", str(path), "--llm", "llm-000", "--task", "task-00"]) == 0
    err = capsys.readouterr().err
    assert err.startswith(f"warning: {path}: FAILED convergence checks: max r_hat ")
    assert "its predictions may be wrong" in err


def test_ctrl_c_prints_one_line_and_exits_130(sim, tmp_path, capsys, monkeypatch):
    import bayes_cpp.evaluation

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(bayes_cpp.evaluation, "evaluate", interrupted)
    code = main(["evaluate", *_csvs(sim, tmp_path), "--methods", "task-mean", "--no-progress"])
    assert code == 130
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1
    assert err[0].startswith("interrupted; the finished fits are saved in ")


_SLOW_EVALUATE = """
import signal, sys, time
# A shell without job control starts background commands with SIGINT ignored, and
# Python keeps that; a terminal's foreground process (what Ctrl-C reaches) has it.
signal.signal(signal.SIGINT, signal.default_int_handler)
from bayes_cpp.cli import main
from bayes_cpp.evaluation import PointMethod
run = PointMethod.run
def slow(self, split, full, seed):
    out = run(self, split, full, seed)
    print("ran", split.label, flush=True)
    time.sleep(0.3 if split.seed == 0 else 120)
    return out
PointMethod.run = slow
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.slow  # spawns processes: seconds each; runs in CI
def test_a_real_sigint_during_evaluate_keeps_the_finished_fits(sim, tmp_path, capsys):
    import os
    import signal

    from tests.conftest import REPO

    checkpoint = tmp_path / "run.jsonl"
    args = ["evaluate", *_csvs(sim, tmp_path), "--methods", "task-mean", "--seeds", "3"]
    args += ["--no-progress", "--checkpoint", str(checkpoint)]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with subprocess.Popen(
        [sys.executable, "-c", _SLOW_EVALUATE, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    ) as proc:
        assert proc.stdout is not None
        assert proc.stdout.readline().startswith("ran holdout=0.05 seed=0")
        assert proc.stdout.readline().startswith("ran holdout=0.05 seed=1")  # seed 0 is saved
        proc.send_signal(signal.SIGINT)
        # No timeout: if the signal were lost the child still ends (its sleeps are
        # finite) and the exit-status assertion below fails.
        _, err = proc.communicate()
    assert proc.returncode == 130
    assert err.strip().splitlines() == [
        f"interrupted; the finished fits are saved in {checkpoint}: run the same command to resume"
    ]
    saved = [json.loads(line) for line in checkpoint.read_text().splitlines()[1:]]
    assert [r["split"] for r in saved] == ["holdout=0.05 seed=0"]
    # The same command resumes: it says so and runs only the two missing splits.
    out = tmp_path / "resumed.json"
    assert main([*args, "--json", str(out)]) == 0
    assert f"warning: resumed: 1 finished results were read from {checkpoint}" in (
        capsys.readouterr().err
    )
    fresh = tmp_path / "fresh.json"
    assert main([*args[:-2], "--no-checkpoint", "--json", str(fresh)]) == 0
    assert json.loads(out.read_text())["per_split"] == json.loads(fresh.read_text())["per_split"]


@pytest.mark.parametrize(
    ("text", "encoding", "hint"),
    [
        ("llm;ARC;MMLU\na;50;60\nb;55;65\n", "utf-8", "looks semicolon (';')-delimited"),
        ("llm\tARC\tMMLU\na\t50\t60\n", "utf-8", "looks tab-delimited"),
        ("llm,ARC,MMLU\na,50,60\n", "utf-16", "is UTF-16 text, not UTF-8; re-save it as UTF-8"),
    ],
)
def test_other_delimiters_and_encodings_get_a_hint(tmp_path, capsys, text, encoding, hint):
    path = tmp_path / "scores.csv"
    path.write_bytes(text.encode(encoding))
    assert main(["fit", "--scores", str(path), "--out", str(tmp_path / "f.nc")]) == 2
    err = capsys.readouterr().err
    assert hint in err
    assert "Traceback" not in err


def test_every_option_has_help_and_shows_its_default():
    from bayes_cpp.cli import build_parser

    parser = build_parser()
    (subactions,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    assert set(subactions.choices) == {
        "datasets",
        "specs",
        "fit",
        "predict",
        "diagnose",
        "evaluate",
        "forecast",
        "whatif",
        "next",
        "importance",
        "similar",
        "report",
    }
    for name, sub in subactions.choices.items():
        text = "".join(sub.format_help().split())  # help wraps lines, even inside defaults
        for action in sub._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            assert action.help, f"{name} {action.option_strings} has no help"
            if action.default not in (None, False):
                assert f"(default:{action.default})" in text, (name, action.option_strings)


def test_dataset_and_file_options_do_not_mix(sim, tmp_path, capsys, monkeypatch):
    _refuse_fitting(monkeypatch)
    args = ["fit", "--dataset", "cpp-crowdsourced", "--out", str(tmp_path / "f.nc")]
    assert main([*args, "--llm-factors", "x.csv"]) == 2
    assert "--llm-factors apply to --scores, not to --dataset" in capsys.readouterr().err
    assert main([*args, *_csvs(sim, tmp_path)]) == 2
    assert "not both" in capsys.readouterr().err


# ------------------------------------------------------ evaluate on CSVs
def test_evaluate_records_inputs_and_names_them(sim, tmp_path, capsys):
    out = tmp_path / "eval.json"
    args = ["evaluate", *_csvs(sim, tmp_path), "--methods", "task-mean", "--seeds", "3-4"]
    args += ["--holdout", "0.2", "--json", str(out), "--no-progress"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "random on scores.csv: 2 splits" in printed
    assert "None" not in printed
    settings = json.loads(out.read_text())["settings"]
    assert settings["seeds"] == [3, 4]
    import hashlib

    records = {r["role"]: r for r in settings["inputs"]}
    assert set(records) == {"scores", "llm_factors", "task_factors"}
    for record in records.values():
        content = Path(record["path"]).read_bytes()
        assert record["sha256"] == hashlib.sha256(content).hexdigest()
    # The default checkpoint is removed once the run is complete.
    assert not list((tmp_path / "cache" / "evaluate").glob("*.jsonl"))


@pytest.mark.parametrize(
    ("seeds", "expected"),
    [("2", 2), ("5-7", [5, 6, 7]), ("0,3,7", [0, 3, 7]), (" 4 - 4 ", [4])],
)
def test_seeds_accept_a_count_a_range_or_a_list(seeds, expected):
    from bayes_cpp.cli import build_parser

    args = build_parser().parse_args(["evaluate", "--dataset", "x", "--seeds", seeds])
    assert args.seeds == expected


@pytest.mark.parametrize("seeds", ["0", "7-5", "1,1", "a", "-3", "1e3", "99999999999", "1,,2"])
def test_bad_seeds_are_usage_errors(seeds, capsys):
    assert main(["evaluate", "--dataset", "x", "--seeds", seeds]) == 2
    assert "--seeds" in capsys.readouterr().err


def test_aggregate_option_combines_duplicate_rows(sim, tmp_path, capsys):
    long = sim.data.scores
    doubled = pd.concat([long, long.assign(score=long["score"] * 0.5)], ignore_index=True)
    path = tmp_path / "long.csv"
    doubled.to_csv(path, index=False)
    args = ["evaluate", "--scores", str(path), "--long", "--methods", "task-mean", "--seeds", "1"]
    args += ["--no-progress"]
    assert main(args) == 2
    assert "pass aggregate='mean'" in capsys.readouterr().err
    assert main([*args, "--aggregate", "mean"]) == 0
    captured = capsys.readouterr()
    assert "combined with 'mean'" in captured.err
    assert captured.err.startswith("warning: ")


def test_evaluate_marks_unconverged_fits_on_stderr_and_strict_exits_3(
    sim, tmp_path, capsys, mock_sampling
):
    args = ["evaluate", *_csvs(sim, tmp_path), "--methods", "hbmf,task-mean", "--seeds", "1"]
    args += ["--draws", "30", "--tune", "5", "--chains", "2", "--no-progress"]
    assert main(args) == 0
    captured = capsys.readouterr()
    assert "| hbmf ⚠ |" in captured.out
    warnings_ = [line for line in captured.err.splitlines() if line.startswith("warning: hbmf:")]
    assert len(warnings_) == 1
    assert "1 of 1 fits failed the convergence checks" in warnings_[0]
    assert main([*args, "--strict"]) == 3
    assert (
        main(
            [
                "evaluate",
                *_csvs(sim, tmp_path),
                "--methods",
                "task-mean",
                "--seeds",
                "1",
                "--no-progress",
                "--strict",
            ]
        )
        == 0
    )


def test_fit_warns_on_stderr_when_the_fit_fails_its_checks(sim, tmp_path, capsys, mock_sampling):
    out = tmp_path / "fit.nc"
    args = ["fit", *_csvs(sim, tmp_path), "--out", str(out), "--draws", "20", "--tune", "5"]
    assert main([*args, "--chains", "2"]) == 0
    captured = capsys.readouterr()
    assert "diagnostics: FAILED convergence checks" in captured.out  # the repr
    lines = captured.err.splitlines()
    # A progress line first (what runs, then how far it got), the warning last.
    assert (
        lines[0] == "fitting hbmf on scores.csv: 2 chains x 25 iterations (5 warm-up), nutpie ..."
    )
    assert lines[1].startswith("  100% of 50 iterations")
    assert lines[-1].startswith("warning: the fit FAILED convergence checks: max r_hat ")
    assert "bulk ESS < 400" in captured.err
    assert out.is_file()


# ------------------------------------------------------ question commands on a saved fit
@pytest.fixture(scope="module")
def saved_fit(mock_fitted, tmp_path_factory):
    path = tmp_path_factory.mktemp("saved") / "fit.nc"
    mock_fitted.save(path)
    return str(path)


def _json_out(capsys):
    return json.loads(capsys.readouterr().out)


def test_version(capsys):
    from bayes_cpp import __version__

    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"bayes-cpp {__version__}"


def test_forecast_table_with_known_scores(saved_fit, capsys):
    args = ["forecast", "--fit", saved_fit, "--family", "family-00", "--factor", "params_b=30"]
    args += ["--score", "task-00=60", "--score", "task-01=55", "--name", "my-30b"]
    assert main(args) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("Forecast for my-30b (family family-00, params_b=30, 2 known scores)")
    header = out[2].split()
    assert header == ["task", "known", "mean", "sd", "5%", "25%", "75%", "95%"]
    rows = {line.split()[0]: line.split()[1:] for line in out[3:]}
    assert set(rows) == {f"task-0{i}" for i in range(8)}
    assert rows["task-00"][0] == "60.0"
    assert rows["task-01"][0] == "55.0"


def test_question_commands_read_only_the_posterior_and_report_reads_everything(
    saved_fit, tmp_path, monkeypatch, capsys
):
    from bayes_cpp import BayesCPP

    seen = []
    real = BayesCPP.load.__func__

    def spy(cls, path, *, groups=None):
        seen.append(groups)
        return real(cls, path, groups=groups)

    monkeypatch.setattr(BayesCPP, "load", classmethod(spy))
    assert main(["forecast", "--fit", saved_fit, "--family", "family-00", "--json"]) == 0
    assert main(["report", "--fit", saved_fit, "--out", str(tmp_path / "r.md")]) == 0
    assert seen == [(), None]
    capsys.readouterr()


def test_forecast_json_and_csv(saved_fit, tmp_path, capsys):
    base = ["forecast", "--fit", saved_fit, "--family", "family-00", "--score", "task-00=60"]
    assert main([*base, "--json"]) == 0
    records = _json_out(capsys)
    assert len(records) == 8
    for r in records:
        assert r["5%"] <= r["25%"] <= r["75%"] <= r["95%"]
        assert r["5%"] <= r["mean"] <= r["95%"]
    known = {r["task"]: r["known"] for r in records}
    assert known["task-00"] == 60.0
    assert known["task-01"] is None  # NaN is null in JSON
    csv = tmp_path / "forecast.csv"
    assert main([*base, "--csv", str(csv)]) == 0
    assert f"wrote 8 rows to {csv}" in capsys.readouterr().out
    table = pd.read_csv(csv)
    assert table.columns.tolist() == ["task", "known", "mean", "sd", "5%", "25%", "75%", "95%"]
    assert (table["5%"] <= table["95%"]).all()
    # Same seed, same forecast, whatever the output format.
    by_task = {r["task"]: r["mean"] for r in records}
    assert table.set_index("task")["mean"].to_dict() == pytest.approx(by_task)


def test_forecast_without_scores_has_no_known_column(saved_fit, capsys):
    assert main(["forecast", "--fit", saved_fit, "--family", "family-00", "--csv"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "task,mean,sd,5%,25%,75%,95%"


def test_forecast_from_an_llm_file_and_a_plot(saved_fit, tmp_path, capsys):
    spec = tmp_path / "new.toml"
    spec.write_text(
        'name = "from-file"\nfamily = "family-01"\n[factors]\nparams_b = 7\n[scores]\n"task-02" = 40\n'
    )
    figure = tmp_path / "forecast.png"
    assert (
        main(["forecast", "--fit", saved_fit, "--llm-file", str(spec), "--plot", str(figure)]) == 0
    )
    out = capsys.readouterr().out
    assert "Forecast for from-file (family family-01, params_b=7, 1 known score)" in out
    assert f"figure: {figure}" in out
    assert figure.stat().st_size > 10_000


def test_forecast_typo_in_family_warns_with_the_suggestion(saved_fit, capsys):
    assert main(["forecast", "--fit", saved_fit, "--family", "famly-00", "--json"]) == 0
    captured = capsys.readouterr()
    assert len(json.loads(captured.out)) == 8  # still answered, as a new family
    warning = [line for line in captured.err.splitlines() if "famly-00" in line]
    assert len(warning) == 1
    assert warning[0].startswith("warning: family 'famly-00' is not in the fit")
    assert "did you mean 'family-00'" in warning[0]


@pytest.mark.parametrize(
    ("score", "named"),
    [
        ("tsk-00=60", "unknown task 'tsk-00' (did you mean 'task-00'"),
        ("task-00=abc", "--score 'task-00=abc': 'abc' is not a number"),
        ("task-00", "--score 'task-00': write NAME=VALUE"),
        ("task-00=nan", "task-00"),
    ],
)
def test_forecast_bad_score_exits_2_naming_it(saved_fit, capsys, score, named):
    assert main(["forecast", "--fit", saved_fit, "--score", score]) == 2
    err = capsys.readouterr().err
    assert named in err
    assert "error:" in err
    assert "Traceback" not in err


def test_forecast_bad_plot_path_fails_before_loading(tmp_path, capsys):
    args = ["forecast", "--fit", str(tmp_path / "missing.nc"), "--plot", str(tmp_path / "f.txt")]
    assert main(args) == 2
    assert "--plot" in capsys.readouterr().err


def test_whatif_times_and_values(saved_fit, capsys):
    base = ["whatif", "--fit", saved_fit, "--family", "family-00", "--factor", "params_b=30"]
    base += ["--factor", "tokens_b=1000", "--vary", "tokens_b"]
    assert main([*base, "--times", "0.5,1,2", "--json"]) == 0
    records = _json_out(capsys)
    assert len(records) == 3 * 8
    assert sorted({r["tokens_b"] for r in records}) == [500.0, 1000.0, 2000.0]
    assert sorted({r["times"] for r in records}) == [0.5, 1.0, 2.0]
    for r in records:
        assert r["5%"] <= r["25%"] <= r["75%"] <= r["95%"]
        assert r["5%"] <= r["mean"] <= r["95%"]
    assert main([*base, "--values", "1500,3000", "--task", "task-03", "--csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "task,tokens_b,mean,5%,25%,75%,95%"
    assert [line.split(",")[:2] for line in lines[1:]] == [
        ["task-03", "1500.0"],
        ["task-03", "3000.0"],
    ]


def test_whatif_needs_exactly_one_of_times_and_values(saved_fit, capsys):
    base = ["whatif", "--fit", saved_fit, "--factor", "tokens_b=1000", "--vary", "tokens_b"]
    assert main(base) == 2
    assert "give --values V1,V2,... or --times M1,M2,..." in capsys.readouterr().err
    assert main([*base, "--values", "1,2", "--times", "1,2"]) == 2
    assert main(["whatif", "--fit", saved_fit, "--vary", "tokens_b", "--times", "1,2"]) == 2
    assert "--factor tokens_b=" in capsys.readouterr().err
    assert main(["whatif", "--fit", saved_fit, "--vary", "colour", "--values", "1,2"]) == 2
    assert "factor 'colour' is not used by the model" in capsys.readouterr().err


def test_next_budget_and_targets(saved_fit, mock_fitted, capsys):
    assert main(["next", "--fit", saved_fit, "--budget", "4", "--json"]) == 0
    plan = pd.DataFrame(_json_out(capsys))
    assert plan["rank"].tolist() == [1, 2, 3, 4]
    assert plan.columns.tolist() == [
        "rank",
        "llm",
        "task",
        "expected_gain",
        "cumulative_gain",
        "predicted",
        "predicted_sd",
    ]
    assert (plan["expected_gain"] > 0).all()
    assert plan["cumulative_gain"].tolist() == pytest.approx(
        plan["expected_gain"].cumsum().tolist()
    )
    scores = mock_fitted.data_.scores
    observed = set(zip(scores["llm"], scores["task"], strict=True))
    assert not set(zip(plan["llm"], plan["task"], strict=True)) & observed
    assert main(["next", "--fit", saved_fit, "--budget", "2", "--target", "llm:llm-000"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(
        "The 2 evaluations that most reduce the uncertainty about the untested cells of llm-000"
    )
    assert len([line for line in out.splitlines() if line.split()[:1] in (["1"], ["2"])]) == 2


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("llm:nobody", "unknown LLM 'nobody'"),
        ("row:llm-000", "--target is matrix, llm:NAME or task:NAME"),
    ],
)
def test_next_bad_target_exits_2(saved_fit, capsys, target, message):
    assert main(["next", "--fit", saved_fit, "--target", target]) == 2
    assert message in capsys.readouterr().err


def test_next_budget_must_be_positive(saved_fit, capsys):
    assert main(["next", "--fit", saved_fit, "--budget", "0"]) == 2
    assert "--budget" in capsys.readouterr().err


def test_importance_coefficients_and_by_category(saved_fit, mock_fitted, tmp_path, capsys):
    from bayes_cpp.importance import by_category, coefficients

    assert main(["importance", "--fit", saved_fit, "--json"]) == 0
    table = pd.DataFrame(_json_out(capsys))
    assert table.columns.tolist() == ["side", "factor", "on", "mean", "sd", "5%", "95%"]
    expected = coefficients(mock_fitted)
    assert table["mean"].tolist() == pytest.approx(expected["mean"].tolist())
    assert table["5%"].tolist() == pytest.approx(expected["lower"].tolist())
    figure = tmp_path / "importance.png"
    assert (
        main(["importance", "--fit", saved_fit, "--by-category", "--csv", "--plot", str(figure)])
        == 0
    )
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert lines[0] == "factor,category,mean,sd,5%,95%"
    assert len(lines) - 1 == len(by_category(mock_fitted))
    assert f"figure: {figure}" in captured.err  # CSV on stdout stays parseable
    assert figure.stat().st_size > 10_000


def test_similar_llms_and_tasks(saved_fit, mock_fitted, capsys):
    from bayes_cpp.similarity import most_similar

    assert main(["similar", "llm-000", "--fit", saved_fit, "-n", "3", "--json"]) == 0
    near = pd.DataFrame(_json_out(capsys))
    assert near.columns.tolist() == ["name", "group", "distance", "5%", "95%"]
    expected = most_similar(mock_fitted, "llm-000", n=3)
    assert near["name"].tolist() == expected["name"].tolist()
    assert near["distance"].is_monotonic_increasing
    assert "llm-000" not in set(near["name"])
    assert main(["similar", "task-00", "--side", "task", "--fit", saved_fit, "-n", "2"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("The 2 tasks that behave most like task-00")
    assert main(["similar", "nobody", "--fit", saved_fit]) == 2
    assert "nobody" in capsys.readouterr().err


def test_report_writes_the_markdown_and_its_figures(saved_fit, tmp_path, capsys):
    out = tmp_path / "report" / "fit.md"
    assert main(["report", "--fit", saved_fit, "--out", str(out), "--html"]) == 0
    written = [line.removeprefix("wrote ") for line in capsys.readouterr().out.splitlines()]
    assert str(out) in written
    assert str(out.with_suffix(".html")) in written
    text = out.read_text()
    assert text.startswith("# bayes_cpp fit: hbmf on ")
    assert "* 24 LLMs x 8 tasks, " in text
    assert "NOT CONVERGED" in text  # the mock fit's prior draws fail the checks, said first
    for path in written:
        if path.endswith(".png"):
            assert Path(path).stat().st_size > 5_000
            assert Path(path).name in text  # the page links its figures


def test_question_commands_need_one_fit_source(saved_fit, capsys):
    assert main(["importance"]) == 2
    assert "give --fit FIT.nc" in capsys.readouterr().err
    assert main(["importance", "--fit", saved_fit, "--dataset", "cpp-crowdsourced"]) == 2
    assert "not both" in capsys.readouterr().err


def test_dataset_source_fits_once_then_uses_the_cache(
    sim, monkeypatch, capsys, mock_sampling, tmp_path
):
    import bayes_cpp.cli as cli
    from bayes_cpp import datasets

    monkeypatch.setattr(datasets, "load", lambda name, **kw: sim.data)
    monkeypatch.setattr(
        cli, "_DEFAULT_FIT", {**cli._DEFAULT_FIT, "draws": 20, "tune": 5, "chains": 2}
    )
    args = ["similar", "llm-000", "--dataset", "toy", "-n", "2", "--json"]
    assert main(args) == 0
    first = capsys.readouterr()
    assert "fitting hbmf on toy: 2 chains x 25 iterations" in first.err
    assert "cached in " in first.err
    assert main(args) == 0
    second = capsys.readouterr()
    assert "using the cached fit of hbmf on toy" in second.err
    assert "fitting" not in second.err
    assert json.loads(second.out) == json.loads(first.out)  # the same fit answers
    # A question reads the cached fit's posterior only; the report needs every group.
    assert main(["report", "--dataset", "toy", "--out", str(tmp_path / "r.md")]) == 0
    assert "using the cached fit" in capsys.readouterr().err
    assert main([*args, "--no-cache"]) == 0
    assert "fitting hbmf on toy" in capsys.readouterr().err
