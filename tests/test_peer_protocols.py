"""Protocols peers publish: per-LLM folds, release date, stronger than seen; LLM dates (fast)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bayes_cpp import CollaborativeData, DataError, read_llm_factors_csv, simulate
from bayes_cpp.cli import build_parser
from bayes_cpp.evaluation import (
    PROTOCOLS,
    evaluate,
    llm_strength,
    make_splits,
    per_llm_fold_splits,
    release_date_splits,
    stronger_than_seen_splits,
)
from bayes_cpp.exceptions import SpecError
from tests.conftest import SEED


def _cells(frame: pd.DataFrame) -> set[tuple[str, str]]:
    return set(zip(frame["llm"], frame["task"], strict=True))


@pytest.fixture(scope="module")
def data():
    return simulate(30, 8, density=0.6, random_seed=SEED).data


@pytest.fixture(scope="module")
def dated(data):
    rng = np.random.default_rng(SEED)
    dates = pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 500, 30), unit="D")
    dates = pd.Series(dates, index=data.llms.index).astype("datetime64[ns]")
    dates.iloc[[3, 7]] = pd.NaT
    return CollaborativeData(data.scores, data.llms.assign(release_date=dates), data.tasks)


# ---------------------------------------------------------------- per-llm-folds
def test_per_llm_folds_structure(data):
    splits = per_llm_fold_splits(data, seeds=[0, 1], folds=3, groups=3)
    assert len(splits) == 2 * 3 * 3
    counts = data.observed_counts("llm")
    eligible = {str(n) for n, c in counts.items() if c >= 3}
    for seed in (0, 1):
        mine = [s for s in splits if s.seed == seed]
        groups = [set(s.test["llm"]) | set(s.known["llm"]) for s in mine[::3]]
        assert set().union(*groups) == eligible  # groups partition the eligible LLMs
        assert sum(len(g) for g in groups) == len(eligible)
        for g in range(3):
            folds = mine[3 * g : 3 * g + 3]
            members = groups[g]
            # One fit per group: the three folds share their training cells.
            assert len({s.fingerprint for s in folds}) == 1
            train = _cells(folds[0].train.scores)
            assert not {llm for llm, _ in train} & members  # held-out LLMs have no training cell
            others = _cells(data.scores[~data.scores["llm"].isin(members)])
            assert train == others  # every other LLM complete
            tests = [_cells(s.test) for s in folds]
            all_cells = _cells(data.scores[data.scores["llm"].isin(members)])
            assert set().union(*tests) == all_cells
            assert sum(map(len, tests)) == len(all_cells)
            for s in folds:
                assert _cells(s.known) | _cells(s.test) == all_cells
                assert not _cells(s.known) & _cells(s.test)
            for name in members:  # balanced folds: sizes differ by at most one
                sizes = [int((s.test["llm"] == name).sum()) for s in folds]
                assert max(sizes) - min(sizes) <= 1
                assert min(sizes) >= 1
    again = per_llm_fold_splits(data, seeds=[1])
    assert [_cells(s.test) for s in again] == [_cells(s.test) for s in splits[9:]]
    with pytest.raises(SpecError, match="folds >= 2"):
        per_llm_fold_splits(data, folds=1)


def test_per_llm_folds_reuse_one_fit_per_group_and_condition_newcomers(data, mock_sampling):
    small = simulate(14, 5, density=1.0, random_seed=SEED).data
    result = evaluate(
        small,
        "per-llm-folds",
        methods=["hbmf", "task-mean"],
        seeds=[0],
        sampler={"draws": 20, "tune": 10, "chains": 1},
        protocol_options={"groups": 2},
        progress=False,
    )
    fits = result.fits[result.fits["method"] == "hbmf"]
    assert fits["reused_fit"].tolist() == [False, True, True, False, True, True]
    assert len(result.cells) == 2 * small.n_observed  # every cell scored once per method
    assert result.settings["protocol_options"] == {"groups": 2}


# ----------------------------------------------------------------- release date
def test_release_date_trains_on_the_past(dated):
    cutoff = pd.Timestamp("2024-01-01")
    splits = release_date_splits(dated, "2024-01-01", k=2, seeds=[0, 1])
    dates = dated.llms["release_date"]
    for split in splits:
        train_llms = set(split.train.scores["llm"])
        test_llms = set(split.test["llm"])
        assert all(dates[n] < cutoff for n in train_llms)
        assert all(dates[n] >= cutoff for n in test_llms)
        assert not train_llms & {"llm-003", "llm-007"}  # undated: left out
        assert not test_llms & {"llm-003", "llm-007"}
        assert split.known.groupby("llm").size().eq(2).all()
        assert set(split.known["llm"]) == test_llms
    assert splits[0].fingerprint == splits[1].fingerprint
    assert _cells(splits[0].known) != _cells(splits[1].known)
    made = make_splits(dated, "release-date", k=[0, 2], seeds=2, cutoff="2024-01-01")
    assert [s.k for s in made] == [0, 2, 2]  # k = 0: nothing random, one split
    assert len({s.fingerprint for s in made}) == 1
    assert set(made[0].test["llm"]) == set(made[1].test["llm"]) | set(made[1].known["llm"])


def test_release_date_default_cutoff_and_subsamples(dated):
    split = release_date_splits(dated, holdout=0.25)[0]
    n_dated = int(dated.llms["release_date"].notna().sum())
    dates = dated.llms["release_date"]
    later = dates[dates >= pd.Timestamp(split.label.split("=")[1].split()[0])]
    assert len(later) == round(0.25 * n_dated)
    sub = release_date_splits(dated, holdout=0.5, max_train=5, max_test=3, seeds=[0, 1])
    assert [len(set(s.train.scores["llm"])) for s in sub] == [5, 5]
    # Left-out LLMs lose their rows: the fit has only the sampled ones.
    assert [s.train.n_llms for s in sub] == [8, 8]
    assert all(len(set(s.test["llm"])) == 3 for s in sub)
    assert sub[0].fingerprint != sub[1].fingerprint


def test_release_date_needs_dates(data):
    with pytest.raises(DataError, match="release dates in column 'release_date' or 'date'"):
        release_date_splits(data)
    with pytest.raises(SpecError, match="cutoff must be a date"):
        release_date_splits(
            CollaborativeData(
                data.scores,
                data.llms.assign(date=pd.Timestamp("2024-01-01")),
                data.tasks,
            ),
            "not a date",
        )


# ------------------------------------------------------------ stronger than seen
def test_stronger_than_seen_holds_out_the_strongest(data):
    splits = stronger_than_seen_splits(data, 0.1, k=1, seeds=[0, 1])
    strength = llm_strength(data)
    for split in splits:
        held = set(split.test["llm"])
        train = set(split.train.scores["llm"])
        assert len(held) == 3 or held < set(strength.nlargest(3).index)
        assert strength[sorted(held)].min() > strength[sorted(train)].max()
        assert split.known.groupby("llm").size().eq(1).all()
    # Strength is task-centred: hand check for one LLM.
    scores = data.scores.assign(p=data.unit_scores().to_numpy())
    centred = scores["p"] - scores.groupby("task")["p"].transform("mean")
    assert strength["llm-005"] == pytest.approx(centred[scores["llm"] == "llm-005"].mean())
    assert len(stronger_than_seen_splits(data, 0.1, k=0, seeds=3)) == 1


def test_new_protocols_are_cli_choices():
    for name in ("per-llm-folds", "release-date", "stronger-than-seen"):
        assert name in PROTOCOLS
    args = build_parser().parse_args(
        ["evaluate", "--dataset", "x", "--protocol", "release-date", "--cutoff", "2024-03-01"]
    )
    assert args.cutoff == "2024-03-01"


# ----------------------------------------------------------------------- dates
def test_llm_date_columns_are_parsed_to_dates(tmp_path):
    (tmp_path / "llms.csv").write_text(
        "llm,family,params_b,release_date\na,f,7,2024-05-05T12:22:44Z\nb,f,13,2023-03-01\nc,g,70,\n"
    )
    frame = pd.DataFrame({"llm": ["a", "b", "c"], "task": "t", "score": [50.0, 40.0, 30.0]})
    data = CollaborativeData(
        frame, read_llm_factors_csv(tmp_path / "llms.csv"), score_range=(0, 100)
    )
    dates = data.llms["release_date"]
    assert pd.api.types.is_datetime64_any_dtype(dates)
    assert dates["a"] == pd.Timestamp("2024-05-05 12:22:44")
    assert pd.isna(dates["c"])
    assert "release_date" not in data.llm_factor_names  # never a numeric design factor
    back = CollaborativeData.from_xarray(data.to_xarray())
    pd.testing.assert_series_equal(back.llms["release_date"], dates)
    (tmp_path / "bad.csv").write_text("llm,family,date\na,f,yesterday\nb,f,2023-03-01\nc,g,\n")
    with pytest.raises(DataError, match="row 'a', column 'date': 'yesterday' is not a date"):
        CollaborativeData(frame, read_llm_factors_csv(tmp_path / "bad.csv"), score_range=(0, 100))
