"""Tests of CollaborativeData: validation errors, warnings, immutability, round trips."""

from __future__ import annotations

import decimal
import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest

from bayes_cpp import CollaborativeData, DataError, DataWarning
from bayes_cpp.exceptions import BayesCPPError


# ---------------------------------------------------------------- helpers
def long_frame(rows: list[tuple[Any, Any, Any]]) -> pd.DataFrame:
    """A long score frame from (llm, task, score) tuples (object columns)."""
    frame = pd.DataFrame(rows, columns=["llm", "task", "score"], dtype=object)
    return frame


def problems_of(call: Any, *args: Any, **kwargs: Any) -> tuple[str, ...]:
    """Run a call that must fail and return its problem lines."""
    with pytest.raises(DataError) as info:
        call(*args, **kwargs)
    return info.value.problems


@pytest.fixture
def scores() -> pd.DataFrame:
    """Three LLMs x two tasks, percent scale, one cell unobserved."""
    return pd.DataFrame(
        {
            "llm": ["a", "a", "b", "b", "c"],
            "task": ["x", "y", "x", "y", "x"],
            "score": [50.0, 70.0, 60.0, 20.0, 80.0],
        }
    )


@pytest.fixture
def llm_table() -> pd.DataFrame:
    """LLM factors with a NaN numeric factor and a text factor with a gap."""
    return pd.DataFrame(
        {
            "llm": ["a", "b", "c"],
            "family": ["f1", "f1", "f2"],
            "size": [7.0, np.nan, 70.0],
            "arch": ["dense", None, "moe"],
        }
    )


@pytest.fixture
def task_table() -> pd.DataFrame:
    """Task factors: y is lower-is-better on 0..100, x is 4-way multiple choice."""
    return pd.DataFrame(
        {
            "category": ["reasoning", "math"],
            "lo": [0.0, 0.0],
            "hi": [100.0, 100.0],
            "higher_is_better": [True, False],
            "chance": [0.25, 0.0],
            "shots": [5, 0],
            "output_format": ["mc", "generate"],
            "language": ["en", None],
        },
        index=pd.Index(["x", "y"], name="task"),
    )


@pytest.fixture
def data(
    scores: pd.DataFrame, llm_table: pd.DataFrame, task_table: pd.DataFrame
) -> CollaborativeData:
    return CollaborativeData(scores, llm_table, task_table, name="demo", notes=["from a test"])


# ----------------------------------------------------------- basic access
def test_basic_shape_and_matrix(data: CollaborativeData) -> None:
    assert (data.n_llms, data.n_tasks, data.n_observed) == (3, 2, 5)
    assert data.llm_names == ["a", "b", "c"]
    assert data.task_names == ["x", "y"]
    assert data.density == pytest.approx(5 / 6)
    wide = data.to_wide()
    assert wide.index.name == "llm"
    assert wide.columns.name == "task"
    assert wide.loc["a", "x"] == 50.0
    assert wide.loc["b", "y"] == 20.0
    assert np.isnan(wide.loc["c", "y"])
    assert data.families == ["f1", "f2"]
    assert data.categories == ["reasoning", "math"]
    assert data.llm_factor_names == ["size"]
    assert data.task_factor_names == ["shots"]
    assert data.observed_counts("llm").to_dict() == {"a": 2, "b": 2, "c": 1}
    assert data.observed_counts("task").to_dict() == {"x": 3, "y": 2}


def test_table_contents_are_typed(data: CollaborativeData) -> None:
    llms = data.llms
    assert list(llms.columns) == ["family", "size", "arch"]
    assert llms["size"].dtype == np.float64
    assert np.isnan(llms.loc["b", "size"])
    assert llms.loc["a", "arch"] == "dense"
    assert pd.isna(llms.loc["b", "arch"])
    tasks = data.tasks
    assert list(tasks.columns[:7]) == [
        "category",
        "lo",
        "hi",
        "higher_is_better",
        "chance",
        "shots",
        "output_format",
    ]
    assert tasks["higher_is_better"].tolist() == [True, False]
    assert tasks.loc["x", "chance"] == 0.25
    assert tasks.loc["y", "output_format"] == "generate"


def test_accessors_return_copies(data: CollaborativeData) -> None:
    scores, llms, tasks = data.scores, data.llms, data.tasks
    scores.loc[0, "score"] = -1.0
    llms.loc["a", "family"] = "changed"
    tasks.loc["x", "lo"] = 99.0
    assert data.scores.loc[0, "score"] == 50.0
    assert data.llms.loc["a", "family"] == "f1"
    assert data.tasks.loc["x", "lo"] == 0.0


def test_defaults_without_tables() -> None:
    data = CollaborativeData(long_frame([("a", "x", 0.5), ("b", "x", 0.25)]), score_range=(0, 1))
    assert data.families == ["a", "b"]
    assert data.categories == ["all"]
    tasks = data.tasks
    assert tasks.loc["x", ["lo", "hi", "chance"]].tolist() == [0.0, 1.0, 0.0]
    assert bool(tasks.loc["x", "higher_is_better"]) is True


def test_describe_and_repr(data: CollaborativeData) -> None:
    assert repr(data) == "<CollaborativeData 'demo': 3 llm x 2 task, 5 observed (83.3%)>"
    text = data.describe()
    assert text.splitlines()[0] == "CollaborativeData 'demo': 3 LLMs x 2 tasks, 5 observed (83.3%)"
    assert "  LLM factors: size" in text
    assert "  note: from a test" in text


def test_equality(
    data: CollaborativeData,
    scores: pd.DataFrame,
    llm_table: pd.DataFrame,
    task_table: pd.DataFrame,
) -> None:
    assert data == CollaborativeData(scores, llm_table, task_table)
    other = scores.assign(score=scores["score"].where(scores.index != 0, 51.0))
    assert data != CollaborativeData(other, llm_table, task_table)
    assert data != "not data"


# ------------------------------------------------------------- errors
def test_data_error_is_one_value_error_type() -> None:
    err = DataError(["first problem", "second problem"], source="f.csv")
    assert isinstance(err, ValueError)
    assert isinstance(err, BayesCPPError)
    assert err.problems == ("first problem", "second problem")
    assert str(err) == "2 problems found in f.csv:\n  - first problem\n  - second problem"
    assert str(DataError(["only"])) == "1 problem found:\n  - only"


