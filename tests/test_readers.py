"""Tests of the CSV readers: formats real files use, and one readable error per bad file."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bayes_cpp import (
    CollaborativeData,
    DataError,
    DataWarning,
    read_llm_factors_csv,
    read_long_csv,
    read_task_factors_csv,
    read_wide_csv,
)
from bayes_cpp.readers import read_csv_frame


def write(tmp_path: Path, text: str, name: str = "data.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def problems_of(call: object, *args: object, **kwargs: object) -> tuple[str, ...]:
    with pytest.raises(DataError) as info:
        call(*args, **kwargs)  # type: ignore[operator]
    return info.value.problems


# ------------------------------------------------------------ wide scores
def test_wide_csv_like_real_files(tmp_path: Path) -> None:
    """UTF-8 BOM, empty first header cell, '-' and empty cells as missing."""
    text = (
        "\ufeff,ARC,HellaSwag,MMLU\n"
        "LLaMA-7B,51.0,-,35.1\n"
        "Falcon-7B,47.9,78.1,\n"
        "MPT-7B, 47.7 ,77.6,30.8\n"
    )
    path = write(tmp_path, text)
    data = read_wide_csv(path, score_range=(0, 100))
    assert data.llm_names == ["LLaMA-7B", "Falcon-7B", "MPT-7B"]
    assert data.task_names == ["ARC", "HellaSwag", "MMLU"]
    assert data.n_observed == 7
    wide = data.to_wide()
    expected = pd.DataFrame(
        [[51.0, np.nan, 35.1], [47.9, 78.1, np.nan], [47.7, 77.6, 30.8]],
        index=pd.Index(["LLaMA-7B", "Falcon-7B", "MPT-7B"], name="llm"),
        columns=pd.Index(["ARC", "HellaSwag", "MMLU"], name="task"),
    )
    pd.testing.assert_frame_equal(wide, expected)


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_wide_csv_other_missing_markers_and_blank_lines(tmp_path: Path, newline: str) -> None:
    lines = ["model,x,y,", "a,NA,0.5,", "b,0.25,n/a,", "", "c,—,0.75,", ",,,", ""]
    data = read_wide_csv(write(tmp_path, newline.join(lines)), score_range=(0, 1))
    assert data.llm_names == ["a", "b", "c"]
    assert data.scores.to_numpy().tolist() == [["a", "y", 0.5], ["b", "x", 0.25], ["c", "y", 0.75]]


def test_wide_csv_task_rows(tmp_path: Path) -> None:
    text = ",a,b,c\nx,50,60,-\ny,,70,80\n"
    data = read_wide_csv(write(tmp_path, text), orientation="task_rows", score_range=(0, 100))
    assert data.llm_names == ["a", "b", "c"]
    assert data.task_names == ["x", "y"]
    assert data.to_wide().loc["b"].tolist() == [60.0, 70.0]
    assert data.to_wide().loc["c", "y"] == 80.0
    assert np.isnan(data.to_wide().loc["a", "y"])


def test_wide_csv_infers_bounds_with_warning_naming_file(tmp_path: Path) -> None:
    path = write(tmp_path, ",x\na,0.5\nb,0.7\n", name="fractions.csv")
    with pytest.warns(DataWarning, match=rf"assumed 0\.\.1 .*\({path}\)$"):
        data = read_wide_csv(path)
    assert data.tasks.loc["x", "hi"] == 1.0


def test_wide_csv_bad_cells_are_named_by_llm_and_task(tmp_path: Path) -> None:
    path = write(tmp_path, ",x,y\na,50,abc\nb,inf,20\nc,200,30\n")
    with pytest.raises(DataError) as info:
        read_wide_csv(path, score_range=(0, 100))
    assert info.value.problems == (
        "cell (llm='a', task='y'): score 'abc' is not a number",
        "cell (llm='b', task='x'): score 'inf' is not finite",
    )
    assert info.value.source == str(path)
    path = write(tmp_path, ",x,y\na,50,10\nc,200,30\n")
    assert problems_of(read_wide_csv, path, score_range=(0, 100)) == (
        "cell (llm='c', task='x'): score 200 outside the task's bounds [0, 100]",
    )


def test_wide_csv_duplicate_and_unnamed_labels(tmp_path: Path) -> None:
    path = write(tmp_path, ",x,y\na,1,2\na ,3,4\n,5,6\n")
    assert problems_of(read_wide_csv, path, score_range=(0, 10)) == (
        "the LLM at position 2 of the score matrix has scores but no name",
        "duplicate LLM name(s) 'a' in the score matrix",
    )
    path = write(tmp_path, ",x,x\na,1,2\n")
    assert problems_of(read_wide_csv, path) == ("duplicate column header(s) 'x'",)


def test_wide_csv_needs_two_columns(tmp_path: Path) -> None:
    assert problems_of(read_wide_csv, write(tmp_path, "llm\na\nb\n")) == (
        "a wide score file needs a name column and at least one score column",
    )


def test_wide_csv_all_missing(tmp_path: Path) -> None:
    assert problems_of(read_wide_csv, write(tmp_path, ",x,y\na,-,\nb,,NA\n")) == (
        "no observed scores (every cell of the score matrix is missing)",
    )


def test_wide_csv_bad_orientation(tmp_path: Path) -> None:
    assert problems_of(read_wide_csv, write(tmp_path, ",x\na,1\n"), orientation="rows") == (
        "orientation must be 'llm_rows' or 'task_rows', not 'rows'",
    )


# ------------------------------------------------------------ long scores
def test_long_csv(tmp_path: Path) -> None:
    text = "llm,task,score\na,x,0.5\nb,x,0.25\na,y,\nb,y,0.75\n"
    with pytest.warns(DataWarning, match=r"dropped: \(llm, task\) = \('a', 'y'\)"):
        data = read_long_csv(write(tmp_path, text), score_range=(0, 1))
    assert data.n_observed == 3
    assert data.to_wide().loc["b"].tolist() == [0.25, 0.75]


def test_long_csv_other_column_names_and_tables(tmp_path: Path) -> None:
    text = "model,benchmark,acc,extra\na,x,50,foo\nb,x,60,bar\n"
    llms = pd.DataFrame({"family": ["f", "g"], "size": ["7", "13"]}, index=["a", "b"])
    tasks = pd.DataFrame({"category": ["qa"], "lo": [0], "hi": [100]}, index=["x"])
    llms_before, tasks_before = llms.copy(), tasks.copy()
    data = read_long_csv(
        write(tmp_path, text), llm="model", task="benchmark", score="acc", llms=llms, tasks=tasks
    )
    assert data.to_wide()["x"].tolist() == [50.0, 60.0]
    assert data.llms["size"].tolist() == [7.0, 13.0]
    pd.testing.assert_frame_equal(llms, llms_before)
    pd.testing.assert_frame_equal(tasks, tasks_before)


def test_long_csv_errors_list_every_row(tmp_path: Path) -> None:
    text = "llm,task,score\na,x,0.5\nb,x,abc\na,x,0.7\n,y,0.1\n"
    path = write(tmp_path, text)
    with pytest.raises(DataError) as info:
        read_long_csv(path, score_range=(0, 1))
    assert info.value.problems == (
        "row 3: llm name is missing",
        "row 1 (llm='b', task='x'): score 'abc' is not a number",
        "duplicate scores for llm='a', task='x' at rows 0, 2 (values 0.5, 0.7); "
        "pass aggregate='mean' (or median/first/last/max/min)",
    )
    assert str(info.value).startswith(f"3 problems found in {path}:")


def test_long_csv_missing_columns(tmp_path: Path) -> None:
    assert problems_of(read_long_csv, write(tmp_path, "model,task,acc\na,x,1\n")) == (
        "long frame lacks column(s) 'llm', 'score'; it has 'model', 'task', 'acc' "
        "(pass llm=, task=, score= to name them)",
    )


def test_long_csv_header_only(tmp_path: Path) -> None:
    assert problems_of(read_long_csv, write(tmp_path, "llm,task,score\n")) == (
        "no scores given (the scores frame is empty)",
    )


# ---------------------------------------------------------- factor tables
def test_llm_factors_csv_with_llm_column(tmp_path: Path) -> None:
    text = "family,llm,size,arch\nllama,a, 7 ,dense\nllama,b,,moe\n"
    table = read_llm_factors_csv(write(tmp_path, text))
    assert table.index.name == "llm"
    assert table.index.tolist() == ["a", "b"]
    assert list(table.columns) == ["family", "size", "arch"]
    assert table.loc["a", "size"] == "7 "  # still text; CollaborativeData converts it
    scores = pd.DataFrame({"llm": ["a", "b"], "task": ["x", "x"], "score": [1.0, 2.0]})
    data = CollaborativeData(scores, table, score_range=(0, 10))
    assert data.llms["size"].tolist()[0] == 7.0
    assert np.isnan(data.llms["size"].tolist()[1])
    assert data.llms["arch"].tolist() == ["dense", "moe"]
    assert data.families == ["llama"]


def test_llm_factors_csv_first_column_and_name_column(tmp_path: Path) -> None:
    path = write(tmp_path, "\ufeff,family,params\na,f,7\nb,g,13\n")
    table = read_llm_factors_csv(path)
    assert table.index.tolist() == ["a", "b"]
    assert table["params"].tolist() == ["7", "13"]
    path = write(tmp_path, "family,name,params\nf,a,7\n")
    assert read_llm_factors_csv(path, name_column="name").index.tolist() == ["a"]
    assert problems_of(read_llm_factors_csv, path, name_column="model") == (
        "no column 'model'; columns are ['family', 'name', 'params']",
    )


def test_task_factors_csv_task_rows(tmp_path: Path) -> None:
    text = "task,category,lo,hi,higher_is_better,chance,shots,output_format\n"
    text += "arc,reasoning,0,100,true,0.25,25,mc\nppl,language,0,50,false,0,0,generate\n"
    table = read_task_factors_csv(write(tmp_path, text))
    assert table.index.name == "task"
    assert table.index.tolist() == ["arc", "ppl"]
    assert table.loc["ppl", "higher_is_better"] == "false"
    scores = pd.DataFrame({"llm": ["a", "a"], "task": ["arc", "ppl"], "score": [50.0, 10.0]})
    data = CollaborativeData(scores, tasks=table)
    tasks = data.tasks
    assert tasks["higher_is_better"].tolist() == [True, False]
    assert tasks["hi"].tolist() == [100.0, 50.0]
    assert tasks["chance"].tolist() == [0.25, 0.0]
    assert tasks["shots"].tolist() == [25.0, 0.0]
    assert tasks["output_format"].tolist() == ["mc", "generate"]
    assert data.to_unit([10.0], ["ppl"]).tolist() == [pytest.approx(0.8)]


def test_task_factors_csv_task_columns(tmp_path: Path) -> None:
    """Tasks as columns, field names in the first column (auto-detected)."""
    text = "\ufefffield,arc,gsm8k\ncategory,reasoning,math\nlo,0,0\nhi,100,100\nchance,0.25,0\n"
    table = read_task_factors_csv(write(tmp_path, text))
    assert table.index.name == "task"
    assert table.index.tolist() == ["arc", "gsm8k"]
    assert list(table.columns) == ["category", "lo", "hi", "chance"]
    assert table.loc["gsm8k", "category"] == "math"
    forced = read_task_factors_csv(write(tmp_path, text), orientation="task_columns")
    pd.testing.assert_frame_equal(forced, table)


def test_task_factors_csv_rename(tmp_path: Path) -> None:
    text = ",arc,gsm8k\nability,reasoning,math\nn_shot,25,8\n"
    table = read_task_factors_csv(write(tmp_path, text), rename={"ability": "category"})
    assert table.loc["arc", "category"] == "reasoning"
    assert table.loc["gsm8k", "n_shot"] == "8"
    rows = "name,ability\narc,reasoning\n"
    table = read_task_factors_csv(
        write(tmp_path, rows), name_column="name", rename={"ability": "category"}
    )
    assert table.to_dict() == {"category": {"arc": "reasoning"}}


def test_task_factors_bad_orientation(tmp_path: Path) -> None:
    path = write(tmp_path, "task,category\narc,r\n")
    assert problems_of(read_task_factors_csv, path, orientation="sideways") == (
        "orientation must be 'auto', 'task_rows' or 'task_columns', not 'sideways'",
    )


def test_readers_and_tables_together(tmp_path: Path) -> None:
    llms = read_llm_factors_csv(write(tmp_path, "llm,family,size\na,f,7\nb,f,13\n", "l.csv"))
    tasks = read_task_factors_csv(
        write(tmp_path, ",x,y\ncategory,r,m\nlo,0,0\nhi,1,100\n", "t.csv")
    )
    data = read_wide_csv(
        write(tmp_path, ",x,y\na,0.5,40\nb,-,60\n", "s.csv"), llms=llms, tasks=tasks
    )
    assert data.tasks["hi"].tolist() == [1.0, 100.0]
    assert data.llm_factor_names == ["size"]
    assert data.to_wide().loc["b", "y"] == 60.0


# ------------------------------------------------------------- bad files
def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.csv"
    for reader in (read_csv_frame, read_wide_csv, read_long_csv, read_llm_factors_csv):
        assert problems_of(reader, path) == (f"file not found: {path}",)
    assert problems_of(read_task_factors_csv, path) == (f"file not found: {path}",)


def test_directory_instead_of_file(tmp_path: Path) -> None:
    assert problems_of(read_wide_csv, tmp_path) == (f"{tmp_path} is a directory, not a CSV file",)


@pytest.mark.parametrize("text", ["", "\n\n", "  \n\t\n", "\ufeff"])
def test_empty_file(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(DataError) as info:
        read_long_csv(path)
    assert info.value.problems == ("the file is empty",)
    assert info.value.source == str(path)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("llm,task,score\na,x,1\nb,x,2,3\n", "malformed CSV: Expected 3 fields in line 3, saw 4"),
        # a surplus cell in the first data row is not silently taken as an index
        ("llm,task,score\na,x,1,9\n", "malformed CSV: Expected 3 fields in line 2, saw 4"),
        ('llm,task,score\na,"x,1\n', "malformed CSV: unexpected end of data"),
        ("llm,task,score,score\na,x,1,2\n", "duplicate column header(s) 'score'"),
        ("llm, task,task \na,x,1\n", "duplicate column header(s) 'task'"),
        ("llm,,score\na,x,1\n", "column 2 has values but no header"),
        ("llm,task\x00,score\na,x,1\n", "the file contains NUL bytes; it is not a CSV text file"),
    ],
)
def test_malformed_csv(tmp_path: Path, text: str, problem: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(DataError) as info:
        read_long_csv(path)
    assert info.value.problems == (problem,)
    assert info.value.source == str(path)


def test_not_utf8(tmp_path: Path) -> None:
    path = write(tmp_path, "llm,task,score\nmodèle,x,1\n", encoding="latin-1")
    assert problems_of(read_long_csv, path) == (
        f"{path} is not UTF-8 text (invalid continuation byte at byte 18); re-save it as UTF-8 "
        "CSV (Excel: 'CSV UTF-8 (comma delimited)')",
    )


@pytest.mark.parametrize(
    ("encoding", "what"),
    [("utf-16", "UTF-16"), ("utf-32", "UTF-32"), ("utf-16-le", "UTF-16 text without a byte-order")],
)
@pytest.mark.parametrize(
    "reader", [read_wide_csv, read_long_csv, read_llm_factors_csv, read_task_factors_csv]
)
def test_utf16_files_get_a_resave_hint(tmp_path: Path, encoding: str, what: str, reader) -> None:
    path = write(tmp_path, "llm,task,score\na,x,1\n", encoding=encoding)
    (problem,) = problems_of(reader, path)
    assert what in problem
    assert "re-save it as UTF-8" in problem


@pytest.mark.parametrize(("sep", "name"), [(";", "semicolon (';')"), ("\t", "tab")])
@pytest.mark.parametrize(
    "reader", [read_wide_csv, read_long_csv, read_llm_factors_csv, read_task_factors_csv]
)
def test_other_delimiters_get_a_hint(tmp_path: Path, sep: str, name: str, reader) -> None:
    # A European Excel export: semicolons, decimal commas.
    text = sep.join(["llm", "family", "params_b"]) + "\n" + sep.join(["a", "f", "7,5"]) + "\n"
    path = write(tmp_path, text)
    with pytest.raises(DataError) as info:
        reader(path)
    (problem,) = info.value.problems
    assert info.value.source == str(path)
    assert f"looks {name}-delimited" in problem
    assert "save it comma-separated" in problem


def test_problems_in_factor_tables_are_reported_under_their_file(tmp_path: Path) -> None:
    scores = write(tmp_path, "llm,task,score\na,x,50\nb,x,60\n", name="scores.csv")
    llms = write(tmp_path, "llm,family,params_b\na,f,seven\nb,f,13\n", name="llms.csv")
    tasks = write(tmp_path, "task,category,chance\nx,r,2\n", name="tasks.csv")
    with pytest.raises(DataError) as info:
        read_long_csv(scores, llms=read_llm_factors_csv(llms))
    assert info.value.source == str(llms)
    assert info.value.problems == (
        "LLM table, row 'a', column 'params_b': value 'seven' is not a number",
    )
    # Problems in two files: each line names its file, the header the score file.
    with pytest.raises(DataError) as info:
        read_long_csv(scores, llms=read_llm_factors_csv(llms), tasks=read_task_factors_csv(tasks))
    assert info.value.source == str(scores)
    assert info.value.problems == (
        f"{llms}: LLM table, row 'a', column 'params_b': value 'seven' is not a number",
        f"{tasks}: task 'x': chance level 2 must be in [0, 1) (a fraction of the lo..hi range, "
        "e.g. 0.25 for 4-way multiple choice)",
    )
    # Warnings name the factor file too, and the tables forget the file once read.
    good = write(tmp_path, "llm,family,size\na,f,\nb,,\n", name="llms2.csv")
    with pytest.warns(DataWarning) as record:
        data = read_long_csv(scores, llms=read_llm_factors_csv(good))
    messages = [str(w.message) for w in record]
    llm_messages = [m for m in messages if "LLM" in m]
    assert len(llm_messages) == 2  # an empty factor, LLMs without a family
    assert all(m.endswith(f"({good})") for m in llm_messages), messages
    assert next(m for m in messages if "bounds not given" in m).endswith(f"({scores})")
    assert data.llms.attrs == {}


def test_trailing_empty_columns_are_ignored(tmp_path: Path) -> None:
    frame = read_csv_frame(io.StringIO("llm,task,score,,\na,x,1,,\n"))
    assert list(frame.columns) == ["llm", "task", "score"]
    assert frame.to_numpy().tolist() == [["a", "x", "1"]]


def test_read_csv_frame_from_stringio() -> None:
    frame = read_csv_frame(io.StringIO("\ufeff a ,b\n1, 2\n3,-\n"))
    assert list(frame.columns) == ["a", "b"]
    assert frame.to_numpy().tolist() == [["1", "2"], ["3", "-"]]
    with pytest.raises(DataError) as info:
        read_csv_frame(io.StringIO(""))
    assert info.value.problems == ("the file is empty",)
    assert info.value.source == "<text>"
