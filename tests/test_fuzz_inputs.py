"""Fuzz the data layer: malformed input gives a DataError or a consistent object.

Random CSV texts and random pandas frames are thrown at every reader and at the
``CollaborativeData`` constructors. The only acceptable outcomes are success
(with an internally consistent object) or a :class:`DataError`; any other
exception, and any warning other than :class:`DataWarning`, is a bug.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import decimal
import io
import os
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

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

#: Examples per test; raise it locally (e.g. 2000) to hunt for new bugs.
N_EXAMPLES = int(os.environ.get("BAYES_CPP_FUZZ_EXAMPLES", "80"))
FUZZ = settings(
    max_examples=N_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


# ---------------------------------------------------------------- helpers
def _check_consistent(data: CollaborativeData) -> None:
    """A successfully built object must agree with itself."""
    wide = data.to_wide()
    assert data.n_observed == int(wide.notna().to_numpy().sum())
    assert wide.shape == (data.n_llms, data.n_tasks)
    assert len(set(data.llm_names)) == data.n_llms
    assert len(set(data.task_names)) == data.n_tasks
    assert list(data.llms.index) == data.llm_names
    assert list(data.tasks.index) == data.task_names
    scores = data.scores
    assert np.isfinite(scores["score"].to_numpy(dtype=float)).all()
    assert not scores.duplicated(["llm", "task"]).any()
    unit = data.unit_scores().to_numpy()
    assert ((unit >= -1e-9) & (unit <= 1 + 1e-9)).all()
    tasks = data.tasks
    assert (tasks["lo"] < tasks["hi"]).all()
    assert ((tasks["chance"] >= 0) & (tasks["chance"] < 1)).all()
    assert tasks["category"].notna().all()
    assert data.llms["family"].notna().all()


def _outcome(call: Callable[[], Any]) -> Any:
    """Run ``call`` with DataWarnings ignored; return its result or the DataError."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        try:
            result = call()
        except DataError as err:
            result = err
    if isinstance(result, DataError):
        assert result.problems, "a DataError must list at least one problem"
        assert all(isinstance(p, str) and p for p in result.problems)
    if isinstance(result, CollaborativeData):
        _check_consistent(result)
    return result


# ------------------------------------------------------------- strategies
NAMES = st.one_of(
    st.sampled_from(["a", "b", "c", "x", "y", "llm", "task", "score", "family", "category"]),
    st.sampled_from(["lo", "hi", "chance", "higher_is_better", "shots", "", " a", "b ", "-"]),
    st.sampled_from(["nan", "NA", "\ufeffa", "é", "模型", "a,b", 'q"uote', "1", "0.5"]),
    st.text(max_size=6),
)

CELL_TEXT = st.one_of(
    st.sampled_from(["", "-", "NA", "nan", "NaN", "inf", "-inf", "Infinity", "1e400", "-1e400"]),
    st.sampled_from(["0", "1", "0.5", "50", "100", "101", "-3", "1,000", " 7 ", "yes", "no"]),
    st.sampled_from(["true", "False", "abc", '"', '""', "'", "\x00", "\n", "\r", "\t", "—"]),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    NAMES,
    st.text(max_size=8),
)


@st.composite
def csv_texts(draw: st.DrawFn) -> str:
    """CSV-like texts: ragged rows, odd separators, quotes, BOMs, blank lines."""
    sep = draw(st.sampled_from([",", ",", ",", ";", "\t", "|", ", "]))
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    n_cols = draw(st.integers(min_value=1, max_value=5))
    header = draw(st.lists(NAMES, min_size=n_cols, max_size=n_cols))
    if draw(st.booleans()):
        header[0] = draw(st.sampled_from(["", "llm", "task"]))
    rows = [header]
    for _ in range(draw(st.integers(min_value=0, max_value=5))):
        width = n_cols if draw(st.integers(0, 4)) else draw(st.integers(0, n_cols + 2))
        rows.append(draw(st.lists(CELL_TEXT, min_size=width, max_size=width)))
    quote = draw(st.booleans())
    lines = []
    for row in rows:
        cells = [f'"{c}"' if quote and draw(st.booleans()) else c for c in row]
        lines.append(sep.join(cells))
        if draw(st.integers(0, 6)) == 0:
            lines.append("")
    text = newline.join(lines) + draw(st.sampled_from(["", newline]))
    if draw(st.integers(0, 4)) == 0:
        text = "\ufeff" + text
    return text


