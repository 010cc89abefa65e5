"""A fused numba log-density and gradient of the model, for fast NUTS.

Compiled with ``error_model="numpy"``: an extreme proposal (a share rounding to
exactly 1, an overflowing exponential) gives ``inf``/``nan`` like numpy instead
of a Python exception inside a C callback; nutpie then rejects the step.

:mod:`bayes_cpp.graph` defines the model in PyMC; this module computes the same
log density (normalizing constants included) and its gradient over the same
unconstrained parameters, in one pass written by hand. It exists for speed:
one evaluation costs a fraction of PyTensor's, and the compiled code is a
fixed module-level function that numba caches on disk (``cache=True``), so a
warm process starts in about a second instead of recompiling the graph. The
PyMC graph stays the reference: ``tests/test_kernel.py`` holds the layout equal
to PyMC's value variables, the log density equal to ``model.compile_logp()``
and the gradient equal to PyTensor's on random points, for every shipped spec.

Layout
    :func:`build_layout` lists the unconstrained blocks in PyMC's value-variable
    order (names such as ``family_bias_sigma_log__``), with PyMC's transforms:
    log for positive priors, log-odds for Beta shares, the zero-sum Householder
    map for zero-sum offsets. Data and the layout travel to numba as one float
    and one integer array (:class:`KernelData`).
Forward pass
    :func:`_forward` computes every named quantity of one parameter vector
    (the same names and order the PyMC posterior has); :func:`logp_grad` adds
    the log density and back-propagates; :func:`expand` is the forward pass
    for a batch of draws.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numba
import numpy as np

from bayes_cpp import dims
from bayes_cpp.dims import LLM_SIDE, TASK_SIDE
from bayes_cpp.exceptions import SpecError

__all__ = ["Block", "KernelData", "build_layout", "expand", "logp_grad"]

LOG_2PI = math.log(2.0 * math.pi)

# ---------------------------------------------------------------- prior codes
#: Distribution codes of :class:`bayes_cpp.spec.Prior` in the kernel.
DIST_CODES = {
    "Normal": 0,
    "HalfNormal": 1,
    "Exponential": 2,
    "Gamma": 3,
    "LogNormal": 4,
    "HalfStudentT": 5,
    "StudentT": 6,
    "Beta": 7,
}
_POSITIVE_CODES = (1, 2, 3, 4, 5)
#: Prior keys in kernel order (index = position in the prior table).
PRIOR_KEYS = (
    dims.INTERCEPT,
    LLM_SIDE.group_bias_share,
    TASK_SIDE.group_bias_share,
    LLM_SIDE.bias_scale,
    TASK_SIDE.bias_scale,
    LLM_SIDE.bias_coef,
    TASK_SIDE.bias_coef,
    LLM_SIDE.group_loading_share,
    TASK_SIDE.group_loading_share,
    dims.TASK_LOADING_SCALE,
    LLM_SIDE.loading_coef,
    TASK_SIDE.loading_coef,
    dims.NOISE_LOG_MU,
    dims.NOISE_LOG_SIGMA,
    dims.NOISE_NU,
    dims.LLM_NOISE_SIGMA,
    dims.CHANCE_SHARE,
)
P_INTERCEPT, P_FAM_BSHARE, P_CAT_BSHARE, P_LLM_SCALE, P_TASK_SCALE = 0, 1, 2, 3, 4
P_LLM_COEF, P_TASK_COEF, P_FAM_SHARE, P_CAT_SHARE, P_SCALE = 5, 6, 7, 8, 9
P_LLM_LCOEF, P_TASK_LCOEF, P_NOISE_MU, P_NOISE_SIGMA, P_NU = 10, 11, 12, 13, 14
P_LLM_NOISE, P_CHANCE_SHARE = 15, 16

# --------------------------------------------------- integer header positions
# Sizes and options.
H_N, H_L, H_T, H_K, H_F, H_G, H_NFAM, H_NCAT, H_LIK, H_SCAL = range(10)
# Integer-array offsets (in the integer data array) of index arrays.
H_LI, H_TI, H_FAM, H_CAT, H_LPOS, H_LCEN, H_TPOS, H_TCEN, H_NPOS, H_NCEN = range(10, 20)
# Float-array offsets of float data.
H_Y, H_CHANCE, H_XL, H_XT, H_PRIOR, H_NFLOOR = range(20, 26)
# Block starts in theta (-1 when absent).
(
    B_INT,
    B_FAM_BSHARE,
    B_FAM_RAW,
    B_LCOEF,
    B_LSCALE,
    B_CAT_BSHARE,
    B_CAT_RAW,
    B_TCOEF,
    B_TSCALE,
    B_ZU,
    B_FSHARE,
    B_GU,
    B_BU,
    B_ZV,
    B_CSHARE,
    B_GV,
    B_BV,
    B_VSCALE,
    B_NMU,
    B_NLSIG,
    B_LNSIG,
    B_NU,
    B_LNOFF,
    B_CSH,
) = range(26, 50)
# Feature-network starts per feature (integer-array offsets of F- or G-long
# arrays): mean, coef, log sd, unobserved (start of the imputed entries).
H_LNET, H_TNET = 50, 51
H_ZVIDX = 52  # integer offset of the (T * K) map of task loading offsets to theta (-1: solved)
H_ANCHOR = 53  # integer offset of the K - 1 anchor task positions
H_NANCHOR = 54  # number of anchors
HEADER = 55


@dataclass(frozen=True)
class Block:
    """One unconstrained block of the parameter vector.

    ``value`` is the PyMC value-variable name, ``rv`` the random variable's,
    ``transform`` one of ``"none"``, ``"log"``, ``"logodds"``, ``"zerosum"``.
    """

    value: str
    rv: str
    shape: tuple[int, ...]
    transform: str
    start: int

    @property
    def size(self) -> int:
        """Number of unconstrained entries."""
        return int(np.prod(self.shape, dtype=int))


@dataclass(frozen=True)
class KernelData:
    """Everything the numba kernel reads, packed into two arrays.

    Attributes
    ----------
    floats, ints : numpy.ndarray
        The packed data (see the ``H_*`` header positions).
    blocks : list of Block
        The unconstrained layout.
    outputs : list of (name, dims, shape)
        The named quantities :func:`expand` returns, in order.
    n_dim : int
        Length of the unconstrained vector.
    """

    floats: np.ndarray
    ints: np.ndarray
    blocks: list[Block]
    outputs: list[tuple[str, tuple[str, ...], tuple[int, ...]]]
    n_dim: int
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def n_expanded(self) -> int:
        """Length of one expanded draw (all named quantities)."""
        return int(sum(int(np.prod(shape, dtype=int)) for _, _, shape in self.outputs))


def _prior_row(spec: Any, key: str) -> list[float]:
    prior = spec.prior(key)
    code = DIST_CODES[prior.dist]
    p = [*prior.params.values(), 0.0, 0.0, 0.0]
    return [float(code), *p[:3]]


def _transform_of(spec: Any, key: str) -> str:
    code = DIST_CODES[spec.prior(key).dist]
    if code in _POSITIVE_CODES:
        return "log"
    if code == 7:
        return "logodds"
    return "none"


def _value_name(rv: str, transform: str) -> str:
    return rv if transform == "none" else f"{rv}_{transform}__"


def build_layout(inputs: Any, spec: Any) -> KernelData:
    """The packed data and unconstrained layout of ``inputs`` under ``spec``.

    Parameters
    ----------
    inputs : bayes_cpp.inputs.GraphInputs
        The arrays the graph is built from (including which rows are
        centered and the rotation anchors).
    spec : bayes_cpp.spec.ModelSpec
        The resolved spec.
    """
    for key in (
        LLM_SIDE.group_loading_share,
        TASK_SIDE.group_loading_share,
        LLM_SIDE.group_bias_share,
        TASK_SIDE.group_bias_share,
    ):
        if spec.prior(key).dist != "Beta":
            raise SpecError(f"prior {key!r} is a share in (0, 1): use a Beta prior")
    n_obs = len(inputs.unit_score)
    n_llm, n_task = len(inputs.coords[dims.LLM]), len(inputs.coords[dims.TASK])
    rank = spec.rank
    n_fam = len(inputs.families) if inputs.use_family else 0
    n_cat = len(inputs.categories) if inputs.use_category else 0
    xl, xt = np.asarray(inputs.llm_x, float), np.asarray(inputs.task_x, float)
    n_lf, n_tf = xl.shape[1], xt.shape[1]
    anchors = np.asarray(inputs.anchors if rank >= 2 else [], dtype=np.int64)

    blocks: list[Block] = []
    start = 0

    def add(rv: str, shape: tuple[int, ...], transform: str) -> int:
        nonlocal start
        block = Block(_value_name(rv, transform), rv, shape, transform, start)
        blocks.append(block)
        start += block.size
        return block.start

    ints = np.full(HEADER, -1, dtype=np.int64)
    ints[B_INT] = add(dims.INTERCEPT, (), _transform_of(spec, dims.INTERCEPT))
    nets: dict[str, np.ndarray] = {}
    for side, x in ((LLM_SIDE, xl), (TASK_SIDE, xt)):
        n_feat = x.shape[1]
        table = np.full((4, n_feat), -1, dtype=np.int64)
        for j in range(n_feat):
            table[0, j] = add(side.feature_var("mean", j), (), "none")
            if j:
                table[1, j] = add(side.feature_var("coef", j), (j,), "none")
            table[2, j] = add(side.feature_var("sd", j), (), "log")
            n_miss = int(np.isnan(x[:, j]).sum())
            if n_miss:
                table[3, j] = add(f"{side.feature_var('value', j)}_unobserved", (n_miss,), "none")
        nets[side.name] = table

    positions: dict[str, np.ndarray] = {}
    for side, n_groups, n_feat, n_rows, centered, keys in (
        (
            LLM_SIDE,
            n_fam,
            n_lf,
            n_llm,
            inputs.llm_centered,
            (B_LSCALE, B_FAM_BSHARE, B_FAM_RAW, B_LCOEF),
        ),
        (
            TASK_SIDE,
            n_cat,
            n_tf,
            n_task,
            inputs.task_centered,
            (B_TSCALE, B_CAT_BSHARE, B_CAT_RAW, B_TCOEF),
        ),
    ):
        scale, share, raw, coef = keys
        ints[scale] = add(side.bias_scale, (), _transform_of(spec, side.bias_scale))
        if n_groups:
            ints[share] = add(side.group_bias_share, (), "logodds")
            ints[raw] = add(side.group_bias_offset, (n_groups - 1,), "zerosum")
        if n_feat:
            ints[coef] = add(side.bias_coef, (n_feat,), _transform_of(spec, side.bias_coef))
        centered = np.asarray(centered, dtype=bool)
        pos = np.zeros(n_rows, dtype=np.int64)
        nc, c = np.flatnonzero(~centered), np.flatnonzero(centered)
        if len(nc):
            pos[nc] = add(side.bias_offset, (len(nc),), "none") + np.arange(len(nc))
        if len(c):
            pos[c] = add(side.bias_centered, (len(c),), "none") + np.arange(len(c))
        positions[side.name] = pos
    zv_index = np.zeros(0, dtype=np.int64)
    anchor_entries: list[int] = []
    if rank:
        ints[B_ZU] = add(LLM_SIDE.loading_offset, (n_llm, rank), "none")
        if n_fam:
            ints[B_FSHARE] = add(LLM_SIDE.group_loading_share, (), "logodds")
            ints[B_GU] = add(LLM_SIDE.group_loading_offset, (n_fam, rank), "none")
        if n_lf:
            ints[B_BU] = add(
                LLM_SIDE.loading_coef, (n_lf, rank), _transform_of(spec, LLM_SIDE.loading_coef)
            )
        mask = np.ones((n_task, rank), dtype=bool)
        for k, a in enumerate(anchors):
            mask[a, k + 1 :] = False
        zv_index = np.full(n_task * rank, -1, dtype=np.int64)
        if len(anchors):
            first = add(TASK_SIDE.loading_offset_free, (int(mask.sum()),), "none")
        else:
            first = add(TASK_SIDE.loading_offset, (n_task, rank), "none")
        zv_index[mask.ravel()] = first + np.arange(int(mask.sum()))
        anchor_entries = [int(zv_index[a * rank + k]) for k, a in enumerate(anchors)]
        ints[B_ZV] = first
        if n_cat:
            ints[B_CSHARE] = add(TASK_SIDE.group_loading_share, (), "logodds")
            ints[B_GV] = add(TASK_SIDE.group_loading_offset, (n_cat, rank), "none")
        if n_tf:
            ints[B_BV] = add(
                TASK_SIDE.loading_coef, (n_tf, rank), _transform_of(spec, TASK_SIDE.loading_coef)
            )
        ints[B_VSCALE] = add(
            dims.TASK_LOADING_SCALE, (), _transform_of(spec, dims.TASK_LOADING_SCALE)
        )
    if spec.chance_share:
        ints[B_CSH] = add(dims.CHANCE_SHARE, (), _transform_of(spec, dims.CHANCE_SHARE))
    ints[B_NMU] = add(dims.NOISE_LOG_MU, (), _transform_of(spec, dims.NOISE_LOG_MU))
    ints[B_NLSIG] = add(dims.NOISE_LOG_SIGMA, (), _transform_of(spec, dims.NOISE_LOG_SIGMA))
    noise_centered = np.asarray(inputs.noise_centered, dtype=bool)
    noise_pos = np.zeros(n_task, dtype=np.int64)
    nc, c = np.flatnonzero(~noise_centered), np.flatnonzero(noise_centered)
    if len(nc):
        noise_pos[nc] = add(dims.NOISE_OFFSET, (len(nc),), "none") + np.arange(len(nc))
    if len(c):
        noise_pos[c] = add(dims.NOISE_CENTERED, (len(c),), "none") + np.arange(len(c))
    if spec.llm_noise:
        ints[B_LNSIG] = add(dims.LLM_NOISE_SIGMA, (), _transform_of(spec, dims.LLM_NOISE_SIGMA))
        ints[B_LNOFF] = add(dims.LLM_NOISE_OFFSET, (n_llm,), "none")
    if spec.likelihood == "student_t":
        ints[B_NU] = add(dims.NOISE_NU, (), _transform_of(spec, dims.NOISE_NU))

    ints[H_N], ints[H_L], ints[H_T], ints[H_K] = n_obs, n_llm, n_task, rank
    ints[H_F], ints[H_G], ints[H_NFAM], ints[H_NCAT] = n_lf, n_tf, n_fam, n_cat
    ints[H_LIK] = 1 if spec.likelihood == "student_t" else 0
    ints[H_SCAL] = 1 if spec.noise_scaling == "binomial" else 0
    ints[H_NANCHOR] = len(anchors)

    int_parts: list[np.ndarray] = [ints]
    int_len = HEADER

    def put_int(pos: int, values: Any) -> None:
        nonlocal int_len
        ints[pos] = int_len
        arr = np.asarray(values, dtype=np.int64).ravel()
        int_parts.append(arr)
        int_len += len(arr)

    put_int(H_LI, inputs.llm_index)
    put_int(H_TI, inputs.task_index)
    put_int(H_FAM, inputs.family_index if n_fam else np.zeros(n_llm))
    put_int(H_CAT, inputs.category_index if n_cat else np.zeros(n_task))
    put_int(H_LPOS, positions[dims.LLM])
    put_int(H_LCEN, inputs.llm_centered)
    put_int(H_TPOS, positions[dims.TASK])
    put_int(H_TCEN, inputs.task_centered)
    put_int(H_NPOS, noise_pos)
    put_int(H_NCEN, noise_centered)
    put_int(H_LNET, nets[dims.LLM])
    put_int(H_TNET, nets[dims.TASK])
    put_int(H_ZVIDX, zv_index)
    put_int(H_ANCHOR, anchors)

    float_parts: list[np.ndarray] = []
    float_len = 0

    def put_float(pos: int, values: Any) -> None:
        nonlocal float_len
        ints[pos] = float_len
        arr = np.asarray(values, dtype=np.float64).ravel()
        float_parts.append(arr)
        float_len += len(arr)

    put_float(H_Y, inputs.unit_score)
    put_float(H_CHANCE, inputs.chance)
    put_float(H_XL, xl)
    put_float(H_XT, xt)
    put_float(H_PRIOR, np.array([_prior_row(spec, k) for k in PRIOR_KEYS]))
    put_float(H_NFLOOR, np.array([spec.noise_floor]))
    return KernelData(
        floats=np.ascontiguousarray(np.concatenate(float_parts)),
        ints=np.ascontiguousarray(np.concatenate(int_parts)),
        blocks=blocks,
        outputs=_outputs(inputs, spec, n_fam, n_cat, xl, xt, anchors),
        n_dim=start,
        extra={"anchor_entries": anchor_entries},
    )


def _outputs(
    inputs: Any,
    spec: Any,
    n_fam: int,
    n_cat: int,
    xl: np.ndarray,
    xt: np.ndarray,
    anchors: np.ndarray,
) -> list[tuple[str, tuple[str, ...], tuple[int, ...]]]:
    """Named quantities of one draw, in the order :func:`expand_into` writes them."""
    n_llm, n_task, rank = xl.shape[0], xt.shape[0], spec.rank
    out: list[tuple[str, tuple[str, ...], tuple[int, ...]]] = [(dims.INTERCEPT, (), ())]

    def vector(name: str, n: int, dim: str, full: int) -> None:
        out.append((name, (dim,) if n == full else (f"{name}_dim_0",), (n,)))

    for side, x in ((LLM_SIDE, xl), (TASK_SIDE, xt)):
        for j in range(x.shape[1]):
            out.append((side.feature_var("mean", j), (), ()))
            if j:
                vector(side.feature_var("coef", j), j, "", -1)
            out.append((side.feature_var("sd", j), (), ()))
            n_miss = int(np.isnan(x[:, j]).sum())
            if n_miss:
                vector(f"{side.feature_var('value', j)}_unobserved", n_miss, "", -1)
                out.append((side.feature_var("value", j), (side.dim,), (x.shape[0],)))
        if x.shape[1]:
            out.append((side.features, (side.dim, side.feature_dim), x.shape))
    for side, n_groups, n_rows, x, centered in (
        (LLM_SIDE, n_fam, n_llm, xl, np.asarray(inputs.llm_centered, bool)),
        (TASK_SIDE, n_cat, n_task, xt, np.asarray(inputs.task_centered, bool)),
    ):
        out.append((side.bias_scale, (), ()))
        if n_groups:
            out.append((side.group_bias_share, (), ()))
            out.append((side.group_bias_sigma, (), ()))
            out.append((side.group_bias_offset, (side.group_dim,), (n_groups,)))
            out.append((side.group_bias, (side.group_dim,), (n_groups,)))
        out.append((side.bias_sigma, (), ()))
        if x.shape[1]:
            out.append((side.bias_coef, (side.feature_dim,), (x.shape[1],)))
        n_c = int(centered.sum())
        if n_rows - n_c:
            vector(side.bias_offset, n_rows - n_c, side.dim, n_rows)
        if n_c:
            vector(side.bias_centered, n_c, side.dim, n_rows)
        out.append((side.bias, (side.dim,), (n_rows,)))
    if rank:
        for side, n_groups, n_rows, x in (
            (LLM_SIDE, n_fam, n_llm, xl),
            (TASK_SIDE, n_cat, n_task, xt),
        ):
            if side is TASK_SIDE and len(anchors):
                n_free = n_rows * rank - sum(rank - 1 - k for k in range(len(anchors)))
                vector(side.loading_offset_free, n_free, "", -1)
            out.append((side.loading_offset, (side.dim, dims.LATENT), (n_rows, rank)))
            if n_groups:
                out.append((side.group_loading_share, (), ()))
                out.append(
                    (side.group_loading_offset, (side.group_dim, dims.LATENT), (n_groups, rank))
                )
            if x.shape[1]:
                out.append((side.loading_coef, (side.feature_dim, dims.LATENT), (x.shape[1], rank)))
            if side.loading_scale:
                out.append((side.loading_scale, (), ()))
            out.append((side.loading, (side.dim, dims.LATENT), (n_rows, rank)))
    if spec.chance_share:
        out.append((dims.CHANCE_SHARE, (), ()))
    out.append((dims.NOISE_LOG_MU, (), ()))
    out.append((dims.NOISE_LOG_SIGMA, (), ()))
    n_c = int(np.asarray(inputs.noise_centered, bool).sum())
    if n_task - n_c:
        vector(dims.NOISE_OFFSET, n_task - n_c, dims.TASK, n_task)
    if n_c:
        vector(dims.NOISE_CENTERED, n_c, dims.TASK, n_task)
    out.append((dims.SIGMA, (dims.TASK,), (n_task,)))
    if spec.llm_noise:
        out.append((dims.LLM_NOISE_SIGMA, (), ()))
        out.append((dims.LLM_NOISE_OFFSET, (dims.LLM,), (n_llm,)))
        out.append((dims.LLM_NOISE, (dims.LLM,), (n_llm,)))
    if spec.likelihood == "student_t":
        out.append((dims.NOISE_NU, (), ()))
    return out


# ============================================================ numba kernels
@numba.njit(cache=True, error_model="numpy")
def _digamma(x: float) -> float:  # pragma: no cover - compiled
    # Recurrence to x >= 10, then the asymptotic series (relative error < 1e-13).
    result = 0.0
    while x < 10.0:
        result -= 1.0 / x
        x += 1.0
    f = 1.0 / (x * x)
    series = f * (
        -1.0 / 12.0
        + f * (1.0 / 120.0 + f * (-1.0 / 252.0 + f * (1.0 / 240.0 + f * (-1.0 / 132.0))))
    )
    return result + math.log(x) - 0.5 / x + series


@numba.njit(cache=True, error_model="numpy")
def _prior(
    code: int, p0: float, p1: float, p2: float, w: float
) -> tuple[float, float, float]:  # pragma: no cover
    """(value, log density in the transformed space, its derivative in ``w``)."""
    if code == 0:  # Normal(mu, sigma), identity
        z = (w - p0) / p1
        return w, -0.5 * LOG_2PI - math.log(p1) - 0.5 * z * z, -z / p1
    if code == 6:  # StudentT(nu, mu, sigma), identity
        nu, mu, s = p0, p1, p2
        d = (w - mu) / s
        lp = (
            math.lgamma(0.5 * (nu + 1.0))
            - math.lgamma(0.5 * nu)
            - 0.5 * math.log(nu * math.pi)
            - math.log(s)
            - 0.5 * (nu + 1.0) * math.log1p(d * d / nu)
        )
        return w, lp, -(nu + 1.0) * d / (s * (nu + d * d))
    if code == 7:  # Beta(alpha, beta), log-odds
        x = 1.0 / (1.0 + math.exp(-w))
        a, b = p0, p1
        lp = (
            (a - 1.0) * math.log(x)
            + (b - 1.0) * math.log1p(-x)
            - (math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b))
            + math.log(x)
            + math.log1p(-x)
        )
        return x, lp, a * (1.0 - x) - b * x
    x = math.exp(w)  # positive distributions, log transform (+ w: the Jacobian)
    if code == 1:  # HalfNormal(sigma)
        z = x / p0
        return x, 0.5 * math.log(2.0 / math.pi) - math.log(p0) - 0.5 * z * z + w, 1.0 - z * z
    if code == 2:  # Exponential(lam)
        return x, math.log(p0) - p0 * x + w, 1.0 - p0 * x
    if code == 3:  # Gamma(alpha, beta)
        a, b = p0, p1
        lp = -math.lgamma(a) + a * math.log(b) - b * x + (a - 1.0) * w + w
        return x, lp, a - b * x
    if code == 4:  # LogNormal(mu, sigma)
        z = (w - p0) / p1
        return x, -0.5 * z * z - 0.5 * LOG_2PI - math.log(p1), -z / p1
    # HalfStudentT(nu, sigma)
    nu, s = p0, p1
    q = x * x / (nu * s * s)
    lp = (
        math.log(2.0)
        + math.lgamma(0.5 * (nu + 1.0))
        - math.lgamma(0.5 * nu)
        - 0.5 * math.log(nu * math.pi * s * s)
        - 0.5 * (nu + 1.0) * math.log1p(q)
        + w
    )
    return x, lp, 1.0 - (nu + 1.0) * q / (1.0 + q)


@numba.njit(cache=True, error_model="numpy")
def _prior_at(
    fl: np.ndarray, ints: np.ndarray, key: int, w: float
) -> tuple[float, float, float]:  # pragma: no cover
    base = ints[H_PRIOR] + 4 * key
    return _prior(int(fl[base]), fl[base + 1], fl[base + 2], fl[base + 3], w)


@numba.njit(cache=True, error_model="numpy")
def _zerosum(raw: np.ndarray, out: np.ndarray) -> None:  # pragma: no cover
    """PyMC's ZeroSumTransform.backward (a Householder map of n - 1 values to n)."""
    m = raw.shape[0]
    n = m + 1.0
    total = 0.0
    for i in range(m):
        total += raw[i]
    norm = total / (math.sqrt(n) + n)
    for i in range(m):
        out[i] = raw[i] - norm
    out[m] = -total / math.sqrt(n)


