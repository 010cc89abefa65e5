"""The numeric arrays the model is built from, by the PyMC graph and by the kernel.

PyMC-free, so the fast sampling path (:mod:`bayes_cpp.kernel`) and saved-fit
readers never import PyMC.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from bayes_cpp import dims
from bayes_cpp.data import CollaborativeData
from bayes_cpp.dims import LLM_SIDE, TASK_SIDE
from bayes_cpp.features import Design
from bayes_cpp.spec import ModelSpec

__all__ = [
    "CENTER_MIN_SCORES",
    "NOISE_CENTER_MIN_SCORES",
    "GraphInputs",
    "data_groups",
    "graph_inputs",
    "rotation_anchors",
]

#: Tasks with at least this many scores get a centered bias (their bias is
#: pinned by data; a non-centered offset would make a stiff direction).
CENTER_MIN_SCORES = 5
#: Tasks with at least this many scores get a centered noise level: with that
#: many cells their sigma is pinned by data (a non-centered offset would make a
#: funnel with noise_log_sigma, seen as divergences on obsscaling's 8 tasks).
NOISE_CENTER_MIN_SCORES = 20


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
    llm_centered: np.ndarray
    task_centered: np.ndarray
    noise_centered: np.ndarray
    anchors: np.ndarray


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
    llm_index = scores["llm"].map(llm_pos).to_numpy(np.int64)
    task_index = scores["task"].map(task_pos).to_numpy(np.int64)
    unit = data.unit_scores().to_numpy(float)
    task_counts = np.bincount(task_index, minlength=len(task_names))
    return GraphInputs(
        llm_index=llm_index,
        task_index=task_index,
        unit_score=unit,
        chance=chance,
        family_index=llms["family"].astype(str).map(fam_pos).to_numpy(np.int64),
        category_index=tasks["category"].astype(str).map(cat_pos).to_numpy(np.int64),
        families=families,
        categories=categories,
        llm_x=llm_design.matrix(llms, what="LLM table"),
        task_x=task_design.matrix(tasks, what="task table"),
        coords=coords,
        llm_centered=np.zeros(len(llm_names), dtype=bool),
        task_centered=task_counts >= CENTER_MIN_SCORES,
        noise_centered=task_counts >= NOISE_CENTER_MIN_SCORES,
        anchors=rotation_anchors(
            llm_index, task_index, unit, len(llm_names), len(task_names), spec.rank
        ),
    )


def data_groups(inputs: GraphInputs) -> dict[str, xr.DataTree]:
    """``constant_data`` and ``observed_data`` groups as PyMC would write them for the graph."""
    obs = {dims.OBS: np.arange(len(inputs.unit_score))}
    constant = xr.Dataset(
        {
            dims.LLM_INDEX: (dims.OBS, inputs.llm_index),
            dims.TASK_INDEX: (dims.OBS, inputs.task_index),
            dims.CHANCE: (dims.TASK, inputs.chance),
        },
        coords={**obs, dims.TASK: inputs.coords[dims.TASK]},
    )
    observed: dict[str, tuple] = {dims.SCORE: (dims.OBS, inputs.unit_score)}
    for side, x in ((LLM_SIDE, inputs.llm_x), (TASK_SIDE, inputs.task_x)):
        for j in range(x.shape[1]):
            col = x[:, j]
            name = side.feature_var("value", j)
            if np.isnan(col).any():
                kept = col[~np.isnan(col)]
                observed[f"{name}_observed"] = (f"{name}_observed_dim_0", kept)
            else:
                observed[name] = (side.dim, col)
    coords = {**obs, dims.LLM: inputs.coords[dims.LLM], dims.TASK: inputs.coords[dims.TASK]}
    return {
        "constant_data": xr.DataTree(constant),
        "observed_data": xr.DataTree(xr.Dataset(observed, coords=coords)),
    }


def rotation_anchors(
    llm_index: np.ndarray,
    task_index: np.ndarray,
    unit_score: np.ndarray,
    n_llms: int,
    n_tasks: int,
    rank: int,
) -> np.ndarray:
    """The ``rank - 1`` tasks whose loadings fix the latent rotation (see :mod:`bayes_cpp.graph`).

    Any choice gives the same model on identified quantities; a good one has
    loadings far from zero, so the section has no nearby singularity. From a
    truncated SVD of the task-centered logit score matrix (missing cells 0),
    pivoted QR picks a strongly loaded task, then the one most orthogonal to
    it, and so on. Tasks without scores are never picked.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> li, ti = np.repeat(np.arange(6), 4), np.tile(np.arange(4), 6)
    >>> rotation_anchors(li, ti, rng.uniform(0.1, 0.9, 24), 6, 4, 2).shape
    (1,)
    """
    from scipy.linalg import qr

    if rank < 2 or n_tasks < rank:
        return np.zeros(0, dtype=np.int64)
    p = np.clip(unit_score, 0.02, 0.98)
    z = np.log(p / (1.0 - p))
    matrix = np.zeros((n_llms, n_tasks))
    counts = np.bincount(task_index, minlength=n_tasks)
    sums = np.bincount(task_index, weights=z, minlength=n_tasks)
    means = np.divide(sums, counts, out=np.zeros(n_tasks), where=counts > 0)
    matrix[llm_index, task_index] = z - means[task_index]
    _, s, vt = np.linalg.svd(matrix, full_matrices=False)
    loadings = vt[:rank] * s[:rank, None]
    loadings[:, counts == 0] = 0.0
    _, _, pivots = qr(loadings, pivoting=True, mode="economic")
    return np.asarray(pivots[: rank - 1], dtype=np.int64)