#: Cells of nearly valid files: mostly numbers in 0..1 or missing markers, some junk.
GOOD_CELL = st.one_of(
    st.floats(0, 1).map(repr),
    st.sampled_from(["", "-", "NA", "0.5", " 0.25 ", "1", "0", "1e-3"]),
)
MOSTLY_GOOD_CELL = st.one_of(GOOD_CELL, GOOD_CELL, GOOD_CELL, GOOD_CELL, CELL_TEXT)


def _cells(draw: st.DrawFn) -> st.SearchStrategy[str]:
    """Half of the nearly valid files are clean; the others have some junk cells."""
    return GOOD_CELL if draw(st.booleans()) else MOSTLY_GOOD_CELL


LLM_NAMES = st.sampled_from(["a", "b", "c", "d", " a", "Ω-7B", "模型"])
TASK_NAMES = st.sampled_from(["x", "y", "z", "x ", "é", "task"])


def _join(draw: st.DrawFn, rows: list[list[str]]) -> str:
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    lines = [",".join(row) for row in rows]
    if draw(st.integers(0, 4)) == 0:
        lines.insert(draw(st.integers(1, len(lines))), "")
    text = newline.join(lines) + newline
    return ("\ufeff" + text) if draw(st.booleans()) else text


@st.composite
def wide_csv_texts(draw: st.DrawFn) -> str:
    """Wide score files that are valid more often than not."""
    tasks = draw(st.lists(TASK_NAMES, min_size=1, max_size=4, unique=True))
    llms = draw(st.lists(LLM_NAMES, min_size=1, max_size=5, unique=True))
    rows = [[draw(st.sampled_from(["", "llm", "model"])), *tasks]]
    cell = _cells(draw)
    rows += [[name, *(draw(cell) for _ in tasks)] for name in llms]
    return _join(draw, rows)


@st.composite
def long_csv_texts(draw: st.DrawFn) -> str:
    """Long score files (llm, task, score) that are valid more often than not."""
    pairs = draw(st.lists(st.tuples(LLM_NAMES, TASK_NAMES), min_size=1, max_size=8, unique=True))
    rows = [["llm", "task", "score"]]
    cell = _cells(draw)
    rows += [[llm, task, draw(cell)] for llm, task in pairs]
    return _join(draw, rows)


@st.composite
def factor_csv_texts(draw: st.DrawFn) -> str:
    """LLM or task factor files for the names above, valid more often than not."""
    if draw(st.booleans()):
        names = draw(st.lists(LLM_NAMES, min_size=1, max_size=5, unique=True))
        rows = [["llm", "family", "size"]]
        cell = _cells(draw)
        rows += [[n, draw(st.sampled_from(["f", "g", ""])), draw(cell)] for n in names]
        return _join(draw, rows)
    names = draw(st.lists(TASK_NAMES, min_size=1, max_size=4, unique=True))
    fields = {
        "category": st.sampled_from(["r", "m", ""]),
        "lo": st.sampled_from(["0", "", "0.0"]),
        "hi": st.sampled_from(["1", "100", "", "0"]),
        "chance": st.sampled_from(["0", "0.25", "", "1"]),
        "higher_is_better": st.sampled_from(["true", "false", "yes", "1", ""]),
    }
    chosen = [f for f in fields if draw(st.integers(0, 3))]
    if draw(st.booleans()):  # tasks as rows
        rows = [["task", *chosen]]
        rows += [[n, *(draw(fields[f]) for f in chosen)] for n in names]
    else:  # tasks as columns, field names in the first column
        rows = [["", *names]]
        rows += [[f, *(draw(fields[f]) for _ in names)] for f in chosen]
    return _join(draw, rows)