def test_non_numeric_score() -> None:
    frame = long_frame([("a", "x", 0.5), ("b", "x", "abc"), ("b", "y", "1.0.0")])
    problems = problems_of(CollaborativeData, frame, score_range=(0, 1))
    assert problems == (
        "row 1 (llm='b', task='x'): score 'abc' is not a number",
        "row 2 (llm='b', task='y'): score '1.0.0' is not a number",
    )


@pytest.mark.parametrize("value", [np.inf, "inf", "-Infinity", "1e400"])
def test_non_finite_score(value: Any) -> None:
    frame = long_frame([("a", "x", 0.5), ("b", "x", value)])
    problems = problems_of(CollaborativeData, frame, score_range=(0, 1))
    assert problems == (f"row 1 (llm='b', task='x'): score {value!r} is not finite",)


def test_nan_like_objects_are_missing() -> None:
    frame = long_frame(
        [("a", "x", 0.5), ("b", "x", decimal.Decimal("NaN")), ("c", "x", np.float32("nan"))]
    )
    with pytest.warns(DataWarning, match=r"^2 row\(s\) with a missing score were dropped"):
        data = CollaborativeData(frame, score_range=(0, 1))
    assert data.llm_names == ["a"]
    llms = pd.DataFrame(
        {"family": ["f"], "size": [decimal.Decimal("NaN")], "arch": ["NaN"]}, index=["a"]
    )
    with pytest.warns(DataWarning) as record:
        data = CollaborativeData(frame.iloc[:1], llms, score_range=(0, 1))
    assert [str(w.message) for w in record] == [
        "LLM factor 'size' is missing for every LLM",
        "LLM factor 'arch' is missing for every LLM",
    ]
    assert data.llms["size"].isna().all()
    assert data.llms["arch"].isna().all()


def test_numeric_strings_are_accepted() -> None:
    frame = long_frame([("a", "x", " 50 "), ("b", "x", "1,000"), ("c", "x", True)])
    data = CollaborativeData(frame, score_range=(0, 2000))
    assert data.to_wide()["x"].tolist() == [50.0, 1000.0, 1.0]


def test_duplicates_are_an_error() -> None:
    frame = long_frame([("a", "x", 0.5), ("b", "x", 0.1), ("a", "x", 0.7), ("b", "x", 0.2)])
    problems = problems_of(CollaborativeData, frame, score_range=(0, 1))
    assert problems == (
        "duplicate scores for llm='a', task='x' at rows 0, 2 (values 0.5, 0.7); "
        "pass aggregate='mean' (or median/first/last/max/min)",
        "duplicate scores for llm='b', task='x' at rows 1, 3 (values 0.1, 0.2); "
        "pass aggregate='mean' (or median/first/last/max/min)",
    )


def test_duplicates_after_stripping_names_are_an_error() -> None:
    frame = long_frame([("a", "x", 0.5), ("a ", "x", 0.7)])
    with pytest.raises(DataError) as info:
        CollaborativeData(frame, score_range=(0, 1))
    assert info.value.problems[0].startswith("duplicate scores for llm='a', task='x' at rows 0, 1")


@pytest.mark.parametrize(
    ("policy", "expected"),
    [("mean", 0.4), ("median", 0.4), ("first", 0.2), ("last", 0.6), ("max", 0.6), ("min", 0.2)],
)
def test_duplicates_aggregated_with_policy(policy: Any, expected: float) -> None:
    frame = long_frame([("a", "x", 0.2), ("b", "x", 0.9), ("a", "x", 0.6)])
    with pytest.warns(
        DataWarning,
        match=rf"^1 duplicated \(llm, task\) pair\(s\) combined with '{policy}': \('a', 'x'\)$",
    ):
        data = CollaborativeData(frame, score_range=(0, 1), aggregate=policy)
    assert data.n_observed == 2
    assert data.to_wide().loc["a", "x"] == pytest.approx(expected)
    assert data.to_wide().loc["b", "x"] == 0.9


def test_unknown_aggregate_policy() -> None:
    frame = long_frame([("a", "x", 0.2)])
    problems = problems_of(CollaborativeData, frame, score_range=(0, 1), aggregate="sum")
    assert problems == (
        "aggregate must be one of 'mean', 'median', 'first', 'last', 'max', 'min', not 'sum'",
    )


def test_score_outside_declared_bounds(task_table: pd.DataFrame) -> None:
    frame = long_frame([("a", "x", 101.0), ("a", "y", 50.0), ("b", "y", -0.5)])
    problems = problems_of(CollaborativeData, frame, tasks=task_table)
    assert problems == (
        "row 0 (llm='a', task='x'): score 101 outside the task's bounds [0, 100]",
        "row 2 (llm='b', task='y'): score -0.5 outside the task's bounds [0, 100]",
    )


