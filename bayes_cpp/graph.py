"""Build the PyMC graph of the hierarchical Bayesian matrix factorization.

A pure function of the data, the spec and the fitted designs: no sampling
here. The generative model (unit score ``p`` in [0, 1], 1 = best)::

    p_lt ~ Normal(mean_lt, sd_lt)   (or Student-t)
    sd_lt = sigma_t, or sqrt(nf^2 + (sigma_t^2 - nf^2) 4 mean_lt (1 - mean_lt))
    sigma_t = nf + exp(noise_log_mu + noise_log_sigma z_t)     nf: noise floor
    mean_lt = g_t + (1 - g_t) * sigmoid(eta_lt)                 g_t: chance level
    eta_lt = intercept + llm_bias_l + task_bias_t + llm_loading_l . task_loading_t
    llm_bias_l = family_bias_f(l) + x_l . llm_bias_coef + llm_bias_sigma z_l
    llm_loading_l = sqrt(s_f) family_loading_offset_f(l) + sqrt(1 - s_f) z_l
                    + x_l . llm_loading_coef
    task_bias_t = category_bias_c(t) + w_t . task_bias_coef + task_bias_sigma z_t
    task_loading_t = task_loading_sigma (sqrt(s_c) category_loading_offset_c(t)
                     + sqrt(1 - s_c) z_t + w_t . task_loading_coef)

The equations themselves live in :mod:`bayes_cpp.equations` and the names in
:mod:`bayes_cpp.dims`; both sides are built by the same two helpers. Everything
is non-centered. Family and category biases are zero-sum so they do not trade
off against the intercept. The LLM loading has unit scale and the task side
carries the only free loading scale: ``U V^T`` is invariant to ``U c, V / c``,
so a second scale would be unidentified. The remaining rotation freedom
``U R, V R`` is left in the posterior and dealt with post hoc (see
:mod:`bayes_cpp.diagnostics`); predictions, biases and scales are identified.
Missing design factors are imputed in the model from a Gaussian network over
the standardized features (PyMC's automatic imputation).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from bayes_cpp import dims, equations
from bayes_cpp.dims import LLM_SIDE, TASK_SIDE, Side
from bayes_cpp.inputs import GraphInputs, graph_inputs
from bayes_cpp.spec import ModelSpec

__all__ = ["GraphInputs", "build_model", "graph_inputs"]


def _imputed_features(side: Side, x: np.ndarray) -> pt.TensorVariable:
    """Standardized features with missing entries imputed in the model.

    Feature ``j`` is regressed on features ``< j`` (a Gaussian network, i.e. a
    multivariate normal written as conditionals), so an LLM with a known
    parameter count but unknown token count gets an informed imputation.
    """
    n_feat = x.shape[1]
    cols: list[Any] = []
    for j in range(n_feat):
        mean: pt.TensorLike = pm.Normal(side.feature_var("mean", j), 0.0, 1.0)
        if j:
            coef = pm.Normal(side.feature_var("coef", j), 0.0, 1.0, shape=j)
            mean = mean + pt.stack(cols, axis=1) @ coef
        sd = pm.HalfNormal(side.feature_var("sd", j), 1.0)
        observed = x[:, j]
        name = side.feature_var("value", j)
        if np.isnan(observed).any():
            # PyMC's automatic imputation creates f"{name}_unobserved"; the
            # warning only announces it.
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=".*will be automatically imputed")
                col = pm.Normal(name, mu=mean, sigma=sd, observed=observed, dims=side.dim)
        else:
            pm.Normal(name, mu=mean, sigma=sd, observed=observed, dims=side.dim)
            col = pt.as_tensor(observed)
        cols.append(col)
    return pm.Deterministic(
        side.features, pt.stack(cols, axis=1), dims=(side.dim, side.feature_dim)
    )


def _bias(
    side: Side,
    spec: ModelSpec,
    n_rows: int,
    groups: np.ndarray | None,
    x: pt.TensorVariable | None,
    centered: np.ndarray,
    shift: pt.TensorVariable | None = None,
) -> pt.TensorVariable:
    """``bias = shift + scale (sqrt(r) group_offset[g] + sqrt(1 - r) z) + x . coef - shift``.

    One total scale and a share ``r`` of its variance at the group level (zero-sum
    group offsets). Rows in ``centered`` hold their bias itself,
    ``Normal(mean, scale sqrt(1 - r))`` (well-observed rows: their biases are
    pinned by data, so a non-centered offset would be stiff); the others a
    non-centered offset. With ``shift`` (the intercept on the task side) the
    rows are drawn around it and reported relative to it, so the intercept is
    their mean instead of trading off against all of them.
    """
    scale = spec.prior(side.bias_scale).create(side.bias_scale)
    mean: Any = pt.zeros(n_rows)
    if groups is not None:
        share = spec.prior(side.group_bias_share).create(side.group_bias_share)
        group_sigma = pm.Deterministic(side.group_bias_sigma, scale * pt.sqrt(share))
        sigma = pm.Deterministic(side.bias_sigma, scale * pt.sqrt(1.0 - share))
        offset = pm.ZeroSumNormal(side.group_bias_offset, dims=side.group_dim)
        group_bias = pm.Deterministic(side.group_bias, group_sigma * offset, dims=side.group_dim)
        mean = mean + group_bias[groups]
    else:
        sigma = pm.Deterministic(side.bias_sigma, scale * 1.0)
    if x is not None:
        coef = spec.prior(side.bias_coef).create(side.bias_coef, dims=side.feature_dim)
        mean = mean + x @ coef
    if shift is not None:
        mean = mean + shift
    c, nc = np.flatnonzero(centered), np.flatnonzero(~centered)
    bias = pt.zeros(n_rows)
    if len(nc):
        kw: dict[str, Any] = {"dims": side.dim} if len(nc) == n_rows else {"shape": len(nc)}
        offset = pm.Normal(side.bias_offset, 0.0, 1.0, **kw)
        bias = pt.set_subtensor(bias[nc], mean[nc] + sigma * offset)
    if len(c):
        kw = {"dims": side.dim} if len(c) == n_rows else {"shape": len(c)}
        value = pm.Normal(side.bias_centered, mu=mean[c], sigma=sigma, **kw)
        bias = pt.set_subtensor(bias[c], value)
    if shift is not None:
        bias = bias - shift
    return pm.Deterministic(side.bias, bias, dims=side.dim)


def _loading(
    side: Side,
    spec: ModelSpec,
    groups: np.ndarray | None,
    x: pt.TensorVariable | None,
    anchors: np.ndarray,
) -> pt.TensorVariable:
    """``loading = scale (sqrt(s) group_offset[g] + sqrt(1 - s) offset + x . coef)``.

    The unit loading variance is split between the group and the individual
    level by the share ``s`` instead of a free group scale, which would trade
    off against the loading scale (``U V^T = (cU)(V/c)^T``); for the same
    reason only the task side has a free ``scale`` (1 on the LLM side).

    ``anchors`` (task side only) remove the rotation freedom ``U R, V R``: the
    composite loading of anchor ``k`` has zeros after its ``k``-th entry (a
    lower-triangular section of the orbit), its offset entries there are
    solved for, and a potential adds their prior density and the section's
    Jacobian ``prod_k |c_k,k|^(K-1-k) / sqrt(1 - s)^(#constraints)``, so the
    model on identified quantities is exactly the rotation-invariant one
    (whichever anchors are chosen), without the ring NUTS would have to circle.
    """
    rank = spec.rank
    latent = (side.dim, dims.LATENT)
    n_rows = len(pm.modelcontext(None).coords[side.dim])
    free = None
    offset_full = None
    if len(anchors):
        free_mask = anchor_mask(anchors, (n_rows, rank))
        # Start the anchors' own entries at 1: at 0 the section's Jacobian is 0.
        start = np.zeros((n_rows, rank))
        start[anchors, np.arange(len(anchors))] = 1.0
        free = pm.Normal(
            side.loading_offset_free,
            0.0,
            1.0,
            shape=int(free_mask.sum()),
            initval=start.ravel()[free_mask.ravel()],
        )
    else:
        offset_full = pm.Normal(side.loading_offset, 0.0, 1.0, dims=latent)
    if groups is not None:
        share = spec.prior(side.group_loading_share).create(side.group_loading_share)
        group_offset = pm.Normal(
            side.group_loading_offset, 0.0, 1.0, dims=(side.group_dim, dims.LATENT)
        )
        known: pt.TensorLike = pt.sqrt(share) * group_offset[groups]
        weight: pt.TensorLike = pt.sqrt(1.0 - share)
    else:
        known = 0.0
        weight = 1.0
    if x is not None:
        coef = spec.prior(side.loading_coef).create(
            side.loading_coef, dims=(side.feature_dim, dims.LATENT)
        )
        known = known + x @ coef
    if free is not None:
        offset_full = _anchored_offsets(side, free, known, weight, anchors, (n_rows, rank))
    assert offset_full is not None
    value = known + weight * offset_full
    if side.loading_scale:
        value = spec.prior(side.loading_scale).create(side.loading_scale) * value
    return pm.Deterministic(side.loading, value, dims=latent)


def anchor_mask(anchors: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Which entries of the ``(rows, rank)`` offset matrix are free (False: solved by an anchor)."""
    mask = np.ones(shape, dtype=bool)
    for k, a in enumerate(anchors):
        mask[a, k + 1 :] = False
    return mask


def _anchored_offsets(
    side: Side,
    free: pt.TensorVariable,
    known: pt.TensorLike,
    weight: pt.TensorLike,
    anchors: np.ndarray,
    shape: tuple[int, int],
) -> pt.TensorVariable:
    """The full offset matrix from its free entries and the anchors' solved ones."""
    n_rows, rank = shape
    mask = anchor_mask(anchors, shape)
    flat = pt.zeros(n_rows * rank)
    flat = pt.set_subtensor(flat[np.flatnonzero(mask.ravel())], free)
    offsets = flat.reshape((n_rows, rank))
    known_full = pt.broadcast_to(pt.as_tensor(known), (n_rows, rank))
    solved = []
    log_jac: pt.TensorLike = 0.0
    for k, a in enumerate(anchors):
        for j in range(k + 1, rank):
            z = -known_full[a, j] / weight
            offsets = pt.set_subtensor(offsets[a, j], z)
            solved.append(z)
        composite = known_full[a, k] + weight * offsets[a, k]
        log_jac = log_jac + (rank - 1 - k) * pt.log(pt.abs(composite))
    solved_t = pt.stack(solved)
    n_c = len(solved)
    pm.Potential(
        side.loading_anchor,
        pt.sum(-0.5 * solved_t**2)
        - 0.5 * n_c * np.log(2.0 * np.pi)
        + log_jac
        - n_c * pt.log(weight),
    )
    return pm.Deterministic(side.loading_offset, offsets, dims=(side.dim, dims.LATENT))


def _log_excess(inputs: GraphInputs, log_mu: Any, log_sd: Any) -> Any:
    """``log(sigma_t - floor) ~ Normal(log_mu, log_sd)``: centered for well-observed tasks."""
    n_task = len(inputs.coords[dims.TASK])
    c, nc = np.flatnonzero(inputs.noise_centered), np.flatnonzero(~inputs.noise_centered)
    value = pt.zeros(n_task)
    if len(nc):
        kw: dict[str, Any] = {"dims": dims.TASK} if len(nc) == n_task else {"shape": len(nc)}
        offset = pm.Normal(dims.NOISE_OFFSET, 0.0, 1.0, **kw)
        value = pt.set_subtensor(value[nc], log_mu + log_sd * offset)
    if len(c):
        kw = {"dims": dims.TASK} if len(c) == n_task else {"shape": len(c)}
        value = pt.set_subtensor(value[c], pm.Normal(dims.NOISE_CENTERED, log_mu, log_sd, **kw))
    return value


def build_model(inputs: GraphInputs, spec: ModelSpec, *, rotation_gauge: bool = True) -> pm.Model:
    """The PyMC model for ``inputs`` under ``spec`` (see the module docstring).

    ``rotation_gauge=False`` leaves the latent rotation free (no anchors): the
    same model on identified quantities, for forward sampling (prior
    predictive checks, simulation-based calibration), which ignores the
    anchors' potential.
    """
    llm_groups = inputs.family_index if inputs.use_family else None
    task_groups = inputs.category_index if inputs.use_category else None
    tensor = equations.tensor_math()
    n_llm, n_task = len(inputs.coords[dims.LLM]), len(inputs.coords[dims.TASK])
    with pm.Model(coords=inputs.coords) as model:
        llm_i = pm.Data(dims.LLM_INDEX, inputs.llm_index, dims=dims.OBS)
        task_i = pm.Data(dims.TASK_INDEX, inputs.task_index, dims=dims.OBS)
        chance = pm.Data(dims.CHANCE, inputs.chance, dims=dims.TASK)

        intercept = spec.prior(dims.INTERCEPT).create(dims.INTERCEPT)
        llm_x = _imputed_features(LLM_SIDE, inputs.llm_x) if inputs.llm_x.shape[1] else None
        task_x = _imputed_features(TASK_SIDE, inputs.task_x) if inputs.task_x.shape[1] else None

        llm_bias = _bias(LLM_SIDE, spec, n_llm, llm_groups, llm_x, inputs.llm_centered)
        task_bias = _bias(
            TASK_SIDE, spec, n_task, task_groups, task_x, inputs.task_centered, shift=intercept
        )
        eta = intercept + llm_bias[llm_i] + task_bias[task_i]
        if spec.rank:
            llm_loading = _loading(LLM_SIDE, spec, llm_groups, llm_x, np.zeros(0, dtype=int))
            anchors = inputs.anchors if rotation_gauge else np.zeros(0, dtype=int)
            task_loading = _loading(TASK_SIDE, spec, task_groups, task_x, anchors)
            eta = eta + (llm_loading[llm_i] * task_loading[task_i]).sum(axis=-1)
        share = (
            spec.prior(dims.CHANCE_SHARE).create(dims.CHANCE_SHARE) if spec.chance_share else None
        )
        mean = equations.link(eta, equations.chance_floor(chance[task_i], share), tensor)

        log_mu = spec.prior(dims.NOISE_LOG_MU).create(dims.NOISE_LOG_MU)
        log_sd = spec.prior(dims.NOISE_LOG_SIGMA).create(dims.NOISE_LOG_SIGMA)
        sigma = pm.Deterministic(
            dims.SIGMA,
            equations.task_sigma(_log_excess(inputs, log_mu, log_sd), spec.noise_floor, tensor),
            dims=dims.TASK,
        )
        tau = None
        if spec.llm_noise:
            noise_sigma = spec.prior(dims.LLM_NOISE_SIGMA).create(dims.LLM_NOISE_SIGMA)
            offset = pm.Normal(dims.LLM_NOISE_OFFSET, 0.0, 1.0, dims=dims.LLM)
            tau = pm.Deterministic(dims.LLM_NOISE, pt.exp(noise_sigma * offset), dims=dims.LLM)
        sd = equations.cell_sd(
            sigma[task_i],
            mean,
            spec.noise_floor,
            spec.noise_scaling,
            None if tau is None else tau[llm_i],
        )
        if spec.likelihood == "student_t":
            nu = spec.prior(dims.NOISE_NU).create(dims.NOISE_NU)
            pm.StudentT(
                dims.SCORE, nu=nu, mu=mean, sigma=sd, observed=inputs.unit_score, dims=dims.OBS
            )
        else:
            pm.Normal(dims.SCORE, mu=mean, sigma=sd, observed=inputs.unit_score, dims=dims.OBS)
    return model