ANY_TEXT = st.one_of(
    csv_texts(), csv_texts(), wide_csv_texts(), long_csv_texts(), st.text(max_size=60)
)
ANY_BYTES = st.one_of(
    ANY_TEXT.map(lambda t: t.encode("utf-8")),
    st.binary(max_size=60),
    csv_texts().map(lambda t: t.encode("utf-16")),
    csv_texts().map(lambda t: t.encode("latin-1", errors="replace")),
)

OBJECTS = st.one_of(
    st.none(),
    st.just(np.nan),
    st.just(pd.NA),
    st.just(pd.NaT),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=0, max_value=100),
    CELL_TEXT,
    NAMES,
    st.just(b"bytes"),
    st.just((1, 2)),
    st.just([1]),
    st.just({"k": 1}),
    st.just(1 + 2j),
    st.just(decimal.Decimal("0.5")),
    st.just(decimal.Decimal("NaN")),
    st.just(dt.datetime(2024, 1, 1)),
    st.just(np.int64(3)),
    st.just(np.float32(0.25)),
    st.just(object()),
)


@st.composite
def columns(draw: st.DrawFn, n: int) -> pd.Series:
    """One column of ``n`` values with a random dtype."""
    kind = draw(st.sampled_from(["object", "float", "int", "bool", "str", "category", "dt"]))
    if kind == "float":
        values: list[Any] = draw(st.lists(st.floats(), min_size=n, max_size=n))
        return pd.Series(values, dtype="float64")
    if kind == "int":
        values = draw(st.lists(st.integers(-5, 200), min_size=n, max_size=n))
        return pd.Series(values, dtype="int64")
    if kind == "bool":
        values = draw(st.lists(st.booleans(), min_size=n, max_size=n))
        return pd.Series(values, dtype="bool")
    if kind == "str":
        values = draw(st.lists(st.one_of(NAMES, st.none()), min_size=n, max_size=n))
        return pd.Series(values, dtype="string")
    if kind == "category":
        values = draw(st.lists(st.one_of(NAMES, st.none()), min_size=n, max_size=n))
        return pd.Series(values, dtype="category")
    if kind == "dt":
        return pd.Series(pd.date_range("2024-01-01", periods=n), dtype="datetime64[ns]")
    values = draw(st.lists(OBJECTS, min_size=n, max_size=n))
    series = pd.Series([None] * n, dtype="object")
    for i, v in enumerate(values):
        series.iat[i] = v
    return series


@st.composite
def frames(draw: st.DrawFn, required: tuple[str, ...] = ()) -> pd.DataFrame:
    """Random frames; ``required`` columns are usually present."""
    n = draw(st.integers(min_value=0, max_value=6))
    names = [c for c in required if draw(st.integers(0, 9))]
    names += draw(st.lists(NAMES, max_size=3))
    data = {}
    for name in names:
        data.setdefault(name, draw(columns(n)))
    frame = pd.DataFrame(data) if data else pd.DataFrame(index=range(n))
    if draw(st.integers(0, 5)) == 0 and len(frame.columns):
        # duplicate column labels
        frame = pd.concat([frame, frame.iloc[:, :1]], axis=1)
    index_kind = draw(st.sampled_from(["range", "range", "names", "dups", "ints"]))
    if index_kind == "names":
        frame.index = pd.Index(draw(st.lists(NAMES, min_size=n, max_size=n)), dtype=object)
    elif index_kind == "dups" and n:
        frame.index = pd.Index([0] * n)
    elif index_kind == "ints":
        frame.index = pd.Index(draw(st.lists(st.integers(-3, 3), min_size=n, max_size=n)))
    return frame


