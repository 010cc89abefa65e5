"""Convergence diagnostics on identified quantities.

Loadings of a factor model are identified only up to rotation and sign
(``U V^T = (U R)(V R)^T``), so r-hat on raw ``llm_loading``/``task_loading`` is
expected to look bad even when every prediction has converged. We therefore
judge convergence on quantities the likelihood identifies: the linear
predictor of observed cells (``eta``), biases, scales and shares,
bias regression coefficients, the noise, and the eigenvalues of
``V^T V`` (rotation invariant). For reporting factors themselves,
:func:`align_loadings` rotates each draw onto a common reference (orthogonal
Procrustes), after which r-hat on the aligned loadings is meaningful.

R-hat is arviz-stats' rank-normalized split r-hat and ESS its bulk and tail ESS,
computed by :mod:`bayes_cpp._mcmcstats` (the same definitions, vectorized over
quantities, held equal to arviz-stats' by a test: about 4x faster on a default
fit). Tail ESS is pinned to the 5% and 95% quantiles rather than following
ArviZ's global ``stats.ci_prob``. Summaries come from arviz-stats; intervals use
the explicit constants in :mod:`bayes_cpp.dims`, never ArviZ's global defaults.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from bayes_cpp import dims
from bayes_cpp._mcmcstats import rhat_ess
from bayes_cpp.dims import LLM_SIDE, TASK_SIDE
from bayes_cpp.exceptions import ConvergenceWarning

__all__ = [
    "BFMI_MIN",
    "ESS_MIN",
    "RHAT_MAX",
    "DiagnosticReport",
    "align_loadings",
    "diagnose",
    "draw_summary",
    "headline",
    "identified_quantities",
    "procrustes_rotations",
    "summary",
]

RHAT_MAX = 1.01
ESS_MIN = 400
BFMI_MIN = 0.3
_MAX_CELLS = 2000


def identified_quantities(idata: xr.DataTree, *, max_cells: int = _MAX_CELLS) -> xr.Dataset:
    """Posterior of the identified quantities (``eta`` of observed cells included).

    ``eta`` is computed for at most ``max_cells`` observed cells (evenly spaced)
    to bound memory on large matrices.
    """
    post = idata["posterior"].to_dataset()
    out = post[[v for v in dims.IDENTIFIED if v in post]]
    if "constant_data" in idata.children and dims.LLM_INDEX in idata["constant_data"].dataset:
        const = idata["constant_data"].to_dataset()
        n_obs = const.sizes[dims.OBS]
        pick = np.unique(np.linspace(0, n_obs - 1, min(n_obs, max_cells)).astype(int))
        li = xr.DataArray(const[dims.LLM_INDEX].to_numpy()[pick], dims=dims.OBS)
        ti = xr.DataArray(const[dims.TASK_INDEX].to_numpy()[pick], dims=dims.OBS)
        eta = (
            post[dims.INTERCEPT]
            + post[LLM_SIDE.bias].isel({dims.LLM: li}, drop=True)
            + post[TASK_SIDE.bias].isel({dims.TASK: ti}, drop=True)
        )
        if LLM_SIDE.loading in post and post.sizes.get(dims.LATENT, 0):
            u = post[LLM_SIDE.loading].isel({dims.LLM: li}, drop=True)
            v = post[TASK_SIDE.loading].isel({dims.TASK: ti}, drop=True)
            eta = eta + (u * v).sum(dims.LATENT)
            gram = xr.dot(
                post[TASK_SIDE.loading],
                post[TASK_SIDE.loading].rename({dims.LATENT: "latent_b"}),
                dim=dims.TASK,
            )
            eig = np.linalg.eigvalsh(
                gram.transpose("chain", "draw", dims.LATENT, "latent_b").to_numpy()
            )
            out = out.assign(
                loading_gram_eigenvalues=(("chain", "draw", "eigen"), eig),
            )
        out = out.assign(eta=eta.assign_coords({dims.OBS: pick}))
    return out


@dataclass(frozen=True)
class DiagnosticReport:
    """Result of :func:`diagnose`.

    Attributes
    ----------
    ok : bool
        True when every threshold is met.
    max_rhat, min_ess_bulk, min_ess_tail : float
        Worst values over all identified quantities.
    n_divergent : int
        Divergent transitions after warm-up.
    min_bfmi : float
        Smallest E-BFMI over chains (NaN when energy is not recorded).
    table : pandas.DataFrame
        Per variable: max r-hat, min bulk and tail ESS, number of elements.
    thresholds : dict
        The thresholds applied.
    approximation : str or None
        For a variational fit, what it is (e.g. ``"mean-field ADVI"``). Its
        draws are independent draws from the approximation, so r-hat, ESS,
        divergences and E-BFMI do not apply (they are NaN / 0 and the table
        is empty); ``ok`` then means the optimisation's loss converged.
    iterations : int or None
        Optimisation iterations of a variational fit.
    """

    ok: bool
    max_rhat: float
    min_ess_bulk: float
    min_ess_tail: float
    n_divergent: int
    min_bfmi: float
    table: pd.DataFrame
    thresholds: dict[str, float] = field(default_factory=dict)
    approximation: str | None = None
    iterations: int | None = None

    def problems(self) -> list[str]:
        """One line per failed check, naming the variables."""
        if self.approximation is not None:
            if self.ok:
                return []
            return [
                f"the optimisation stopped at its cap of {self.iterations} iterations before the "
                "loss stopped improving; raise advi_iterations "
                "(BayesCPP(sampler_options={'advi_iterations': ...}))"
            ]
        th = self.thresholds
        lines = []
        bad_rhat = self.table.index[self.table["max_rhat"] > th["rhat_max"]].tolist()
        if bad_rhat:
            lines.append(f"r_hat > {th['rhat_max']} for {', '.join(bad_rhat)}")
        bad_ess = self.table.index[self.table["min_ess_bulk"] < th["ess_min"]].tolist()
        if bad_ess:
            lines.append(f"bulk ESS < {th['ess_min']:g} for {', '.join(bad_ess)}")
        if self.n_divergent:
            lines.append(f"{self.n_divergent} divergent transitions")
        if np.isfinite(self.min_bfmi) and self.min_bfmi < th["bfmi_min"]:
            lines.append(f"E-BFMI {self.min_bfmi:.2f} < {th['bfmi_min']}")
        return lines

    def headline(self) -> str:
        """One line: verdict and the worst r-hat, bulk ESS and divergences, with thresholds."""
        return headline(self.to_dict())

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (no per-variable table): what a saved fit and a result file record.

        Examples
        --------
        >>> import pandas as pd
        >>> table = pd.DataFrame({"max_rhat": [1.2], "min_ess_bulk": [8.0]}, index=["eta"])
        >>> th = {"rhat_max": 1.01, "ess_min": 400, "bfmi_min": 0.3}
        >>> report = DiagnosticReport(False, 1.2, 8.0, 9.0, 3, float("nan"), table, th)
        >>> report.to_dict()["problems"]
        ['r_hat > 1.01 for eta', 'bulk ESS < 400 for eta', '3 divergent transitions']
        >>> report.headline()
        'FAILED convergence checks: max r_hat 1.200 (limit 1.01), min bulk ESS 8 (limit 400), 3 divergent (limit 0)'
        """

        def num(value: float) -> float | None:
            return float(value) if np.isfinite(value) else None

        return {
            "ok": bool(self.ok),
            "max_rhat": num(self.max_rhat),
            "min_ess_bulk": num(self.min_ess_bulk),
            "min_ess_tail": num(self.min_ess_tail),
            "n_divergent": int(self.n_divergent),
            "min_bfmi": num(self.min_bfmi),
            "problems": self.problems(),
            "thresholds": dict(self.thresholds),
        }

    def __str__(self) -> str:
        if self.approximation is not None:
            state = "loss converged" if self.ok else "loss NOT converged"
            head = (
                f"APPROXIMATION ({self.approximation}, {self.iterations} iterations, {state}): "
                "r_hat, ESS, divergences and E-BFMI do not apply to draws from a variational "
                "approximation; its parameter intervals are typically too narrow, so check "
                "held-out coverage"
            )
            return "\n".join([head, *(f"  - {p}" for p in self.problems())])
        head = (
            f"{'OK' if self.ok else 'NOT OK'}: max r_hat {self.max_rhat:.4f}, min bulk ESS "
            f"{self.min_ess_bulk:.0f}, min tail ESS {self.min_ess_tail:.0f}, "
            f"{self.n_divergent} divergent, min E-BFMI {self.min_bfmi:.2f}"
        )
        return "\n".join([head, *(f"  - {p}" for p in self.problems())])


