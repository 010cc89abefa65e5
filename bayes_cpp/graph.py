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
from dataclasses import dataclass
from typing import Any

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from bayes_cpp import dims, equations
from bayes_cpp.data import CollaborativeData
from bayes_cpp.dims import LLM_SIDE, TASK_SIDE, Side
from bayes_cpp.features import Design
from bayes_cpp.spec import ModelSpec

__all__ = ["GraphInputs", "build_model", "graph_inputs"]


@dataclass(frozen=True)
class GraphInputs:
    """Numeric arrays the graph (and the numpy predictor) are built from."""

    llm_index: np.ndarray
    task_index: np.ndarray
    unit_score: np.ndarray
    chance: np.ndarray
    family_index: np.ndarray
    category_index: np.ndarray
    families: list[str]
    categories: list[str]
    llm_x: np.ndarray
    task_x: np.ndarray
    coords: dict[str, list]


def graph_inputs(
    data: CollaborativeData, spec: ModelSpec, llm_design: Design, task_design: Design
) -> GraphInputs:
    """Compute the arrays and coordinates the graph needs from validated data."""
    scores = data.scores
    llm_names, task_names = data.llm_names, data.task_names
    llm_pos = {n: i for i, n in enumerate(llm_names)}
    task_pos = {n: i for i, n in enumerate(task_names)}
    llms, tasks = data.llms, data.tasks
    families = data.families
    categories = data.categories
    fam_pos = {f: i for i, f in enumerate(families)}
    cat_pos = {c: i for i, c in enumerate(categories)}
    chance = tasks["chance"].to_numpy(float) if spec.chance_level else np.zeros(len(task_names))
    coords: dict[str, list] = {
        dims.LLM: llm_names,
        dims.TASK: task_names,
        dims.LATENT: list(range(spec.rank)),
        dims.FAMILY: families,
        dims.CATEGORY: categories,
        dims.LLM_FEATURE: llm_design.names,
        dims.TASK_FEATURE: task_design.names,
        dims.OBS: list(range(len(scores))),
    }
    return GraphInputs(
        llm_index=scores["llm"].map(llm_pos).to_numpy(np.int64),
        task_index=scores["task"].map(task_pos).to_numpy(np.int64),
        unit_score=data.unit_scores().to_numpy(float),
        chance=chance,
        family_index=llms["family"].astype(str).map(fam_pos).to_numpy(np.int64),
        category_index=tasks["category"].astype(str).map(cat_pos).to_numpy(np.int64),
        families=families,
        categories=categories,
        llm_x=llm_design.matrix(llms, what="LLM table"),
        task_x=task_design.matrix(tasks, what="task table"),
        coords=coords,
    )


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
) -> pt.TensorVariable:
    """``bias = group_bias[g] + x . coef + sigma * offset`` of one side (non-centered).

    Group biases are zero-sum, so they do not trade off against the intercept.
    """
    mean: pt.TensorLike = pt.zeros(n_rows)
    if groups is not None:
        sigma = spec.prior(side.group_bias_sigma).create(side.group_bias_sigma)
        offset = pm.ZeroSumNormal(side.group_bias_offset, dims=side.group_dim)
        group_bias = pm.Deterministic(side.group_bias, sigma * offset, dims=side.group_dim)
        mean = mean + group_bias[groups]
    if x is not None:
        coef = spec.prior(side.bias_coef).create(side.bias_coef, dims=side.feature_dim)
        mean = mean + x @ coef
    sigma = spec.prior(side.bias_sigma).create(side.bias_sigma)
    offset = pm.Normal(side.bias_offset, 0.0, 1.0, dims=side.dim)
    return pm.Deterministic(side.bias, mean + sigma * offset, dims=side.dim)


