"""Dimension names, posterior variable names and interval constants used everywhere.

One place for the vocabulary so that data, graph, predictor, diagnostics and
persistence agree. The LLM axis is ``llm`` (never ``model``: that collides with
``pm.Model`` and with ArviZ's model-comparison dimension).

The two sides of the factorization (LLM rows and task columns) are built from
the same pieces; :data:`LLM_SIDE` and :data:`TASK_SIDE` name them, and every
module that reads the posterior goes through these names (a renamed graph
variable without an entry here fails ``tests/test_names.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

LLM: Final = "llm"
TASK: Final = "task"
LATENT: Final = "latent"
LLM_FEATURE: Final = "llm_feature"
TASK_FEATURE: Final = "task_feature"
OBS: Final = "obs"
FAMILY: Final = "family"
CATEGORY: Final = "category"
SAMPLE_DIMS: Final = ("chain", "draw")

#: Interval probability used by every summary unless the caller passes one.
#: ArviZ 1.x defaults to 0.89 ETI; we never rely on its global rcParams.
CI_PROB: Final = 0.9
#: Interval kind used by every summary unless the caller passes one.
CI_KIND: Final = "eti"
#: Nested equal-tailed bands drawn by every figure of :mod:`bayes_cpp.plotting`.
BAND_PROBS: Final = (0.5, 0.9)

SideName = Literal["llm", "task"]

#: The one free loading scale (task side).
TASK_LOADING_SCALE: Final = "task_loading_sigma"


@dataclass(frozen=True)
class Side:
    """Names of one side of the model: LLM rows or task columns.

    Both sides have the same structure (a group level, a design-factor
    regression with imputed missing factors, an individual offset, for the
    bias and for the loading); only the names differ, and only the task side
    carries a free loading scale (``U V^T = (cU)(V/c)^T``).
    """

    name: SideName
    dim: str
    group_dim: str
    feature_dim: str
    features: str
    bias: str
    bias_offset: str
    bias_centered: str
    bias_scale: str
    bias_sigma: str
    bias_coef: str
    group_bias: str
    group_bias_offset: str
    group_bias_share: str
    group_bias_sigma: str
    loading: str
    loading_offset: str
    loading_offset_free: str
    loading_anchor: str
    loading_coef: str
    group_loading_offset: str
    group_loading_share: str
    loading_scale: str | None

    @property
    def other(self) -> Side:
        """The opposite side."""
        return TASK_SIDE if self.name == LLM else LLM_SIDE

    def feature_var(self, part: Literal["mean", "coef", "sd", "value"], j: int) -> str:
        """Name of the ``j``-th feature's imputation-network variable."""
        return f"{self.features}_{j}" if part == "value" else f"{self.features}_{part}_{j}"

    def feature_vars(self, n_features: int) -> list[str]:
        """Posterior variables of the imputation network of ``n_features`` features."""
        out = []
        for j in range(n_features):
            out.append(self.feature_var("mean", j))
            if j:
                out.append(self.feature_var("coef", j))
            out.append(self.feature_var("sd", j))
        return out


LLM_SIDE: Final = Side(
    name="llm",
    dim=LLM,
    group_dim=FAMILY,
    feature_dim=LLM_FEATURE,
    features="llm_x",
    bias="llm_bias",
    bias_offset="llm_bias_offset",
    bias_centered="llm_bias_centered",
    bias_scale="llm_bias_scale",
    bias_sigma="llm_bias_sigma",
    bias_coef="llm_bias_coef",
    group_bias="family_bias",
    group_bias_offset="family_bias_offset",
    group_bias_share="family_bias_share",
    group_bias_sigma="family_bias_sigma",
    loading="llm_loading",
    loading_offset="llm_loading_offset",
    loading_offset_free="llm_loading_offset_free",
    loading_anchor="llm_loading_anchor",
    loading_coef="llm_loading_coef",
    group_loading_offset="family_loading_offset",
    group_loading_share="family_loading_share",
    loading_scale=None,
)
TASK_SIDE: Final = Side(
    name="task",
    dim=TASK,
    group_dim=CATEGORY,
    feature_dim=TASK_FEATURE,
    features="task_x",
    bias="task_bias",
    bias_offset="task_bias_offset",
    bias_centered="task_bias_centered",
    bias_scale="task_bias_scale",
    bias_sigma="task_bias_sigma",
    bias_coef="task_bias_coef",
    group_bias="category_bias",
    group_bias_offset="category_bias_offset",
    group_bias_share="category_bias_share",
    group_bias_sigma="category_bias_sigma",
    loading="task_loading",
    loading_offset="task_loading_offset",
    loading_offset_free="task_loading_offset_free",
    loading_anchor="task_loading_anchor",
    loading_coef="task_loading_coef",
    group_loading_offset="category_loading_offset",
    group_loading_share="category_loading_share",
    loading_scale=TASK_LOADING_SCALE,
)
SIDES: Final = {LLM: LLM_SIDE, TASK: TASK_SIDE}