@st.composite
def wide_frames(draw: st.DrawFn) -> pd.DataFrame:
    """Score matrices that are valid more often than not, with assorted dtypes."""
    llms = draw(st.lists(st.sampled_from(["a", "b", "c", " c", "d"]), min_size=1, max_size=4))
    tasks = draw(
        st.lists(st.sampled_from(["x", "y", "z", "x "]), min_size=1, max_size=3, unique=True)
    )
    cell = st.one_of(st.floats(0, 1), st.just(np.nan), st.sampled_from(["-", "0.5", ""]))
    if draw(st.booleans()):
        cell = st.one_of(cell, cell, cell, OBJECTS)
    frame = pd.DataFrame(index=pd.Index(llms, dtype=object))
    for task in tasks:
        values = draw(st.lists(cell, min_size=len(llms), max_size=len(llms)))
        column = pd.Series(values, index=frame.index, dtype=object)
        dtype = draw(st.sampled_from(["object", "object", "float", "string"]))
        if dtype != "object":
            with contextlib.suppress(TypeError, ValueError):
                column = column.astype("float64" if dtype == "float" else "string")
        frame[task] = column
    return frame


@st.composite
def scores_frames(draw: st.DrawFn) -> pd.DataFrame:
    """Long score frames that are often nearly valid."""
    kind = draw(st.integers(0, 2))
    if kind == 0:
        return draw(frames(required=("llm", "task", "score")))
    if kind == 1:
        pairs = draw(
            st.lists(
                st.tuples(st.sampled_from(["a", "b", "c"]), st.sampled_from(["x", "y", "z"])),
                min_size=1,
                max_size=9,
                unique=True,
            )
        )
        junk = st.floats(0, 1)
        if draw(st.booleans()):
            junk = st.one_of(junk, junk, junk, OBJECTS)
        values = draw(st.lists(junk, min_size=len(pairs), max_size=len(pairs)))
        frame = pd.DataFrame(pairs, columns=["llm", "task"])
        frame["score"] = pd.Series(values, dtype=object)
        return frame
    n = draw(st.integers(min_value=0, max_value=8))
    llm = draw(
        st.lists(st.one_of(st.sampled_from(["a", "b", "c", " a"]), OBJECTS), min_size=n, max_size=n)
    )
    task = draw(
        st.lists(st.one_of(st.sampled_from(["x", "y", "z"]), OBJECTS), min_size=n, max_size=n)
    )
    score = draw(
        st.lists(st.one_of(st.floats(0, 1), st.floats(0, 100), OBJECTS), min_size=n, max_size=n)
    )
    frame = pd.DataFrame(
        {"llm": pd.Series(llm, dtype=object), "task": pd.Series(task, dtype=object)}
    )
    frame["score"] = pd.Series(score, dtype=object)
    return frame


@st.composite
def factor_tables(draw: st.DrawFn, key: str, names: tuple[str, ...]) -> pd.DataFrame | None:
    """Factor tables indexed by (mostly) known names, with random columns."""
    if draw(st.integers(0, 3)) == 0:
        return None
    if draw(st.booleans()):
        # a valid table for every known name, with a random extra factor
        n = len(names)
        good = pd.DataFrame(index=pd.Index(names, name=key))
        if key == "llm":
            good["family"] = draw(
                st.lists(st.sampled_from(["f", "g", None]), min_size=n, max_size=n)
            )
        else:
            good["category"] = draw(st.lists(st.sampled_from(["r", "m"]), min_size=n, max_size=n))
            good["lo"] = 0.0
            good["hi"] = draw(st.sampled_from([1.0, 100.0, np.nan]))
            good["chance"] = draw(st.lists(st.floats(0, 0.9), min_size=n, max_size=n))
            good["higher_is_better"] = draw(
                st.lists(st.sampled_from([True, False, "yes", "no", 1, 0]), min_size=n, max_size=n)
            )
        extra = draw(NAMES)
        if extra not in good.columns and extra != key:
            good[extra] = draw(columns(n)).to_numpy()
        return good.reset_index() if draw(st.booleans()) else good
    if draw(st.integers(0, 3)) == 0:
        return draw(frames(required=(key,)))
    rows = draw(st.lists(st.one_of(st.sampled_from(names), NAMES), max_size=5))
    n = len(rows)
    special = ["family"] if key == "llm" else ["category", "lo", "hi", "chance", "higher_is_better"]
    cols = [c for c in special if draw(st.integers(0, 3))] + draw(st.lists(NAMES, max_size=2))
    table = pd.DataFrame(index=pd.Index(rows, dtype=object, name=key))
    for col in cols:
        if col in table.columns or col == key:
            continue
        if col in ("category", "family"):
            table[col] = pd.Series(
                draw(
                    st.lists(
                        st.one_of(st.sampled_from(["r", "m"]), OBJECTS), min_size=n, max_size=n
                    )
                ),
                index=table.index,
                dtype=object,
            )
        else:
            table[col] = draw(columns(n)).to_numpy()
    if draw(st.booleans()):
        table = table.reset_index()
    return table