@numba.njit(cache=True, error_model="numpy")
def _zerosum_adjoint(g: np.ndarray, out: np.ndarray, start: int) -> None:  # pragma: no cover
    """Add the gradient with respect to the raw values, given ``g`` of the n outputs."""
    m = g.shape[0] - 1
    n = m + 1.0
    head = 0.0
    for k in range(m):
        head += g[k]
    for i in range(m):
        out[start + i] += g[i] - head / (math.sqrt(n) + n) - g[m] / math.sqrt(n)


@numba.njit(cache=True, error_model="numpy")
def _features(
    theta: np.ndarray, fl: np.ndarray, ints: np.ndarray, side: int
) -> np.ndarray:  # pragma: no cover
    """The standardized feature matrix with imputed entries filled in from ``theta``."""
    if side == 0:
        n_rows, n_feat, xoff, net = ints[H_L], ints[H_F], ints[H_XL], ints[H_LNET]
    else:
        n_rows, n_feat, xoff, net = ints[H_T], ints[H_G], ints[H_XT], ints[H_TNET]
    x = np.empty((n_rows, n_feat))
    for r in range(n_rows):
        for j in range(n_feat):
            x[r, j] = fl[xoff + r * n_feat + j]
    # Imputed entries are stored column by column (PyMC's per-column variables).
    for j in range(n_feat):
        start = ints[net + 3 * n_feat + j]
        if start < 0:
            continue
        k = 0
        for r in range(n_rows):
            if math.isnan(x[r, j]):
                x[r, j] = theta[start + k]
                k += 1
    return x