def side(name: str) -> Side:
    """The :class:`Side` called ``name`` (``"llm"`` or ``"task"``)."""
    try:
        return SIDES[name]
    except KeyError:
        raise ValueError(f"side must be 'llm' or 'task', not {name!r}") from None


# Global posterior variables.
INTERCEPT: Final = "intercept"
SIGMA: Final = "sigma"
NOISE_LOG_MU: Final = "noise_log_mu"
NOISE_LOG_SIGMA: Final = "noise_log_sigma"
NOISE_OFFSET: Final = "noise_offset"
#: log(sigma - noise_floor) of well-observed tasks (centered, bayes_cpp.inputs).
NOISE_CENTERED: Final = "noise_log_excess"
NOISE_NU: Final = "noise_nu"
#: Share of each task's chance level that floors its mean (spec ``chance_share``).
CHANCE_SHARE: Final = "chance_share"
#: Per-LLM noise multiplier ``exp(llm_noise_sigma * llm_noise_offset)`` (spec ``llm_noise``).
LLM_NOISE: Final = "llm_noise"
LLM_NOISE_OFFSET: Final = "llm_noise_offset"
LLM_NOISE_SIGMA: Final = "llm_noise_sigma"
#: The likelihood's observed variable (unit scores of observed cells).
SCORE: Final = "score"
#: Data containers of the graph.
LLM_INDEX: Final = "llm_index"
TASK_INDEX: Final = "task_index"
CHANCE: Final = "chance"

#: Quantities the likelihood identifies (convergence is judged on these plus
#: the linear predictor of observed cells); loadings are rotation-ambiguous.
IDENTIFIED: Final = (
    INTERCEPT,
    LLM_SIDE.bias,
    TASK_SIDE.bias,
    LLM_SIDE.group_bias,
    TASK_SIDE.group_bias,
    SIGMA,
    LLM_SIDE.bias_coef,
    TASK_SIDE.bias_coef,
    LLM_SIDE.bias_scale,
    TASK_SIDE.bias_scale,
    LLM_SIDE.group_bias_share,
    TASK_SIDE.group_bias_share,
    LLM_SIDE.group_loading_share,
    TASK_SIDE.group_loading_share,
    TASK_LOADING_SCALE,
    NOISE_LOG_MU,
    NOISE_LOG_SIGMA,
    NOISE_NU,
    LLM_NOISE,
    LLM_NOISE_SIGMA,
    CHANCE_SHARE,
)


def model_variables() -> set[str]:
    """Every named variable of the graph except the imputation network's."""
    names = {INTERCEPT, SIGMA, NOISE_LOG_MU, NOISE_LOG_SIGMA, NOISE_OFFSET, NOISE_CENTERED}
    names |= {NOISE_NU, SCORE, LLM_NOISE, LLM_NOISE_OFFSET, LLM_NOISE_SIGMA, CHANCE_SHARE}
    names |= {LLM_INDEX, TASK_INDEX, CHANCE}
    for s in (LLM_SIDE, TASK_SIDE):
        names |= {
            s.features,
            s.bias,
            s.bias_offset,
            s.bias_scale,
            s.bias_sigma,
            s.bias_coef,
            s.group_bias,
            s.group_bias_offset,
            s.group_bias_share,
            s.group_bias_sigma,
            s.loading,
            s.loading_offset,
            s.loading_coef,
            s.group_loading_offset,
            s.group_loading_share,
        }
        if s.loading_scale:
            names.add(s.loading_scale)
    # Only the task side carries the rotation anchor (see bayes_cpp.graph).
    # Only task biases are ever centered (by data size, bayes_cpp.inputs).
    names |= {TASK_SIDE.loading_offset_free, TASK_SIDE.loading_anchor, TASK_SIDE.bias_centered}
    return names


#: Narrowest and widest central interval that keeps distinct, labelled quantiles
#: (``percent_label`` prints six decimals of a percent).
MIN_INTERVAL_PROB: Final = 1e-6


def interval_bounds(prob: float) -> tuple[float, float]:
    """Lower and upper quantile of the central ``prob`` interval (``0.9 -> 0.05, 0.95``).

    Raises
    ------
    ValueError
        If ``prob`` is not in ``[1e-6, 1 - 1e-6]``: outside it the two quantiles
        round to the same label (or to the sample's minimum and maximum).

    Examples
    --------
    >>> interval_bounds(0.9)
    (0.05, 0.95)
    """
    p = float(prob)
    if not MIN_INTERVAL_PROB <= p <= 1.0 - MIN_INTERVAL_PROB:
        raise ValueError(
            f"interval probability {prob!r} is outside [{MIN_INTERVAL_PROB:g}, "
            f"{1.0 - MIN_INTERVAL_PROB:.6f}]; pass e.g. 0.9 for a 90% interval"
        )
    return round(0.5 - p / 2.0, 10), round(0.5 + p / 2.0, 10)


def percent_label(q: float) -> str:
    """Percent-style column name of the quantile ``q`` (``0.05 -> "5%"``).

    Examples
    --------
    >>> [percent_label(q) for q in (0.05, 0.25, 0.975)]
    ['5%', '25%', '97.5%']
    """
    return f"{round(100.0 * q, 6):g}%"