GOOD_KWARGS = st.fixed_dictionaries(
    {},
    optional={
        "score_range": st.sampled_from([(0, 1), (0, 100), None]),
        "aggregate": st.sampled_from(["mean", "last", None]),
        "allow_unobserved": st.booleans(),
        "categories": st.sampled_from([None, ["r", "m"]]),
    },
)
BAD_KWARGS = st.fixed_dictionaries(
    {},
    optional={
        "score_range": st.sampled_from(
            [
                (0, 1),
                (0, 100),
                (1, 0),
                (0, 0),
                ("a", "b"),
                (np.nan, 1),
                (0, np.inf),
                5,
                (1, 2, 3),
                None,
            ]
        ),
        "aggregate": st.sampled_from(
            ["mean", "median", "first", "last", "max", "min", "sum", 3, None]
        ),
        "allow_unobserved": st.booleans(),
        "categories": st.sampled_from([None, ["r"], ["r", "m"], [], "r", [1, None]]),
    },
)


KWARGS = st.one_of(GOOD_KWARGS, BAD_KWARGS)


@st.composite
def coherent_cases(
    draw: st.DrawFn,
) -> tuple[pd.DataFrame, pd.DataFrame | None, pd.DataFrame | None, dict[str, Any]]:
    """Scores with factor tables that describe exactly the scored names (mostly valid)."""
    pairs = draw(
        st.lists(
            st.tuples(st.sampled_from(["a", "b", "c"]), st.sampled_from(["x", "y", "z"])),
            min_size=1,
            max_size=9,
            unique=True,
        )
    )
    value = st.one_of(st.floats(0, 1), st.floats(0, 1), st.floats(0, 1), st.none())
    if draw(st.integers(0, 3)) == 0:
        value = st.one_of(value, OBJECTS)
    scores = pd.DataFrame(pairs, columns=["llm", "task"])
    scores["score"] = pd.Series(draw(st.lists(value, min_size=len(pairs), max_size=len(pairs))))
    if draw(st.integers(0, 4)) == 0:  # a duplicated row
        scores = pd.concat([scores, scores.iloc[:1]], ignore_index=True)
    kwargs: dict[str, Any] = {"score_range": draw(st.sampled_from([(0, 1), None]))}
    if draw(st.booleans()):
        kwargs["aggregate"] = draw(st.sampled_from(["mean", "first", "max"]))
    llm_names = list(dict.fromkeys(scores["llm"])) + draw(st.sampled_from([[], ["new"]]))
    task_names = list(dict.fromkeys(scores["task"])) + draw(st.sampled_from([[], ["new"]]))
    kwargs["allow_unobserved"] = draw(st.booleans())
    llms = tasks = None
    if draw(st.booleans()):
        n = len(llm_names)
        llms = pd.DataFrame(index=pd.Index(llm_names, name="llm"))
        llms["family"] = draw(st.lists(st.sampled_from(["f", "g", None]), min_size=n, max_size=n))
        if draw(st.booleans()):
            llms["size"] = draw(columns(n)).to_numpy()
    if draw(st.booleans()):
        n = len(task_names)
        tasks = pd.DataFrame(index=pd.Index(task_names, name="task"))
        tasks["category"] = draw(st.lists(st.sampled_from(["r", "m"]), min_size=n, max_size=n))
        tasks["hi"] = draw(st.sampled_from([1.0, 100.0, np.nan]))
        tasks["chance"] = draw(st.lists(st.floats(0, 0.9), min_size=n, max_size=n))
        tasks["higher_is_better"] = draw(
            st.lists(st.sampled_from([True, False, "yes", "no", 1, 0]), min_size=n, max_size=n)
        )
        if draw(st.booleans()):
            tasks["shots"] = draw(columns(n)).to_numpy()
        if draw(st.booleans()):
            tasks = tasks.reset_index()
    return scores, llms, tasks, kwargs


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def _write(directory: Path, name: str, content: bytes | str) -> Path:
    path = directory / name
    if isinstance(content, str):
        path.write_bytes(content.encode("utf-8"))
    else:
        path.write_bytes(content)
    return path