def headline(record: dict[str, Any]) -> str:
    """The one-line verdict of a :meth:`DiagnosticReport.to_dict` record (also a stored one)."""
    th = record.get("thresholds") or {}

    def fmt(value: Any, spec: str) -> str:
        return "n/a" if value is None else format(value, spec)

    verdict = "passed" if record.get("ok") else "FAILED"
    return (
        f"{verdict} convergence checks: max r_hat {fmt(record.get('max_rhat'), '.3f')} "
        f"(limit {th.get('rhat_max', RHAT_MAX):g}), min bulk ESS "
        f"{fmt(record.get('min_ess_bulk'), '.0f')} (limit {th.get('ess_min', ESS_MIN):g}), "
        f"{record.get('n_divergent', 0)} divergent (limit 0)"
    )


def diagnose(
    idata: xr.DataTree,
    *,
    rhat_max: float = RHAT_MAX,
    ess_min: float = ESS_MIN,
    bfmi_min: float = BFMI_MIN,
    warn: bool = True,
) -> DiagnosticReport:
    """Check r-hat, bulk/tail ESS, divergences and E-BFMI on identified quantities.

    Emits one :class:`ConvergenceWarning` naming the bad variables when a
    threshold fails (unless ``warn=False``). For a variational approximation
    (posterior attribute ``bayes_cpp_approximation``) nothing MCMC-specific
    is computed: the report says what the approximation is and whether its
    loss converged (see :class:`DiagnosticReport`).
    """
    thresholds = {"rhat_max": rhat_max, "ess_min": ess_min, "bfmi_min": bfmi_min}
    attrs = idata["posterior"].attrs
    if "bayes_cpp_approximation" in attrs:
        report = _approximation_report(attrs, thresholds)
        if warn and not report.ok:
            warnings.warn(
                f"{report.approximation}: " + "; ".join(report.problems()),
                ConvergenceWarning,
                stacklevel=2,
            )
        return report
    ds = identified_quantities(idata)
    rows = {}
    names = list(ds.data_vars)
    blocks = [_quantity_chain_draw(ds[name]) for name in names]
    empty = np.empty(0)
    rhat, ess_b, ess_t = rhat_ess(np.concatenate(blocks)) if blocks else (empty, empty, empty)
    start = 0
    for name, block in zip(names, blocks, strict=True):
        stop = start + block.shape[0]
        r = np.asarray(rhat[start:stop])
        rows[name] = {
            # A constant quantity (e.g. a fixed chance level) has NaN r-hat: nothing to mix.
            "max_rhat": float(np.nanmax(r)) if np.isfinite(r).any() else 1.0,
            "min_ess_bulk": _nanmin(ess_b[start:stop]),
            "min_ess_tail": _nanmin(ess_t[start:stop]),
            "size": int(block.shape[0]),
        }
        start = stop
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "variable"
    n_div = 0
    min_bfmi = float("nan")
    if "sample_stats" in idata.children:
        stats_ds = idata["sample_stats"].to_dataset()
        if "diverging" in stats_ds:
            n_div = int(stats_ds["diverging"].sum())
        if "energy" in stats_ds:
            import arviz_stats as azs  # here: a forecast from a saved fit never needs it

            min_bfmi = float(azs.bfmi(idata)["energy"].min())
    ok = (
        bool((table["max_rhat"] <= rhat_max).all())
        and bool((table["min_ess_bulk"] >= ess_min).all())
        and n_div == 0
        and not (np.isfinite(min_bfmi) and min_bfmi < bfmi_min)
    )
    report = DiagnosticReport(
        ok=ok,
        max_rhat=float(table["max_rhat"].max()),
        min_ess_bulk=float(table["min_ess_bulk"].min()),
        min_ess_tail=float(table["min_ess_tail"].min()),
        n_divergent=n_div,
        min_bfmi=min_bfmi,
        table=table,
        thresholds=thresholds,
    )
    if warn and not ok:
        warnings.warn(
            "sampler diagnostics failed: " + "; ".join(report.problems()),
            ConvergenceWarning,
            stacklevel=2,
        )
    return report


