"""Evaluation protocols: seeded train/test splits of a :class:`CollaborativeData`.

Every protocol returns a list of :class:`Split`. A split keeps every LLM and
task row of the full data in ``train`` (but for LLMs a protocol leaves out) (a row whose cells are all hidden is a
newcomer: it has no scores but keeps its family and design factors), lists the
hidden cells in ``test`` and, for the "k known scores" settings of the CPP
paper (CPP-2, CPP-T2), the newcomer's revealed scores in ``known``. Methods
see ``train`` plus ``known`` and are scored on ``test`` only.

Protocols (arXiv 2407.01300, Sec. 5 and App. D):

``random``
    Hide a random fraction of the observed cells (Table 1: 5%, 5 seeds).
``llm-holdout``
    Hide one LLM completely (CPP-0) or reveal ``k`` of its scores (CPP-2).
``family-extrapolation``
    In every family, hide the largest member (by parameter count) at once;
    the smaller members stay (the scaling-law setting).
``task-holdout``
    Hide one task completely (CPP-T0) or reveal ``k`` LLMs' scores (CPP-T2).
``per-llm-half``
    Hide a random half (rounded down) of each LLM's scores.

Protocols peers publish (issue 15):

``per-llm-folds``
    BenchPress (Zeng & Papailiopoulos): each LLM's scores in 3 folds, each
    fold predicted from the other two with every other LLM complete, over
    10 seeds. Made cheap by holding out a group of LLMs at once (see
    :func:`per_llm_fold_splits`).
``release-date``
    Train on the LLMs released before a date, forecast the later ones with
    0 or ``k`` of their scores revealed.
``stronger-than-seen``
    Hold out the strongest LLMs, so every held-out LLM is stronger than
    every training LLM (the extrapolation in which the audit of Zhang,
    Dorner & Hardt 2025 found no method reliably better than a sample mean).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from bayes_cpp.data import CollaborativeData
from bayes_cpp.datasets.paper import (
    PAPER_TABLE4,
    PAPER_TABLE4_LLMS,
    PAPER_TABLE5_TASKS,
    paper_table4_llms,
)
from bayes_cpp.evaluation.names import PROTOCOLS
from bayes_cpp.exceptions import DataError, SpecError

__all__ = [
    "PAPER_TABLE4",
    "PAPER_TABLE4_LLMS",
    "PAPER_TABLE5_TASKS",
    "PROTOCOLS",
    "Split",
    "family_extrapolation_splits",
    "llm_holdout_splits",
    "llm_strength",
    "make_splits",
    "paper_table4_llms",
    "per_llm_fold_splits",
    "per_llm_half_splits",
    "random_splits",
    "release_date_splits",
    "seed_list",
    "stronger_than_seen_splits",
    "task_holdout_splits",
]

#: Columns of the LLM table :func:`release_date_splits` reads, first present wins.
DATE_COLUMNS: tuple[str, ...] = ("release_date", "date")

_CELL_COLUMNS = ["llm", "task", "score"]
#: Hidden cells an LLM or task must keep, beyond the revealed ones, to be held out.
_MIN_SCORES = 3


@dataclass(frozen=True)
class Split:
    """One train/test split.

    Attributes
    ----------
    protocol : str
        Protocol name.
    label : str
        Human-readable fold label (e.g. ``"seed=3"``, ``"llm=LLaMA-65B k=2 seed=0"``).
    seed : int or None
        Seed that drew the split (None for deterministic splits).
    train : CollaborativeData
        Training cells, with every LLM and task row of the full data kept
        (except LLMs a protocol leaves out entirely: release-date's undated or
        unsampled ones, stronger-than-seen's strong LLMs with too few scores).
    test : pandas.DataFrame
        Hidden cells: columns ``llm``, ``task``, ``score`` (task units).
    known : pandas.DataFrame
        Revealed scores of newcomers (same columns); empty unless ``k > 0``.
    group : str
        What the split holds out as a whole (an LLM or task name), or ``""``.
    k : int
        Number of revealed scores per newcomer.
    """

    protocol: str
    label: str
    seed: int | None
    train: CollaborativeData
    test: pd.DataFrame
    known: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=_CELL_COLUMNS))
    group: str = ""
    k: int = 0

    @cached_property
    def train_with_known(self) -> CollaborativeData:
        """``train`` plus the newcomers' revealed scores (what point methods fit)."""
        if self.known.empty:
            return self.train
        scores = pd.concat([self.train.scores, self.known], ignore_index=True)
        return self.train.with_scores(scores)

    @cached_property
    def fingerprint(self) -> str:
        """Hash of the training cells: splits that share it can share a fit."""
        s = self.train.scores.sort_values(["llm", "task"])
        text = s.to_csv(index=False)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def _cells(data: CollaborativeData, mask: np.ndarray) -> pd.DataFrame:
    return data.scores.loc[mask, _CELL_COLUMNS].reset_index(drop=True)


def _hide(
    data: CollaborativeData,
    hidden: np.ndarray,
    *,
    protocol: str,
    label: str,
    seed: int | None,
    known: np.ndarray | None = None,
    group: str = "",
    k: int = 0,
    dropped: np.ndarray | None = None,
) -> Split:
    """Split ``data`` by boolean masks over its score rows (``known`` is a subset of hidden).

    ``dropped`` cells are neither trained on nor scored (e.g. LLMs of unknown
    date); an LLM all of whose cells are dropped loses its row in ``train``.
    """
    known = np.zeros_like(hidden) if known is None else known
    train = data.drop_cells(hidden) if dropped is None else data.drop_cells(hidden | dropped)
    if dropped is not None:
        # LLMs left out entirely lose their rows too: a fit would only sample
        # their parameters from the prior (slow on a subsampled leaderboard).
        llm_col = data.scores["llm"].to_numpy()
        gone = set(llm_col[dropped & ~hidden]) - set(llm_col[~dropped | hidden])
        if gone:
            train = train.select([n for n in data.llm_names if n not in gone])
    return Split(
        protocol=protocol,
        label=label,
        seed=seed,
        train=train,
        test=_cells(data, hidden & ~known),
        known=_cells(data, known),
        group=group,
        k=k,
    )


def _check_fraction(holdout: float) -> None:
    if not isinstance(holdout, float | int) or not 0.0 < holdout < 1.0:
        raise SpecError(f"holdout must be a fraction strictly between 0 and 1, not {holdout!r}")


def seed_list(seeds: int | Sequence[int]) -> list[int]:
    """The seeds a ``seeds`` argument names: a count ``n`` means ``0..n-1``.

    Examples
    --------
    >>> seed_list(3), seed_list([7, 2])
    ([0, 1, 2], [7, 2])
    """
    if isinstance(seeds, int | np.integer):
        if seeds < 1:
            raise SpecError(f"seeds must be a positive count or a list of seeds, not {seeds}")
        return list(range(int(seeds)))
    return [int(s) for s in seeds]


def random_splits(
    data: CollaborativeData, holdout: float = 0.05, seeds: int | Sequence[int] = 5
) -> list[Split]:
    """Hide ``round(holdout * n_observed)`` random observed cells, once per seed.

    Parameters
    ----------
    data : CollaborativeData
        Full data.
    holdout : float
        Fraction of observed cells hidden (the CPP paper's Table 1 uses 0.05).
    seeds : int or sequence of int
        Number of seeds (``0..n-1``) or the seeds themselves.

    Examples
    --------
    >>> from bayes_cpp.simulation import simulate
    >>> data = simulate(20, 6, random_seed=0).data
    >>> split = random_splits(data, 0.1, seeds=[3])[0]
    >>> len(split.test) == round(0.1 * data.n_observed)
    True
    """
    _check_fraction(holdout)
    n_hide = max(1, round(holdout * data.n_observed))
    splits = []
    for seed in seed_list(seeds):
        rng = np.random.default_rng(seed)
        hidden = np.zeros(data.n_observed, dtype=bool)
        hidden[rng.choice(data.n_observed, size=n_hide, replace=False)] = True
        splits.append(
            _hide(
                data, hidden, protocol="random", label=f"holdout={holdout:g} seed={seed}", seed=seed
            )
        )
    return splits


def _known_subset(rows: np.ndarray, k: int, rng: np.random.Generator, n_total: int) -> np.ndarray:
    known = np.zeros(n_total, dtype=bool)
    if k:
        known[rng.choice(rows, size=k, replace=False)] = True
    return known


def _resolve(names: Iterable[str], known: list[str], what: str) -> list[str]:
    names = list(names)
    missing = [n for n in names if n not in known]
    if missing:
        raise DataError([f"unknown {what} {n!r} for this protocol" for n in missing])
    return names


def _holdout_splits(
    data: CollaborativeData,
    side: str,
    names: Iterable[str] | None,
    k: int,
    seeds: int | Sequence[int],
    min_scores: int,
) -> list[Split]:
    """Hide each named LLM (``side="llm"``) or task completely, or all but ``k`` of its cells."""
    if k < 0:
        raise SpecError(f"k must be >= 0, not {k}")
    what = "LLM" if side == "llm" else "task"
    all_names = data.llm_names if side == "llm" else data.task_names
    counts = {str(n): int(c) for n, c in data.observed_counts(side).items()}  # type: ignore[arg-type]
    if names is None:
        chosen = [n for n, c in counts.items() if c >= min_scores + k]
    else:
        chosen = _resolve(names, all_names, what)
        short = [
            f"{what} {n!r} has {counts[n]} scores, fewer than k + 1 = {k + 1}"
            for n in chosen
            if counts[n] <= k
        ]
        if short:
            raise DataError(short)
    # Nothing is random when k == 0, so one split per name.
    use_seeds = seed_list(seeds)[:1] if k == 0 else seed_list(seeds)
    column = data.scores[side].to_numpy()
    protocol = f"{side}-holdout"
    splits = []
    for name in chosen:
        hidden = column == name
        rows = np.flatnonzero(hidden)
        for seed in use_seeds:
            rng = np.random.default_rng([seed, all_names.index(name)])
            splits.append(
                _hide(
                    data,
                    hidden,
                    protocol=protocol,
                    label=f"{side}={name} k={k}" + (f" seed={seed}" if k else ""),
                    seed=seed if k else None,
                    known=_known_subset(rows, k, rng, data.n_observed),
                    group=name,
                    k=k,
                )
            )
    return splits


def llm_holdout_splits(
    data: CollaborativeData,
    llms: Iterable[str] | None = None,
    *,
    k: int = 0,
    seeds: int | Sequence[int] = 1,
    min_scores: int = _MIN_SCORES,
) -> list[Split]:
    """Hide each listed LLM completely (``k=0``, CPP-0) or all but ``k`` of its scores.

    Parameters
    ----------
    data : CollaborativeData
        Full data.
    llms : iterable of str, optional
        LLMs to hold out, one split each (default: every LLM with at least
        ``min_scores + k`` scores; :data:`PAPER_TABLE4_LLMS` for the paper's set).
    k : int
        Scores of the held-out LLM revealed to the methods (2 = the paper's CPP-2).
    seeds : int or sequence of int
        Seeds choosing the revealed scores (one split per LLM and seed; only
        the first seed is used when ``k == 0``, where nothing is random).
    min_scores : int
        Minimum number of hidden cells an LLM must keep to be chosen by default.

    Examples
    --------
    >>> from bayes_cpp.simulation import simulate
    >>> data = simulate(20, 6, density=1.0, random_seed=0).data
    >>> split = llm_holdout_splits(data, ["llm-003"], k=2)[0]
    >>> len(split.known), len(split.test), split.label
    (2, 4, 'llm=llm-003 k=2 seed=0')
    """
    return _holdout_splits(data, "llm", llms, k, seeds, min_scores)


def task_holdout_splits(
    data: CollaborativeData,
    tasks: Iterable[str] | None = None,
    *,
    k: int = 0,
    seeds: int | Sequence[int] = 1,
    min_scores: int = _MIN_SCORES,
) -> list[Split]:
    """Hide each listed task completely (``k=0``, CPP-T0) or all but ``k`` LLMs' scores (CPP-T2).

    Parameters are as in :func:`llm_holdout_splits`, with tasks for LLMs
    (:data:`PAPER_TABLE5_TASKS` is the paper's set).
    """
    return _holdout_splits(data, "task", tasks, k, seeds, min_scores)


def family_extrapolation_splits(
    data: CollaborativeData, *, size_column: str = "params_b", min_members: int = 2
) -> list[Split]:
    """Hide the largest member of every family at once (one split).

    Only families with at least ``min_members`` LLMs of known size that have
    scores take part; the smaller members stay in training, as in the
    scaling-law setting of the CPP paper (Sec. 5.2).
    """
    if size_column not in data.llms.columns:
        raise DataError(
            [
                f"family-extrapolation needs LLM sizes in column {size_column!r}; the LLM table has "
                f"{list(data.llms.columns)}"
            ]
        )
    counts = data.observed_counts("llm")
    table = data.llms.assign(n=counts)
    table = table[(table["n"] > 0) & table[size_column].notna()]
    largest = []
    for _, members in table.groupby("family", sort=True):
        if len(members) >= min_members:
            largest.append(str(members[size_column].astype(float).idxmax()))
    if not largest:
        raise DataError([f"no family has {min_members} or more LLMs with a known {size_column!r}"])
    hidden = data.scores["llm"].isin(largest).to_numpy()
    return [
        _hide(
            data,
            hidden,
            protocol="family-extrapolation",
            label=f"largest of {len(largest)} families",
            seed=None,
            group=",".join(largest),
        )
    ]


def per_llm_half_splits(data: CollaborativeData, seeds: int | Sequence[int] = 5) -> list[Split]:
    """Hide a random half (rounded down) of every LLM's scores, once per seed."""
    llm_col = data.scores["llm"].to_numpy()
    splits = []
    for seed in seed_list(seeds):
        rng = np.random.default_rng(seed)
        hidden = np.zeros(data.n_observed, dtype=bool)
        for name in data.llm_names:
            rows = np.flatnonzero(llm_col == name)
            hidden[rng.choice(rows, size=len(rows) // 2, replace=False)] = True
        splits.append(_hide(data, hidden, protocol="per-llm-half", label=f"seed={seed}", seed=seed))
    return splits


def per_llm_fold_splits(
    data: CollaborativeData,
    seeds: int | Sequence[int] = 10,
    *,
    folds: int = 3,
    groups: int = 3,
) -> list[Split]:
    """BenchPress's per-LLM folds, one fit per group of held-out LLMs.

    For each seed, every LLM with at least ``folds`` scores has its scores
    dealt at random into ``folds`` folds (sizes differ by at most one), and
    those LLMs are dealt at random into ``groups`` groups. Split ``(g, f)``
    holds out group ``g``'s LLMs: the training cells are every other LLM
    complete (and the LLMs with fewer than ``folds`` scores, always
    complete), the held-out LLMs' folds other than ``f`` are revealed
    (``known``) and fold ``f`` is scored.

    Design: BenchPress refits per LLM and fold; here the ``folds`` splits of
    one group share their training cells (one fit, reused through the
    harness's fit cache), and a Bayesian method conditions each held-out LLM
    on its revealed folds without a refit (:func:`bayes_cpp.evaluation.methods.fold_in_llm`,
    as for CPP-2 newcomers), so a seed costs ``groups`` fits instead of one
    per LLM and fold. The price: each fit sees ``1 - 1/groups`` of the
    eligible LLMs instead of all but one, and the revealed folds inform the
    held-out LLM's own row but not the population estimates. Point baselines
    fit on training plus revealed cells, as always (one fit per split).
    ``split.k`` is 0: the number of revealed scores differs by LLM.

    Examples
    --------
    >>> from bayes_cpp.simulation import simulate
    >>> data = simulate(12, 6, density=1.0, random_seed=0).data
    >>> splits = per_llm_fold_splits(data, seeds=[0])
    >>> len(splits), len(splits[0].test) + len(splits[0].known) == 6 * 4
    (9, True)
    """
    if folds < 2 or groups < 1:
        raise SpecError(f"per-llm-folds needs folds >= 2 and groups >= 1, not {folds}, {groups}")
    counts = data.observed_counts("llm")
    eligible = [str(n) for n, c in counts.items() if c >= folds]
    if len(eligible) < groups:
        raise DataError(
            [
                f"per-llm-folds: only {len(eligible)} LLMs have at least {folds} scores; "
                f"need at least groups = {groups}"
            ]
        )
    llm_col = data.scores["llm"].to_numpy()
    splits = []
    for seed in seed_list(seeds):
        rng = np.random.default_rng([seed, 0x4F4C44])
        group_of = dict(
            zip(rng.permutation(eligible), np.arange(len(eligible)) % groups, strict=True)
        )
        fold = np.full(data.n_observed, -1)
        for name in eligible:
            rows = np.flatnonzero(llm_col == name)
            fold[rng.permutation(rows)] = np.arange(len(rows)) % folds
        for g in range(groups):
            members = sorted(n for n, gg in group_of.items() if gg == g)
            hidden = np.isin(llm_col, members)
            for f in range(folds):
                splits.append(
                    _hide(
                        data,
                        hidden,
                        protocol="per-llm-folds",
                        label=f"seed={seed} group={g} fold={f}",
                        seed=seed,
                        known=hidden & (fold != f),
                        group=f"seed={seed} group={g}",
                    )
                )
    return splits


def _date_column(data: CollaborativeData, column: str | None) -> pd.Series:
    table = data.llms
    names = [column] if column else [c for c in DATE_COLUMNS if c in table.columns]
    if not names or names[0] not in table.columns:
        raise DataError(
            [
                f"release-date needs LLM release dates in column "
                f"{column or ' or '.join(repr(c) for c in DATE_COLUMNS)}; the LLM table has "
                f"{list(table.columns)}"
            ]
        )
    values = table[names[0]]
    if not pd.api.types.is_datetime64_any_dtype(values):
        raise DataError(
            [
                f"LLM column {names[0]!r} must hold dates (it holds {values.dtype}); see read_llm_factors_csv"
            ]
        )
    return values


def _reveal(
    rows_by_llm: dict[str, np.ndarray], k: int, rng: np.random.Generator, n_total: int
) -> np.ndarray:
    known = np.zeros(n_total, dtype=bool)
    for name in sorted(rows_by_llm):
        known |= _known_subset(rows_by_llm[name], k, rng, n_total)
    return known


def _subsample(names: list[str], limit: int | None, rng: np.random.Generator) -> list[str]:
    if limit is None or limit >= len(names):
        return names
    if limit < 1:
        raise SpecError(f"max_train / max_test must be positive, not {limit}")
    return sorted(rng.choice(names, size=limit, replace=False).tolist())


def release_date_splits(
    data: CollaborativeData,
    cutoff: str | pd.Timestamp | None = None,
    *,
    holdout: float = 0.2,
    k: int = 0,
    seeds: int | Sequence[int] = 1,
    date_column: str | None = None,
    max_train: int | None = None,
    max_test: int | None = None,
    min_scores: int = _MIN_SCORES,
) -> list[Split]:
    """Train on LLMs released before ``cutoff``, forecast the later ones (all at once).

    Parameters
    ----------
    data : CollaborativeData
        Full data; its LLM table needs a date column (``release_date`` or
        ``date``, parsed to dates by the readers).
    cutoff : str or Timestamp, optional
        LLMs dated before it train, those on or after it are held out.
        Default: the date that leaves the latest ``holdout`` fraction of the
        dated LLMs with scores after it.
    holdout : float
        Fraction of dated LLMs held out when ``cutoff`` is not given.
    k : int
        Scores of each held-out LLM revealed (0: a forecast from family and
        design factors alone). A held-out LLM needs ``min_scores + k`` scores
        to be scored; one with fewer is left out.
    seeds : int or sequence of int
        Seeds choosing the revealed scores and the subsamples (with ``k = 0``
        and no subsample nothing is random and only the first seed is used).
    date_column : str, optional
        The LLM table's date column (default: the first of :data:`DATE_COLUMNS`).
    max_train, max_test : int, optional
        Use a random subset of at most this many training (held-out) LLMs per
        seed; the others are left out. For large leaderboards (``openllm-v1``
        has 7,169 LLMs) where a fit on all of them is slow.
    min_scores : int
        Scored cells a held-out LLM keeps beyond its revealed ones.

    Notes
    -----
    LLMs without a date are left out (neither trained on nor scored), so
    nothing of unknown date leaks into training. All held-out LLMs share one
    split (one fit); a Bayesian method conditions each on its ``k`` revealed
    scores without a refit.

    Examples
    --------
    >>> from bayes_cpp import CollaborativeData
    >>> from bayes_cpp.simulation import simulate
    >>> data = simulate(10, 5, density=1.0, random_seed=0).data
    >>> llms = data.llms.assign(date=pd.date_range("2023-01-01", periods=10, freq="MS"))
    >>> dated = CollaborativeData(data.scores, llms, data.tasks)
    >>> split = release_date_splits(dated, "2023-09-01")[0]
    >>> sorted(set(split.test["llm"]))
    ['llm-008', 'llm-009']
    """
    if k < 0:
        raise SpecError(f"k must be >= 0, not {k}")
    dates = _date_column(data, date_column)
    counts = data.observed_counts("llm")
    dated = [str(n) for n in dates.index[dates.notna()] if counts[n] > 0]
    if cutoff is None:
        _check_fraction(holdout)
        ordered = dates[dated].sort_values(kind="stable")
        n_test = max(1, round(holdout * len(ordered)))
        if len(ordered) < 2:
            raise DataError([f"release-date: {len(ordered)} dated LLMs with scores; need 2"])
        when = pd.Timestamp(ordered.iloc[len(ordered) - n_test])
    else:
        try:
            when = pd.Timestamp(cutoff)
        except (TypeError, ValueError):
            raise SpecError(f"cutoff must be a date such as '2024-01-01', not {cutoff!r}") from None
    train_llms = [n for n in dated if dates[n] < when]
    test_llms = [n for n in dated if dates[n] >= when and counts[n] >= min_scores + k]
    if not train_llms or not test_llms:
        raise DataError(
            [
                f"release-date cutoff {when.date()}: {len(train_llms)} LLMs before it and "
                f"{len(test_llms)} after it with at least {min_scores + k} scores; need both"
            ]
        )
    llm_col = data.scores["llm"].to_numpy()
    random_parts = k > 0 or max_train is not None or max_test is not None
    use_seeds = seed_list(seeds) if random_parts else seed_list(seeds)[:1]
    splits = []
    for seed in use_seeds:
        rng = np.random.default_rng([seed, 0xDA7E])
        train_set = _subsample(train_llms, max_train, rng)
        test_set = _subsample(test_llms, max_test, rng)
        hidden = np.isin(llm_col, test_set)
        dropped = ~np.isin(llm_col, train_set) & ~hidden
        rows = {n: np.flatnonzero(llm_col == n) for n in test_set}
        splits.append(
            _hide(
                data,
                hidden,
                protocol="release-date",
                label=f"cutoff={when.date()} k={k}" + (f" seed={seed}" if random_parts else ""),
                seed=seed if random_parts else None,
                known=_reveal(rows, k, rng, data.n_observed),
                group=f"released from {when.date()}",
                k=k,
                dropped=dropped,
            )
        )
    return splits


def llm_strength(data: CollaborativeData) -> pd.Series:
    """Each LLM's mean task-centered unit score: ``mean_t (p_lt - mean_l' p_l't)``.

    Centering by the task's mean over all LLMs compares LLMs evaluated on
    different tasks (an LLM seen only on easy tasks is not "strong" for
    it). NaN for LLMs without scores.
    """
    scores = data.scores
    unit = data.unit_scores().to_numpy()
    task_mean = pd.Series(unit).groupby(scores["task"].to_numpy()).transform("mean").to_numpy()
    centered = pd.Series(unit - task_mean).groupby(scores["llm"].to_numpy()).mean()
    return centered.reindex(data.llm_names).rename("strength")


def stronger_than_seen_splits(
    data: CollaborativeData,
    holdout: float = 0.1,
    *,
    k: int = 0,
    seeds: int | Sequence[int] = 1,
    min_scores: int = _MIN_SCORES,
) -> list[Split]:
    """Hold out the strongest LLMs, so each is stronger than every training LLM.

    Strength is :func:`llm_strength` (mean task-centered unit score); the
    ``round(holdout * n)`` strongest of the ``n`` LLMs with scores are held
    out at once (one split per seed and ``k``), every other LLM trains. A
    held-out LLM with fewer than ``min_scores + k`` scores is left out
    (neither trained on nor scored). With ``k > 0`` that many of each
    held-out LLM's scores are revealed (seeded); with ``k = 0`` only the
    first seed is used.

    Examples
    --------
    >>> from bayes_cpp.simulation import simulate
    >>> data = simulate(20, 6, density=1.0, random_seed=0).data
    >>> split = stronger_than_seen_splits(data, 0.1)[0]
    >>> strength = llm_strength(data)
    >>> bool(
    ...     strength[sorted(set(split.test["llm"]))].min()
    ...     > strength.drop(sorted(set(split.test["llm"]))).max()
    ... )
    True
    """
    _check_fraction(holdout)
    if k < 0:
        raise SpecError(f"k must be >= 0, not {k}")
    strength = llm_strength(data).dropna().sort_values(ascending=False, kind="stable")
    n_hold = max(1, round(holdout * len(strength)))
    if n_hold >= len(strength):
        raise DataError([f"stronger-than-seen: holdout {holdout} leaves no training LLM"])
    held = [str(n) for n in strength.index[:n_hold]]
    counts = data.observed_counts("llm")
    scored = [n for n in held if counts[n] >= min_scores + k]
    if not scored:
        raise DataError(
            [f"stronger-than-seen: none of the {n_hold} strongest LLMs has {min_scores + k} scores"]
        )
    llm_col = data.scores["llm"].to_numpy()
    hidden = np.isin(llm_col, scored)
    dropped = np.isin(llm_col, held) & ~hidden
    rows = {n: np.flatnonzero(llm_col == n) for n in scored}
    use_seeds = seed_list(seeds) if k else seed_list(seeds)[:1]
    splits = []
    for seed in use_seeds:
        rng = np.random.default_rng([seed, 0x57A6])
        splits.append(
            _hide(
                data,
                hidden,
                protocol="stronger-than-seen",
                label=f"top {n_hold} k={k}" + (f" seed={seed}" if k else ""),
                seed=seed if k else None,
                known=_reveal(rows, k, rng, data.n_observed),
                group=f"strongest {n_hold}",
                k=k,
                dropped=dropped,
            )
        )
    return splits


def make_splits(
    data: CollaborativeData,
    protocol: str,
    *,
    holdout: float | Sequence[float] = 0.05,
    seeds: int | Sequence[int] = 5,
    k: int | Sequence[int] = 0,
    llms: Iterable[str] | None = None,
    tasks: Iterable[str] | None = None,
    cutoff: str | pd.Timestamp | None = None,
    folds: int = 3,
    groups: int = 3,
    max_train: int | None = None,
    max_test: int | None = None,
) -> list[Split]:
    """Dispatch to the protocol's split function by name (see :data:`PROTOCOLS`).

    ``holdout`` (random) and ``k`` (llm-holdout, task-holdout, release-date,
    stronger-than-seen) may be lists: the splits of every value are returned,
    those sharing their training cells next to each other so that a method
    can reuse one fit for them. ``holdout`` is the fraction of LLMs held out
    by stronger-than-seen (and by release-date without a ``cutoff``);
    ``folds``/``groups`` are per-llm-folds' and ``cutoff``, ``max_train``,
    ``max_test`` release-date's settings.
    """
    holdouts = [holdout] if isinstance(holdout, float | int) else list(holdout)
    ks = [k] if isinstance(k, int) else list(k)
    if protocol == "random":
        return [s for h in holdouts for s in random_splits(data, h, seeds)]
    if protocol == "per-llm-half":
        return per_llm_half_splits(data, seeds)
    if protocol == "per-llm-folds":
        return per_llm_fold_splits(data, seeds, folds=folds, groups=groups)
    if protocol == "release-date":
        made = [
            s
            for kk in ks
            for s in release_date_splits(
                data,
                cutoff,
                holdout=holdouts[0],
                k=kk,
                seeds=seeds,
                max_train=max_train,
                max_test=max_test,
                min_scores=_MIN_SCORES + max(ks) - kk,
            )
        ]
        order = {fp: i for i, fp in enumerate(dict.fromkeys(s.fingerprint for s in made))}
        return sorted(made, key=lambda s: order[s.fingerprint])
    if protocol == "stronger-than-seen":
        return [
            s
            for kk in ks
            for s in stronger_than_seen_splits(
                data, holdouts[0], k=kk, seeds=seeds, min_scores=_MIN_SCORES + max(ks) - kk
            )
        ]
    if protocol == "family-extrapolation":
        return family_extrapolation_splits(data)
    if protocol in ("llm-holdout", "task-holdout"):
        # One list of LLMs (tasks) for every k, so the k settings are compared
        # on the same held-out rows.
        need = _MIN_SCORES + max(ks)
        if llms is None:
            llms = [str(n) for n, c in data.observed_counts("llm").items() if c >= need]
        if tasks is None:
            tasks = [str(n) for n, c in data.observed_counts("task").items() if c >= need]
        llms, tasks = list(llms), list(tasks)
        splits = [
            s
            for kk in ks
            for s in (
                llm_holdout_splits(data, llms, k=kk, seeds=seeds)
                if protocol == "llm-holdout"
                else task_holdout_splits(data, tasks, k=kk, seeds=seeds)
            )
        ]
        order = {g: i for i, g in enumerate(dict.fromkeys(s.group for s in splits))}
        return sorted(splits, key=lambda s: order[s.group])
    raise SpecError(f"unknown protocol {protocol!r}; choose one of {', '.join(PROTOCOLS)}")