# ------------------------------------------------------------------ tests
@FUZZ
@given(text=ANY_TEXT)
@example(text="a,b\n1,2,3\n")
@example(text=",x,x\na,1,2\n")
def test_read_csv_frame_stringio(text: str) -> None:
    result = _outcome(lambda: read_csv_frame(io.StringIO(text)))
    if isinstance(result, pd.DataFrame):
        assert result.shape[1] >= 1
        assert result.columns.is_unique
        assert all(isinstance(c, str) for c in result.columns)
        # no invented headers ("x.1", "Unnamed: 2") and no cell silently used as index
        assert all(c in text for c in result.columns)
        assert isinstance(result.index, pd.RangeIndex)


@FUZZ
@given(content=ANY_BYTES, kwargs=KWARGS)
@example(content=b",x,x\na,1,2\n", kwargs={})
@example(content=b"llm,task,score,score\na,x,1,2\n", kwargs={})
@example(content=b"\xff\xfe\x00", kwargs={})
def test_score_readers(fuzz_dir: Path, content: bytes, kwargs: dict[str, Any]) -> None:
    path = _write(fuzz_dir, "scores.csv", content)
    for reader in (
        lambda: read_wide_csv(path, **kwargs),
        lambda: read_wide_csv(path, orientation="task_rows", **kwargs),
        lambda: read_long_csv(path, **kwargs),
    ):
        result = _outcome(reader)
        assert isinstance(result, CollaborativeData | DataError)
        if isinstance(result, CollaborativeData):
            text = content.decode("utf-8")
            assert all(name in text for name in result.llm_names + result.task_names)


@FUZZ
@given(content=ANY_BYTES)
@example(content=b"task\n\n")
@example(content=b",x\ncategory,r\ncategory,m\n")
def test_factor_readers(fuzz_dir: Path, content: bytes) -> None:
    path = _write(fuzz_dir, "factors.csv", content)
    for reader in (
        lambda: read_llm_factors_csv(path),
        lambda: read_task_factors_csv(path),
        lambda: read_task_factors_csv(path, orientation="task_rows"),
        lambda: read_task_factors_csv(path, orientation="task_columns"),
    ):
        result = _outcome(reader)
        assert isinstance(result, pd.DataFrame | DataError)


@FUZZ
@given(
    llm_text=st.one_of(csv_texts(), factor_csv_texts()),
    task_text=st.one_of(csv_texts(), factor_csv_texts()),
    score_text=st.one_of(csv_texts(), wide_csv_texts(), long_csv_texts()),
    kwargs=KWARGS,
)
def test_readers_combined(
    fuzz_dir: Path, llm_text: str, task_text: str, score_text: str, kwargs: dict[str, Any]
) -> None:
    """Factor tables read from CSV and handed to a score reader."""
    llms = _outcome(lambda: read_llm_factors_csv(_write(fuzz_dir, "l.csv", llm_text)))
    tasks = _outcome(lambda: read_task_factors_csv(_write(fuzz_dir, "t.csv", task_text)))
    llms = llms if isinstance(llms, pd.DataFrame) else None
    tasks = tasks if isinstance(tasks, pd.DataFrame) else None
    path = _write(fuzz_dir, "s.csv", score_text)
    _outcome(lambda: read_long_csv(path, llms=llms, tasks=tasks, **kwargs))
    _outcome(lambda: read_wide_csv(path, llms=llms, tasks=tasks, **kwargs))