def _quantity_chain_draw(da: xr.DataArray) -> np.ndarray:
    """A variable's draws as ``(quantity, chain, draw)``."""
    other = [d for d in da.dims if d not in ("chain", "draw")]
    values = da.transpose(*other, "chain", "draw").to_numpy()
    return values.reshape(-1, da.sizes["chain"], da.sizes["draw"])


def _nanmin(values: np.ndarray) -> float:
    values = np.asarray(values)
    return float(np.nanmin(values)) if np.isfinite(values).any() else float("nan")


def _approximation_report(attrs: Any, thresholds: dict[str, float]) -> DiagnosticReport:
    nan = float("nan")
    return DiagnosticReport(
        ok=bool(int(attrs.get("bayes_cpp_converged", 0))),
        max_rhat=nan,
        min_ess_bulk=nan,
        min_ess_tail=nan,
        n_divergent=0,
        min_bfmi=nan,
        table=pd.DataFrame(
            columns=["max_rhat", "min_ess_bulk", "min_ess_tail", "size"],
            index=pd.Index([], name="variable"),
        ),
        thresholds=thresholds,
        approximation=str(attrs["bayes_cpp_approximation"]),
        iterations=int(attrs.get("bayes_cpp_iterations", 0)),
    )


def summary(
    idata: xr.DataTree,
    *,
    var_names: list[str] | None = None,
    ci_prob: float = dims.CI_PROB,
    ci_kind: str = dims.CI_KIND,
) -> pd.DataFrame:
    """ArviZ summary of identified quantities with explicit interval settings."""
    import arviz_stats as azs

    ds = identified_quantities(idata)
    if var_names is not None:
        ds = ds[var_names]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return azs.summary(ds, ci_prob=ci_prob, ci_kind=ci_kind)