def _loading(
    side: Side,
    spec: ModelSpec,
    groups: np.ndarray | None,
    x: pt.TensorVariable | None,
) -> pt.TensorVariable:
    """``loading = scale (sqrt(s) group_offset[g] + sqrt(1 - s) offset + x . coef)``.

    The unit loading variance is split between the group and the individual
    level by the share ``s`` instead of a free group scale, which would trade
    off against the loading scale (``U V^T = (cU)(V/c)^T``); for the same
    reason only the task side has a free ``scale`` (1 on the LLM side).
    """
    latent = (side.dim, dims.LATENT)
    offset = pm.Normal(side.loading_offset, 0.0, 1.0, dims=latent)
    if groups is not None:
        share = spec.prior(side.group_loading_share).create(side.group_loading_share)
        group_offset = pm.Normal(
            side.group_loading_offset, 0.0, 1.0, dims=(side.group_dim, dims.LATENT)
        )
        value = pt.sqrt(share) * group_offset[groups] + pt.sqrt(1.0 - share) * offset
    else:
        value = offset
    if x is not None:
        coef = spec.prior(side.loading_coef).create(
            side.loading_coef, dims=(side.feature_dim, dims.LATENT)
        )
        value = value + x @ coef
    if side.loading_scale:
        value = spec.prior(side.loading_scale).create(side.loading_scale) * value
    return pm.Deterministic(side.loading, value, dims=latent)


def build_model(inputs: GraphInputs, spec: ModelSpec) -> pm.Model:
    """The PyMC model for ``inputs`` under ``spec`` (see the module docstring)."""
    use_family = spec.hierarchy and len(inputs.families) > 1
    use_category = spec.hierarchy and len(inputs.categories) > 1
    llm_groups = inputs.family_index if use_family else None
    task_groups = inputs.category_index if use_category else None
    tensor = equations.tensor_math()
    with pm.Model(coords=inputs.coords) as model:
        llm_i = pm.Data(dims.LLM_INDEX, inputs.llm_index, dims=dims.OBS)
        task_i = pm.Data(dims.TASK_INDEX, inputs.task_index, dims=dims.OBS)
        chance = pm.Data(dims.CHANCE, inputs.chance, dims=dims.TASK)

        intercept = spec.prior(dims.INTERCEPT).create(dims.INTERCEPT)
        llm_x = _imputed_features(LLM_SIDE, inputs.llm_x) if inputs.llm_x.shape[1] else None
        task_x = _imputed_features(TASK_SIDE, inputs.task_x) if inputs.task_x.shape[1] else None

        llm_bias = _bias(LLM_SIDE, spec, len(inputs.coords[dims.LLM]), llm_groups, llm_x)
        task_bias = _bias(TASK_SIDE, spec, len(inputs.coords[dims.TASK]), task_groups, task_x)
        eta = intercept + llm_bias[llm_i] + task_bias[task_i]
        if spec.rank:
            llm_loading = _loading(LLM_SIDE, spec, llm_groups, llm_x)
            task_loading = _loading(TASK_SIDE, spec, task_groups, task_x)
            eta = eta + (llm_loading[llm_i] * task_loading[task_i]).sum(axis=-1)
        mean = equations.link(eta, chance[task_i], tensor)

        log_mu = spec.prior(dims.NOISE_LOG_MU).create(dims.NOISE_LOG_MU)
        log_sd = spec.prior(dims.NOISE_LOG_SIGMA).create(dims.NOISE_LOG_SIGMA)
        noise_off = pm.Normal(dims.NOISE_OFFSET, 0.0, 1.0, dims=dims.TASK)
        sigma = pm.Deterministic(
            dims.SIGMA,
            equations.task_sigma(log_mu, log_sd, noise_off, spec.noise_floor, tensor),
            dims=dims.TASK,
        )
        sd = equations.cell_sd(sigma[task_i], mean, spec.noise_floor, spec.noise_scaling)
        if spec.likelihood == "student_t":
            nu = spec.prior(dims.NOISE_NU).create(dims.NOISE_NU)
            pm.StudentT(
                dims.SCORE, nu=nu, mu=mean, sigma=sd, observed=inputs.unit_score, dims=dims.OBS
            )
        else:
            pm.Normal(dims.SCORE, mu=mean, sigma=sd, observed=inputs.unit_score, dims=dims.OBS)
    return model