@FUZZ
@given(
    scores=scores_frames(),
    llms=factor_tables("llm", ("a", "b", "c")),
    tasks=factor_tables("task", ("x", "y", "z")),
    kwargs=KWARGS,
)
@example(  # a text higher_is_better column crashed in astype(float)
    scores=pd.DataFrame({"llm": ["a", "b"], "task": ["x", "y"], "score": [0.0, 0.5]}),
    llms=None,
    tasks=pd.DataFrame(
        {"category": ["r", "r"], "higher_is_better": ["", "perhaps"]}, index=["x", "y"]
    ),
    kwargs={},
)
@example(  # yes/no column with an empty cell: astype(float) of ""
    scores=pd.DataFrame({"llm": [False, False], "task": [0.0, 1.0], "score": [0.0, 0.0]}),
    llms=None,
    tasks=pd.DataFrame(
        {"category": ["r", "r"], "higher_is_better": pd.Series(["", False], dtype=object)},
        index=["0.0", "1.0"],
    ),
    kwargs={},
)
@example(  # a timestamp in the lo column crashed in astype(float)
    scores=pd.DataFrame({"llm": ["a"], "task": ["x"], "score": [0.5]}),
    llms=None,
    tasks=pd.DataFrame({"category": ["r"], "lo": [dt.datetime(2024, 1, 1)]}, index=["x"]),
    kwargs={},
)
@example(  # an all-missing family column could not take the LLM names (LossySetitemError)
    scores=pd.DataFrame({"llm": [0.0], "task": [0.0], "score": [0.0]}),
    llms=pd.DataFrame({"family": [np.nan]}, index=["0.0"]),
    tasks=None,
    kwargs={"score_range": (0, 1)},
)
@example(  # a repeated "llm" column crashed in clean_names (length mismatch)
    scores=pd.DataFrame([[None, None, None, None]], columns=["llm", "task", "score", "llm"]),
    llms=None,
    tasks=None,
    kwargs={},
)
@example(  # two columns named "size" after stripping (found in review, not by the fuzzer)
    scores=pd.DataFrame({"llm": ["a"], "task": ["x"], "score": [0.5]}),
    llms=pd.DataFrame([["f", 1, 2]], index=["a"], columns=["family", "size", " size"]),
    tasks=None,
    kwargs={"score_range": (0, 1)},
)
@example(  # unscored task without bounds: "scores range nan..nan" (found in review)
    scores=pd.DataFrame({"llm": ["a"], "task": ["x"], "score": [50.0]}),
    llms=None,
    tasks=pd.DataFrame({"category": ["r", "r"]}, index=["x", "z"]),
    kwargs={"allow_unobserved": True},
)
def test_constructor_random_frames(
    scores: pd.DataFrame,
    llms: pd.DataFrame | None,
    tasks: pd.DataFrame | None,
    kwargs: dict[str, Any],
) -> None:
    _outcome(lambda: CollaborativeData(scores, llms, tasks, **kwargs))


