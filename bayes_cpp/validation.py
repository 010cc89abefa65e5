"""Simulation-based calibration (SBC): does the fit compute the posterior the model defines.

:func:`sbc` repeats: draw parameters from the model's prior on a fixed data
layout (which cells are observed, the LLM and task tables), simulate the
observed unit scores from the model's own likelihood, fit them with the
default sampler, and record the rank of every true value among the posterior
draws. If the fit computes the posterior exactly, each rank is uniform over
replications (Talts et al. 2018, arXiv 1804.06788; Modrák et al. 2023,
arXiv 2211.02383); :meth:`SBCResult.tests` tests that per quantity with a
multiplicity correction.

Design choices (each keeps the check exact):

* Prior draws come from PyMC's forward sampling of the graph without the
  rotation anchors (``BayesCPP.build_model(layout, rotation_gauge=False)``;
  forward sampling ignores potentials), which on identified quantities is
  the model the anchored fit samples. The fit itself is the default
  ``BayesCPP.fit`` (nutpie on the hand-written kernel).
* Scores are the model's likelihood draws, unclipped: the likelihood is a
  normal on unit scores without censoring, so clipping them to [0, 1] would
  simulate from a different model. A score outside [0, 1] cannot be data
  (``CollaborativeData`` rejects it), so a prior draw whose simulated data
  leave [0, 1] is rejected and the next one used. Selecting on the data
  alone leaves ``p(theta | y)`` unchanged, so SBC stays exact (the prior
  seen is the prior conditioned on in-range data); the acceptance rate is
  recorded.
* The layout's design factors must be complete: they are fixed data here,
  so the imputation network's parameters would need their posterior given
  the features, not their prior. With complete factors the rest of the
  model is independent of that network, which is left out of the ranks.
* Quantities: everything in :func:`bayes_cpp.diagnostics.identified_quantities`
  (intercept, biases, group biases, scales, shares, bias coefficients, task
  noise, the eigenvalues of ``V^T V`` and ``eta`` of observed cells; loadings
  only through these rotation-invariant ones), plus predictions of held-out
  cells (the mean through the fit's :class:`~bayes_cpp.predictor.Predictor`,
  and a new noisy score against the posterior predictive, uncensored) and,
  with ``newcomers``, the cells of LLM rows withheld from the fit and
  conditioned on ``revealed`` of their scores without a refit (the CPP-2
  path, :func:`bayes_cpp.evaluation.methods.fold_in_llm`). The newcomer
  quantities check that approximation (it ignores what the revealed scores
  say about the population), not the sampler, and are reported as their own
  kind.
* Draws are autocorrelated, which makes ranks of exact posteriors
  non-uniform; each quantity's draws are thinned (per chain) to about its
  bulk ESS first. Ranks become fractional ``u = (rank + V) / (L + 1)`` with
  ``V ~ U(0, 1)``, uniform on (0, 1) under exactness whatever the number
  ``L`` of draws kept.
* Seeds: prior candidates in batches seeded by ``derived_seed(random_seed,
  "sbc prior <batch>")``; candidate ``c`` has its noise and ranks seeded by
  ``"sbc noise <c>"`` and its fit by ``"sbc fit <c>"``. Replication ``i`` is
  the ``i``-th accepted candidate, so the first 10 of 200 replications are the
  10 of a run with 10.
* Replications are independent jobs: ``workers=N`` runs them in ``N``
  spawned processes with one thread each; ``map_fn`` takes any
  ``map``-shaped executor (``concurrent.futures.Executor.map``, or for Dask
  ``lambda f, jobs: client.gather(client.map(f, jobs))``).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from bayes_cpp import dims, equations
from bayes_cpp.data import CollaborativeData
from bayes_cpp.exceptions import DataError, SpecError
from bayes_cpp.seeds import derived_seed

if TYPE_CHECKING:
    import xarray as xr

    from bayes_cpp.estimator import BayesCPP

__all__ = [
    "KINDS",
    "SBC_SAMPLER",
    "Replication",
    "SBCPlan",
    "SBCResult",
    "plan_sbc",
    "rank_statistics",
    "replication_ranks",
    "run_replication",
    "run_sbc",
    "sbc",
    "sbc_layout",
    "uniformity_tests",
]

#: Sampler settings of the SBC fits (fewer and shorter chains than a default fit).
SBC_SAMPLER: dict[str, Any] = {"chains": 2, "draws": 500, "tune": 500}
#: What a quantity checks: the fit's posterior, predictions of held-out cells,
#: or the conditioning of withheld LLMs on revealed scores without a refit.
KINDS: tuple[str, ...] = ("posterior", "prediction", "newcomer")
#: Prior draws per forward-sampling call.
_BATCH = 200
#: Give up when fewer than this share of prior draws give in-range data.
_MIN_ACCEPTANCE = 0.01
_ONE_THREAD = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "NUMBA_NUM_THREADS": "1",
}


def sbc_layout(
    n_llms: int = 12,
    n_tasks: int = 6,
    *,
    n_families: int = 4,
    n_categories: int = 2,
    density: float = 0.7,
    random_seed: int = 0,
) -> CollaborativeData:
    """A small simulated layout with complete design factors (the scores are replaced by SBC).

    Examples
    --------
    >>> layout = sbc_layout(10, 5)
    >>> (
    ...     layout.n_llms,
    ...     layout.n_tasks,
    ...     bool(layout.llms[["params_b", "tokens_b"]].notna().all().all()),
    ... )
    (10, 5, True)
    """
    from bayes_cpp.simulation import simulate

    return simulate(
        n_llms,
        n_tasks,
        n_families=n_families,
        n_categories=n_categories,
        density=density,
        coverage="uniform",
        missing_factor_rate=0.0,
        random_seed=random_seed,
    ).data


# ----------------------------------------------------------------- ranks
def rank_statistics(
    truth: np.ndarray,
    draws: np.ndarray,
    rng: np.random.Generator,
    *,
    thin: Literal["ess"] | int = "ess",
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ranks of true values among (thinned) posterior draws.

    Parameters
    ----------
    truth : ndarray, shape (Q,)
        True value of each quantity.
    draws : ndarray, shape (Q, chain, draw)
        Posterior draws.
    rng : numpy.random.Generator
        Breaks the rank into a fractional rank.
    thin : "ess" or int
        Keep every ``ceil(N / ESS_bulk)``-th draw of each chain (``N`` draws in
        all), or every ``thin``-th.

    Returns
    -------
    tuple of ndarray
        ``rank`` (draws below the truth), ``n_draws`` (``L``, draws kept) and
        the fractional rank ``u = (rank + V) / (L + 1)``, each ``(Q,)``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> rank, n, u = rank_statistics(np.zeros(2), rng.normal(size=(2, 2, 50)), rng, thin=1)
    >>> n.tolist(), bool(np.all((u > 0) & (u < 1)))
    ([100, 100], True)
    """
    from arviz_stats.base import array_stats

    truth = np.asarray(truth, dtype=float)
    draws = np.asarray(draws, dtype=float)
    n_q, n_chain, n_draw = draws.shape
    if thin == "ess":
        with np.errstate(all="ignore"):
            ess = np.asarray(array_stats.ess(draws, chain_axis=-2, draw_axis=-1, method="bulk"))
        ess = np.where(np.isfinite(ess) & (ess > 0), ess, n_chain * n_draw)
        step = np.maximum(1, np.ceil(n_chain * n_draw / ess)).astype(int)
    elif isinstance(thin, int | np.integer) and thin >= 1:
        step = np.full(n_q, int(thin))
    else:
        raise SpecError(f"thin must be 'ess' or a positive integer, not {thin!r}")
    rank = np.empty(n_q, dtype=int)
    kept = np.empty(n_q, dtype=int)
    for q in range(n_q):
        sample = draws[q, :, :: step[q]].ravel()
        rank[q] = int(np.sum(sample < truth[q]))
        kept[q] = sample.size
    u = (rank + rng.random(n_q)) / (kept + 1.0)
    return rank, kept, u