def draw_summary(values: np.ndarray, *, ci_prob: float = dims.CI_PROB) -> pd.DataFrame:
    """Mean, sd and equal-tailed ``ci_prob`` interval of draws ``(S, n)`` over the first axis.

    Returns a frame with ``n`` rows and columns ``mean``, ``sd``, ``lower``,
    ``upper`` (the workflows' summaries of derived quantities).

    Examples
    --------
    >>> draw_summary(np.arange(101.0)[:, None], ci_prob=0.9).round(1).to_dict("records")
    [{'mean': 50.0, 'sd': 29.2, 'lower': 5.0, 'upper': 95.0}]
    """
    import arviz_stats as azs

    arr = np.asarray(values, dtype=float)
    arr = arr.reshape(arr.shape[0], -1)
    bounds = np.asarray(azs.eti(arr, ci_prob, axis=0))
    return pd.DataFrame(
        {
            "mean": arr.mean(axis=0),
            "sd": arr.std(axis=0),
            "lower": bounds[..., 0],
            "upper": bounds[..., 1],
        }
    )


def procrustes_rotations(posterior: xr.Dataset, *, sweeps: int = 3) -> np.ndarray:
    """Per-draw orthogonal matrices ``R`` (chain, draw, K, K) aligning the loadings.

    Generalised Procrustes on the task loadings: each draw's ``V`` is rotated
    (or reflected) onto a common reference, which is re-estimated as the mean
    of the rotated draws for ``sweeps`` rounds. Anything that rotates with the
    loadings (``llm_loading``, ``task_loading``, the loading coefficients) is
    aligned by right-multiplying its latent axis by ``R``; ``U Vᵀ`` is unchanged.
    """
    v = posterior[TASK_SIDE.loading].transpose("chain", "draw", dims.TASK, dims.LATENT)
    vv = v.to_numpy()
    ref = vv[0, -1]
    rot: Any = np.broadcast_to(np.eye(vv.shape[-1]), (*vv.shape[:2], vv.shape[-1], vv.shape[-1]))
    for _ in range(sweeps):
        m = np.einsum("cstk,tl->cskl", vv, ref)
        left, _, right = np.linalg.svd(m)
        rot = left @ right
        ref = np.einsum("cstk,cskl->cstl", vv, rot).mean(axis=(0, 1))
    return np.asarray(rot)


def align_loadings(posterior: xr.Dataset, *, sweeps: int = 3) -> xr.Dataset:
    """Rotate each draw's loadings onto a common reference (generalised Procrustes).

    Returns a dataset with ``llm_loading`` and ``task_loading`` aligned; their
    product (and every prediction) is unchanged. The rotations are
    :func:`procrustes_rotations`.
    """
    u = posterior[LLM_SIDE.loading].transpose("chain", "draw", dims.LLM, dims.LATENT)
    v = posterior[TASK_SIDE.loading].transpose("chain", "draw", dims.TASK, dims.LATENT)
    rot = procrustes_rotations(posterior, sweeps=sweeps)
    return xr.Dataset(
        {
            LLM_SIDE.loading: (u.dims, np.einsum("csmk,cskl->csml", u.to_numpy(), rot)),
            TASK_SIDE.loading: (v.dims, np.einsum("cstk,cskl->cstl", v.to_numpy(), rot)),
        },
        coords={k: c for k, c in posterior.coords.items() if k in (*u.dims, *v.dims)},
    )
