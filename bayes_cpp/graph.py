"""Build the PyMC graph of the hierarchical Bayesian matrix factorization.

A pure function of the data, the spec and the fitted designs: no sampling
here. The generative model (unit score ``p`` in [0, 1], 1 = best)::

    p_lt ~ Normal(mean_lt, sd_lt)   (or Student-t)
    sd_lt = sigma_t, or sqrt(floor^2 + (sigma_t^2 - floor^2) 4 mean_lt (1 - mean_lt))
    mean_lt = g_t + (1 - g_t) * sigmoid(eta_lt)       g_t: chance level
    eta_lt = intercept + llm_bias_l + task_bias_t + sum_k llm_loading_lk task_loading_tk
    llm_bias_l = family_bias_f(l) + x_l . llm_bias_coef + llm_bias_sigma z_l
    llm_loading_l = family_loading_f(l) + x_l . llm_loading_coef + z_l
    task_bias_t = category_bias_c(t) + w_t . task_bias_coef + task_bias_sigma z_t
    task_loading_t = task_loading_sigma (category_loading_c(t) + w_t . task_loading_coef + z_t)

Everything is non-centered. Family and category biases are zero-sum so they
do not trade off against the intercept. The LLM loading noise has unit scale
and the task side carries the only free loading scale: ``U V^T`` is invariant
to ``U c, V / c``, so a second scale would be unidentified. The remaining
rotation freedom ``U R, V R`` is left in the posterior and dealt with post hoc
(see :mod:`bayes_cpp.diagnostics`); predictions, biases and scales are
identified. Missing design factors are imputed in the model from a Gaussian
network over the standardized features (PyMC's automatic imputation).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from bayes_cpp import dims
from bayes_cpp.data import CollaborativeData
from bayes_cpp.features import Design
from bayes_cpp.predict import cell_sd
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
    chance = tasks["chance"].to_numpy(float) if spec.chance_floor else np.zeros(len(task_names))
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


def _imputed_features(name: str, x: np.ndarray, row_dim: str, feat_dim: str) -> pt.TensorVariable:
    """Standardized features with missing entries imputed in the model.

    Feature ``j`` is regressed on features ``< j`` (a Gaussian network, i.e. a
    multivariate normal written as conditionals), so an LLM with a known
    parameter count but unknown token count gets an informed imputation.
    """
    n_feat = x.shape[1]
    cols: list[Any] = []
    for j in range(n_feat):
        mean: pt.TensorLike = pm.Normal(f"{name}_mean_{j}", 0.0, 1.0)
        if j:
            coef = pm.Normal(f"{name}_coef_{j}", 0.0, 1.0, shape=j)
            mean = mean + pt.stack(cols, axis=1) @ coef
        sd = pm.HalfNormal(f"{name}_sd_{j}", 1.0)
        observed = x[:, j]
        if np.isnan(observed).any():
            # PyMC's automatic imputation creates f"{name}_{j}_unobserved"; the
            # warning only announces it.
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=".*will be automatically imputed")
                col = pm.Normal(f"{name}_{j}", mu=mean, sigma=sd, observed=observed, dims=row_dim)
        else:
            pm.Normal(f"{name}_{j}", mu=mean, sigma=sd, observed=observed, dims=row_dim)
            col = pt.as_tensor(observed)
        cols.append(col)
    return pm.Deterministic(name, pt.stack(cols, axis=1), dims=(row_dim, feat_dim))


def build_model(inputs: GraphInputs, spec: ModelSpec) -> pm.Model:
    """The PyMC model for ``inputs`` under ``spec`` (see the module docstring)."""
    n_fam, n_cat = len(inputs.families), len(inputs.categories)
    use_family = spec.hierarchy and n_fam > 1
    use_category = spec.hierarchy and n_cat > 1
    rank = spec.rank
    with pm.Model(coords=inputs.coords) as model:
        llm_i = pm.Data("llm_index", inputs.llm_index, dims=dims.OBS)
        task_i = pm.Data("task_index", inputs.task_index, dims=dims.OBS)
        chance = pm.Data("chance", inputs.chance, dims=dims.TASK)

        intercept = spec.prior("intercept").create("intercept")
        llm_x = task_x = None
        if inputs.llm_x.shape[1]:
            llm_x = _imputed_features("llm_x", inputs.llm_x, dims.LLM, dims.LLM_FEATURE)
        if inputs.task_x.shape[1]:
            task_x = _imputed_features("task_x", inputs.task_x, dims.TASK, dims.TASK_FEATURE)

        # --- additive effects -------------------------------------------------
        llm_mean: pt.TensorLike = pt.zeros(len(inputs.coords[dims.LLM]))
        if use_family:
            fam_sigma = spec.prior("family_bias_sigma").create("family_bias_sigma")
            fam_off = pm.ZeroSumNormal("family_bias_offset", dims=dims.FAMILY)
            family_bias = pm.Deterministic("family_bias", fam_sigma * fam_off, dims=dims.FAMILY)
            llm_mean = llm_mean + family_bias[inputs.family_index]
        if llm_x is not None:
            coef = spec.prior("llm_bias_coef").create("llm_bias_coef", dims=dims.LLM_FEATURE)
            llm_mean = llm_mean + llm_x @ coef
        llm_sigma = spec.prior("llm_bias_sigma").create("llm_bias_sigma")
        llm_off = pm.Normal("llm_bias_offset", 0.0, 1.0, dims=dims.LLM)
        llm_bias = pm.Deterministic("llm_bias", llm_mean + llm_sigma * llm_off, dims=dims.LLM)

        task_mean: pt.TensorLike = pt.zeros(len(inputs.coords[dims.TASK]))
        if use_category:
            cat_sigma = spec.prior("category_bias_sigma").create("category_bias_sigma")
            cat_off = pm.ZeroSumNormal("category_bias_offset", dims=dims.CATEGORY)
            category_bias = pm.Deterministic(
                "category_bias", cat_sigma * cat_off, dims=dims.CATEGORY
            )
            task_mean = task_mean + category_bias[inputs.category_index]
        if task_x is not None:
            coef = spec.prior("task_bias_coef").create("task_bias_coef", dims=dims.TASK_FEATURE)
            task_mean = task_mean + task_x @ coef
        task_sigma = spec.prior("task_bias_sigma").create("task_bias_sigma")
        task_off = pm.Normal("task_bias_offset", 0.0, 1.0, dims=dims.TASK)
        task_bias = pm.Deterministic("task_bias", task_mean + task_sigma * task_off, dims=dims.TASK)

        eta = intercept + llm_bias[llm_i] + task_bias[task_i]

        # --- latent interaction -----------------------------------------------
        if rank:
            u_off = pm.Normal("llm_loading_offset", 0.0, 1.0, dims=(dims.LLM, dims.LATENT))
            if use_family:
                # Share of the unit loading variance that is family-level: a
                # simplex split instead of a free family scale, which would
                # trade off against task_loading_sigma (U V^T = (cU)(V/c)^T).
                share = spec.prior("family_loading_share").create("family_loading_share")
                fam_off = pm.Normal(
                    "family_loading_offset", 0.0, 1.0, dims=(dims.FAMILY, dims.LATENT)
                )
                u = pt.sqrt(share) * fam_off[inputs.family_index] + pt.sqrt(1.0 - share) * u_off
            else:
                u = u_off
            if llm_x is not None:
                coef = spec.prior("llm_loading_coef").create(
                    "llm_loading_coef", dims=(dims.LLM_FEATURE, dims.LATENT)
                )
                u = u + llm_x @ coef
            llm_loading = pm.Deterministic("llm_loading", u, dims=(dims.LLM, dims.LATENT))

            v_off = pm.Normal("task_loading_offset", 0.0, 1.0, dims=(dims.TASK, dims.LATENT))
            if use_category:
                share = spec.prior("category_loading_share").create("category_loading_share")
                cat_off = pm.Normal(
                    "category_loading_offset", 0.0, 1.0, dims=(dims.CATEGORY, dims.LATENT)
                )
                v = pt.sqrt(share) * cat_off[inputs.category_index] + pt.sqrt(1.0 - share) * v_off
            else:
                v = v_off
            if task_x is not None:
                coef = spec.prior("task_loading_coef").create(
                    "task_loading_coef", dims=(dims.TASK_FEATURE, dims.LATENT)
                )
                v = v + task_x @ coef
            v_scale = spec.prior("task_loading_sigma").create("task_loading_sigma")
            task_loading = pm.Deterministic(
                "task_loading", v_scale * v, dims=(dims.TASK, dims.LATENT)
            )
            eta = eta + (llm_loading[llm_i] * task_loading[task_i]).sum(axis=-1)

        floor = chance[task_i]
        mean = floor + (1.0 - floor) * pm.math.invlogit(eta)

        # --- noise --------------------------------------------------------------
        log_mu = spec.prior("noise_log_mu").create("noise_log_mu")
        log_sd = spec.prior("noise_log_sigma").create("noise_log_sigma")
        noise_off = pm.Normal("noise_offset", 0.0, 1.0, dims=dims.TASK)
        sigma = pm.Deterministic(
            "sigma", spec.noise_floor + pt.exp(log_mu + log_sd * noise_off), dims=dims.TASK
        )
        sd = cell_sd(sigma[task_i], mean, spec.noise_floor, spec.noise_scaling)
        if spec.likelihood == "student_t":
            nu = spec.prior("noise_nu").create("noise_nu")
            pm.StudentT(
                "score", nu=nu, mu=mean, sigma=sd, observed=inputs.unit_score, dims=dims.OBS
            )
        else:
            pm.Normal("score", mu=mean, sigma=sd, observed=inputs.unit_score, dims=dims.OBS)
    return model
