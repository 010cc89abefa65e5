"""The evaluation harness: protocols x methods x splits -> tidy scores.

:func:`evaluate` runs every method on every split of a protocol, scores the
hidden cells (:mod:`.metrics`) and returns an :class:`EvaluationResult`
holding per-cell scores, the tidy per-split frame, fit records and settings;
it renders the Markdown table and the JSON file of ``bayes-cpp evaluate``.
"""

from __future__ import annotations

import json
import os
import platform
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from bayes_cpp._version import __version__
from bayes_cpp.data import CollaborativeData
from bayes_cpp.evaluation.methods import EVALUATION_SAMPLER, BayesMethod, Method, make_method
from bayes_cpp.evaluation.metrics import METRICS, aggregate, score_cells
from bayes_cpp.evaluation.protocols import make_splits
from bayes_cpp.exceptions import DataError, SpecError
from bayes_cpp.persistence import atomic_write
from bayes_cpp.seeds import derived_seed
from bayes_cpp.spec import available_specs

__all__ = ["DEFAULT_METHODS", "EvaluationResult", "evaluate"]

#: Methods run when none are named: the default model and every baseline.
DEFAULT_METHODS: tuple[str, ...] = (
    "hbmf",
    "global-mean",
    "task-mean",
    "additive",
    "mf-paper",
    "mf",
    "softimpute-logit",
    "softimpute-logit-3",
    "scaling-law",
    "obs-scaling",
    "gaussian-conditional",
    "conformal-softimpute-logit-3",
)

#: Columns of the Markdown table: (metric, header, format).
_TABLE: tuple[tuple[str, str, str], ...] = (
    ("rmse_unit", "RMSE (0-1)", "{:.4f}"),
    ("mae_unit", "MAE (0-1)", "{:.4f}"),
    ("paper_mse", "paper MSE", "{:.2e}"),
    ("paper_l1", "paper L1", "{:.2e}"),
    ("lpd", "LPD", "{:.3f}"),
    ("crps", "CRPS", "{:.4f}"),
    ("medae", "MedAE (pts)", "{:.2f}"),
    ("mdape", "MedAPE %", "{:.2f}"),
    ("coverage_50", "cov 50%", "{:.3f}"),
    ("coverage_90", "cov 90%", "{:.3f}"),
    ("width_90", "width 90%", "{:.3f}"),
    ("median_width_90_points", "med width 90 (pts)", "{:.1f}"),
    ("sd_error_spearman", "ρ(sd, |err|)", "{:.3f}"),
    ("rank_acc", "rank acc", "{:.3f}"),
    ("rank_within2", "within 2", "{:.3f}"),
    ("spearman", "Spearman", "{:.3f}"),
)


