"""Where the harness's fits run: in-process, local worker processes, or a Dask cluster.

:func:`plan_jobs` cuts an evaluation into independent :class:`Job` objects, one
per method and group of splits that share their training cells (the CPP-0
and CPP-2 splits of one LLM), so a Bayesian method fits once per group
wherever the job runs. :func:`run_job` runs one job and returns one
JSON-ready :func:`cell_result` per (method, split); results depend only on
the seeds derived per split (:func:`bayes_cpp.seeds.derived_seed`), never on
the executor, the number of workers or the order in which jobs finish.

Executors (:func:`make_executor`) yield results as jobs finish, so the
harness can checkpoint each one at once:

* :class:`SerialExecutor` (default): in this process, in order.
* :class:`ProcessExecutor` (``workers=N``): ``N`` spawned local processes.
* :class:`DaskExecutor` (``scheduler="tcp://..."``): a Dask distributed
  cluster (``pip install "bayes_cpp[distributed]"``).

Workers run one thread each: BLAS/OpenMP pools are limited to one thread
(threadpoolctl, ``OMP_NUM_THREADS``) and the Bayesian fits sample their chains
on one core, so ``N`` workers use ``N`` cores.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import queue
import signal
from collections.abc import Callable, Iterator, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from threadpoolctl import threadpool_limits

from bayes_cpp.data import CollaborativeData
from bayes_cpp.evaluation.methods import BayesMethod, Method
from bayes_cpp.evaluation.metrics import aggregate, score_cells
from bayes_cpp.evaluation.protocols import Split
from bayes_cpp.exceptions import SpecError
from bayes_cpp.seeds import derived_seed

__all__ = [
    "DaskExecutor",
    "Executor",
    "Job",
    "ProcessExecutor",
    "SerialExecutor",
    "cell_result",
    "make_executor",
    "plan_jobs",
    "run_job",
]

#: Environment of a worker: one thread for every numerical library.
_ONE_THREAD = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "NUMBA_NUM_THREADS": "1",
}


@dataclass(frozen=True)
class Job:
    """One method on a group of splits that share their training cells.

    Attributes
    ----------
    method : Method
        The harness method (for workers, a copy without fitted state).
    splits : tuple of (int, Split)
        The splits with their positions in the protocol's list.
    """

    method: Method
    splits: tuple[tuple[int, Split], ...]

    @property
    def keys(self) -> list[tuple[str, str]]:
        """``(method, split label)`` of every result this job produces."""
        return [(self.method.name, split.label) for _, split in self.splits]


def plan_jobs(
    methods: Sequence[Method], splits: Sequence[Split], skip: Callable[[str, str], bool]
) -> list[Job]:
    """Jobs for every (method, split) not ``skip(method, label)``: one per method and fingerprint.

    Jobs are ordered by the first split of their group, then by method, which
    is the order the serial harness always ran them in.
    """
    groups: dict[str, list[tuple[int, Split]]] = {}
    for i, split in enumerate(splits):
        groups.setdefault(split.fingerprint, []).append((i, split))
    jobs = []
    for members in groups.values():
        for method in methods:
            todo = tuple((i, s) for i, s in members if not skip(method.name, s.label))
            if todo:
                jobs.append(Job(method, todo))
    return jobs


def _pit_rng(random_seed: int, method: str, split: Split) -> np.random.Generator:
    # Per method and split: a shared per-split stream would make one method's
    # PIT depend on which methods ran before it.
    return np.random.default_rng(derived_seed(random_seed, f"pit {split.label} | {method}"))


def cell_result(
    method: str,
    index: int,
    split: Split,
    cells: Any,
    record: dict[str, Any],
) -> dict[str, Any]:
    """The JSON-ready result of one method on one split (what a checkpoint line holds)."""
    return {
        "method": method,
        "index": index,
        "split": split.label,
        "meta": {
            "protocol": split.protocol,
            "split": split.label,
            "seed": split.seed,
            "k": split.k,
            "group": split.group,
        },
        "scores": {m: float(v) for m, v in aggregate(cells).items()},
        "record": record,
        "cells": {str(c): cells[c].tolist() for c in cells.columns},
    }


def run_job(
    job: Job, data: CollaborativeData, random_seed: int, *, single_thread: bool = False
) -> list[dict[str, Any]]:
    """Run ``job``; one :func:`cell_result` per split, in the job's order.

    With ``single_thread`` (in workers) numerical libraries use one thread and
    Bayesian methods sample on one core; the results are the same.
    """
    method = job.method
    if single_thread and isinstance(method, BayesMethod):
        method = dataclasses.replace(method, params={**method.params, "cores": 1})
    out = []
    with threadpool_limits(limits=1) if single_thread else nullcontext():
        for index, split in job.splits:
            predictive, record = method.run(split, data, random_seed)
            cells = score_cells(
                split.test,
                predictive,
                full=data,
                train=split.train_with_known,
                rng=_pit_rng(random_seed, job.method.name, split),
            )
            out.append(cell_result(job.method.name, index, split, cells, record))
    return out


class Executor(Protocol):
    """Runs jobs and yields ``(job, results)`` as each finishes."""

    def run(
        self, jobs: Sequence[Job], data: CollaborativeData, random_seed: int
    ) -> Iterator[tuple[Job, list[dict[str, Any]]]]:
        """Yield every job with its results, in the order they finish."""
        ...

    def close(self) -> None:
        """Stop (cancel what is still running)."""
        ...

    def describe(self) -> dict[str, Any]:
        """JSON-ready record of where the jobs ran."""
        ...


class SerialExecutor:
    """Run jobs one after another in this process (the default)."""

    def run(  # noqa: D102
        self, jobs: Sequence[Job], data: CollaborativeData, random_seed: int
    ) -> Iterator[tuple[Job, list[dict[str, Any]]]]:
        for job in jobs:
            yield job, run_job(job, data, random_seed)

    def close(self) -> None:  # noqa: D102
        return None

    def describe(self) -> dict[str, Any]:  # noqa: D102
        return {"kind": "serial", "workers": 1}


# ------------------------------------------------------------ local processes
_WORKER_STATE: dict[str, Any] = {}


def _init_worker(data: CollaborativeData, random_seed: int) -> None:
    """Process-pool initializer: one thread, Ctrl-C left to the parent, data received once."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.environ.update(_ONE_THREAD)
    threadpool_limits(limits=1)
    _WORKER_STATE.update(data=data, random_seed=random_seed)