@numba.njit(cache=True, error_model="numpy")
def _network(
    theta: np.ndarray, x: np.ndarray, ints: np.ndarray, side: int, grad: np.ndarray, dx: np.ndarray
) -> float:  # pragma: no cover
    """Log density of the imputation network (feature j on features < j); adds gradients."""
    n_rows, n_feat = x.shape[0], x.shape[1]
    net = ints[H_LNET] if side == 0 else ints[H_TNET]
    lp = 0.0
    for j in range(n_feat):
        b_mean, b_coef, b_sd = ints[net + j], ints[net + n_feat + j], ints[net + 2 * n_feat + j]
        mean = theta[b_mean]
        lp += -0.5 * LOG_2PI - 0.5 * mean * mean
        grad[b_mean] -= mean
        if j:
            for k in range(j):
                c = theta[b_coef + k]
                lp += -0.5 * LOG_2PI - 0.5 * c * c
                grad[b_coef + k] -= c
        w = theta[b_sd]
        sd = math.exp(w)
        lp += 0.5 * math.log(2.0 / math.pi) - 0.5 * sd * sd + w  # HalfNormal(1), log transform
        grad[b_sd] += 1.0 - sd * sd
        inv = 1.0 / (sd * sd)
        dlogsd = 0.0
        for r in range(n_rows):
            mu = mean
            for k in range(j):
                mu += theta[b_coef + k] * x[r, k]
            resid = x[r, j] - mu
            lp += -0.5 * LOG_2PI - w - 0.5 * resid * resid * inv
            g = resid * inv
            dx[r, j] -= g
            grad[b_mean] += g
            for k in range(j):
                grad[b_coef + k] += g * x[r, k]
                dx[r, k] += g * theta[b_coef + k]
            dlogsd += resid * resid * inv - 1.0
        grad[b_sd] += dlogsd
    return lp


