"""Variational approximations of the posterior for matrices too large for NUTS.

Mean-field ADVI (a Gaussian with a diagonal covariance in the unconstrained
space) and full-rank ADVI (a dense covariance, started from the converged
mean-field solution) on the PyMC graph, optimised with Adam from a jittered
start until the loss stops improving (:class:`LossPlateau`), or until an
iteration cap. The result is a DataTree whose posterior has the
``(chain, draw)`` layout of a sampler's (independent draws split into
pseudo-chains) and attributes saying that it is an approximation, how many
iterations it took and whether the loss converged: r-hat and ESS do not apply
to such draws, and mean-field intervals of parameters are typically too
narrow (check held-out coverage, see ``benchmarks/RESULTS.md``).

Pathfinder and Laplace approximations live in pymc-extras, whose releases pin
``pymc<6.4``; they are not offered here.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from bayes_cpp.exceptions import SpecError
from bayes_cpp.seeds import derived_seed

if TYPE_CHECKING:
    import pymc as pm

__all__ = [
    "APPROXIMATIONS",
    "FULLRANK_MAX_DIM",
    "LossPlateau",
    "fit_approximation",
    "jittered_start",
]

#: Description recorded in the posterior's ``bayes_cpp_approximation`` attribute.
APPROXIMATIONS: dict[str, str] = {
    "advi": "mean-field ADVI",
    "fullrank_advi": "full-rank ADVI (started from mean-field ADVI)",
}

#: Largest number of unconstrained parameters for full-rank ADVI: its
#: covariance factor has ``d (d + 1) / 2`` entries, each optimised with Adam
#: (about 4 GB of state at ``d = 10,000``).
FULLRANK_MAX_DIM = 5000

# Adam moves every one of the d (d + 1) / 2 Cholesky entries by about its
# step size whatever the size of its (mostly noise) gradient, which inflates
# the variance in every direction: on a 40 x 12 simulated matrix, started at
# the mean-field optimum (loss -83), full-rank steps of 3e-3 ended at loss
# +21, 1e-3 at -71, 3e-4 at -105 (better than mean-field) and 3e-5 at -95.
# From PyMC's own start, Adam at 0.01 gave NaN within 150 iterations; the
# clipped gradient norm guards the first steps.
_FULLRANK_LR_FACTOR = 0.03
_FULLRANK_GRAD_NORM = 100.0


class LossPlateau:
    """A PyMC ADVI callback: stop when the loss has stopped improving.

    Every ``window`` iterations the median loss of the last window is compared
    with the previous window's. When the improvement is smaller than ``z``
    standard errors of that difference (from the windows' median absolute
    deviations) ``patience`` windows in a row, the optimisation stops
    (``StopIteration``, which :meth:`pymc.ADVI.fit` catches). Medians make the
    rule robust to the occasional huge loss of a Monte Carlo ELBO estimate.
    PyMC's own ``CheckParametersConvergence`` never fires on this model: with
    a constant Adam step, the largest parameter change over 500 iterations
    stays near 0.3 in absolute and above 40 in relative terms (measured on a
    100 x 12 simulated matrix) long after the loss is flat.

    Attributes
    ----------
    converged_at : int or None
        The iteration at which the rule fired.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> loss = np.concatenate([np.linspace(100, 0, 2000), np.zeros(4000)]) + rng.normal(0, 1, 6000)
    >>> rule = LossPlateau(window=500)
    >>> for i in range(1, 6001):
    ...     try:
    ...         rule(None, loss[:i], i)
    ...     except StopIteration:
    ...         break
    >>> rule.converged_at
    3500
    """

    def __init__(self, window: int = 500, *, patience: int = 2, z: float = 2.0) -> None:
        if window < 10 or patience < 1:
            raise SpecError(
                f"LossPlateau needs window >= 10 and patience >= 1, not {window}, {patience}"
            )
        self.window = window
        self.patience = patience
        self.z = z
        self.converged_at: int | None = None
        self._previous: tuple[float, float] | None = None
        self._stalls = 0

    def __call__(self, approx: Any, loss: np.ndarray | None, i: int) -> None:
        """Check the last window (PyMC calls this after every iteration)."""
        if loss is None or i % self.window or len(loss) < self.window:
            return
        recent = np.asarray(loss[-self.window :], dtype=float)
        recent = recent[np.isfinite(recent)]
        if len(recent) < 2:
            return
        median = float(np.median(recent))
        # Standard error of a median from the MAD (normal-consistent).
        mad = 1.4826 * float(np.median(np.abs(recent - median)))
        se = 1.2533 * mad / np.sqrt(len(recent))
        if self._previous is not None:
            prev_median, prev_se = self._previous
            improvement = prev_median - median
            self._stalls = self._stalls + 1 if improvement < self.z * np.hypot(se, prev_se) else 0
            if self._stalls >= self.patience:
                self.converged_at = i
                raise StopIteration(f"loss stopped improving at iteration {i}")
        self._previous = (median, se)


def jittered_start(model: pm.Model, rng: np.random.Generator, scale: float = 0.1) -> dict[str, Any]:
    """The model's initial point, jittered in the unconstrained space, as PyMC start values.

    All-zero loadings are a saddle with zero gradient, so the optimiser must
    not start there. The values are PyTensor constants, not numpy arrays:
    PyMC maps a start value given for a transformed variable back through the
    transform, and its ``ZeroSumTransform.backward`` only accepts tensors
    (with numpy it fails with ``'int' object has no attribute 'astype'``).
    """
    import pytensor.tensor as pt

    point = model.initial_point(random_seed=int(rng.integers(2**31)))
    return {
        name: pt.as_tensor(value + rng.normal(0.0, scale, size=np.shape(value)))
        for name, value in point.items()
    }


def fit_approximation(
    model: pm.Model,
    *,
    method: str,
    draws: int,
    chains: int,
    max_iterations: int,
    window: int,
    learning_rate: float,
    seed: int,
    init_seed: int,
) -> xr.DataTree:
    """Fit ``method`` (``"advi"`` or ``"fullrank_advi"``) and draw ``chains x draws`` from it.

    Returns a DataTree with ``posterior`` (and PyMC's ``constant_data`` and
    ``observed_data``); the posterior's attributes record the approximation,
    the iterations per stage, whether each stage's loss converged and the
    final loss. A full-rank refinement whose final loss is worse than the
    mean-field one's is discarded (and the attributes say so): with Adam on
    the dense Cholesky factor this happened on a 500-LLM subsample of
    ``openllm-v1`` (loss -3158 mean-field, -2133 full-rank).
    """
    import pymc as pm

    if method not in APPROXIMATIONS:
        raise SpecError(f"approximation must be one of {', '.join(APPROXIMATIONS)}, not {method!r}")
    start_values = jittered_start(model, np.random.default_rng(init_seed))
    begin = time.perf_counter()
    attrs: dict[str, Any] = {"bayes_cpp_approximation": APPROXIMATIONS[method]}
    with model:
        mean_field = pm.ADVI(start=start_values, random_seed=seed)
        rule = LossPlateau(window)
        approx = mean_field.fit(
            max_iterations,
            obj_optimizer=pm.adam(learning_rate=learning_rate),
            callbacks=[rule],
            progressbar=False,
        )
        _record_stage(attrs, "advi", mean_field.hist, rule, window)
        if method == "fullrank_advi":
            refined = _refine_full_rank(
                mean_field, start_values, attrs, max_iterations, window, learning_rate, seed
            )
            mf_loss, fr_loss = (
                attrs["bayes_cpp_advi_final_loss"],
                attrs["bayes_cpp_fullrank_final_loss"],
            )
            # Both losses are -ELBO of the same model, so they compare the two fits'
            # KL divergence to the posterior: keep the full-rank fit only if it is closer.
            attrs["bayes_cpp_fullrank_kept"] = int(fr_loss < mf_loss)
            if fr_loss < mf_loss:
                approx = refined
            else:
                attrs["bayes_cpp_approximation"] = (
                    f"mean-field ADVI (the full-rank refinement ended at a worse loss, "
                    f"{fr_loss:.1f} vs {mf_loss:.1f}, and was discarded)"
                )
        seconds = time.perf_counter() - begin
        chain_trees = [
            approx.sample(draws, random_seed=derived_seed(seed, f"chain {c}"))
            for c in range(chains)
        ]
    post = xr.concat([t["posterior"].to_dataset() for t in chain_trees], dim="chain")
    post = post.assign_coords(chain=np.arange(chains), draw=np.arange(draws))
    attrs["bayes_cpp_iterations"] = int(
        attrs["bayes_cpp_advi_iterations"] + attrs.get("bayes_cpp_fullrank_iterations", 0)
    )
    attrs["bayes_cpp_converged"] = int(
        attrs["bayes_cpp_advi_converged"] and attrs.get("bayes_cpp_fullrank_converged", 1)
    )
    attrs["bayes_cpp_optimisation_seconds"] = round(seconds, 2)
    post.attrs = {**chain_trees[0]["posterior"].attrs, **attrs}
    groups = {"posterior": post}
    for name in ("constant_data", "observed_data"):
        if name in chain_trees[0].children:
            groups[name] = chain_trees[0][name].to_dataset()
    return xr.DataTree.from_dict(groups)


def _record_stage(
    attrs: dict[str, Any], stage: str, hist: np.ndarray, rule: LossPlateau, window: int
) -> None:
    attrs[f"bayes_cpp_{stage}_iterations"] = len(hist)
    attrs[f"bayes_cpp_{stage}_converged"] = int(rule.converged_at is not None)
    tail = np.asarray(hist[-window:], dtype=float)
    attrs[f"bayes_cpp_{stage}_final_loss"] = float(np.median(tail)) if len(tail) else float("nan")


def _refine_full_rank(
    mean_field: Any,
    start_values: dict[str, Any],
    attrs: dict[str, Any],
    max_iterations: int,
    window: int,
    learning_rate: float,
    seed: int,
) -> Any:
    """Full-rank ADVI started at the mean-field solution (its means and scales).

    From PyMC's own start (unit scales everywhere) the full-rank loss began
    near 6e5 and was still ~1000 nats worse than mean-field's after 15,000
    iterations on a 100 x 12 simulated matrix.
    """
    import pymc as pm

    n_dim = mean_field.approx.ndim
    if n_dim > FULLRANK_MAX_DIM:
        raise SpecError(
            f"full-rank ADVI needs a dense {n_dim} x {n_dim} covariance here (more than "
            f"{FULLRANK_MAX_DIM} parameters); use sampler='advi' (mean-field) for this matrix"
        )
    full_rank = pm.FullRankADVI(start=start_values, random_seed=seed)
    mf_group, fr_group = mean_field.approx.groups[0], full_rank.approx.groups[0]
    if list(mf_group.ordering.items()) != list(fr_group.ordering.items()):
        raise SpecError("mean-field and full-rank ADVI order the parameters differently")
    fr_params = fr_group.shared_params
    fr_params["mu"].set_value(mf_group.shared_params["mu"].get_value())
    # Both parameterise a scale as softplus(rho): the diagonal of the
    # Cholesky factor takes the mean-field rho, the rest starts at zero.
    tril = np.zeros(n_dim * (n_dim + 1) // 2)
    diagonal = np.arange(n_dim)
    tril[diagonal * (diagonal + 1) // 2 + diagonal] = mf_group.shared_params["rho"].get_value()
    fr_params["L_tril"].set_value(tril)
    rule = LossPlateau(window)
    approx = full_rank.fit(
        max_iterations,
        obj_optimizer=pm.adam(learning_rate=learning_rate * _FULLRANK_LR_FACTOR),
        total_grad_norm_constraint=_FULLRANK_GRAD_NORM,
        callbacks=[rule],
        progressbar=False,
    )
    _record_stage(attrs, "fullrank", full_rank.hist, rule, window)
    return approx