@dataclass
class EvaluationResult:
    """What :func:`evaluate` measured.

    Attributes
    ----------
    scores : pandas.DataFrame
        Tidy: one row per method, split and metric (columns ``method``,
        ``protocol``, ``split``, ``seed``, ``k``, ``group``, ``metric``, ``value``).
    cells : pandas.DataFrame
        Per-cell scores of every method and split.
    fits : pandas.DataFrame
        One record per method and split (time, sampler diagnostics, fallbacks).
    settings : dict
        Everything needed to rerun it, plus package version, machine and wall time.
    """

    scores: pd.DataFrame
    cells: pd.DataFrame
    fits: pd.DataFrame
    settings: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> pd.DataFrame:
        """Mean, standard deviation and count over splits per method and metric.

        Splits are grouped by ``k`` too, so CPP-0 and CPP-2 stay apart.
        """
        grouped = self.scores.groupby(["method", "k", "metric"], sort=False)["value"]
        out = grouped.agg(mean="mean", std="std", n_splits="count").reset_index()
        return out

    def table(self, metrics: Iterable[str] | None = None) -> pd.DataFrame:
        """Wide table: one row per method (and k), ``mean ± std`` per metric."""
        wanted = [m for m, _, _ in _TABLE] if metrics is None else list(metrics)
        fmt = {m: f for m, _, f in _TABLE}
        header = {m: h for m, h, _ in _TABLE}
        summary = self.summary()
        rows = []
        for (method, k), group in summary.groupby(["method", "k"], sort=False):
            means: dict[str, float] = dict(zip(group["metric"], group["mean"], strict=True))
            stds: dict[str, float] = dict(zip(group["metric"], group["std"], strict=True))
            row: dict[str, Any] = {"method": method}
            if self.scores["k"].nunique() > 1:
                row["k"] = k
            for m in wanted:
                mean, std = means[m], stds[m]
                f = fmt.get(m, "{:.4g}")
                text = "n/a" if pd.isna(mean) else f.format(mean)
                if pd.notna(std) and pd.notna(mean):
                    text += " ± " + f.format(std)
                if m in {"rank_acc", "rank_within2", "spearman"}:
                    rand = f"{m}_random" if m != "spearman" else None
                    ref = means[rand] if rand else 0.0
                    text += f" (random {f.format(ref)})"
                row[header.get(m, m)] = text
            rows.append(row)
        return pd.DataFrame(rows)

    def to_markdown(self) -> str:
        """The table as Markdown, with a line on intervals of point baselines."""
        table = self.table()
        head = "| " + " | ".join(table.columns) + " |"
        sep = "|" + "|".join("---" for _ in table.columns) + "|"
        body = ["| " + " | ".join(str(v) for v in row) + " |" for row in table.to_numpy()]
        s = self.settings
        own = s.get("own_intervals", {})
        plug_in = [m for m, has in own.items() if not has]
        note = (
            f"\n{s.get('protocol')} on {s.get('dataset')}: {s.get('n_splits')} splits; "
            "mean ± sd over splits. "
            + (
                f"Plug-in intervals ({', '.join(plug_in)}): CRPS, LPD and intervals use a plug-in normal "
                "with the method's cross-validated RMSE, not its own uncertainty."
                if plug_in or not own
                else "Every method's intervals are its own."
            )
        )
        return "\n".join([head, sep, *body]) + "\n" + note

    def pit_histogram(self, method: str, bins: int = 10) -> np.ndarray:
        """Counts of the hidden cells' PIT values of ``method`` in ``bins`` equal bins."""
        values = self.cells.loc[self.cells["method"] == method, "pit"].to_numpy()
        return np.histogram(values, bins=bins, range=(0.0, 1.0))[0]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: settings, metric mean/std and per-split values, fit records, PIT histograms."""
        methods: dict[str, Any] = {}
        for (method, k), group in self.summary().groupby(["method", "k"], sort=False):
            key = str(method) if self.scores["k"].nunique() == 1 else f"{method} k={k}"
            methods[key] = {
                r.metric: {"mean": _num(r.mean), "std": _num(r.std), "n_splits": int(r.n_splits)}  # type: ignore[arg-type]
                for r in group.itertuples()
            }
        per_split = {
            str(method): {
                str(metric): [_num(v) for v in values]
                for metric, values in group.groupby("metric", sort=False)["value"]
            }
            for method, group in self.scores.groupby("method", sort=False)
        }
        return {
            "settings": self.settings,
            "methods": methods,
            "per_split": per_split,
            "pit_histograms": {
                m: self.pit_histogram(m).tolist() for m in self.cells["method"].unique()
            },
            "fits": json.loads(self.fits.to_json(orient="records")),
        }

    def to_json(self, path: str | Path) -> Path:
        """Write :meth:`to_dict` atomically to ``path``."""
        text = json.dumps(self.to_dict(), indent=2)
        return atomic_write(Path(path), lambda tmp: Path(tmp).write_text(text))


def _num(value: Any) -> float | None:
    return None if pd.isna(value) else float(value)


def _plain_option(value: Any) -> Any:
    """A protocol option as JSON (dates as ISO text)."""
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def evaluate(
    data: CollaborativeData,
    protocol: str = "random",
    *,
    methods: Sequence[str | Method] = DEFAULT_METHODS,
    holdout: float | Sequence[float] = 0.05,
    seeds: int | Sequence[int] = 5,
    k: int | Sequence[int] = 0,
    llms: Iterable[str] | None = None,
    tasks: Iterable[str] | None = None,
    random_seed: int = 0,
    sampler: dict[str, Any] | None = None,
    progress: bool = True,
    protocol_options: Mapping[str, Any] | None = None,
) -> EvaluationResult:
    """Run ``methods`` on every split of ``protocol`` and score the hidden cells.

    Parameters
    ----------
    data : CollaborativeData
        The full data.
    protocol : str
        One of :data:`bayes_cpp.evaluation.PROTOCOLS`.
    methods : sequence of str or Method
        Model spec names (``bayes-cpp specs``) and baseline names, or method
        objects such as ``BayesMethod("hbmf", {"rank": 3}, label="hbmf-rank3")``
        (sampler settings from ``sampler`` do not apply to those).
    holdout, seeds, k, llms, tasks
        Protocol settings, see :func:`bayes_cpp.evaluation.make_splits`.
    random_seed : int
        Seeds every fit and prediction (derived per split, see :mod:`.methods`).
    sampler : dict, optional
        :class:`BayesCPP` sampler parameters for the model specs (default
        :data:`bayes_cpp.evaluation.methods.EVALUATION_SAMPLER`).
    progress : bool
        Show a progress bar over splits and methods.
    protocol_options : mapping, optional
        Further settings of the protocol's split function, passed to
        :func:`bayes_cpp.evaluation.make_splits` (``cutoff``, ``folds``,
        ``groups``, ``max_train``, ``max_test``).

    Returns
    -------
    EvaluationResult

    Examples
    --------
    >>> from bayes_cpp.simulate import simulate
    >>> data = simulate(30, 8, random_seed=0).data
    >>> result = evaluate(
    ...     data, "random", methods=["task-mean", "additive"], holdout=0.2, seeds=2, progress=False
    ... )
    >>> sorted(result.scores["method"].unique())
    ['additive', 'task-mean']
    """
    if not isinstance(data, CollaborativeData):
        raise DataError([f"evaluate needs a CollaborativeData, not {type(data).__name__}"])
    if not methods:
        raise SpecError("evaluate needs at least one method")
    start = time.perf_counter()
    options = dict(protocol_options or {})
    splits = make_splits(
        data, protocol, holdout=holdout, seeds=seeds, k=k, llms=llms, tasks=tasks, **options
    )
    sampler = {**EVALUATION_SAMPLER, **(sampler or {})}
    runners: list[Method] = [
        m
        if not isinstance(m, str)
        else make_method(m, **sampler)
        if m in available_specs()
        else make_method(m)
        for m in methods
    ]
    names = [r.name for r in runners]
    if len(set(names)) < len(names):
        raise SpecError(f"method names must be unique, got {names}; give BayesMethod a label")
    score_rows, cell_frames, fit_rows = [], [], []
    bar = tqdm(total=len(splits) * len(runners), disable=not progress, unit="fit")
    for split in splits:
        meta = {
            "protocol": split.protocol,
            "split": split.label,
            "seed": split.seed,
            "k": split.k,
            "group": split.group,
        }
        pit_rng = np.random.default_rng(derived_seed(random_seed, "pit " + split.label))
        for runner in runners:
            bar.set_description(f"{runner.name} | {split.label}"[:60])
            predictive, record = runner.run(split, data, random_seed)
            cells = score_cells(
                split.test, predictive, full=data, train=split.train_with_known, rng=pit_rng
            )
            cell_frames.append(cells.assign(method=runner.name, **meta))
            for metric, value in aggregate(cells).items():
                score_rows.append({"method": runner.name, **meta, "metric": metric, "value": value})
            fit_rows.append({"method": runner.name, **meta, **record})
            bar.update()
    bar.close()
    settings = {
        "dataset": data.name,
        "protocol": protocol,
        "methods": names,
        "holdout": holdout,
        "seeds": seeds if isinstance(seeds, int) else list(seeds),
        "k": k if isinstance(k, int) else list(k),
        "llms": None if llms is None else list(llms),
        "tasks": None if tasks is None else list(tasks),
        "protocol_options": {key: _plain_option(v) for key, v in options.items()},
        "random_seed": random_seed,
        "sampler": sampler,
        "specs": {r.name: r.describe() for r in runners if isinstance(r, BayesMethod)},
        "own_intervals": {r.name: bool(r.own_intervals) for r in runners},
        "n_splits": len(splits),
        "metrics": list(METRICS),
        "bayes_cpp_version": __version__,
        "machine": f"{platform.machine()} {os.cpu_count()} cpus, Python {platform.python_version()}",
        "wall_seconds": round(time.perf_counter() - start, 1),
    }
    return EvaluationResult(
        scores=pd.DataFrame(score_rows),
        cells=pd.concat(cell_frames, ignore_index=True),
        fits=pd.DataFrame(fit_rows),
        settings=settings,
    )