@numba.njit(cache=True, error_model="numpy")
def _imputed_grad(
    x: np.ndarray, dx: np.ndarray, ints: np.ndarray, side: int, grad: np.ndarray, fl: np.ndarray
) -> None:  # pragma: no cover
    n_rows, n_feat = x.shape[0], x.shape[1]
    net = ints[H_LNET] if side == 0 else ints[H_TNET]
    xoff = ints[H_XL] if side == 0 else ints[H_XT]
    for j in range(n_feat):
        start = ints[net + 3 * n_feat + j]
        if start < 0:
            continue
        k = 0
        for r in range(n_rows):
            if math.isnan(fl[xoff + r * n_feat + j]):
                grad[start + k] += dx[r, j]
                k += 1


@numba.njit(cache=True, error_model="numpy")
def _chain(fl: np.ndarray, ints: np.ndarray, key: int, x: float) -> float:  # pragma: no cover
    """dx/dw of the transform of prior ``key`` at value ``x`` (identity, log or log-odds)."""
    code = int(fl[ints[H_PRIOR] + 4 * key])
    if code == 0 or code == 6:
        return 1.0
    if code == 7:
        return x * (1.0 - x)
    return x


@numba.njit(cache=True, error_model="numpy")
def _hyper(theta, fl, ints, grad, key, block):  # pragma: no cover
    """Value, prior log density and its gradient (added to ``grad``) of a scalar block."""
    if ints[block] < 0:
        return 0.0, 0.0
    x, lp, g = _prior_at(fl, ints, key, theta[ints[block]])
    grad[ints[block]] += g
    return x, lp


@numba.njit(cache=True, error_model="numpy")
def _bias_rows(
    theta, fl, ints, grad, side, xs, offsets, share, scale, coef, shift
):  # pragma: no cover
    """Row biases of one side; returns (bias, prior mean, individual sd, group sd, log density)."""
    if side == 0:
        n_rows, n_feat, n_groups = ints[H_L], ints[H_F], ints[H_NFAM]
        groups, pos, cen = ints[H_FAM], ints[H_LPOS], ints[H_LCEN]
    else:
        n_rows, n_feat, n_groups = ints[H_T], ints[H_G], ints[H_NCAT]
        groups, pos, cen = ints[H_CAT], ints[H_TPOS], ints[H_TCEN]
    if n_groups:
        gsig = scale * math.sqrt(share)
        isig = scale * math.sqrt(1.0 - share)
    else:
        gsig = 0.0
        isig = scale
    lp = 0.0
    bias = np.empty(n_rows)
    mean = np.empty(n_rows)
    for r in range(n_rows):
        m = shift
        if n_groups:
            m += gsig * offsets[ints[groups + r]]
        for j in range(n_feat):
            m += xs[r, j] * coef[j]
        mean[r] = m
        v = theta[ints[pos + r]]
        if ints[cen + r]:
            bias[r] = v - shift
            zz = (v - m) / isig
            lp += -0.5 * LOG_2PI - math.log(isig) - 0.5 * zz * zz
        else:
            bias[r] = m + isig * v - shift
            lp += -0.5 * LOG_2PI - 0.5 * v * v
            grad[ints[pos + r]] -= v
    return bias, mean, isig, gsig, lp