def _run_in_worker(job: Job) -> tuple[int, list[dict[str, Any]]]:
    return os.getpid(), run_job(
        job, _WORKER_STATE["data"], _WORKER_STATE["random_seed"], single_thread=True
    )


class ProcessExecutor:
    """Run jobs in ``workers`` local processes (spawned: no fork of a threaded process)."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._pool: Any = None

    def run(  # noqa: D102
        self, jobs: Sequence[Job], data: CollaborativeData, random_seed: int
    ) -> Iterator[tuple[Job, list[dict[str, Any]]]]:
        if not jobs:
            return
        context = multiprocessing.get_context("spawn")
        self._pool = context.Pool(
            min(self.workers, len(jobs)), initializer=_init_worker, initargs=(data, random_seed)
        )
        finished: queue.SimpleQueue[tuple[int, Any]] = queue.SimpleQueue()
        for position, job in enumerate(jobs):
            # Workers get copies without fitted state (BayesMethod drops its cache when pickled).
            self._pool.apply_async(
                _run_in_worker,
                (job,),
                callback=lambda out, p=position: finished.put((p, out)),
                error_callback=lambda exc, p=position: finished.put((p, exc)),
            )
        for _ in jobs:
            while True:
                try:  # a timeout keeps the wait interruptible by Ctrl-C
                    position, out = finished.get(timeout=0.2)
                    break
                except queue.Empty:
                    continue
            if isinstance(out, BaseException):
                raise out
            yield jobs[position], out[1]
        self.close()

    def close(self) -> None:  # noqa: D102
        if self._pool is not None:
            self._pool.terminate()
            self._pool.join()
            self._pool = None

    def describe(self) -> dict[str, Any]:  # noqa: D102
        return {"kind": "processes", "workers": self.workers}


# ------------------------------------------------------------------- Dask
def _limit_worker_threads() -> None:
    os.environ.update(_ONE_THREAD)
    threadpool_limits(limits=1)


class DaskExecutor:
    """Run jobs on a Dask distributed cluster given by its scheduler address (or a Client).

    The cluster is the user's: closing the executor cancels this run's tasks
    and disconnects, it never shuts the cluster down. Start workers with one
    thread each (``dask worker ADDRESS --nthreads 1``); the jobs limit their
    numerical libraries to one thread either way.
    """

    def __init__(self, scheduler: Any) -> None:
        try:
            import distributed
        except ImportError:
            raise SpecError(
                "a scheduler address needs Dask distributed: pip install 'bayes_cpp[distributed]'"
            ) from None
        self._distributed = distributed
        self._own_client = not isinstance(scheduler, distributed.Client)
        self.client = distributed.Client(scheduler) if self._own_client else scheduler
        self.address = str(self.client.scheduler.address)
        self._futures: list[Any] = []

    def run(  # noqa: D102
        self, jobs: Sequence[Job], data: CollaborativeData, random_seed: int
    ) -> Iterator[tuple[Job, list[dict[str, Any]]]]:
        if not jobs:
            return
        self.client.run(_limit_worker_threads)
        shared = self.client.scatter(data, broadcast=True)
        by_key = {}
        for job in jobs:
            future = self.client.submit(
                run_job, job, shared, random_seed, single_thread=True, pure=False
            )
            by_key[future.key] = job
            self._futures.append(future)
        for future in self._distributed.as_completed(self._futures):
            yield by_key[future.key], future.result()

    def close(self) -> None:  # noqa: D102
        if self._futures:
            self.client.cancel(self._futures)
            self._futures = []
        if self._own_client:
            self.client.close()

    def describe(self) -> dict[str, Any]:  # noqa: D102
        workers = self.client.scheduler_info().get("workers", {})
        return {"kind": "dask", "scheduler": self.address, "workers": len(workers)}


def make_executor(workers: int = 1, scheduler: Any = None) -> Executor:
    """The executor for ``workers`` local processes or a Dask ``scheduler`` (address or Client)."""
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise SpecError(f"workers must be a positive integer, not {workers!r}")
    if scheduler is not None:
        if workers != 1:
            raise SpecError(
                "give workers (local processes) or scheduler (a Dask cluster), not both; "
                "the cluster's workers run the jobs"
            )
        return DaskExecutor(scheduler)
    return SerialExecutor() if workers == 1 else ProcessExecutor(workers)