@FUZZ
@given(case=coherent_cases())
@example(  # Decimal("NaN") was not missing: stored as the text "NaN", lost in to_xarray
    case=(
        pd.DataFrame({"llm": ["a", "a"], "task": ["x", "x"], "score": [0.0, 0.0]}),
        pd.DataFrame(
            {"family": ["f", "f"], "size": [None, decimal.Decimal("NaN")]},
            index=pd.Index(["a", "new"], name="llm"),
        ),
        None,
        {"score_range": (0, 1), "aggregate": "mean", "allow_unobserved": True},
    )
)
def test_constructor_coherent_tables(
    case: tuple[pd.DataFrame, pd.DataFrame | None, pd.DataFrame | None, dict[str, Any]],
) -> None:
    """Mostly valid data: the constructor and from_long agree, derived objects stay valid."""
    scores, llms, tasks, kwargs = case
    result = _outcome(lambda: CollaborativeData(scores, llms, tasks, **kwargs))
    renamed = scores.rename(columns={"llm": "model", "score": "acc"})
    again = _outcome(
        lambda: CollaborativeData.from_long(
            renamed, llm="model", score="acc", llms=llms, tasks=tasks, **kwargs
        )
    )
    assert type(again) is type(result)
    if isinstance(result, DataError):
        assert isinstance(again, DataError)
        assert again.problems == result.problems
        return
    assert again == result
    _outcome(lambda: result.select(llms=result.llm_names[:1]))
    _outcome(lambda: result.drop_cells([0]))
    back = _outcome(lambda: CollaborativeData.from_xarray(result.to_xarray()))
    assert back == result
    wide = _outcome(
        lambda: CollaborativeData.from_wide(
            result.to_wide(), llms=result.llms, tasks=result.tasks, allow_unobserved=True
        )
    )
    assert wide == result


@FUZZ
@given(
    frame=scores_frames(),
    llms=factor_tables("llm", ("a", "b", "c")),
    tasks=factor_tables("task", ("x", "y", "z")),
    kwargs=KWARGS,
)
def test_from_long_random_frames(
    frame: pd.DataFrame,
    llms: pd.DataFrame | None,
    tasks: pd.DataFrame | None,
    kwargs: dict[str, Any],
) -> None:
    _outcome(lambda: CollaborativeData.from_long(frame, llms=llms, tasks=tasks, **kwargs))


@FUZZ
@given(
    frame=st.one_of(frames(), wide_frames()),
    orientation=st.sampled_from(["llm_rows", "task_rows", "diagonal"]),
    llms=factor_tables("llm", ("a", "b", "c")),
    tasks=factor_tables("task", ("x", "y", "z")),
    kwargs=KWARGS,
)
@example(  # "~" on an object array of bools (string dtype with <NA>) -> DeprecationWarning
    frame=pd.DataFrame({"a": pd.Series([None, None, None], dtype="string")}),
    orientation="task_rows",
    llms=None,
    tasks=None,
    kwargs={},
)
@example(  # category dtype cells
    frame=pd.DataFrame({"x": pd.Series(["1", None], dtype="category")}, index=["a", "b"]),
    orientation="llm_rows",
    llms=None,
    tasks=None,
    kwargs={"score_range": (0, 1)},
)
def test_from_wide_random_frames(
    frame: pd.DataFrame,
    orientation: Any,
    llms: pd.DataFrame | None,
    tasks: pd.DataFrame | None,
    kwargs: dict[str, Any],
) -> None:
    result = _outcome(
        lambda: CollaborativeData.from_wide(
            frame, orientation=orientation, llms=llms, tasks=tasks, **kwargs
        )
    )
    if isinstance(result, CollaborativeData):
        assert orientation in ("llm_rows", "task_rows")
        again = _outcome(lambda: CollaborativeData.from_xarray(result.to_xarray()))
        assert isinstance(again, CollaborativeData)
        pd.testing.assert_frame_equal(again.to_wide(), result.to_wide())
        assert again == result


@FUZZ
@given(values=st.lists(st.floats(allow_nan=False, allow_infinity=False, width=32), min_size=1))
def test_huge_and_tiny_numbers_in_wide_csv(fuzz_dir: Path, values: list[float]) -> None:
    """Any finite float written to a wide CSV reads back exactly or fails cleanly."""
    text = ",t\n" + "".join(f"m{i},{v!r}\n" for i, v in enumerate(values))
    path = _write(fuzz_dir, "numbers.csv", text)
    result = _outcome(lambda: read_wide_csv(path))
    lo, hi = min(values), max(values)
    if lo >= 0 and hi <= 100:
        assert isinstance(result, CollaborativeData)
        got = result.to_wide()["t"].to_numpy()
        assert got.tolist() == [float(v) for v in values]
    else:
        assert isinstance(result, DataError)
        assert any("cannot infer score bounds" in p for p in result.problems)