@numba.njit(cache=True, error_model="numpy")
def _forward(theta, fl, ints, grad):  # pragma: no cover
    """Every quantity of one parameter vector, plus the log density of all priors.

    The priors' gradient (in the unconstrained space) is added to ``grad``; the
    imputation network and the likelihood are left to :func:`logp_grad`.
    """
    n_llm, n_task, rank = ints[H_L], ints[H_T], ints[H_K]
    n_lf, n_tf, n_fam, n_cat = ints[H_F], ints[H_G], ints[H_NFAM], ints[H_NCAT]
    lp = 0.0
    a0, term = _hyper(theta, fl, ints, grad, P_INTERCEPT, B_INT)
    lp += term
    lscale, term = _hyper(theta, fl, ints, grad, P_LLM_SCALE, B_LSCALE)
    lp += term
    tscale, term = _hyper(theta, fl, ints, grad, P_TASK_SCALE, B_TSCALE)
    lp += term
    fbshare, term = _hyper(theta, fl, ints, grad, P_FAM_BSHARE, B_FAM_BSHARE)
    lp += term
    cbshare, term = _hyper(theta, fl, ints, grad, P_CAT_BSHARE, B_CAT_BSHARE)
    lp += term
    nmu, term = _hyper(theta, fl, ints, grad, P_NOISE_MU, B_NMU)
    lp += term
    ntau, term = _hyper(theta, fl, ints, grad, P_NOISE_SIGMA, B_NLSIG)
    lp += term
    nu, term = _hyper(theta, fl, ints, grad, P_NU, B_NU)
    lp += term
    fshare, term = _hyper(theta, fl, ints, grad, P_FAM_SHARE, B_FSHARE)
    lp += term
    cshare, term = _hyper(theta, fl, ints, grad, P_CAT_SHARE, B_CSHARE)
    lp += term
    scale, term = _hyper(theta, fl, ints, grad, P_SCALE, B_VSCALE)
    lp += term
    csh = 1.0  # the hard floor unless the spec learns the chance share
    if ints[B_CSH] >= 0:
        csh, term = _hyper(theta, fl, ints, grad, P_CHANCE_SHARE, B_CSH)
        lp += term

    xl = _features(theta, fl, ints, 0)
    xt = _features(theta, fl, ints, 1)

    fam_off = np.zeros(max(n_fam, 1))
    if n_fam:
        raw = theta[ints[B_FAM_RAW] : ints[B_FAM_RAW] + n_fam - 1]
        _zerosum(raw, fam_off)
        for i in range(n_fam - 1):
            lp += -0.5 * raw[i] * raw[i] - 0.5 * LOG_2PI
            grad[ints[B_FAM_RAW] + i] -= raw[i]
    cat_off = np.zeros(max(n_cat, 1))
    if n_cat:
        raw = theta[ints[B_CAT_RAW] : ints[B_CAT_RAW] + n_cat - 1]
        _zerosum(raw, cat_off)
        for i in range(n_cat - 1):
            lp += -0.5 * raw[i] * raw[i] - 0.5 * LOG_2PI
            grad[ints[B_CAT_RAW] + i] -= raw[i]

    lcoef = np.zeros(max(n_lf, 1))
    for j in range(n_lf):
        lcoef[j], term, g = _prior_at(fl, ints, P_LLM_COEF, theta[ints[B_LCOEF] + j])
        lp += term
        grad[ints[B_LCOEF] + j] += g
    tcoef = np.zeros(max(n_tf, 1))
    for j in range(n_tf):
        tcoef[j], term, g = _prior_at(fl, ints, P_TASK_COEF, theta[ints[B_TCOEF] + j])
        lp += term
        grad[ints[B_TCOEF] + j] += g

    # The intercept is the task biases' prior mean (task_bias reported relative to it).
    a, lmean, lsig, fsig, term = _bias_rows(
        theta, fl, ints, grad, 0, xl, fam_off, fbshare, lscale, lcoef, 0.0
    )
    lp += term
    b, tmean, tsig, csig, term = _bias_rows(
        theta, fl, ints, grad, 1, xt, cat_off, cbshare, tscale, tcoef, a0
    )
    lp += term

    u = np.zeros((n_llm, rank))
    zv = np.zeros((n_task, rank))
    known_v = np.zeros((n_task, rank))
    v_in = np.zeros((n_task, rank))
    vt = np.zeros((n_task, rank))
    bu = np.zeros((max(n_lf, 1), rank))
    bv = np.zeros((max(n_tf, 1), rank))
    if rank:
        zu = ints[B_ZU]
        for i in range(n_llm * rank):
            lp += -0.5 * LOG_2PI - 0.5 * theta[zu + i] * theta[zu + i]
            grad[zu + i] -= theta[zu + i]
        zidx = ints[H_ZVIDX]
        for i in range(n_task * rank):
            k = ints[zidx + i]
            if k >= 0:
                lp += -0.5 * LOG_2PI - 0.5 * theta[k] * theta[k]
                grad[k] -= theta[k]
        for i in range(n_fam * rank):
            w = theta[ints[B_GU] + i]
            lp += -0.5 * LOG_2PI - 0.5 * w * w
            grad[ints[B_GU] + i] -= w
        for i in range(n_cat * rank):
            w = theta[ints[B_GV] + i]
            lp += -0.5 * LOG_2PI - 0.5 * w * w
            grad[ints[B_GV] + i] -= w
        for i in range(n_lf * rank):
            bu[i // rank, i % rank], term, g = _prior_at(
                fl, ints, P_LLM_LCOEF, theta[ints[B_BU] + i]
            )
            lp += term
            grad[ints[B_BU] + i] += g
        for i in range(n_tf * rank):
            bv[i // rank, i % rank], term, g = _prior_at(
                fl, ints, P_TASK_LCOEF, theta[ints[B_BV] + i]
            )
            lp += term
            grad[ints[B_BV] + i] += g
        fam, cat = ints[H_FAM], ints[H_CAT]
        sf, sf1 = math.sqrt(fshare), math.sqrt(1.0 - fshare)
        sc, sc1 = (math.sqrt(cshare), math.sqrt(1.0 - cshare)) if n_cat else (0.0, 1.0)
        for r in range(n_llm):
            for k in range(rank):
                val = theta[zu + r * rank + k]
                if n_fam:
                    val = sf * theta[ints[B_GU] + ints[fam + r] * rank + k] + sf1 * val
                for j in range(n_lf):
                    val += xl[r, j] * bu[j, k]
                u[r, k] = val
        for t in range(n_task):
            for k in range(rank):
                kn = 0.0
                if n_cat:
                    kn = sc * theta[ints[B_GV] + ints[cat + t] * rank + k]
                for j in range(n_tf):
                    kn += xt[t, j] * bv[j, k]
                known_v[t, k] = kn
                i = ints[zidx + t * rank + k]
                # Solved anchor entries make the composite loading exactly zero there.
                zv[t, k] = theta[i] if i >= 0 else -kn / sc1
                v_in[t, k] = kn + sc1 * zv[t, k] if i >= 0 else 0.0
                vt[t, k] = scale * v_in[t, k]
        # The anchors' potential: prior of the solved entries and the section's Jacobian.
        n_anchor = ints[H_NANCHOR]
        n_c = 0
        for k in range(n_anchor):
            a_k = ints[ints[H_ANCHOR] + k]
            for j in range(k + 1, rank):
                lp += -0.5 * LOG_2PI - 0.5 * zv[a_k, j] * zv[a_k, j]
                n_c += 1
            lp += (rank - 1 - k) * math.log(abs(v_in[a_k, k]))
        lp -= n_c * math.log(sc1)

    floor = fl[ints[H_NFLOOR]]
    sig = np.empty(n_task)
    ex = np.empty(n_task)
    npos, ncen = ints[H_NPOS], ints[H_NCEN]
    for t in range(n_task):
        v = theta[ints[npos + t]]
        if ints[ncen + t]:  # log(sigma - floor) itself; its prior term is in logp_grad
            zz = (v - nmu) / ntau
            lp += -0.5 * LOG_2PI - math.log(ntau) - 0.5 * zz * zz
            ex[t] = math.exp(v)
        else:
            lp += -0.5 * LOG_2PI - 0.5 * v * v
            grad[ints[npos + t]] -= v
            ex[t] = math.exp(nmu + ntau * v)
        sig[t] = floor + ex[t]
    # Per-LLM noise multipliers exp(llm_noise_sigma * z), z ~ N(0, 1) (spec llm_noise).
    tau = np.ones(n_llm)
    lns, term = _hyper(theta, fl, ints, grad, P_LLM_NOISE, B_LNSIG)
    lp += term
    if ints[B_LNSIG] >= 0:
        off = ints[B_LNOFF]
        for r in range(n_llm):
            z = theta[off + r]
            lp += -0.5 * LOG_2PI - 0.5 * z * z
            grad[off + r] -= z
            tau[r] = math.exp(lns * z)
    scalars = (a0, lscale, tscale, fbshare, cbshare, nmu, ntau, nu, fshare, cshare, scale, lns, csh)
    sds = (lsig, fsig, tsig, csig)
    rows = (xl, xt, fam_off, cat_off, lcoef, tcoef, a, lmean, b, tmean)
    loads = (u, zv, known_v, v_in, vt, bu, bv)
    return lp, scalars, sds, rows, loads, sig, ex, tau