def test_bounds_errors_name_the_caller_rows() -> None:
    """Row numbers stay those of the caller's frame after missing rows are dropped."""
    frame = long_frame([("a", "x", None), ("b", "x", 2.0), ("c", "x", "-"), ("c", "y", -1)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        problems = problems_of(CollaborativeData, frame, score_range=(0, 1))
    assert problems == (
        "row 1 (llm='b', task='x'): score 2 outside the task's bounds [0, 1]",
        "row 3 (llm='c', task='y'): score -1 outside the task's bounds [0, 1]",
    )
    frame = long_frame([("a", "x", 3.0), ("b", "x", 0.5), ("a", "x", 1.0)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        problems = problems_of(CollaborativeData, frame, score_range=(0, 1), aggregate="mean")
    assert problems == ("rows 0, 2 (llm='a', task='x'): score 2 outside the task's bounds [0, 1]",)


def test_huge_integer_score_is_not_finite() -> None:
    frame = long_frame([("a", "x", 10**400)])
    assert problems_of(CollaborativeData, frame, score_range=(0, 1)) == (
        f"row 0 (llm='a', task='x'): score {10**400!r} is not finite",
    )


def test_score_outside_score_range() -> None:
    frame = long_frame([("a", "x", 0.5), ("b", "x", 2.0)])
    problems = problems_of(CollaborativeData, frame, score_range=(0, 1))
    assert problems == ("row 1 (llm='b', task='x'): score 2 outside the task's bounds [0, 1]",)


def test_factor_table_names_without_scores_suggest_close_matches() -> None:
    frame = long_frame([("gpt4", "arc", 0.5), ("llama-2-7b", "arc", 0.4)])
    llms = pd.DataFrame({"family": ["gpt", "llama"]}, index=["gpt-4", "llama-2-7b"])
    tasks = pd.DataFrame({"category": ["r"]}, index=["ARC"])
    problems = problems_of(CollaborativeData, frame, llms, tasks, score_range=(0, 1))
    assert problems == (
        "LLM 'gpt4' has scores but no row in the LLM table (did you mean 'gpt-4'?)",
        "LLM 'gpt-4' in the LLM table matches no scored LLM (did you mean 'gpt4'?); "
        "fix the name, drop the row, or pass allow_unobserved=True to predict for it",
        "task 'arc' has scores but no row in the task table (did you mean 'ARC'?)",
        "task 'ARC' in the task table matches no scored task (did you mean 'arc'?); "
        "fix the name, drop the row, or pass allow_unobserved=True to predict for it",
    )


def test_unmatched_names_are_errors_even_with_allow_unobserved() -> None:
    frame = long_frame([("a", "x", 0.5), ("b", "x", 0.4)])
    llms = pd.DataFrame({"family": ["f"]}, index=["a"])
    problems = problems_of(
        CollaborativeData, frame, llms, score_range=(0, 1), allow_unobserved=True
    )
    assert problems == ("LLM 'b' has scores but no row in the LLM table",)


def test_unobserved_llms_and_tasks(scores: pd.DataFrame, task_table: pd.DataFrame) -> None:
    llms = pd.DataFrame({"family": ["f", "f", "g", "h"]}, index=["a", "b", "c", "new"])
    tasks = pd.concat(
        [task_table, pd.DataFrame({"category": ["math"]}, index=pd.Index(["z"], name="task"))]
    )
    problems = problems_of(CollaborativeData, scores, llms, tasks)
    assert problems == (
        "LLM 'new' in the LLM table matches no scored LLM; "
        "fix the name, drop the row, or pass allow_unobserved=True to predict for it",
        "task 'z' in the task table matches no scored task; "
        "fix the name, drop the row, or pass allow_unobserved=True to predict for it",
    )
    with pytest.warns(
        DataWarning, match=r"assumed 0\.\.100 for task\(s\) 'z' \(observed 20\.\.80\)"
    ):
        data = CollaborativeData(scores, llms, tasks, allow_unobserved=True)
    assert data.llm_names == ["a", "b", "c", "new"]
    assert data.task_names == ["x", "y", "z"]
    assert data.observed_counts("llm")["new"] == 0
    assert data.observed_counts("task")["z"] == 0
    assert data.to_wide().loc["new"].isna().all()
    # z has no bounds and no scores: its range is inferred from the other tasks' scores.
    assert data.tasks.loc["z", ["lo", "hi"]].tolist() == [0.0, 100.0]


def test_unknown_task_category(task_table: pd.DataFrame, scores: pd.DataFrame) -> None:
    problems = problems_of(
        CollaborativeData, scores, tasks=task_table, categories=["reasoning", "maths", "coding"]
    )
    assert problems == (
        "task 'y' has unknown category 'math' (did you mean 'maths'?); "
        "allowed: 'reasoning', 'maths', 'coding'",
    )
    data = CollaborativeData(scores, tasks=task_table, categories=["math", "reasoning"])
    assert data.categories == ["reasoning", "math"]


def test_task_without_category(scores: pd.DataFrame, task_table: pd.DataFrame) -> None:
    tasks = task_table.assign(category=["reasoning", None])
    problems = problems_of(CollaborativeData, scores, tasks=tasks)
    assert problems == ("task(s) 'y' have no category; give each task a category",)
    tasks = task_table.assign(category=["reasoning", "  "])
    problems = problems_of(CollaborativeData, scores, tasks=tasks)
    assert problems == ("task(s) 'y' have no category; give each task a category",)


def test_task_table_without_category_column(scores: pd.DataFrame) -> None:
    tasks = pd.DataFrame({"lo": [0, 0]}, index=["x", "y"])
    problems = problems_of(CollaborativeData, scores, tasks=tasks, score_range=(0, 100))
    assert problems == ("the task table has no 'category' column (the task's ability/category)",)


@pytest.mark.parametrize(("lo", "hi"), [(1.0, 0.0), (5.0, 5.0)])
def test_bad_bounds(lo: float, hi: float) -> None:
    frame = long_frame([("a", "x", 0.5), ("a", "y", 0.5)])
    tasks = pd.DataFrame({"category": ["r", "r"], "lo": [lo, 0], "hi": [hi, 1]}, index=["x", "y"])
    problems = problems_of(CollaborativeData, frame, tasks=tasks)
    assert problems == (f"task 'x': bounds lo={lo:g} >= hi={hi:g}",)


@pytest.mark.parametrize("chance", [1.0, -0.1, 25.0])
def test_bad_chance_level(chance: float) -> None:
    frame = long_frame([("a", "x", 0.5)])
    tasks = pd.DataFrame({"category": ["r"], "chance": [chance]}, index=["x"])
    problems = problems_of(CollaborativeData, frame, tasks=tasks, score_range=(0, 1))
    assert problems == (
        f"task 'x': chance level {chance:g} must be in [0, 1) "
        "(a fraction of the lo..hi range, e.g. 0.25 for 4-way multiple choice)",
    )


def test_higher_is_better_must_be_boolean() -> None:
    frame = long_frame([("a", "x", 0.5), ("a", "y", 0.5)])
    tasks = pd.DataFrame(
        {"category": ["r", "r"], "higher_is_better": ["no", "maybe"]}, index=["x", "y"]
    )
    problems = problems_of(CollaborativeData, frame, tasks=tasks, score_range=(0, 1))
    assert problems == (
        "task table, row 'y', column 'higher_is_better': value 'maybe' is not a number",
    )
    tasks = pd.DataFrame({"category": ["r", "r"], "higher_is_better": [1, 2]}, index=["x", "y"])
    problems = problems_of(CollaborativeData, frame, tasks=tasks, score_range=(0, 1))
    assert problems == ("task 'y': higher_is_better 2 must be true/false (or 1/0)",)
    tasks = pd.DataFrame(
        {"category": ["r", "r"], "higher_is_better": ["No", "yes"]}, index=["x", "y"]
    )
    data = CollaborativeData(frame, tasks=tasks, score_range=(0, 1))
    assert data.tasks["higher_is_better"].tolist() == [False, True]
    tasks = pd.DataFrame({"category": ["r", "r"], "higher_is_better": [0, "yes"]}, index=["x", "y"])
    data = CollaborativeData(frame, tasks=tasks, score_range=(0, 1))
    assert data.tasks["higher_is_better"].tolist() == [False, True]
    tasks = pd.DataFrame(
        {"category": ["r", "r"], "higher_is_better": ["", "FALSE"]}, index=["x", "y"]
    )
    data = CollaborativeData(frame, tasks=tasks, score_range=(0, 1))
    assert data.tasks["higher_is_better"].tolist() == [True, False]  # missing -> default


def test_bound_columns_must_be_numbers() -> None:
    frame = long_frame([("a", "x", 0.5), ("a", "y", 0.5)])
    tasks = pd.DataFrame(
        {"category": ["r", "r"], "lo": ["zero", "none"], "hi": ["1", "one"]}, index=["x", "y"]
    )
    problems = problems_of(CollaborativeData, frame, tasks=tasks)
    assert problems == (
        "task table, row 'x', column 'lo': value 'zero' is not a number",
        "task table, row 'y', column 'lo': value 'none' is not a number",
        "task table, row 'y', column 'hi': value 'one' is not a number",
    )


@pytest.mark.parametrize(
    ("score_range", "message"),
    [
        ((1, 0), "score_range must be two finite numbers lo < hi, not (1, 0)"),
        ((0, np.inf), "score_range must be two finite numbers lo < hi, not (0, inf)"),
        (("a", "b"), "score_range must be two numbers (lo, hi), not ('a', 'b')"),
        ((0, 1, 2), "score_range must be two numbers (lo, hi), not (0, 1, 2)"),
    ],
)
def test_bad_score_range(score_range: Any, message: str) -> None:
    frame = long_frame([("a", "x", 0.5)])
    assert problems_of(CollaborativeData, frame, score_range=score_range) == (message,)


def test_empty_input() -> None:
    empty = pd.DataFrame({"llm": [], "task": [], "score": []})
    assert problems_of(CollaborativeData, empty) == ("no scores given (the scores frame is empty)",)
    assert problems_of(CollaborativeData.from_long, empty) == (
        "no scores given (the scores frame is empty)",
    )
    assert problems_of(CollaborativeData.from_wide, pd.DataFrame()) == (
        "the score matrix is empty (no rows or no columns)",
    )


def test_every_score_missing() -> None:
    frame = long_frame([("a", "x", None), ("b", "x", "-")])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        problems = problems_of(CollaborativeData, frame, score_range=(0, 1))
    assert problems == ("no observed scores (every score is missing)",)
    wide = pd.DataFrame({"x": [np.nan, "-"]}, index=["a", "b"])
    assert problems_of(CollaborativeData.from_wide, wide) == (
        "no observed scores (every cell of the score matrix is missing)",
    )


def test_missing_columns() -> None:
    frame = pd.DataFrame({"model": ["a"], "task": ["x"]})
    assert problems_of(CollaborativeData, frame) == (
        "scores frame lacks column(s) 'llm', 'score'; it has 'model', 'task'",
    )
    assert problems_of(CollaborativeData.from_long, frame) == (
        "long frame lacks column(s) 'llm', 'score'; it has 'model', 'task' "
        "(pass llm=, task=, score= to name them)",
    )
    renamed = CollaborativeData.from_long(
        frame.assign(acc=[0.5]), llm="model", score="acc", score_range=(0, 1)
    )
    assert renamed.to_wide().loc["a", "x"] == 0.5


def test_repeated_columns() -> None:
    frame = pd.DataFrame([["a", "x", 0.5, 0.6]], columns=["llm", "task", "score", "score"])
    assert problems_of(CollaborativeData, frame) == (
        "scores frame has several columns named 'score'",
    )
    assert problems_of(CollaborativeData.from_long, frame) == (
        "long frame has several columns named 'score'",
    )


def test_not_a_dataframe() -> None:
    assert problems_of(CollaborativeData, [("a", "x", 1.0)]) == (
        "scores must be a pandas DataFrame, not list",
    )
    assert problems_of(CollaborativeData.from_long, {"llm": ["a"]}) == (
        "the long frame must be a pandas DataFrame, not dict",
    )
    assert problems_of(CollaborativeData.from_wide, np.ones((2, 2))) == (
        "the score matrix must be a pandas DataFrame, not ndarray",
    )
    frame = long_frame([("a", "x", 0.5)])
    assert problems_of(CollaborativeData, frame, llms={"a": 1}, score_range=(0, 1)) == (
        "the LLM table must be a pandas DataFrame, not dict",
    )


def test_missing_names() -> None:
    frame = long_frame([("a", "x", 0.5), (None, "x", 0.4), ("b", "", 0.3), ("c", "-", 0.2)])
    problems = problems_of(CollaborativeData, frame, score_range=(0, 1))
    assert problems == (
        "row 1: llm name is missing",
        "row 2: task name is missing",
        "row 3: task name is missing",
    )


def test_non_numeric_factor_values(scores: pd.DataFrame) -> None:
    llms = pd.DataFrame(
        {"family": ["f", "f", "g"], "size": ["7", "13B", "70"], "year": [2023, 2024, "soon"]},
        index=["a", "b", "c"],
    )
    problems = problems_of(CollaborativeData, scores, llms, score_range=(0, 100))
    assert problems == (
        "LLM table, row 'b', column 'size': value '13B' is not a number",
        "LLM table, row 'c', column 'year': value 'soon' is not a number",
    )
    llms = pd.DataFrame({"family": ["f", "f", "g"], "size": [7, 13, "yes"]}, index=["a", "b", "c"])
    assert problems_of(CollaborativeData, scores, llms, score_range=(0, 100)) == (
        "LLM table, row 'c', column 'size': value 'yes' is not a number",
    )


def test_mostly_text_factor_is_categorical(scores: pd.DataFrame) -> None:
    llms = pd.DataFrame(
        {"family": ["f", "f", "g"], "license": ["open", "closed", 1]}, index=["a", "b", "c"]
    )
    data = CollaborativeData(scores, llms, score_range=(0, 100))
    assert data.llms["license"].tolist() == ["open", "closed", "1"]
    assert data.llm_factor_names == []


def test_factor_table_problems(scores: pd.DataFrame) -> None:
    llms = pd.DataFrame({"family": ["f", "g", "h"]}, index=["a", "a", "c"])
    assert problems_of(CollaborativeData, scores, llms, score_range=(0, 100)) == (
        "the LLM table has duplicate row(s) 'a'",
    )
    llms = pd.DataFrame(
        [["f", 1, 2]] * 3, index=["a", "b", "c"], columns=["family", "size", "size "]
    )
    assert problems_of(CollaborativeData, scores, llms, score_range=(0, 100)) == (
        "the LLM table has several columns named 'size'",
    )


def test_several_problems_in_one_error() -> None:
    frame = long_frame(
        [
            ("a", "x", 0.5),
            ("b", "x", "abc"),
            (None, "y", 0.1),
            ("a", "y", 0.2),
            ("a", "y", 0.3),
            ("c", "y", np.inf),
        ]
    )
    with pytest.raises(DataError) as info:
        CollaborativeData(frame, score_range=(0, 1))
    err = info.value
    assert err.problems == (
        "row 2: llm name is missing",
        "row 1 (llm='b', task='x'): score 'abc' is not a number",
        "row 5 (llm='c', task='y'): score inf is not finite",
        "duplicate scores for llm='a', task='y' at rows 3, 4 (values 0.2, 0.3); "
        "pass aggregate='mean' (or median/first/last/max/min)",
    )
    assert str(err).startswith("4 problems found:\n  - row 2: llm name is missing\n")


def test_several_table_problems_in_one_error() -> None:
    frame = long_frame([("a", "w", 0.5), ("a", "x", 0.5), ("a", "y", 0.5), ("a", "z", 0.5)])
    tasks = pd.DataFrame(
        {
            "category": ["math", None, "readin", "math"],
            "lo": [0, 1, 0, 0],
            "hi": [1, 0, 1, 1],
            "chance": [0.25, 0, 2, "x"],
        },
        index=["w", "x", "y", "z"],
    )
    with pytest.raises(DataError, match=r"^5 problems found in demo:") as info:
        CollaborativeData(frame, tasks=tasks, categories=["math", "reading"], source="demo")
    assert set(info.value.problems) == {
        "task table, row 'z', column 'chance': value 'x' is not a number",
        "task(s) 'x' have no category; give each task a category",
        "task 'y' has unknown category 'readin' (did you mean 'reading'?); "
        "allowed: 'math', 'reading'",
        "task 'x': bounds lo=1 >= hi=0",
        "task 'y': chance level 2 must be in [0, 1) "
        "(a fraction of the lo..hi range, e.g. 0.25 for 4-way multiple choice)",
    }
    assert info.value.source == "demo"


def test_unknown_names_in_selection(data: CollaborativeData) -> None:
    assert problems_of(data.select, llms=["a", "bb"]) == ("unknown LLM 'bb' (did you mean 'b'?)",)
    assert problems_of(data.to_unit, [1.0], ["xx"]) == ("unknown task 'xx' (did you mean 'x'?)",)


# ------------------------------------------------------------- warnings
def test_warns_dropped_missing_scores() -> None:
    frame = long_frame([("a", "x", 0.5), ("b", "x", None), ("b", "y", "-"), ("a", "y", 0.1)])
    with pytest.warns(
        DataWarning,
        match=r"^2 row\(s\) with a missing score were dropped: "
        r"\(llm, task\) = \('b', 'x'\), \('b', 'y'\)$",
    ):
        data = CollaborativeData(frame, score_range=(0, 1))
    assert data.n_observed == 2
    assert data.llm_names == ["a"]


def test_warns_whitespace_stripped() -> None:
    frame = long_frame([(" a", "x ", 0.5), ("b", "x", 0.4)])
    with pytest.warns(DataWarning) as record:
        data = CollaborativeData(frame, score_range=(0, 1))
    messages = [str(w.message) for w in record]
    assert messages == [
        "leading/trailing whitespace removed from llm names ' a'",
        "leading/trailing whitespace removed from task names 'x '",
    ]
    assert data.llm_names == ["a", "b"]
    assert data.task_names == ["x"]


def test_warns_whitespace_stripped_from_llm_names() -> None:
    frame = long_frame([("a ", "x", 0.5), ("\tb", "x", 0.4), ("c", "x", 0.3)])
    with pytest.warns(
        DataWarning, match=r"^leading/trailing whitespace removed from llm names '\\tb', 'a '$"
    ):
        data = CollaborativeData(frame, score_range=(0, 1))
    assert data.llm_names == ["a", "b", "c"]


def test_warns_inferred_bounds() -> None:
    frame = long_frame([("a", "x", 50.0), ("b", "x", 70.0), ("a", "y", 3.0)])
    with pytest.warns(
        DataWarning,
        match=r"^task bounds not given; assumed 0\.\.100 for task\(s\) 'x', 'y' "
        r"\(observed 3\.\.70\); pass score_range= to silence$",
    ):
        data = CollaborativeData(frame)
    assert data.tasks["hi"].tolist() == [100.0, 100.0]
    frame = long_frame([("a", "x", 0.5), ("b", "x", 0.7)])
    with pytest.warns(
        DataWarning, match=r"assumed 0\.\.1 for task\(s\) 'x' \(observed 0\.5\.\.0\.7\)"
    ):
        data = CollaborativeData(frame)
    assert data.tasks["hi"].tolist() == [1.0]


def test_cannot_infer_bounds() -> None:
    frame = long_frame([("a", "x", -5.0), ("b", "x", 170.0)])
    assert problems_of(CollaborativeData, frame) == (
        "cannot infer score bounds: scores range -5..170; "
        "pass score_range=(lo, hi) or give lo/hi columns in the task table",
    )


def test_bounds_inferred_only_where_missing() -> None:
    frame = long_frame([("a", "x", 50.0), ("a", "y", 0.5), ("b", "y", 0.2)])
    tasks = pd.DataFrame(
        {"category": ["r", "r"], "lo": [0, np.nan], "hi": [100, np.nan]}, index=["x", "y"]
    )
    with pytest.warns(
        DataWarning, match=r"assumed 0\.\.1 for task\(s\) 'y' \(observed 0\.2\.\.0\.5\)"
    ):
        data = CollaborativeData(frame, tasks=tasks)
    assert data.tasks["hi"].tolist() == [100.0, 1.0]
    only_lo = pd.DataFrame({"category": ["r", "r"], "lo": [0, 0]}, index=["x", "y"])
    with pytest.warns(DataWarning) as record:
        data = CollaborativeData(frame, tasks=only_lo)
    assert [str(w.message) for w in record] == [
        "task bounds not given; assumed 0..100 for task(s) 'x', 'y' (observed 0.2..50); "
        "pass score_range= to silence",
        "task(s) 'y' look like fractions (max <= 1) in a percent table",
    ]
    assert data.tasks["hi"].tolist() == [100.0, 100.0]


def test_warns_fraction_task_in_percent_table() -> None:
    frame = long_frame([("a", "x", 55.0), ("b", "x", 75.0), ("a", "frac", 0.5), ("b", "frac", 0.6)])
    with (
        pytest.warns(DataWarning, match=r"^task bounds not given; assumed 0\.\.100"),
        pytest.warns(
            DataWarning,
            match=r"^task\(s\) 'frac' look like fractions \(max <= 1\) in a percent table$",
        ),
    ):
        data = CollaborativeData(frame)
    assert data.tasks.loc["frac", "hi"] == 100.0
    # a single score <= 1 is not enough to call a task fractional
    single = long_frame([("a", "x", 55.0), ("b", "x", 75.0), ("a", "y", 0.5)])
    with pytest.warns(DataWarning) as record:
        CollaborativeData(single)
    assert len(record) == 1


def test_warns_llm_without_family(scores: pd.DataFrame) -> None:
    llms = pd.DataFrame({"family": ["f", None, "-"]}, index=["a", "b", "c"])
    with pytest.warns(
        DataWarning, match=r"^LLM\(s\) 'b', 'c' have no family; each becomes its own family$"
    ):
        data = CollaborativeData(scores, llms, score_range=(0, 100))
    assert data.llms["family"].tolist() == ["f", "b", "c"]
    no_column = pd.DataFrame({"size": [1.0, 2.0, 3.0]}, index=["a", "b", "c"])
    with pytest.warns(DataWarning, match=r"LLM\(s\) 'a', 'b', 'c' have no family"):
        data = CollaborativeData(scores, no_column, score_range=(0, 100))
    assert data.families == ["a", "b", "c"]


def test_warns_all_missing_factor_column(scores: pd.DataFrame) -> None:
    llms = pd.DataFrame(
        {"family": ["f", "f", "g"], "size": [np.nan, None, "-"]}, index=["a", "b", "c"]
    )
    with pytest.warns(DataWarning, match=r"^LLM factor 'size' is missing for every LLM$"):
        data = CollaborativeData(scores, llms, score_range=(0, 100))
    assert data.llms["size"].isna().all()


def test_warning_names_the_source() -> None:
    frame = long_frame([("a", "x", 0.5), ("b", "x", None)])
    with pytest.warns(DataWarning, match=r"dropped: \(llm, task\) = \('b', 'x'\) \(my.csv\)$"):
        CollaborativeData(frame, score_range=(0, 1), source="my.csv")


def test_clean_input_emits_no_warning(
    scores: pd.DataFrame, llm_table: pd.DataFrame, task_table: pd.DataFrame
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        CollaborativeData(scores, llm_table, task_table)
        CollaborativeData(scores, score_range=(0, 100))


# --------------------------------------------------------- immutability
def test_constructor_does_not_mutate_inputs(
    scores: pd.DataFrame, llm_table: pd.DataFrame, task_table: pd.DataFrame
) -> None:
    dirty = scores.astype({"score": object})
    dirty.loc[0, "llm"] = " a"
    dirty.loc[1, "score"] = "70"
    copies = [f.copy() for f in (dirty, llm_table, task_table)]
    with pytest.warns(DataWarning, match="whitespace"):
        CollaborativeData(dirty, llm_table, task_table)
    for before, after in zip(copies, (dirty, llm_table, task_table), strict=True):
        pd.testing.assert_frame_equal(before, after)


def test_from_long_does_not_mutate(llm_table: pd.DataFrame) -> None:
    frame = pd.DataFrame({"m": ["a", "b", "c"], "t": ["x", "x", "x"], "s": ["1", 2, 3.5]})
    frame.index = [10, 20, 30]
    before, llm_before = frame.copy(), llm_table.copy()
    data = CollaborativeData.from_long(
        frame, llm="m", task="t", score="s", llms=llm_table, score_range=(0, 5)
    )
    assert data.to_wide()["x"].tolist() == [1.0, 2.0, 3.5]
    pd.testing.assert_frame_equal(frame, before)
    pd.testing.assert_frame_equal(llm_table, llm_before)


def test_from_wide_does_not_mutate(task_table: pd.DataFrame) -> None:
    wide = pd.DataFrame({"x": ["50", "-", 30], "y": [np.nan, 10.0, " 20 "]}, index=["a", "b", "c"])
    before, tasks_before = wide.copy(), task_table.copy()
    data = CollaborativeData.from_wide(wide, tasks=task_table)
    assert data.to_wide().loc["c", "y"] == 20.0
    pd.testing.assert_frame_equal(wide, before)
    pd.testing.assert_frame_equal(task_table, tasks_before)
    CollaborativeData.from_wide(wide.T, orientation="task_rows", tasks=task_table)
    pd.testing.assert_frame_equal(wide, before)


def test_select_drop_and_unit_do_not_mutate(data: CollaborativeData) -> None:
    scores, llms, tasks = data.scores, data.llms, data.tasks
    data.select(llms=["a"], tasks=["x"])
    data.drop_cells([0, 1])
    values = np.array([50.0, 20.0])
    names = np.array(["x", "y"], dtype=object)
    series = pd.Series([0.5, 0.2])
    data.to_unit(values, names)
    data.from_unit(series, names)
    assert values.tolist() == [50.0, 20.0]
    assert names.tolist() == ["x", "y"]
    pd.testing.assert_series_equal(series, pd.Series([0.5, 0.2]))
    pd.testing.assert_frame_equal(data.scores, scores)
    pd.testing.assert_frame_equal(data.llms, llms)
    pd.testing.assert_frame_equal(data.tasks, tasks)


# -------------------------------------------------------------- selection
def test_select_keeps_tables(data: CollaborativeData) -> None:
    sub = data.select(llms=["c", "a"], tasks="x")
    assert sub.llm_names == ["c", "a"]
    assert sub.task_names == ["x"]
    assert sub.to_wide()["x"].tolist() == [80.0, 50.0]
    assert sub.llms.loc["c", "family"] == "f2"
    assert sub.tasks.loc["x", "chance"] == 0.25
    assert sub.name == "demo"


def test_drop_cells_keeps_unobserved_rows(data: CollaborativeData) -> None:
    dropped = data.drop_cells([4])  # the only score of c
    assert dropped.n_observed == 4
    assert dropped.llm_names == ["a", "b", "c"]
    assert dropped.observed_counts("llm")["c"] == 0
    mask = data.scores["llm"].eq("a").to_numpy()
    assert data.drop_cells(mask).observed_counts("llm").to_dict() == {"a": 0, "b": 2, "c": 1}
    with pytest.raises(DataError, match="matches no scored LLM"):
        data.drop_cells([4], allow_unobserved=False)


def test_derived_objects_do_not_warn_again() -> None:
    """select/drop_cells/with_scores re-validate without repeating construction warnings."""
    frame = long_frame([("a", "x", 0.5), ("a", "y", 0.7), ("b", "x", 0.6)])
    llms = pd.DataFrame({"family": ["f", "g"], "size": [np.nan, np.nan]}, index=["a", "b"])
    with pytest.warns(DataWarning, match="LLM factor 'size' is missing for every LLM"):
        data = CollaborativeData(frame, llms, score_range=(0, 1))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert data.select(llms=["a"]).n_observed == 2
        assert data.drop_cells([0]).n_observed == 2
    plain = CollaborativeData(frame, score_range=(0, 1))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert plain.with_scores(frame.iloc[:2]).n_observed == 2
        assert plain.select(tasks=["x"]).n_observed == 2
    with pytest.warns(DataWarning, match=r"dropped: \(llm, task\) = \('b', 'x'\)"):
        plain.with_scores(long_frame([("a", "x", 0.1), ("b", "x", None)]))


def test_select_keeps_factor_types() -> None:
    """A subset must not re-decide whether a factor is numeric or text."""
    frame = long_frame([("a", "x", 0.5), ("b", "x", 0.6), ("c", "x", 0.7)])
    llms = pd.DataFrame(
        {"family": ["f"] * 3, "tag": ["open", "closed", "1"]}, index=["a", "b", "c"]
    )
    data = CollaborativeData(frame, llms, score_range=(0, 1))
    assert data.llms["tag"].tolist() == ["open", "closed", "1"]
    sub = data.select(llms=["a", "c"])
    assert sub.llms["tag"].tolist() == ["open", "1"]
    only_number = data.select(llms=["c"])
    assert only_number.llms["tag"].tolist() == ["1"]
    assert only_number.llm_factor_names == []
    pd.testing.assert_frame_equal(data.drop_cells([1]).llms, data.llms)


def test_drop_cells_bad_selection(data: CollaborativeData) -> None:
    message = "which must be row positions below 5 or a boolean mask of length 5"
    assert problems_of(data.drop_cells, [7]) == (message,)
    assert problems_of(data.drop_cells, np.ones(3, dtype=bool)) == (message,)


def test_with_scores(data: CollaborativeData) -> None:
    new = data.with_scores(long_frame([("b", "y", 30.0)]))
    assert new.n_observed == 1
    assert new.llm_names == ["a", "b", "c"]
    assert new.to_wide().loc["b", "y"] == 30.0


# ------------------------------------------------------------ round trips
def test_long_wide_round_trip(
    data: CollaborativeData, llm_table: pd.DataFrame, task_table: pd.DataFrame
) -> None:
    wide = data.to_wide()
    again = CollaborativeData.from_wide(wide, llms=data.llms, tasks=data.tasks)
    assert again == data
    pd.testing.assert_frame_equal(again.to_wide(), wide)
    pd.testing.assert_frame_equal(again.llms, data.llms)
    pd.testing.assert_frame_equal(again.tasks, data.tasks)
    transposed = CollaborativeData.from_wide(
        wide.T, orientation="task_rows", llms=llm_table, tasks=task_table
    )
    assert transposed == data
    long = CollaborativeData.from_long(again.to_long(), llms=llm_table, tasks=task_table)
    assert long == data


def test_wide_round_trip_keeps_unobserved_rows_and_columns() -> None:
    wide = pd.DataFrame(
        {"x": [0.5, np.nan, 0.2], "y": [np.nan] * 3, "z": [0.1, 0.9, np.nan]},
        index=["a", "b", "c"],
    )
    wide.loc["d"] = np.nan
    data = CollaborativeData.from_wide(wide, score_range=(0, 1), allow_unobserved=True)
    assert data.llm_names == ["a", "b", "c", "d"]
    assert data.task_names == ["x", "y", "z"]
    assert data.families == ["a", "b", "c", "d"]
    back = data.to_wide()
    pd.testing.assert_frame_equal(back, wide.rename_axis(index="llm", columns="task"))
    strict = CollaborativeData.from_wide(wide, score_range=(0, 1))
    assert strict.llm_names == ["a", "b", "c"]
    assert strict.task_names == ["x", "z"]


def test_xarray_round_trip(data: CollaborativeData) -> None:
    ds = data.to_xarray()
    assert ds["score"].dims == ("llm", "task")
    assert set(ds.dims) == {"llm", "task"}
    assert ds["llm_size"].dims == ("llm",)
    assert ds["task_language"].dims == ("task",)
    assert ds["score"].sel(llm="b", task="y").item() == 20.0
    back = CollaborativeData.from_xarray(ds)
    assert back == data
    assert back.name == "demo"
    assert back.notes == ("from a test",)
    pd.testing.assert_frame_equal(back.scores, data.scores)
    pd.testing.assert_frame_equal(back.llms, data.llms)
    pd.testing.assert_frame_equal(back.tasks, data.tasks)
    assert np.isnan(back.llms.loc["b", "size"])
    assert pd.isna(back.llms.loc["b", "arch"])
    assert back.llms.loc["c", "arch"] == "moe"
    assert pd.isna(back.tasks.loc["y", "language"])


def test_xarray_round_trip_with_unobserved_and_defaults() -> None:
    frame = long_frame([("a", "x", 0.5), ("b", "y", 0.25)])
    llms = pd.DataFrame({"family": ["f", "f", "g"]}, index=["a", "b", "new"])
    data = CollaborativeData(frame, llms, score_range=(0, 1), allow_unobserved=True)
    ds = data.to_xarray()
    assert ds["score"].dims == ("llm", "task")
    back = CollaborativeData.from_xarray(ds)  # no warning about all-missing shots
    assert back == data
    assert back.llm_names == ["a", "b", "new"]
    pd.testing.assert_frame_equal(back.tasks, data.tasks)


def test_from_xarray_rejects_other_datasets(data: CollaborativeData) -> None:
    ds = data.to_xarray().rename({"score": "acc"})
    assert problems_of(CollaborativeData.from_xarray, ds) == (
        "dataset needs a variable 'score' with dims ('llm', 'task')",
    )


def test_unit_scale_round_trip_and_flip(data: CollaborativeData) -> None:
    unit = data.unit_scores()
    scores = data.scores
    # x: higher is better on 0..100; y: lower is better on 0..100
    expected = [
        s / 100 if t == "x" else 1 - s / 100
        for s, t in zip(scores["score"], scores["task"], strict=True)
    ]
    np.testing.assert_allclose(unit.to_numpy(), expected)
    assert data.to_unit([20.0], ["y"]).tolist() == [pytest.approx(0.8)]
    assert data.to_unit([20.0], ["x"]).tolist() == [pytest.approx(0.2)]
    back = data.from_unit(unit.to_numpy(), scores["task"].to_numpy())
    np.testing.assert_allclose(back, scores["score"].to_numpy())
    grid = np.array([[0.0, 0.25], [1.0, 0.5]])
    np.testing.assert_allclose(data.from_unit(grid, ["x", "y"]), [[0.0, 75.0], [100.0, 50.0]])


def test_unit_scale_with_offset_bounds() -> None:
    frame = long_frame([("a", "ppl", 12.0), ("a", "acc", 30.0)])
    tasks = pd.DataFrame(
        {
            "category": ["lm", "qa"],
            "lo": [2.0, 20.0],
            "hi": [22.0, 40.0],
            "higher_is_better": [False, True],
        },
        index=["ppl", "acc"],
    )
    data = CollaborativeData(frame, tasks=tasks)
    np.testing.assert_allclose(
        data.to_unit([2.0, 22.0, 20.0], ["ppl", "ppl", "acc"]), [1.0, 0.0, 0.0]
    )
    np.testing.assert_allclose(
        data.from_unit([1.0, 0.0, 0.5], ["ppl", "ppl", "acc"]), [2.0, 22.0, 30.0]
    )


def test_warns_fraction_scores_under_percent_bounds_from_the_task_table() -> None:
    frame = long_frame([("a", "x", 55.0), ("b", "x", 75.0), ("a", "y", 0.5), ("b", "y", 0.6)])
    tasks = pd.DataFrame({"category": ["r", "r"], "lo": [0, 0], "hi": [100, 100]}, index=["x", "y"])
    with pytest.warns(DataWarning) as record:
        CollaborativeData(frame, tasks=tasks)
    assert [str(w.message) for w in record] == [
        "task 'y' has every score <= 1 although the task table gives bounds 0..100: if its "
        "scores are fractions, set hi = 1 for it (or give the scores in the table's units)"
    ]
    # Fraction bounds, or a single small score, are fine.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        CollaborativeData(frame, tasks=tasks.assign(hi=[100, 1]))
        CollaborativeData(frame.iloc[:3], tasks=tasks)


def test_design_skips_empty_default_columns_silently_and_warns_on_given_useless_ones() -> None:
    from bayes_cpp import load_spec
    from bayes_cpp.features import build_design

    spec = load_spec("hbmf")
    frame = long_frame([("a", "x", 55.0), ("b", "x", 75.0), ("a", "y", 40.0)])
    # No shots column given: the task table still has an empty one; nothing to warn about.
    data = CollaborativeData(
        frame, tasks=pd.DataFrame({"category": ["r", "s"]}, index=["x", "y"]), score_range=(0, 100)
    )
    assert data.tasks["shots"].isna().all()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        design = build_design(spec.task_features, data.tasks, side="task")
    assert design.names == []
    # A given column that cannot be used is reported.
    llms = pd.DataFrame({"family": ["f", "g"], "params_b": [0.0, -1.0]}, index=["a", "b"])
    with pytest.warns(
        DataWarning, match=r"column 'params_b'\) has 0 distinct usable value\(s\) after its log"
    ):
        build_design(spec.llm_features, llms, side="llm")
    constant = pd.DataFrame({"family": ["f", "g"], "params_b": [7.0, 7.0]}, index=["a", "b"])
    with pytest.warns(DataWarning, match="has 1 distinct usable value"):
        build_design(spec.llm_features, constant, side="llm")
