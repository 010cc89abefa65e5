"""Inference: sampler configuration and the sampling call.

The NUTS implementation is always chosen explicitly (PyMC 6 silently picks
nutpie when it is installed) and the one actually used is recorded in the
posterior's attributes. Seeds come from :mod:`bayes_cpp.seeds`. PyMC is
imported only when sampling starts, so reading a saved fit never loads it.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import xarray as xr

from bayes_cpp.exceptions import SpecError
from bayes_cpp.seeds import stage_seed

if TYPE_CHECKING:
    import pymc as pm

    from bayes_cpp.kernel import KernelData

__all__ = ["SamplerConfig", "quiet_sampler_logs", "run_inference"]

Sampler = Literal["nutpie", "nutpie-pymc", "pymc", "numpyro", "advi"]
SAMPLERS: tuple[str, ...] = ("nutpie", "nutpie-pymc", "pymc", "numpyro", "advi")


@dataclass(frozen=True)
class SamplerConfig:
    """Settings of the inference run.

    Parameters
    ----------
    sampler : {"nutpie", "nutpie-pymc", "pymc", "numpyro", "advi"}
        ``"nutpie"``: nutpie's NUTS on the hand-written density of
        :mod:`bayes_cpp.kernel` (no PyMC compile; the default). The others run
        on the PyMC graph: nutpie on PyTensor's compiled graph, PyMC's own
        NUTS, numpyro (JAX), or ``"advi"`` (mean-field ADVI with a jittered
        start and Adam: a fast approximation for large matrices).
    draws, tune, chains : int
        Posterior draws and warm-up iterations per chain, number of chains.
    cores : int
        Parallel chains (threads for nutpie, processes for PyMC's NUTS).
    target_accept : float
        NUTS target acceptance rate.
    adaptation : {"diag", "low_rank"}
        nutpie mass-matrix adaptation. On ``cpp-crowdsourced`` the diagonal
        adaptation took 4x less CPU than the low-rank one for the same number
        of draws (fewer leapfrog steps per draw, cheaper steps), see
        ``benchmarks/RESULTS.md``.
    advi_iterations : int
        Optimisation steps when ``sampler="advi"``.
    """

    sampler: Sampler = "nutpie"
    draws: int = 1000
    tune: int = 500
    chains: int = 4
    cores: int = 2
    target_accept: float = 0.9
    adaptation: Literal["low_rank", "diag"] = "diag"
    advi_iterations: int = 30_000

    def __post_init__(self) -> None:
        if self.sampler not in SAMPLERS:
            raise SpecError(f"sampler must be one of {', '.join(SAMPLERS)}, not {self.sampler!r}")
        for name in ("draws", "tune", "chains", "cores", "advi_iterations"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < (0 if name == "tune" else 1):
                raise SpecError(f"{name} must be a positive integer, not {value!r}")
        if not 0.5 <= self.target_accept < 1.0:
            raise SpecError(f"target_accept must be in [0.5, 1), not {self.target_accept}")
        if self.adaptation not in ("low_rank", "diag"):
            raise SpecError(f"adaptation must be 'low_rank' or 'diag', not {self.adaptation!r}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready record."""
        return asdict(self)


@contextmanager
def quiet_sampler_logs() -> Iterator[None]:
    """Silence PyMC's per-fit INFO lines (e.g. ``NUTS[nutpie]: [...]``) inside the block.

    For callers that run many fits behind their own progress bar (the
    evaluation harness); warnings still pass.
    """
    logger = logging.getLogger("pymc")
    level = logger.level
    logger.setLevel(max(level, logging.WARNING))
    try:
        yield
    finally:
        logger.setLevel(level)


def run_inference(model: pm.Model, config: SamplerConfig, random_seed: int | None) -> xr.DataTree:
    """Run the configured sampler on ``model``; return a DataTree with attrs recorded."""
    import pymc as pm

    seed = stage_seed(random_seed, "sample")
    start = time.perf_counter()
    if config.sampler == "advi":
        idata = _run_advi(model, config, seed, stage_seed(random_seed, "advi_init"))
    else:
        nuts: dict[str, Any] = {"target_accept": config.target_accept}
        if config.sampler in ("nutpie", "nutpie-pymc"):
            nuts["adaptation"] = config.adaptation
        elif config.sampler == "numpyro":
            nuts["chain_method"] = "parallel" if config.cores > 1 else "sequential"
        name = "nutpie" if config.sampler == "nutpie-pymc" else config.sampler
        with warnings.catch_warnings():
            # PyMC recommends >= 4 chains and warns on r-hat of raw loadings,
            # which are rotation-unidentified by design; our own diagnose()
            # judges convergence on identified quantities instead.
            warnings.filterwarnings("ignore", message="We recommend running at least 4 chains")
            warnings.filterwarnings("ignore", message="The rhat statistic is larger")
            warnings.filterwarnings("ignore", message="The effective sample size per chain")
            idata = pm.sample(
                draws=config.draws,
                tune=config.tune,
                chains=config.chains,
                cores=config.cores,
                random_seed=seed,
                nuts_sampler=name,
                nuts=nuts,
                progressbar=False,
                compute_convergence_checks=False,
                model=model,
            )
    elapsed = time.perf_counter() - start
    post = idata["posterior"]
    post.attrs["bayes_cpp_sampler"] = config.sampler
    post.attrs["bayes_cpp_wall_seconds"] = round(elapsed, 2)
    post.attrs["bayes_cpp_sample_seed"] = seed
    return idata


def _run_advi(model: pm.Model, config: SamplerConfig, seed: int, init_seed: int) -> xr.DataTree:
    # ADVI and MAP started at all-zero loadings sit on a saddle (zero gradient
    # for U and V), so start from a jittered point and use Adam.
    import pymc as pm

    rng = np.random.default_rng(init_seed)
    start = {
        k: v + rng.normal(0.0, 0.1, size=np.shape(v))
        for k, v in model.initial_point(random_seed=init_seed).items()
    }
    with model:
        approx = pm.fit(
            config.advi_iterations,
            method="advi",
            random_seed=seed,
            start=start,
            obj_optimizer=pm.adam(learning_rate=0.01),
            progressbar=False,
        )
        idata = approx.sample(config.draws * config.chains, random_seed=seed)
    post = idata["posterior"].to_dataset()
    # ADVI returns one "chain" of draws * chains independent draws; split it
    # into pseudo-chains so the (chain, draw) contract of predictions holds.
    n, c = config.draws, config.chains
    values = {
        name: (da.dims, da.to_numpy().reshape(c, n, *da.shape[2:]))
        for name, da in post.transpose("chain", "draw", ...).data_vars.items()
    }
    coords = {k: v for k, v in post.coords.items() if k not in ("chain", "draw")}
    ds = xr.Dataset(values, coords={**coords, "chain": np.arange(c), "draw": np.arange(n)})
    ds.attrs.update(post.attrs)
    return xr.DataTree.from_dict({"posterior": ds})


# ------------------------------------------------------- the kernel path
def initial_point(data: KernelData, spec: Any, rng: np.random.Generator) -> np.ndarray:
    """A start in the unconstrained space: each prior's center plus uniform(-1, 1) jitter.

    Loadings start off zero (all-zero loadings are a saddle with zero gradient).
    """
    from bayes_cpp.kernel import PRIOR_KEYS

    base = np.zeros(data.n_dim)
    centers = {key: _prior_center(spec.prior(key)) for key in PRIOR_KEYS}
    for block in data.blocks:
        if block.rv in centers:
            base[block.start : block.start + block.size] = centers[block.rv]
    # The anchors' own loading entries start near 1: at 0 the section's Jacobian is 0.
    base[data.extra.get("anchor_entries", [])] = 1.0
    return base + rng.uniform(-1.0, 1.0, data.n_dim)


def _prior_center(prior: Any) -> float:
    """A central value of ``prior`` in its transformed space (log or log-odds where PyMC uses them)."""
    p = prior.params
    match prior.dist:
        case "Normal" | "StudentT" | "LogNormal":
            return float(p["mu"])
        case "HalfNormal" | "HalfStudentT":
            return float(np.log(p["sigma"] * np.sqrt(2.0 / np.pi)))
        case "Exponential":
            return float(-np.log(p["lam"]))
        case "Gamma":
            return float(np.log(p["alpha"] / p["beta"]))
        case "Beta":
            return float(np.log(p["alpha"] / p["beta"]))
    raise SpecError(f"no center for prior {prior!r}")


def run_kernel(
    data: KernelData,
    spec: Any,
    coords: dict[str, list],
    config: SamplerConfig,
    random_seed: int | None,
    progress: Callable[[Sequence[Any]], None] | None = None,
) -> xr.DataTree:
    """Nutpie's NUTS on the hand-written density; returns posterior and sample_stats.

    The posterior has the names and dims of the PyMC graph's (see
    :mod:`bayes_cpp.kernel`), so diagnostics, predictions and files do not
    care which path sampled it. ``progress``, when given, is nutpie's
    ``progress_callback``: called from a background thread about every 0.5 s
    with one ``nutpie.ChainProgress`` per chain (``finished_draws``,
    ``total_draws``, ``divergences``, ``tuning``, ...); it must not raise.
    """
    import nutpie
    from nutpie import _lib
    from nutpie.sample import CompiledModel

    from bayes_cpp import kernel

    seed = stage_seed(random_seed, "sample")
    start = time.perf_counter()
    header = np.array(
        [data.floats.ctypes.data, len(data.floats), data.ints.ctypes.data, len(data.ints)],
        dtype=np.int64,
    )
    dim_sizes = {k: len(v) for k, v in coords.items()}
    names, shapes, var_dims = [], [], {}
    all_coords = {k: [str(x) for x in v] for k, v in coords.items()}
    for name, dims_, shape in data.outputs:
        names.append(name)
        shapes.append(tuple(int(n) for n in shape))
        var_dims[name] = list(dims_)
        for d, n in zip(dims_, shape, strict=True):
            if d not in dim_sizes:
                dim_sizes[d] = int(n)
                all_coords[d] = [str(i) for i in range(int(n))]
    init_seed = stage_seed(random_seed, "init")
    inits: dict[int, np.ndarray] = {}

    def make_init(chain_seed: int) -> np.ndarray:
        # nutpie passes a per-chain seed; derive the start from ours and it.
        if chain_seed not in inits:
            rng = np.random.default_rng([init_seed, chain_seed])
            inits[chain_seed] = initial_point(data, spec, rng)
        return inits[chain_seed]

    keep = (data, header)

    @dataclass(frozen=True)
    class _KernelModel(CompiledModel):
        def __hash__(self) -> int:
            return id(self)

        @property
        def n_dim(self) -> int:
            return data.n_dim

        @property
        def shapes(self) -> dict[str, tuple[int, ...]]:
            return dict(zip(names, shapes, strict=True))

        @property
        def coords(self) -> dict[str, list]:
            return all_coords

        def _make_model(self, init_mean: Any) -> Any:
            logp = _lib.LogpFunc(kernel.logp_cfunc.address, header.ctypes.data, keep)
            expand = _lib.ExpandFunc(
                data.n_dim, data.n_expanded, kernel.expand_cfunc.address, header.ctypes.data, keep
            )
            variables = _lib.PyVariable.new_variables(
                names, ["float64"] * len(names), shapes, dim_sizes, var_dims
            )
            return _lib.PyMcModel(
                logp,
                expand,
                variables,
                data.n_dim,
                dim_sizes,
                all_coords,
                make_init,
                lambda *args, **kwargs: None,
            )

        def _make_sampler(self, settings: Any, init_mean: Any, cores: int, *rest: Any) -> Any:
            return _lib.PySampler.from_pymc(settings, cores, self._make_model(init_mean), *rest)

    compiled = _KernelModel(dims={n: tuple(d) for n, d in var_dims.items()})
    # Warm-up draws are kept only to count the gradient evaluations of tuning,
    # and only while they are small (they are full draws of every quantity).
    count_tuning = data.n_expanded * config.tune * config.chains < 5e7
    idata = nutpie.sample(
        compiled,
        draws=config.draws,
        tune=config.tune,
        chains=config.chains,
        cores=min(config.cores, config.chains),
        seed=seed,
        progress_bar=False,
        progress_callback=progress,
        progress_rate=500,
        save_warmup=count_tuning,
        adaptation=config.adaptation,
        target_accept=config.target_accept,
    )
    n_gradients = int(idata["sample_stats"]["n_steps"].sum())
    if count_tuning and "warmup_sample_stats" in idata.children:
        n_gradients += int(idata["warmup_sample_stats"]["n_steps"].sum())
    idata = xr.DataTree.from_dict({g: idata[g].to_dataset() for g in ("posterior", "sample_stats")})
    elapsed = time.perf_counter() - start
    post = idata["posterior"]
    if count_tuning:
        post.attrs["bayes_cpp_n_gradients"] = n_gradients
    post.attrs["bayes_cpp_sampler"] = config.sampler
    post.attrs["bayes_cpp_wall_seconds"] = round(elapsed, 2)
    post.attrs["bayes_cpp_sample_seed"] = seed
    return idata