@numba.njit(cache=True, error_model="numpy")
def _bias_backward(
    theta, fl, ints, grad, side, db, mean, isig, gsig, share, scale, offsets, coef, xs, dxs
):  # pragma: no cover
    """Back-propagate the gradient ``db`` of one side's biases; returns d(shift)."""
    if side == 0:
        n_rows, n_feat, n_groups = ints[H_L], ints[H_F], ints[H_NFAM]
        groups, pos, cen = ints[H_FAM], ints[H_LPOS], ints[H_LCEN]
        b_scale, b_share, b_raw, b_coef = (
            ints[B_LSCALE],
            ints[B_FAM_BSHARE],
            ints[B_FAM_RAW],
            ints[B_LCOEF],
        )
        k_scale, k_share, k_coef = P_LLM_SCALE, P_FAM_BSHARE, P_LLM_COEF
    else:
        n_rows, n_feat, n_groups = ints[H_T], ints[H_G], ints[H_NCAT]
        groups, pos, cen = ints[H_CAT], ints[H_TPOS], ints[H_TCEN]
        b_scale, b_share, b_raw, b_coef = (
            ints[B_TSCALE],
            ints[B_CAT_BSHARE],
            ints[B_CAT_RAW],
            ints[B_TCOEF],
        )
        k_scale, k_share, k_coef = P_TASK_SCALE, P_CAT_BSHARE, P_TASK_COEF
    d_isig = 0.0
    d_shift = 0.0
    dmean = np.empty(n_rows)
    for r in range(n_rows):
        v = theta[ints[pos + r]]
        d_shift -= db[r]
        if ints[cen + r]:
            zz = (v - mean[r]) / isig
            grad[ints[pos + r]] += db[r] - zz / isig
            dmean[r] = zz / isig
            d_isig += zz * zz / isig - 1.0 / isig
        else:
            grad[ints[pos + r]] += db[r] * isig
            d_isig += db[r] * v
            dmean[r] = db[r]
        d_shift += dmean[r]
    d_gsig = 0.0
    if n_groups:
        dg = np.zeros(n_groups)
        for r in range(n_rows):
            dg[ints[groups + r]] += dmean[r]
        for g in range(n_groups):
            d_gsig += dg[g] * offsets[g]
            dg[g] *= gsig
        _zerosum_adjoint(dg, grad, b_raw)
        # isig = scale sqrt(1 - share), gsig = scale sqrt(share)
        sq, sq1 = math.sqrt(share), math.sqrt(1.0 - share)
        d_scale = d_isig * sq1 + d_gsig * sq
        d_share = -d_isig * scale * 0.5 / sq1 + d_gsig * scale * 0.5 / sq
        grad[b_share] += d_share * _chain(fl, ints, k_share, share)
    else:
        d_scale = d_isig
    grad[b_scale] += d_scale * _chain(fl, ints, k_scale, scale)
    for j in range(n_feat):
        acc = 0.0
        for r in range(n_rows):
            acc += dmean[r] * xs[r, j]
            dxs[r, j] += dmean[r] * coef[j]
        grad[b_coef + j] += acc * _chain(fl, ints, k_coef, coef[j])
    return d_shift


