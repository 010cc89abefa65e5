"""Evaluation protocols: seeded train/test splits of a :class:`CollaborativeData`.

Every protocol returns a list of :class:`Split`. A split keeps every LLM and
task row of the full data in ``train`` (a row whose cells are all hidden is a
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
    "make_splits",
    "paper_table4_llms",
    "per_llm_half_splits",
    "random_splits",
    "task_holdout_splits",
]

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
        Training cells, with every LLM and task row of the full data kept.
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
) -> Split:
    """Split ``data`` by boolean masks over its score rows (``known`` is a subset of hidden)."""
    known = np.zeros_like(hidden) if known is None else known
    return Split(
        protocol=protocol,
        label=label,
        seed=seed,
        train=data.drop_cells(hidden),
        test=_cells(data, hidden & ~known),
        known=_cells(data, known),
        group=group,
        k=k,
    )


def _check_fraction(holdout: float) -> None:
    if not isinstance(holdout, float | int) or not 0.0 < holdout < 1.0:
        raise SpecError(f"holdout must be a fraction strictly between 0 and 1, not {holdout!r}")


def _seed_list(seeds: int | Sequence[int]) -> list[int]:
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
    for seed in _seed_list(seeds):
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
    seed_list = _seed_list(seeds)[:1] if k == 0 else _seed_list(seeds)
    column = data.scores[side].to_numpy()
    protocol = f"{side}-holdout"
    splits = []
    for name in chosen:
        hidden = column == name
        rows = np.flatnonzero(hidden)
        for seed in seed_list:
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
    for seed in _seed_list(seeds):
        rng = np.random.default_rng(seed)
        hidden = np.zeros(data.n_observed, dtype=bool)
        for name in data.llm_names:
            rows = np.flatnonzero(llm_col == name)
            hidden[rng.choice(rows, size=len(rows) // 2, replace=False)] = True
        splits.append(_hide(data, hidden, protocol="per-llm-half", label=f"seed={seed}", seed=seed))
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
) -> list[Split]:
    """Dispatch to the protocol's split function by name (see :data:`PROTOCOLS`).

    ``holdout`` (random) and ``k`` (llm-holdout, task-holdout) may be lists:
    the splits of every value are returned, those holding out the same LLM or
    task next to each other so that a method can reuse one fit for them.
    """
    holdouts = [holdout] if isinstance(holdout, float | int) else list(holdout)
    ks = [k] if isinstance(k, int) else list(k)
    if protocol == "random":
        return [s for h in holdouts for s in random_splits(data, h, seeds)]
    if protocol == "per-llm-half":
        return per_llm_half_splits(data, seeds)
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
