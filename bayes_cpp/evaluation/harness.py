"""The evaluation harness: protocols x methods x splits -> tidy scores.

:func:`evaluate` runs every method on every split of a protocol, scores the
hidden cells (:mod:`.metrics`) and returns an :class:`EvaluationResult`
holding per-cell scores, the tidy per-split frame, fit records and settings;
it renders the Markdown table and the JSON file of ``bayes-cpp evaluate``.

The (method, split) jobs run on an executor (:mod:`.executor`: in-process,
local worker processes or a Dask cluster) and each finished result can go to
a checkpoint (:mod:`.checkpoint`) at once, so an interrupted run resumes.
Results do not depend on the executor. Every fit that fails its convergence
checks is marked in the table, listed by :meth:`EvaluationResult.problems`
and counted in the JSON.
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
from bayes_cpp.datasets import sha256sum
from bayes_cpp.diagnostics import ESS_MIN, RHAT_MAX
from bayes_cpp.evaluation.checkpoint import Checkpoint, data_hash, settings_hash
from bayes_cpp.evaluation.executor import make_executor, plan_jobs
from bayes_cpp.evaluation.methods import EVALUATION_SAMPLER, BayesMethod, Method, make_method
from bayes_cpp.evaluation.metrics import METRICS
from bayes_cpp.evaluation.names import DEFAULT_METHODS
from bayes_cpp.evaluation.protocols import make_splits
from bayes_cpp.exceptions import DataError, SpecError
from bayes_cpp.persistence import atomic_write
from bayes_cpp.spec import available_specs

__all__ = ["DEFAULT_METHODS", "EvaluationResult", "evaluate", "file_record"]


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

    def convergence(self) -> pd.DataFrame:
        """Per method with sampler diagnostics: fits, failed fits, worst r-hat, ESS, divergences.

        One row per method whose fit records carry diagnostics (the Bayesian
        ones); a fit shared by several splits (CPP-0 and CPP-2) counts once.
        """
        columns = ["method", "n_fits", "n_failed", "max_rhat", "min_ess_bulk", "n_divergent"]
        fits = self.fits
        if fits.empty or "converged" not in fits.columns:
            return pd.DataFrame(columns=columns)
        own = fits[fits["converged"].notna()]
        if "reused_fit" in own.columns:
            own = own[~own["reused_fit"].fillna(False).astype(bool)]
        rows = []
        for method, group in own.groupby("method", sort=False):
            rows.append(
                {
                    "method": method,
                    "n_fits": len(group),
                    "n_failed": int((~group["converged"].astype(bool)).sum()),
                    "max_rhat": float(group["max_rhat"].max()),
                    "min_ess_bulk": float(group["min_ess_bulk"].min()),
                    "n_divergent": int(group["n_divergent"].sum()),
                }
            )
        return pd.DataFrame(rows, columns=columns)

    def problems(self) -> list[str]:
        """One line per method with fits that failed the convergence checks (empty: none)."""
        lines = []
        for r in self.convergence().to_dict(orient="records"):
            if r["n_failed"]:
                lines.append(
                    f"{r['method']}: {r['n_failed']} of {r['n_fits']} fits failed the convergence "
                    f"checks (worst r_hat {r['max_rhat']:.3f}, limit {RHAT_MAX}; min bulk ESS "
                    f"{r['min_ess_bulk']:.0f}, limit {ESS_MIN}; {r['n_divergent']} divergent "
                    "transitions, limit 0); its numbers may be wrong: rerun with more "
                    "--draws/--tune or check the model on this data"
                )
        return lines

    def _convergence_cells(self) -> dict[str, str]:
        cells = {}
        for r in self.convergence().to_dict(orient="records"):
            n, failed = r["n_fits"], r["n_failed"]
            verdict = f"FAILED {failed}/{n}" if failed else f"ok {n}/{n}"
            cells[str(r["method"])] = (
                f"{verdict}: r_hat {r['max_rhat']:.3f}, ESS {r['min_ess_bulk']:.0f}, "
                f"{r['n_divergent']} div"
            )
        return cells

    def table(self, metrics: Iterable[str] | None = None) -> pd.DataFrame:
        """Wide table: one row per method (and k), ``mean ± std`` per metric.

        Methods with sampler diagnostics get a ``convergence`` column (worst
        r-hat, min bulk ESS, divergences over their fits) and a ``⚠`` after
        their name when any fit failed the checks.
        """
        wanted = [m for m, _, _ in _TABLE] if metrics is None else list(metrics)
        fmt = {m: f for m, _, f in _TABLE}
        header = {m: h for m, h, _ in _TABLE}
        summary = self.summary()
        converge = self._convergence_cells()
        conv = self.convergence()
        failed = set(conv.loc[conv["n_failed"] > 0, "method"])
        rows = []
        for (method, k), group in summary.groupby(["method", "k"], sort=False):
            means: dict[str, float] = dict(zip(group["metric"], group["mean"], strict=True))
            stds: dict[str, float] = dict(zip(group["metric"], group["std"], strict=True))
            row: dict[str, Any] = {"method": f"{method} ⚠" if method in failed else method}
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
            if converge:
                row["convergence"] = converge.get(str(method), "-")
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
            f"\n{s.get('protocol')} on {_data_label(s)}: {s.get('n_splits')} splits; "
            "mean ± sd over splits. "
            + (
                f"Plug-in intervals ({', '.join(plug_in)}): CRPS, LPD and intervals use a plug-in normal "
                "with the method's cross-validated RMSE, not its own uncertainty."
                if plug_in or not own
                else "Every method's intervals are its own."
            )
        )
        warnings = [f"\n⚠ WARNING {line}" for line in self.problems()]
        return "\n".join([head, sep, *body]) + "\n" + note + "".join(warnings)

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
            "convergence": json.loads(self.convergence().to_json(orient="records")),
            "problems": self.problems(),
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


def _data_label(settings: Mapping[str, Any]) -> str:
    """What the footer says the data was: a dataset name, the input files, or its size."""
    if settings.get("dataset"):
        return str(settings["dataset"])
    files = [Path(str(i["path"])).name for i in settings.get("inputs") or []]
    if files:
        return ", ".join(files)
    shape = settings.get("data_shape") or {}
    return f"unnamed data ({shape.get('llms', '?')} LLMs x {shape.get('tasks', '?')} tasks)"


def file_record(role: str, path: str | os.PathLike[str]) -> dict[str, Any]:
    """``{"role", "path", "sha256"}`` of an input file (for :func:`evaluate`'s ``inputs``)."""
    return {"role": role, "path": str(path), "sha256": sha256sum(Path(path))}


def _describe(method: Method) -> Any:
    describe = getattr(method, "describe", None)
    return describe() if callable(describe) else {"class": type(method).__qualname__}


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
    workers: int = 1,
    scheduler: Any = None,
    checkpoint: str | os.PathLike[str] | None = None,
    inputs: Sequence[Mapping[str, Any]] = (),
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
    workers : int
        Local worker processes (1: run in this process). Each uses one thread.
    scheduler : str or distributed.Client, optional
        A Dask distributed scheduler address (``"tcp://host:8786"``) or client:
        the jobs run on that cluster instead (needs ``bayes_cpp[distributed]``).
    checkpoint : path, optional
        A JSON-lines file receiving each (method, split) result as it
        finishes (:mod:`.checkpoint`), or an existing folder for one named
        by the settings' hash. If the file exists and was written with the
        same settings, its results are reused and only the rest runs (an
        interrupted run resumes); other settings raise
        :class:`~bayes_cpp.SpecError`. ``settings["checkpoint"]`` names the file.
    inputs : sequence of mapping
        Records of the files the data was read from (:func:`file_record`),
        stored in the settings and named in the table's footer.
    protocol_options : mapping, optional
        Further settings of the protocol's split function, passed to
        :func:`bayes_cpp.evaluation.make_splits` (``cutoff``, ``folds``,
        ``groups``, ``max_train``, ``max_test``).

    Returns
    -------
    EvaluationResult
        The scores do not depend on ``workers``, ``scheduler`` or resuming.

    Examples
    --------
    >>> from bayes_cpp.simulation import simulate
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
    settings: dict[str, Any] = {
        "dataset": data.name,
        "protocol": protocol,
        "methods": names,
        "holdout": holdout if isinstance(holdout, float | int) else list(holdout),
        "seeds": seeds if isinstance(seeds, int) else [int(s) for s in seeds],
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
        "data_sha256": data_hash(data),
        "data_shape": {"llms": data.n_llms, "tasks": data.n_tasks, "observed": data.n_observed},
    }
    # What the results depend on: everything above plus every method's full description.
    depends = {**settings, "method_descriptions": {r.name: _describe(r) for r in runners}}
    if checkpoint is not None and Path(checkpoint).is_dir():
        checkpoint = Path(checkpoint) / f"evaluate-{settings_hash(depends)[:16]}.jsonl"
    store = Checkpoint(checkpoint, depends) if checkpoint is not None else None
    done = store.load() if store is not None else {}
    resumed = len(done)
    jobs = plan_jobs(runners, splits, skip=lambda m, label: (m, label) in done)
    executor = make_executor(workers, scheduler)
    bar = tqdm(total=len(splits) * len(runners), initial=resumed, disable=not progress, unit="fit")
    try:
        for job, results in executor.run(jobs, data, random_seed):
            for result in results:
                if store is not None:
                    store.append(result)
                done[(result["method"], result["split"])] = result
            bar.set_description(f"{job.method.name} | {job.splits[-1][1].label}"[:60])
            bar.update(len(results))
        executor_record = executor.describe()
    finally:
        executor.close()
        bar.close()
    score_rows, cell_frames, fit_rows = [], [], []
    for split in splits:
        for runner in runners:
            # The same JSON-ready record whether computed now or read from a checkpoint.
            result = json.loads(json.dumps(done[(runner.name, split.label)]))
            meta = result["meta"]
            cells = pd.DataFrame(result["cells"]).assign(method=runner.name, **meta)
            cell_frames.append(cells)
            for metric, value in result["scores"].items():
                score_rows.append({"method": runner.name, **meta, "metric": metric, "value": value})
            fit_rows.append({"method": runner.name, **meta, **result["record"]})
    settings.update(
        {
            "inputs": [dict(i) for i in inputs],
            "settings_sha256": settings_hash(depends),
            "executor": executor_record,
            "checkpoint": None if checkpoint is None else str(checkpoint),
            "resumed_results": resumed,
            "machine": f"{platform.machine()} {os.cpu_count()} cpus, "
            f"Python {platform.python_version()}",
            "wall_seconds": round(time.perf_counter() - start, 1),
        }
    )
    return EvaluationResult(
        scores=pd.DataFrame(score_rows),
        cells=pd.concat(cell_frames, ignore_index=True),
        fits=pd.DataFrame(fit_rows),
        settings=settings,
    )