@numba.njit(cache=True, error_model="numpy")
def logp_grad(
    theta: np.ndarray, grad: np.ndarray, fl: np.ndarray, ints: np.ndarray
) -> float:  # pragma: no cover
    """Log density at ``theta`` (PyMC's, constants included); writes its gradient into ``grad``."""
    n_obs, n_llm, n_task, rank = ints[H_N], ints[H_L], ints[H_T], ints[H_K]
    n_lf, n_tf, n_fam, n_cat = ints[H_F], ints[H_G], ints[H_NFAM], ints[H_NCAT]
    student, binomial = ints[H_LIK] == 1, ints[H_SCAL] == 1
    floor = fl[ints[H_NFLOOR]]
    for i in range(grad.shape[0]):
        grad[i] = 0.0
    lp, scalars, sds, rows, loads, sig, ex, tau = _forward(theta, fl, ints, grad)
    a0, lscale, tscale, fbshare, cbshare, nmu, ntau, nu, fshare, cshare, scale, lns, csh = scalars
    lsig, fsig, tsig, csig = sds
    xl, xt, fam_off, cat_off, lcoef, tcoef, a, lmean, b, tmean = rows
    u, zv, _, v_in, vt, bu, bv = loads
    fam, cat = ints[H_FAM], ints[H_CAT]

    dxl = np.zeros((n_llm, n_lf))
    dxt = np.zeros((n_task, n_tf))
    lp += _network(theta, xl, ints, 0, grad, dxl)
    lp += _network(theta, xt, ints, 1, grad, dxt)

    # ---- likelihood of the observed cells ---------------------------------------
    li, ti, ys, chance = ints[H_LI], ints[H_TI], ints[H_Y], ints[H_CHANCE]
    da = np.zeros(n_llm)
    db = np.zeros(n_task)
    du = np.zeros((n_llm, rank))
    dv = np.zeros((n_task, rank))
    dsig = np.zeros(n_task)
    dltau = np.zeros(n_llm)
    dcsh = 0.0
    da0 = 0.0
    dnu = 0.0
    c_nu = dc_nu = 0.0
    if student:
        c_nu = math.lgamma(0.5 * (nu + 1.0)) - math.lgamma(0.5 * nu) - 0.5 * math.log(nu * math.pi)
        dc_nu = 0.5 * _digamma(0.5 * (nu + 1.0)) - 0.5 * _digamma(0.5 * nu) - 0.5 / nu
    for n in range(n_obs):
        r, t = ints[li + n], ints[ti + n]
        eta = a0 + a[r] + b[t]
        for k in range(rank):
            eta += u[r, k] * vt[t, k]
        p = 1.0 / (1.0 + math.exp(-eta))
        gch = csh * fl[chance + t]
        m = gch + (1.0 - gch) * p
        s2 = sig[t] * sig[t]
        if binomial:
            q = 4.0 * m * (1.0 - m)
            var = floor * floor + (s2 - floor * floor) * q
            dvar_dm = (s2 - floor * floor) * 4.0 * (1.0 - 2.0 * m)
            dvar_ds = 2.0 * sig[t] * q
        else:
            var = s2
            dvar_dm = 0.0
            dvar_ds = 2.0 * sig[t]
        t2 = tau[r] * tau[r]
        var *= t2
        dvar_dm *= t2
        dvar_ds *= t2
        resid = fl[ys + n] - m
        if student:
            sd = math.sqrt(var)
            z2 = resid * resid / var
            lp += c_nu - 0.5 * math.log(var) - 0.5 * (nu + 1.0) * math.log1p(z2 / nu)
            dm = (nu + 1.0) * resid / (nu * var + resid * resid)
            dsd = -1.0 / sd + (nu + 1.0) * z2 / (sd * (nu + z2))
            dvar = dsd / (2.0 * sd)
            dnu += dc_nu - 0.5 * math.log1p(z2 / nu) + 0.5 * (nu + 1.0) * z2 / (nu * (nu + z2))
        else:
            lp += -0.5 * LOG_2PI - 0.5 * math.log(var) - 0.5 * resid * resid / var
            dm = resid / var
            dvar = 0.5 * resid * resid / (var * var) - 0.5 / var
        dm += dvar * dvar_dm
        dcsh += dm * fl[chance + t] * (1.0 - p)
        deta = dm * (1.0 - gch) * p * (1.0 - p)
        dsig[t] += dvar * dvar_ds
        dltau[r] += 2.0 * dvar * var
        da0 += deta
        da[r] += deta
        db[t] += deta
        for k in range(rank):
            du[r, k] += deta * vt[t, k]
            dv[t, k] += deta * u[r, k]

    # ---- back-propagation ------------------------------------------------------------
    if student:
        grad[ints[B_NU]] += dnu * _chain(fl, ints, P_NU, nu)
    npos, ncen = ints[H_NPOS], ints[H_NCEN]
    dmu = 0.0
    dtau = 0.0
    for t in range(n_task):
        e = dsig[t] * ex[t]
        v = theta[ints[npos + t]]
        if ints[ncen + t]:
            zz = (v - nmu) / ntau
            grad[ints[npos + t]] += e - zz / ntau
            dmu += zz / ntau
            dtau += zz * zz / ntau - 1.0 / ntau
        else:
            dmu += e
            dtau += e * v
            grad[ints[npos + t]] += e * ntau
    if ints[B_CSH] >= 0:
        grad[ints[B_CSH]] += dcsh * _chain(fl, ints, P_CHANCE_SHARE, csh)
    if ints[B_LNSIG] >= 0:
        off = ints[B_LNOFF]
        dlns = 0.0
        for r in range(n_llm):
            grad[off + r] += dltau[r] * lns
            dlns += dltau[r] * theta[off + r]
        grad[ints[B_LNSIG]] += dlns * _chain(fl, ints, P_LLM_NOISE, lns)
    grad[ints[B_NMU]] += dmu * _chain(fl, ints, P_NOISE_MU, nmu)
    grad[ints[B_NLSIG]] += dtau * _chain(fl, ints, P_NOISE_SIGMA, ntau)

    if rank:
        zu, zidx = ints[B_ZU], ints[H_ZVIDX]
        sf, sf1 = math.sqrt(fshare), math.sqrt(1.0 - fshare)
        sc, sc1 = (math.sqrt(cshare), math.sqrt(1.0 - cshare)) if n_cat else (0.0, 1.0)
        dknown = np.zeros((n_task, rank))
        dsc1 = 0.0
        dscale = 0.0
        for t in range(n_task):
            for k in range(rank):
                i = ints[zidx + t * rank + k]
                if i < 0:
                    continue  # the composite is identically zero there: no gradient
                dscale += dv[t, k] * v_in[t, k]
                din = dv[t, k] * scale
                dknown[t, k] += din
                grad[i] += din * sc1
                dsc1 += din * zv[t, k]
        # Anchor potential: solved entries' prior and the section's Jacobian.
        n_anchor = ints[H_NANCHOR]
        n_c = 0
        for k in range(n_anchor):
            a_k = ints[ints[H_ANCHOR] + k]
            for j in range(k + 1, rank):
                z = zv[a_k, j]  # = -known / sc1
                dknown[a_k, j] += z / sc1
                dsc1 += z * z / sc1
                n_c += 1
            e = rank - 1 - k
            comp = v_in[a_k, k]
            dknown[a_k, k] += e / comp
            grad[ints[zidx + a_k * rank + k]] += e * sc1 / comp
            dsc1 += e * zv[a_k, k] / comp
        dsc1 -= n_c / sc1
        grad[ints[B_VSCALE]] += dscale * _chain(fl, ints, P_SCALE, scale)
        dsc = 0.0
        for t in range(n_task):
            for k in range(rank):
                d = dknown[t, k]
                if n_cat:
                    gpos = ints[B_GV] + ints[cat + t] * rank + k
                    dsc += d * theta[gpos]
                    grad[gpos] += d * sc
                for j in range(n_tf):
                    grad[ints[B_BV] + j * rank + k] += (
                        d * xt[t, j] * _chain(fl, ints, P_TASK_LCOEF, bv[j, k])
                    )
                    dxt[t, j] += d * bv[j, k]
        if n_cat:
            ds = dsc * 0.5 / sc - dsc1 * 0.5 / sc1
            grad[ints[B_CSHARE]] += ds * _chain(fl, ints, P_CAT_SHARE, cshare)
        dsf = dsf1 = 0.0
        for r in range(n_llm):
            for k in range(rank):
                dd = du[r, k]
                if n_fam:
                    gpos = ints[B_GU] + ints[fam + r] * rank + k
                    dsf += dd * theta[gpos]
                    dsf1 += dd * theta[zu + r * rank + k]
                    grad[gpos] += dd * sf
                    grad[zu + r * rank + k] += dd * sf1
                else:
                    grad[zu + r * rank + k] += dd
                for j in range(n_lf):
                    grad[ints[B_BU] + j * rank + k] += (
                        dd * xl[r, j] * _chain(fl, ints, P_LLM_LCOEF, bu[j, k])
                    )
                    dxl[r, j] += dd * bu[j, k]
        if n_fam:
            ds = dsf * 0.5 / sf - dsf1 * 0.5 / sf1
            grad[ints[B_FSHARE]] += ds * _chain(fl, ints, P_FAM_SHARE, fshare)

    _bias_backward(
        theta, fl, ints, grad, 0, da, lmean, lsig, fsig, fbshare, lscale, fam_off, lcoef, xl, dxl
    )
    da0 += _bias_backward(
        theta, fl, ints, grad, 1, db, tmean, tsig, csig, cbshare, tscale, cat_off, tcoef, xt, dxt
    )
    grad[ints[B_INT]] += da0 * _chain(fl, ints, P_INTERCEPT, a0)
    _imputed_grad(xl, dxl, ints, 0, grad, fl)
    _imputed_grad(xt, dxt, ints, 1, grad, fl)
    return lp


@numba.njit(cache=True, error_model="numpy")
def _put(out: np.ndarray, pos: int, values: np.ndarray) -> int:  # pragma: no cover
    flat = values.ravel()
    for i in range(flat.shape[0]):
        out[pos + i] = flat[i]
    return pos + flat.shape[0]


@numba.njit(cache=True, error_model="numpy")
def _put1(out: np.ndarray, pos: int, value: float) -> int:  # pragma: no cover
    out[pos] = value
    return pos + 1