def _holm(p: np.ndarray) -> np.ndarray:
    """Holm-adjusted p-values (valid under any dependence between the tests)."""
    p = np.asarray(p, dtype=float)
    order = np.argsort(p)
    m = len(p)
    adjusted = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    out = np.empty(m)
    out[order] = adjusted
    return out


def uniformity_tests(
    ranks: pd.DataFrame,
    *,
    alpha: float = 0.01,
    correction: Literal["holm", "bonferroni"] = "holm",
    bins: int | None = None,
) -> pd.DataFrame:
    """Test each quantity's fractional ranks for uniformity, with a multiplicity correction.

    Parameters
    ----------
    ranks : pandas.DataFrame
        :attr:`SBCResult.ranks` (columns ``quantity``, ``variable``, ``kind``, ``u``).
    alpha : float
        Level at which an adjusted p-value rejects.
    correction : {"holm", "bonferroni"}
        Family-wise error correction over all quantities.
    bins : int, optional
        Bins of the chi-square test (default: ``n / 5`` capped to 2..20).

    Returns
    -------
    pandas.DataFrame
        One row per quantity: ``n`` replications, ``p_value`` of arviz-stats'
        POT-C uniformity test (an ECDF-based test, Tesso & Vehtari) on ``u``,
        ``p_chisq`` of a chi-square test on binned ``u`` (for reference),
        ``p_adjusted`` (of ``p_value``) and ``rejected``; sorted by
        ``p_value``.
    """
    from arviz_stats.base import array_stats
    from scipy import stats

    if correction not in ("holm", "bonferroni"):
        raise SpecError(f"correction must be 'holm' or 'bonferroni', not {correction!r}")
    rows = []
    for (quantity, variable, kind), group in ranks.groupby(
        ["quantity", "variable", "kind"], sort=False
    ):
        u = group["u"].to_numpy(float)
        n = len(u)
        b = bins or int(np.clip(n // 5, 2, 20))
        counts = np.bincount(np.minimum((u * b).astype(int), b - 1), minlength=b)
        rows.append(
            {
                "quantity": quantity,
                "variable": variable,
                "kind": kind,
                "n": n,
                "p_value": float(array_stats.uniformity_test(u, method="pot_c")[0]),
                "p_chisq": float(stats.chisquare(counts).pvalue),
            }
        )
    table = pd.DataFrame(rows)
    if table.empty:
        return table.assign(p_adjusted=[], rejected=[])
    p = table["p_value"].to_numpy()
    table["p_adjusted"] = _holm(p) if correction == "holm" else np.minimum(1.0, p * len(p))
    table["rejected"] = table["p_adjusted"] < alpha
    return table.sort_values("p_value", kind="stable").reset_index(drop=True)


# ------------------------------------------------------------ the result
@dataclass
class SBCResult:
    """What :func:`sbc` measured.

    Attributes
    ----------
    ranks : pandas.DataFrame
        One row per replication and quantity: ``replication``, ``quantity``
        (e.g. ``"llm_bias[llm-003]"``), ``variable``, ``kind`` (see
        :data:`KINDS`), ``rank``, ``n_draws``, ``u``.
    fits : pandas.DataFrame
        One record per replication (seeds, seconds, worst r-hat, smallest
        bulk ESS, divergences, or the error of a failed fit).
    settings : dict
        Everything needed to rerun it, plus acceptance rate and wall time.
    """

    ranks: pd.DataFrame
    fits: pd.DataFrame
    settings: dict[str, Any] = field(default_factory=dict)

    def tests(self, alpha: float = 0.01, **kwargs: Any) -> pd.DataFrame:
        """:func:`uniformity_tests` of :attr:`ranks`."""
        return uniformity_tests(self.ranks, alpha=alpha, **kwargs)

    def summary(self, alpha: float = 0.01) -> pd.DataFrame:
        """Per variable: quantities, smallest raw and adjusted p-value, rejections."""
        tests = self.tests(alpha)
        grouped = tests.groupby(["kind", "variable"], sort=False)
        out = grouped.agg(
            quantities=("quantity", "count"),
            min_p=("p_value", "min"),
            min_p_adjusted=("p_adjusted", "min"),
            rejected=("rejected", "sum"),
        ).reset_index()
        order = {k: i for i, k in enumerate(KINDS)}
        return out.sort_values(
            ["kind", "min_p"], key=lambda c: c.map(order) if c.name == "kind" else c
        )

    def ok(self, alpha: float = 0.01, kinds: Sequence[str] = ("posterior", "prediction")) -> bool:
        """True when no quantity of ``kinds`` is rejected at ``alpha`` after correction.

        The correction runs over all quantities tested, whichever kinds are asked about.
        """
        tests = self.tests(alpha)
        return not bool(tests.loc[tests["kind"].isin(list(kinds)), "rejected"].any())

    def to_dict(self, alpha: float = 0.01) -> dict[str, Any]:
        """JSON-ready: settings, tests, per-variable summary, fit records and every rank."""
        tests = self.tests(alpha)
        return {
            "settings": self.settings,
            "alpha": alpha,
            "ok": self.ok(alpha),
            "n_rejected": {k: int(tests.loc[tests["kind"] == k, "rejected"].sum()) for k in KINDS},
            "summary": json.loads(self.summary(alpha).to_json(orient="records")),
            "tests": json.loads(tests.to_json(orient="records")),
            "fits": json.loads(self.fits.to_json(orient="records")),
            "ranks": {c: self.ranks[c].tolist() for c in self.ranks.columns},
        }

    def to_json(self, path: str | Path, alpha: float = 0.01) -> Path:
        """Write :meth:`to_dict` atomically to ``path``."""
        from bayes_cpp.persistence import atomic_write

        text = json.dumps(self.to_dict(alpha), indent=1)
        return atomic_write(Path(path), lambda tmp: Path(tmp).write_text(text))

    @classmethod
    def from_json(cls, path: str | Path) -> SBCResult:
        """Read a file written by :meth:`to_json` (e.g. ``benchmarks/results/sbc.json``)."""
        try:
            record = json.loads(Path(path).read_text())
            ranks, fits, settings = record["ranks"], record["fits"], record["settings"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise DataError([f"{path} is not an SBC result file ({exc})"]) from None
        return cls(pd.DataFrame(ranks), pd.DataFrame(fits), settings)


# ------------------------------------------------------------ replications
@dataclass(frozen=True)
class _Newcomer:
    """A withheld LLM: its revealed scores (task units) and the tasks to predict."""

    name: str
    known_tasks: tuple[str, ...]
    known_scores: tuple[float, ...]
    targets: tuple[str, ...]


@dataclass(frozen=True)
class Replication:
    """One SBC job: simulated data, what to fit it with, and the true values."""

    index: int
    candidate: int
    data: CollaborativeData
    params: dict[str, Any]
    fit_seed: int
    rng_seed: int
    truth: dict[str, float]
    kinds: dict[str, str]
    heldout: tuple[tuple[str, str], ...]
    newcomers: tuple[_Newcomer, ...]
    max_cells: int
    thin: Literal["ess"] | int


@dataclass(frozen=True)
class SBCPlan:
    """The replications of an SBC run before fitting (:func:`plan_sbc`)."""

    jobs: list[Replication]
    settings: dict[str, Any]
    fit_layout: CollaborativeData


def _label(var: str, parts: Iterable[Any]) -> str:
    inner = ",".join(str(p) for p in parts)
    return f"{var}[{inner}]" if inner else var


def _flatten(ds: xr.Dataset, cell_names: list[tuple[str, str]]) -> tuple[list[str], np.ndarray]:
    """Labels and ``(Q, chain, draw)`` values of every scalar in ``ds``."""
    labels, values = [], []
    for var in ds.data_vars:
        da = ds[var].transpose("chain", "draw", ...)
        rest = da.dims[2:]
        arr = da.to_numpy().reshape(da.shape[0], da.shape[1], -1)
        coords = [da[d].to_numpy() if d in da.coords else np.arange(da.sizes[d]) for d in rest]
        for flat, idx in enumerate(np.ndindex(*[len(c) for c in coords]) if rest else [()]):
            parts = [c[i] for c, i in zip(coords, idx, strict=True)]
            if var == "eta":
                parts = list(cell_names[int(parts[0])])
            labels.append(_label(str(var), parts))
            values.append(arr[:, :, flat])
    return labels, np.stack(values) if values else np.zeros((0, 1, 1))


def _cell_names(data: CollaborativeData) -> list[tuple[str, str]]:
    s = data.scores
    return list(zip(s["llm"].astype(str), s["task"].astype(str), strict=True))


def _noise(rng: np.random.Generator, shape: Any, nu: np.ndarray | float | None) -> np.ndarray:
    if nu is None:
        return rng.standard_normal(shape)
    return np.asarray(rng.standard_t(nu, size=shape))


def _one_thread() -> None:
    """Process-pool initializer: one thread for every numerical library."""
    from threadpoolctl import threadpool_limits

    os.environ.update(_ONE_THREAD)
    threadpool_limits(limits=1)


def run_replication(job: Replication) -> dict[str, Any]:
    """Fit one replication and rank its true values (runs in a worker; never raises).

    Returns a JSON-ready record: ``fit`` (seeds, time, diagnostics or the
    error) and ``ranks`` (``quantity`` -> ``[rank, n_draws, u]``).
    """
    from bayes_cpp.estimator import BayesCPP
    from bayes_cpp.inference import quiet_sampler_logs

    fit: dict[str, Any] = {
        "replication": job.index,
        "candidate": job.candidate,
        "fit_seed": job.fit_seed,
    }
    start = time.perf_counter()
    try:
        est = BayesCPP(**job.params)
        with quiet_sampler_logs():
            est.fit(job.data, random_seed=job.fit_seed)
        fit["seconds"] = round(time.perf_counter() - start, 2)
        report = est.diagnose(warn=False)
        fit.update(
            max_rhat=round(float(report.max_rhat), 4),
            min_ess_bulk=round(float(report.min_ess_bulk), 1),
            n_divergent=int(report.n_divergent),
            sampler=est.sampler_used_,
            error=None,
        )
        ranks = replication_ranks(est, job)
    except Exception as exc:  # a failed fit is recorded, not fatal to a 200-fit run
        fit.update(
            seconds=round(time.perf_counter() - start, 2), error=f"{type(exc).__name__}: {exc}"
        )
        return {"fit": fit, "ranks": {}}
    return {"fit": fit, "ranks": ranks}


def replication_ranks(est: BayesCPP, job: Replication) -> dict[str, list[float]]:
    """Rank the job's true values among the draws of the fitted ``est`` (any fitted estimator).

    Exposed so a test can pass an estimator whose "posterior" is a set of
    independent prior draws, for which every rank is exactly uniform.
    """
    from bayes_cpp.diagnostics import identified_quantities
    from bayes_cpp.evaluation.methods import fold_in_llm

    rng = np.random.default_rng(job.rng_seed)
    ds = identified_quantities(est.idata_, max_cells=job.max_cells)
    labels, values = _flatten(ds, _cell_names(job.data))
    draws = dict(zip(labels, values, strict=True))
    predictor = est.predictor_
    d = predictor.draws
    nu = predictor.nu

    def add(
        prefix: str, llms: Sequence[str], tasks: Sequence[str], mean: np.ndarray, sd: np.ndarray
    ) -> None:
        score = mean + sd * _noise(rng, mean.shape, None if nu is None else nu[:, None])
        for j, (a, b) in enumerate(zip(llms, tasks, strict=True)):
            draws[_label(f"{prefix}_mean", (a, b))] = d.unflatten(mean[:, j])
            draws[_label(f"{prefix}_score", (a, b))] = d.unflatten(score[:, j])

    if job.heldout:
        llms, tasks = zip(*job.heldout, strict=True)
        mean, sd = predictor.pairs(
            est.positions(dims.LLM, llms),  # type: ignore[arg-type]
            est.positions(dims.TASK, tasks),  # type: ignore[arg-type]
            rng,
        )
        add("heldout", llms, tasks, mean, sd)
    table = est.data_.llms
    for new in job.newcomers:
        known = pd.DataFrame({"task": list(new.known_tasks), "score": list(new.known_scores)})
        row = table.loc[new.name]
        assert isinstance(row, pd.Series)
        mean, sd = fold_in_llm(est, row, known, list(new.targets), rng)
        add("newcomer", [new.name] * len(new.targets), new.targets, mean, sd)
    names = [q for q in job.truth if q in draws]
    rank, kept, u = rank_statistics(
        np.array([job.truth[q] for q in names]),
        np.stack([draws[q] for q in names]),
        rng,
        thin=job.thin,
    )
    return {q: [int(r), int(n), float(x)] for q, r, n, x in zip(names, rank, kept, u, strict=True)}


# ------------------------------------------------------------ prior draws
def _check_layout(est: BayesCPP, layout: CollaborativeData) -> None:
    from bayes_cpp.features import build_design

    spec = est.resolved_spec()
    problems = []
    for side, feats, table in (
        ("LLM", spec.llm_features, layout.llms),
        ("task", spec.task_features, layout.tasks),
    ):
        design = build_design(feats, table, side="llm" if side == "LLM" else "task")
        x = design.matrix(table, what=f"{side} table")
        for j, name in enumerate(design.names):
            n_missing = int(np.isnan(x[:, j]).sum())
            if n_missing:
                problems.append(
                    f"{side} feature {name!r} is missing for {n_missing} rows; SBC needs complete "
                    "design factors (fill them in, or use sbc_layout())"
                )
    if problems:
        raise DataError(problems)


def _prior_batch(est: BayesCPP, layout: CollaborativeData, seed: int) -> xr.DataTree:
    import pymc as pm

    from bayes_cpp.inference import FORWARD_COMPILE, quiet_sampler_logs

    model = est.build_model(layout, rotation_gauge=False)
    with model, quiet_sampler_logs():
        import warnings

        with warnings.catch_warnings():
            # Prior predictive sampling announces the variables it draws.
            warnings.simplefilter("ignore", UserWarning)
            return pm.sample_prior_predictive(
                draws=_BATCH, random_seed=seed, compile_kwargs=FORWARD_COMPILE
            )


def _truth_of_draw(
    prior: xr.Dataset,
    iq: dict[str, np.ndarray],
    labels: list[str],
    draw: int,
    cells: dict[str, list[tuple[str, str]]],
    layout: CollaborativeData,
    spec: Any,
    chance: np.ndarray,
    rng: np.random.Generator,
) -> dict[str, float]:
    """True quantities of one prior draw, noisy scores of the extra cells included."""
    truth = {q: float(iq["values"][k, 0, draw]) for k, q in enumerate(labels)}
    p = prior.isel(chain=0, draw=draw)
    llm_pos = {n: i for i, n in enumerate(layout.llm_names)}
    task_pos = {n: i for i, n in enumerate(layout.task_names)}
    nu = float(p[dims.NOISE_NU]) if dims.NOISE_NU in p else None
    for prefix, pairs in cells.items():
        if not pairs:
            continue
        li = np.array([llm_pos[a] for a, _ in pairs])
        ti = np.array([task_pos[b] for _, b in pairs])
        eta = (
            float(p[dims.INTERCEPT])
            + p[dims.LLM_SIDE.bias].to_numpy()[li]
            + p[dims.TASK_SIDE.bias].to_numpy()[ti]
        )
        if dims.LLM_SIDE.loading in p and p.sizes.get(dims.LATENT, 0):
            u = p[dims.LLM_SIDE.loading].to_numpy()[li]
            v = p[dims.TASK_SIDE.loading].to_numpy()[ti]
            eta = eta + (u * v).sum(axis=1)
        share = float(p[dims.CHANCE_SHARE]) if dims.CHANCE_SHARE in p else None
        mean = equations.link(eta, equations.chance_floor(chance[ti], share))
        tau = p[dims.LLM_NOISE].to_numpy()[li] if dims.LLM_NOISE in p else None
        sd = equations.cell_sd(
            p[dims.SIGMA].to_numpy()[ti], mean, spec.noise_floor, spec.noise_scaling, tau
        )
        score = mean + sd * _noise(rng, len(pairs), nu)
        for (a, b), m, y in zip(pairs, mean, score, strict=True):
            truth[_label(f"{prefix}_mean", (a, b))] = float(m)
            truth[_label(f"{prefix}_score", (a, b))] = float(y)
    return truth


def _spread(pairs: list[tuple[str, str]], limit: int) -> list[tuple[str, str]]:
    if len(pairs) <= limit:
        return pairs
    pick = np.unique(np.linspace(0, len(pairs) - 1, limit).astype(int))
    return [pairs[i] for i in pick]


def _map(
    jobs: list[Replication], workers: int, map_fn: Callable[..., Iterable[Any]] | None
) -> Iterable[dict[str, Any]]:
    if map_fn is not None:
        return map_fn(run_replication, jobs)
    if workers == 1:
        return map(run_replication, jobs)
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_one_thread,
    )

    def results() -> Iterable[dict[str, Any]]:
        with pool:
            yield from pool.map(run_replication, jobs)

    return results()


def plan_sbc(
    layout: CollaborativeData | None = None,
    *,
    replications: int = 100,
    spec: str | Any = "hbmf",
    params: Mapping[str, Any] | None = None,
    newcomers: int = 0,
    revealed: int = 2,
    max_cells: int = 40,
    thin: Literal["ess"] | int = "ess",
    random_seed: int = 0,
    one_core: bool = False,
) -> SBCPlan:
    """Draw the true values and simulated data of every replication (nothing is fitted).

    Parameters are those of :func:`sbc`; ``one_core`` runs each fit's chains
    on one core (for parallel workers).
    """
    from bayes_cpp.estimator import BayesCPP

    if replications < 1:
        raise SpecError(f"replications must be positive, not {replications}")
    layout = sbc_layout() if layout is None else layout
    if not isinstance(layout, CollaborativeData):
        raise DataError([f"layout must be a CollaborativeData, not {type(layout).__name__}"])
    fit_params = {**SBC_SAMPLER, **dict(params or {}), "spec": spec}
    if one_core:
        fit_params.setdefault("cores", 1)
    est = BayesCPP(**fit_params)
    _check_layout(est, layout)
    model_spec = est.resolved_spec()

    rng0 = np.random.default_rng(derived_seed(random_seed, "sbc newcomers"))
    if not 0 <= newcomers < layout.n_llms:
        raise SpecError(f"newcomers must be in 0..{layout.n_llms - 1}, not {newcomers}")
    withheld = sorted(rng0.choice(layout.llm_names, size=newcomers, replace=False).tolist())
    if newcomers and not 0 <= revealed < layout.n_tasks:
        raise SpecError(f"revealed must be in 0..{layout.n_tasks - 1}, not {revealed}")
    # Which tasks each newcomer reveals is part of the fixed layout, so every
    # newcomer cell is a quantity of every replication.
    plan = []
    for name in withheld:
        order = [str(t) for t in rng0.permutation(layout.task_names)]
        plan.append((name, tuple(order[:revealed]), tuple(order[revealed:])))
    fit_layout = layout.drop_cells(layout.scores["llm"].isin(withheld).to_numpy())
    observed = set(_cell_names(fit_layout))
    heldout = _spread(
        [
            (a, b)
            for a in layout.llm_names
            if a not in withheld
            for b in layout.task_names
            if (a, b) not in observed
        ],
        max_cells,
    )
    chance = (
        layout.tasks["chance"].to_numpy(float)
        if model_spec.chance_level
        else np.zeros(layout.n_tasks)
    )
    cell_names = _cell_names(fit_layout)
    tasks_np = fit_layout.scores["task"].to_numpy()

    jobs: list[Replication] = []
    n_candidates = 0
    batch = 0
    while len(jobs) < replications:
        if n_candidates >= 100 and len(jobs) < _MIN_ACCEPTANCE * n_candidates:
            raise SpecError(
                f"only {len(jobs)} of {n_candidates} prior draws gave scores inside [0, 1]; "
                "the priors put the data outside the unit scale (check them with "
                "BayesCPP.sample_prior_predictive)"
            )
        from bayes_cpp.diagnostics import identified_quantities

        tree = _prior_batch(est, fit_layout, derived_seed(random_seed, f"sbc prior {batch}"))
        prior = tree["prior"].to_dataset()
        y = tree["prior_predictive"]["score"].to_numpy()[0]
        import xarray as xr

        iq = identified_quantities(
            xr.DataTree.from_dict(
                {"posterior": prior, "constant_data": tree["constant_data"].dataset}
            ),
            max_cells=max_cells,
        )
        labels, values = _flatten(iq, cell_names)
        for draw in range(prior.sizes["draw"]):
            if len(jobs) >= replications:
                break
            candidate = n_candidates
            n_candidates += 1
            if not np.all((y[draw] >= 0.0) & (y[draw] <= 1.0)):
                continue
            rng = np.random.default_rng(derived_seed(random_seed, f"sbc noise {candidate}"))
            known_cells = [(n, t) for n, ks, _ in plan for t in ks]
            target_cells = [(n, t) for n, _, ts in plan for t in ts]
            truth = _truth_of_draw(
                prior,
                {"values": values},
                labels,
                draw,
                {"heldout": heldout, "newcomer": target_cells, "revealed": known_cells},
                layout,
                model_spec,
                chance,
                rng,
            )
            known_unit = np.array([truth.pop(_label("revealed_score", c)) for c in known_cells])
            for c in known_cells:
                truth.pop(_label("revealed_mean", c))
            if np.any((known_unit < 0.0) | (known_unit > 1.0)):
                continue
            kinds = {
                q: "prediction"
                if q.startswith("heldout_")
                else "newcomer"
                if q.startswith("newcomer_")
                else "posterior"
                for q in truth
            }
            scores = fit_layout.scores.assign(score=fit_layout.from_unit(y[draw], tasks_np))
            newcomer_jobs = []
            for i, (name, ks, ts) in enumerate(plan):
                unit = known_unit[i * revealed : (i + 1) * revealed]
                newcomer_jobs.append(
                    _Newcomer(
                        name,
                        ks,
                        tuple(float(v) for v in layout.from_unit(unit, list(ks))),
                        ts,
                    )
                )
            jobs.append(
                Replication(
                    index=len(jobs),
                    candidate=candidate,
                    data=fit_layout.with_scores(scores),
                    params=fit_params,
                    fit_seed=derived_seed(random_seed, f"sbc fit {candidate}"),
                    rng_seed=derived_seed(random_seed, f"sbc ranks {candidate}"),
                    truth=truth,
                    kinds=kinds,
                    heldout=tuple(heldout),
                    newcomers=tuple(newcomer_jobs),
                    max_cells=max_cells,
                    thin=thin,
                )
            )
        batch += 1
    settings = {
        "replications": replications,
        "spec": model_spec.to_dict(),
        "params": {k: v for k, v in fit_params.items() if k != "spec"},
        "layout": {
            "name": layout.name,
            "n_llms": layout.n_llms,
            "n_tasks": layout.n_tasks,
            "n_observed": fit_layout.n_observed,
            "n_heldout_cells": len(heldout),
            "withheld_llms": withheld,
            "revealed_tasks": {name: list(ks) for name, ks, _ in plan},
        },
        "newcomers": newcomers,
        "revealed": revealed,
        "max_cells": max_cells,
        "thin": thin,
        "random_seed": random_seed,
        "prior_candidates": n_candidates,
        "acceptance": round(len(jobs) / max(1, n_candidates), 4),
    }
    return SBCPlan(jobs, settings, fit_layout)


def sbc(
    layout: CollaborativeData | None = None,
    *,
    replications: int = 100,
    spec: str | Any = "hbmf",
    params: Mapping[str, Any] | None = None,
    newcomers: int = 0,
    revealed: int = 2,
    max_cells: int = 40,
    thin: Literal["ess"] | int = "ess",
    random_seed: int = 0,
    workers: int = 1,
    map_fn: Callable[..., Iterable[Any]] | None = None,
    progress: bool = False,
) -> SBCResult:
    """Simulation-based calibration of the default fit (see the module docstring).

    Parameters
    ----------
    layout : CollaborativeData, optional
        Which cells are observed and the LLM and task tables (the scores are
        replaced); design factors must be complete. Default :func:`sbc_layout`.
    replications : int
        Number of accepted prior draws, each fitted once.
    spec : str or ModelSpec
        The model (``bayes-cpp specs``).
    params : mapping, optional
        Further :class:`~bayes_cpp.BayesCPP` parameters; :data:`SBC_SAMPLER`
        fills the sampler settings not given (with ``workers > 1`` each fit
        runs on one core).
    newcomers : int
        LLM rows withheld from the fit and conditioned on ``revealed`` of
        their scores (the same tasks in every replication), the rest of their cells
        predicted.
    revealed : int
        Revealed scores per newcomer.
    max_cells : int
        At most this many observed cells (``eta``) and held-out cells, evenly spaced.
    thin : "ess" or int
        Thinning before ranking (:func:`rank_statistics`).
    random_seed : int
        The one seed (see the module docstring for what derives from it).
    workers : int
        Local processes (spawned, one thread each).
    map_fn : callable, optional
        ``map_fn(function, jobs) -> iterable of results in order``: any
        executor's ``map`` (overrides ``workers``).
    progress : bool
        Show a progress bar.

    Returns
    -------
    SBCResult

    Examples
    --------
    >>> result = sbc(sbc_layout(8, 4), replications=2, params={"draws": 20, "tune": 10})
    >>> sorted(result.ranks["kind"].unique())
    ['posterior', 'prediction']
    """
    start = time.perf_counter()
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise SpecError(f"workers must be a positive integer, not {workers!r}")
    plan = plan_sbc(
        layout,
        replications=replications,
        spec=spec,
        params=params,
        newcomers=newcomers,
        revealed=revealed,
        max_cells=max_cells,
        thin=thin,
        random_seed=random_seed,
        one_core=workers > 1 or map_fn is not None,
    )
    result = run_sbc(plan, workers=workers, map_fn=map_fn, progress=progress)
    result.settings["wall_seconds"] = round(time.perf_counter() - start, 1)
    return result


def run_sbc(
    plan: SBCPlan,
    *,
    workers: int = 1,
    map_fn: Callable[..., Iterable[Any]] | None = None,
    progress: bool = False,
) -> SBCResult:
    """Fit every replication of ``plan`` (in ``workers`` processes or through ``map_fn``)."""
    from tqdm.auto import tqdm

    jobs = plan.jobs

    rank_rows: list[dict[str, Any]] = []
    fit_rows: list[dict[str, Any]] = []
    bar = tqdm(total=len(jobs), disable=not progress, unit="fit")
    by_index = {j.index: j for j in jobs}
    for out in _map(jobs, workers, map_fn):
        fit_rows.append(out["fit"])
        job = by_index[out["fit"]["replication"]]
        for quantity, (rank, n_draws, u) in out["ranks"].items():
            rank_rows.append(
                {
                    "replication": job.index,
                    "quantity": quantity,
                    "variable": quantity.split("[")[0],
                    "kind": job.kinds[quantity],
                    "rank": rank,
                    "n_draws": n_draws,
                    "u": u,
                }
            )
        bar.update()
    bar.close()
    fits = pd.DataFrame(fit_rows)
    failed = int(fits["error"].notna().sum()) if "error" in fits else 0
    if failed == len(jobs):
        raise SpecError(f"every SBC fit failed; first error: {fits['error'].iloc[0]}")
    settings = {
        **plan.settings,
        "failed_fits": failed,
        "workers": workers if map_fn is None else "map_fn",
    }
    return SBCResult(pd.DataFrame(rank_rows), fits, settings)
