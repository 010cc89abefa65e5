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
from dataclasses import asdict, dataclass, fields
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import xarray as xr

from bayes_cpp.exceptions import SpecError
from bayes_cpp.seeds import stage_seed

if TYPE_CHECKING:
    import pymc as pm

    from bayes_cpp.kernel import KernelData

__all__ = [
    "APPROXIMATE",
    "FORWARD_COMPILE",
    "SAMPLERS",
    "SamplerConfig",
    "quiet_sampler_logs",
    "run_inference",
]

Sampler = Literal["nutpie", "nutpie-pymc", "pymc", "numpyro", "advi", "fullrank_advi"]
SAMPLERS: tuple[str, ...] = ("nutpie", "nutpie-pymc", "pymc", "numpyro", "advi", "fullrank_advi")
#: How forward (prior predictive) sampling compiles its graph. It calls the
#: function once per draw, so the default numba backend spends ~15 s compiling
#: (cold cache) to save milliseconds; the Python linker draws the same values.
FORWARD_COMPILE: dict[str, str] = {"mode": "FAST_COMPILE"}
#: Samplers that fit a variational approximation instead of running MCMC.
APPROXIMATE: tuple[str, ...] = ("advi", "fullrank_advi")
ChainMethod = Literal["auto", "parallel", "vectorized"]


@dataclass(frozen=True)
class SamplerConfig:
    """Settings of the inference run.

    Parameters
    ----------
    sampler : {"nutpie", "nutpie-pymc", "pymc", "numpyro", "advi", "fullrank_advi"}
        ``"nutpie"``: nutpie's NUTS on the hand-written density of
        :mod:`bayes_cpp.kernel` (no PyMC compile; the default). The others run
        on the PyMC graph: nutpie on PyTensor's compiled graph, PyMC's own
        NUTS, numpyro's NUTS (JAX: CPU devices or a GPU), or a variational
        approximation for large matrices (:mod:`bayes_cpp.approximate`):
        ``"advi"`` (mean-field) or ``"fullrank_advi"`` (dense covariance,
        refined from the mean-field solution; up to
        :data:`~bayes_cpp.approximate.FULLRANK_MAX_DIM` parameters).
    draws, tune, chains : int
        Posterior draws and warm-up iterations per chain, number of chains.
        An approximation draws ``chains x draws`` independent points, split
        into pseudo-chains (``tune`` is unused).
    cores : int
        Parallel chains (threads for nutpie, processes for PyMC's NUTS,
        devices for numpyro).
    target_accept : float
        NUTS target acceptance rate.
    adaptation : {"diag", "low_rank"}
        nutpie mass-matrix adaptation. On ``cpp-crowdsourced`` the diagonal
        adaptation took 4x less CPU than the low-rank one for the same number
        of draws (fewer leapfrog steps per draw, cheaper steps), see
        ``benchmarks/RESULTS.md``.
    advi_iterations : int
        Most optimisation steps of an approximation (per stage for
        ``"fullrank_advi"``); it usually stops earlier, when the loss has
        stopped improving (:class:`~bayes_cpp.approximate.LossPlateau`).
    advi_window : int
        Iterations per window of that convergence rule.
    advi_learning_rate : float
        Adam's step size for the mean-field stage (full-rank uses 0.03 times it).
    chain_method : {"auto", "parallel", "vectorized"}
        How numpyro runs chains: one per JAX device (``"parallel"``) or
        batched on one device (``"vectorized"``, the choice on a single GPU).
        ``"auto"``: parallel when ``cores > 1`` and there are at least
        ``chains`` devices, vectorized otherwise.
    """

    sampler: Sampler = "nutpie"
    draws: int = 1000
    tune: int = 300
    chains: int = 4
    cores: int = 2
    target_accept: float = 0.9
    adaptation: Literal["low_rank", "diag"] = "diag"
    advi_iterations: int = 50_000
    advi_window: int = 500
    advi_learning_rate: float = 0.01
    chain_method: ChainMethod = "auto"

    def __post_init__(self) -> None:
        if self.sampler not in SAMPLERS:
            raise SpecError(f"sampler must be one of {', '.join(SAMPLERS)}, not {self.sampler!r}")
        for name in ("draws", "tune", "chains", "cores", "advi_iterations", "advi_window"):
            value = getattr(self, name)
            if (
                not isinstance(value, int)
                or isinstance(value, bool)
                or value < (0 if name == "tune" else 1)
            ):
                raise SpecError(f"{name} must be a positive integer, not {value!r}")
        if self.advi_window < 10:
            raise SpecError(f"advi_window must be at least 10 iterations, not {self.advi_window}")
        if not 0.5 <= self.target_accept < 1.0:
            raise SpecError(f"target_accept must be in [0.5, 1), not {self.target_accept}")
        if (
            not isinstance(self.advi_learning_rate, float | int)
            or not 0 < self.advi_learning_rate <= 1
        ):
            raise SpecError(
                f"advi_learning_rate must be in (0, 1], not {self.advi_learning_rate!r}"
            )
        if self.adaptation not in ("low_rank", "diag"):
            raise SpecError(f"adaptation must be 'low_rank' or 'diag', not {self.adaptation!r}")
        if self.chain_method not in ("auto", "parallel", "vectorized"):
            raise SpecError(
                f"chain_method must be 'auto', 'parallel' or 'vectorized', not {self.chain_method!r}"
            )

    @property
    def approximate(self) -> bool:
        """True when the sampler fits a variational approximation (no MCMC diagnostics)."""
        return self.sampler in APPROXIMATE

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready record."""
        return asdict(self)

    @classmethod
    def options(cls) -> tuple[str, ...]:
        """Names of the settings beyond those :class:`~bayes_cpp.BayesCPP` takes directly."""
        direct = {"sampler", "draws", "tune", "chains", "cores", "target_accept"}
        return tuple(f.name for f in fields(cls) if f.name not in direct)


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
    if config.approximate:
        from bayes_cpp.approximate import fit_approximation

        idata = fit_approximation(
            model,
            method=config.sampler,
            draws=config.draws,
            chains=config.chains,
            max_iterations=config.advi_iterations,
            window=config.advi_window,
            learning_rate=float(config.advi_learning_rate),
            seed=seed,
            init_seed=stage_seed(random_seed, "advi_init"),
        )
    else:
        nuts: dict[str, Any] = {"target_accept": config.target_accept}
        if config.sampler in ("nutpie", "nutpie-pymc"):
            nuts["adaptation"] = config.adaptation
        elif config.sampler == "numpyro":
            nuts["chain_method"] = numpyro_chain_method(config)
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


def numpyro_chain_method(config: SamplerConfig) -> Literal["parallel", "vectorized"]:
    """The numpyro chain method for ``config`` on the JAX devices of this process.

    Importing :mod:`pymc.sampling.jax` sets ``XLA_FLAGS`` to expose 100 host
    (CPU) devices; that only takes effect when JAX has not started yet in the
    process. With fewer devices than chains (a single GPU, or JAX started
    earlier with one CPU device) the chains are vectorized on one device
    instead of numpyro warning and running them one after another.
    """
    if config.chain_method != "auto":
        return config.chain_method
    import jax
    import pymc.sampling.jax  # noqa: F401  (sets XLA_FLAGS before JAX starts)

    return (
        "parallel"
        if config.cores > 1 and jax.local_device_count() >= config.chains
        else "vectorized"
    )


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