@numba.njit(cache=True, error_model="numpy")
def expand_into(
    theta: np.ndarray, fl: np.ndarray, ints: np.ndarray, out: np.ndarray
) -> None:  # pragma: no cover
    """Write every named quantity of ``theta`` into ``out`` (the order of ``KernelData.outputs``)."""
    scratch = np.zeros(theta.shape[0])
    _, scalars, sds, rows, loads, sig, _, tau = _forward(theta, fl, ints, scratch)
    a0, lscale, tscale, fbshare, cbshare, nmu, ntau, nu, fshare, cshare, scale, lns, csh = scalars
    lsig, fsig, tsig, csig = sds
    xl, xt, fam_off, cat_off, lcoef, tcoef, a, _, b, _ = rows
    u, zv, _, _, vt, bu, bv = loads
    n_llm, n_task, rank = ints[H_L], ints[H_T], ints[H_K]
    n_lf, n_tf, n_fam, n_cat = ints[H_F], ints[H_G], ints[H_NFAM], ints[H_NCAT]
    pos = _put1(out, 0, a0)
    for side in range(2):
        x = xl if side == 0 else xt
        n_feat = n_lf if side == 0 else n_tf
        net = ints[H_LNET] if side == 0 else ints[H_TNET]
        xoff = ints[H_XL] if side == 0 else ints[H_XT]
        for j in range(n_feat):
            pos = _put1(out, pos, theta[ints[net + j]])
            if j:
                pos = _put(out, pos, theta[ints[net + n_feat + j] : ints[net + n_feat + j] + j])
            pos = _put1(out, pos, math.exp(theta[ints[net + 2 * n_feat + j]]))
            start = ints[net + 3 * n_feat + j]
            if start >= 0:
                n_miss = 0
                for r in range(x.shape[0]):
                    if math.isnan(fl[xoff + r * n_feat + j]):
                        n_miss += 1
                pos = _put(out, pos, theta[start : start + n_miss])
                pos = _put(out, pos, np.ascontiguousarray(x[:, j]))
        if n_feat:
            pos = _put(out, pos, np.ascontiguousarray(x))
    for side in range(2):
        n_groups = n_fam if side == 0 else n_cat
        n_feat = n_lf if side == 0 else n_tf
        n_rows = n_llm if side == 0 else n_task
        pos = _put1(out, pos, lscale if side == 0 else tscale)
        if n_groups:
            gsig = fsig if side == 0 else csig
            goff = fam_off if side == 0 else cat_off
            pos = _put1(out, pos, fbshare if side == 0 else cbshare)
            pos = _put1(out, pos, gsig)
            pos = _put(out, pos, goff[:n_groups])
            pos = _put(out, pos, gsig * goff[:n_groups])
        pos = _put1(out, pos, lsig if side == 0 else tsig)
        if n_feat:
            pos = _put(out, pos, (lcoef if side == 0 else tcoef)[:n_feat])
        bpos = ints[H_LPOS] if side == 0 else ints[H_TPOS]
        cen = ints[H_LCEN] if side == 0 else ints[H_TCEN]
        for flag in range(2):  # non-centered offsets, then centered values
            for r in range(n_rows):
                if ints[cen + r] == flag:
                    pos = _put1(out, pos, theta[ints[bpos + r]])
        pos = _put(out, pos, a if side == 0 else b)
    if rank:
        pos = _put(out, pos, theta[ints[B_ZU] : ints[B_ZU] + n_llm * rank])
        if n_fam:
            pos = _put1(out, pos, fshare)
            pos = _put(out, pos, theta[ints[B_GU] : ints[B_GU] + n_fam * rank])
        if n_lf:
            pos = _put(out, pos, np.ascontiguousarray(bu[:n_lf]))
        pos = _put(out, pos, u)
        if ints[H_NANCHOR]:
            zidx = ints[H_ZVIDX]
            for i in range(n_task * rank):
                if ints[zidx + i] >= 0:
                    pos = _put1(out, pos, theta[ints[zidx + i]])
        pos = _put(out, pos, zv)
        if n_cat:
            pos = _put1(out, pos, cshare)
            pos = _put(out, pos, theta[ints[B_GV] : ints[B_GV] + n_cat * rank])
        if n_tf:
            pos = _put(out, pos, np.ascontiguousarray(bv[:n_tf]))
        pos = _put1(out, pos, scale)
        pos = _put(out, pos, vt)
    if ints[B_CSH] >= 0:
        pos = _put1(out, pos, csh)
    pos = _put1(out, pos, nmu)
    pos = _put1(out, pos, ntau)
    npos, ncen = ints[H_NPOS], ints[H_NCEN]
    for flag in range(2):  # non-centered offsets, then centered log excesses
        for t in range(n_task):
            if ints[ncen + t] == flag:
                pos = _put1(out, pos, theta[ints[npos + t]])
    pos = _put(out, pos, sig)
    if ints[B_LNSIG] >= 0:
        pos = _put1(out, pos, lns)
        pos = _put(out, pos, theta[ints[B_LNOFF] : ints[B_LNOFF] + n_llm])
        pos = _put(out, pos, tau)
    if ints[H_LIK] == 1:
        pos = _put1(out, pos, nu)


# ------------------------------------------------ C callbacks for nutpie (cached)
@numba.extending.intrinsic
def _as_pointer(typingctx, address):  # pragma: no cover
    """A void pointer from an integer address (numba has no builtin for it)."""
    from numba.core import cgutils

    sig = numba.types.voidptr(address)

    def codegen(context, builder, signature, args):
        return builder.inttoptr(args[0], cgutils.voidptr_t)

    return sig, codegen


@numba.njit(cache=True, error_model="numpy")
def _unpack(user_data):  # pragma: no cover
    header = numba.carray(user_data, (4,), np.int64)
    fl = numba.carray(_as_pointer(header[0]), (header[1],), np.float64)
    ints = numba.carray(_as_pointer(header[2]), (header[3],), np.int64)
    return fl, ints


_LOGP_SIG = numba.types.int64(
    numba.types.uint64,
    numba.types.CPointer(numba.types.double),
    numba.types.CPointer(numba.types.double),
    numba.types.CPointer(numba.types.double),
    numba.types.voidptr,
)
_EXPAND_SIG = numba.types.int64(
    numba.types.uint64,
    numba.types.uint64,
    numba.types.CPointer(numba.types.double),
    numba.types.CPointer(numba.types.double),
    numba.types.voidptr,
)


@numba.cfunc(_LOGP_SIG, cache=True, error_model="numpy")
def logp_cfunc(dim, x_, out_, logp_, user_data):  # pragma: no cover
    """The logp callback nutpie calls: 0 on success, 3/4 for a non-finite gradient/logp."""
    fl, ints = _unpack(user_data)
    x = numba.carray(x_, (dim,))
    out = numba.carray(out_, (dim,))
    logp = numba.carray(logp_, ())
    value = logp_grad(x, out, fl, ints)
    logp[()] = value
    for i in range(dim):
        if not math.isfinite(out[i]):
            return 3
    if not math.isfinite(value):
        return 4
    return 0


@numba.cfunc(_EXPAND_SIG, cache=True, error_model="numpy")
def expand_cfunc(dim, expanded, x_, out_, user_data):  # pragma: no cover
    """The expand callback nutpie calls: every named quantity of a draw."""
    fl, ints = _unpack(user_data)
    x = numba.carray(x_, (dim,))
    out = numba.carray(out_, (expanded,))
    expand_into(x, fl, ints, out)
    return 0


def expand(data: KernelData, theta: np.ndarray) -> dict[str, np.ndarray]:
    """Named quantities of unconstrained draws ``theta`` ``(..., n_dim)``, each ``(..., *shape)``."""
    flat = np.asarray(theta, dtype=float).reshape(-1, data.n_dim)
    out = np.empty((flat.shape[0], data.n_expanded))
    for i in range(flat.shape[0]):
        expand_into(np.ascontiguousarray(flat[i]), data.floats, data.ints, out[i])
    lead = np.shape(theta)[:-1]
    result, pos = {}, 0
    for name, _, shape in data.outputs:
        size = int(np.prod(shape, dtype=int))
        result[name] = out[:, pos : pos + size].reshape((*lead, *shape))
        pos += size
    return result
