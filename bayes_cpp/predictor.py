"""The prediction engine: posterior draws -> unit-scale predictive distributions.

A :class:`Predictor` holds the flattened posterior draws of one fit and the
few constants the equations need (spec, chance levels of the fitted tasks,
whether the fit had a family / category level). It works on positions and the
unit scale only; names, units and labels are the estimator's business
(:class:`bayes_cpp.BayesCPP`), so evaluation, model selection and the
workflows can use it without reaching into the estimator.

Known cells reuse the sampled biases, loadings and noise. A newcomer (a new
LLM row or a new task column, described by a :class:`Newcomer`) gets, per
posterior draw, a Gaussian prior for its row ``theta = (bias, loading)``
implied by the hierarchy and its design factors (a new family or category
adds its population variance; missing factors are imputed from the fitted
feature network). Everything on that way is linear-Gaussian given one draw,
so the prior is exactly Gaussian per draw. Observed scores of the newcomer are
conditioned on per draw with elliptical slice sampling (Murray, Adams &
MacKay 2010), which is exact for a Gaussian prior times any likelihood: no
refit of the rest of the model is needed.

Both sides are handled by one code path driven by :class:`bayes_cpp.dims.Side`;
the only asymmetry is that noise sd and chance level belong to tasks.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xarray as xr

from bayes_cpp import dims, equations
from bayes_cpp.dims import LLM_SIDE, TASK_SIDE, Side
from bayes_cpp.exceptions import IncompatibleFileError

__all__ = [
    "Draws",
    "NewRowPrior",
    "Newcomer",
    "Predictor",
    "condition_new_row",
    "new_row_prior",
]


def _need(rng: np.random.Generator | None) -> np.random.Generator:
    if rng is None:
        raise ValueError("a population draw needs a random generator")
    return rng


@dataclass(frozen=True)
class Draws:
    """Posterior draws flattened to one sample axis ``S = chain * draw``."""

    n_chain: int
    n_draw: int
    values: dict[str, np.ndarray]

    @classmethod
    def from_posterior(
        cls, posterior: xr.Dataset, required: Sequence[str], optional: Sequence[str] = ()
    ) -> Draws:
        """Extract ``required`` and ``optional`` variables with the sample axis first.

        Raises
        ------
        IncompatibleFileError
            When a required variable is missing (a posterior from another
            spec or version, or a graph variable renamed without updating
            :mod:`bayes_cpp.dims`).
        """
        missing = [n for n in required if n not in posterior]
        if missing:
            raise IncompatibleFileError(
                f"the posterior lacks {', '.join(repr(m) for m in missing)}, which this model's "
                "predictions need; refit with this version of bayes_cpp"
            )
        n_chain, n_draw = posterior.sizes["chain"], posterior.sizes["draw"]
        values = {}
        for name in [*required, *optional]:
            if name in posterior and name not in values:
                da = posterior[name]
                order = ["chain", "draw", *[d for d in da.dims if d not in dims.SAMPLE_DIMS]]
                arr = da.transpose(*order).to_numpy()
                values[name] = arr.reshape(n_chain * n_draw, *arr.shape[2:])
        return cls(n_chain, n_draw, values)

    @property
    def n_samples(self) -> int:
        """Number of flattened samples."""
        return self.n_chain * self.n_draw

    def get(self, name: str, default: float | None = None) -> np.ndarray:
        """Draws of ``name``; a scalar default broadcast to ``(S,)`` if absent."""
        if name in self.values:
            return self.values[name]
        if default is None:
            raise KeyError(name)
        return np.full(self.n_samples, default)

    def unflatten(self, arr: np.ndarray) -> np.ndarray:
        """Reshape a leading ``S`` axis back into ``(chain, draw)``."""
        return arr.reshape(self.n_chain, self.n_draw, *arr.shape[1:])


@dataclass(frozen=True)
class NewRowPrior:
    """Per-draw Gaussian prior of a new row ``theta = (bias, loading_1..K)``.

    ``mean`` is ``(S, 1 + K)``; ``sample_centered(rng)`` returns a centered
    draw of the same shape (linear in standard normals, so the prior is
    Gaussian). ``cov()`` is its ``(S, 1 + K, 1 + K)`` covariance.
    """

    mean: np.ndarray
    sample_centered: Callable[[np.random.Generator], np.ndarray]
    cov: Callable[[], np.ndarray] = field(repr=False, default=lambda: np.empty(0))


def condition_new_row(
    prior: NewRowPrior,
    loglik: Callable[[np.ndarray, np.ndarray], np.ndarray],
    rng: np.random.Generator,
    *,
    n_iter: int = 40,
    max_shrink: int = 40,
) -> np.ndarray:
    """Condition a new row on its observed scores, one chain per posterior draw.

    Vectorised elliptical slice sampling (Murray, Adams & MacKay 2010):
    ``loglik(theta, rows)`` maps the states ``(m, 1 + K)`` of the chains
    ``rows`` (positions among the ``S`` draws) to ``(m,)``. Starts from a prior
    draw; returns the state after ``n_iter`` transitions. Each shrinking step
    evaluates only the chains still searching (about a fifth of them on
    average), while the random stream is that of evaluating every chain.

    Examples
    --------
    A flat likelihood leaves the prior unchanged:

    >>> prior = NewRowPrior(np.zeros((3, 1)), lambda rng: rng.standard_normal((3, 1)))
    >>> flat = lambda theta, rows: np.zeros(len(rows))
    >>> condition_new_row(prior, flat, np.random.default_rng(0)).shape
    (3, 1)
    """
    theta = prior.mean + prior.sample_centered(rng)
    n = theta.shape[0]
    every = np.arange(n)
    current = loglik(theta, every)
    for _ in range(n_iter):
        nu = prior.sample_centered(rng)
        log_y = current + np.log(rng.random(n))
        phi = rng.uniform(0.0, 2.0 * np.pi, n)
        lo, hi = phi - 2.0 * np.pi, phi.copy()
        f0 = theta - prior.mean
        rows = every
        for _ in range(max_shrink):
            angle = phi[rows]
            proposal = (
                prior.mean[rows]
                + f0[rows] * np.cos(angle)[:, None]
                + nu[rows] * np.sin(angle)[:, None]
            )
            ll = loglik(proposal, rows)
            accept = ll > log_y[rows]
            theta[rows[accept]] = proposal[accept]
            current[rows[accept]] = ll[accept]
            rows, angle = rows[~accept], angle[~accept]
            if not len(rows):
                break
            below = angle < 0
            lo[rows[below]] = angle[below]
            hi[rows[~below]] = angle[~below]
            # Drawn for every chain so the stream does not depend on which are done.
            phi[rows] = rng.uniform(lo, hi)[rows]
    return theta


def _feature_gaussian(draws: Draws, side: Side, n_feat: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean ``(S, F)`` and covariance ``(S, F, F)`` of the fitted feature network."""
    s = draws.n_samples
    m = np.zeros((s, n_feat))
    sd = np.ones((s, n_feat))
    c = np.zeros((s, n_feat, n_feat))
    for j in range(n_feat):
        m[:, j] = draws.get(side.feature_var("mean", j), 0.0)
        sd[:, j] = draws.get(side.feature_var("sd", j), 1.0)
        if j and side.feature_var("coef", j) in draws.values:
            c[:, j, :j] = draws.values[side.feature_var("coef", j)]
    a = np.linalg.inv(np.eye(n_feat)[None] - c)
    mean = np.einsum("sij,sj->si", a, m)
    cov = np.einsum("sij,sj,skj->sik", a, sd**2, a)
    return mean, cov


def _imputation(draws: Draws, side: Side, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Conditional mean ``(S, F)`` of the features and a ``(S, F, F)`` factor ``L``.

    Observed entries are fixed; missing ones get the Gaussian conditional, so
    ``x = mean + L e`` with ``e ~ N(0, I)``.
    """
    n_feat = x.shape[0]
    s = draws.n_samples
    miss = np.isnan(x)
    mean = np.broadcast_to(np.where(miss, 0.0, x), (s, n_feat)).copy()
    factor = np.zeros((s, n_feat, n_feat))
    if not miss.any():
        return mean, factor
    mu, cov = _feature_gaussian(draws, side, n_feat)
    o, m = np.flatnonzero(~miss), np.flatnonzero(miss)
    if len(o):
        soo = cov[:, o][:, :, o]
        smo = cov[:, m][:, :, o]
        gain = np.linalg.solve(soo, np.swapaxes(smo, 1, 2)).swapaxes(1, 2)
        mean[:, m] = mu[:, m] + np.einsum("smo,so->sm", gain, x[o][None] - mu[:, o])
        cond = cov[:, m][:, :, m] - np.einsum("smo,sko->smk", gain, smo)
    else:
        mean[:, m] = mu[:, m]
        cond = cov
    chol = np.linalg.cholesky(cond + 1e-9 * np.eye(len(m))[None])
    factor[np.ix_(np.arange(s), m, m)] = chol
    return mean, factor


def new_row_prior(
    draws: Draws,
    side: Side,
    *,
    group: int | None,
    x: np.ndarray,
    rank: int,
) -> NewRowPrior:
    """The per-draw Gaussian prior of a newcomer's ``(bias, loading)``.

    Parameters
    ----------
    draws : Draws
        Posterior draws.
    side : Side
        :data:`bayes_cpp.dims.LLM_SIDE` or :data:`bayes_cpp.dims.TASK_SIDE`.
    group : int or None
        Index of a known family/category, or None for a new one (drawn from
        the population).
    x : numpy.ndarray
        Standardized design factors ``(F,)``, NaN where unknown.
    rank : int
        Number of latent dimensions.

    Notes
    -----
    The row is ``bias = g_b + x . beta + sigma_b e_b`` and
    ``loading = c (sqrt(s) g_u + sqrt(1 - s) e_u + x . B)`` with ``g`` the
    group effects (random for a new group), ``c`` the side's loading scale
    (1 on the LLM side) and unknown entries of ``x`` drawn from the feature
    network given the known ones.
    """
    s = draws.n_samples
    has_group = side.group_bias in draws.values
    has_share = side.group_loading_share in draws.values
    x_mean, x_factor = _imputation(draws, side, x)
    beta = draws.get(side.bias_coef) if side.bias_coef in draws.values else np.zeros((s, len(x)))
    big_b = np.zeros((s, len(x), rank))
    if rank:
        big_b = draws.values.get(side.loading_coef, big_b)
    share = draws.get(side.group_loading_share, 0.0) if has_share else np.zeros(s)
    bias_sigma = draws.get(side.bias_sigma)
    scale = draws.get(side.loading_scale) if side.loading_scale and rank else np.ones(s)

    mean = np.zeros((s, 1 + rank))
    mean[:, 0] = np.einsum("sf,sf->s", x_mean, beta) if len(x) else 0.0
    u = np.einsum("sf,sfk->sk", x_mean, big_b) if len(x) and rank else np.zeros((s, rank))
    if group is not None and has_group:
        mean[:, 0] += draws.values[side.group_bias][:, group]
        if rank and has_share:
            u = u + np.sqrt(share)[:, None] * draws.values[side.group_loading_offset][:, group, :]
    if rank:
        mean[:, 1:] = scale[:, None] * u
    new_group = group is None and has_group

    def sample_centered(rng: np.random.Generator) -> np.ndarray:
        out = np.zeros((s, 1 + rank))
        out[:, 0] = bias_sigma * rng.standard_normal(s)
        e = np.einsum("sij,sj->si", x_factor, rng.standard_normal((s, len(x)))) if len(x) else None
        if e is not None:
            out[:, 0] += np.einsum("sf,sf->s", e, beta)
        if new_group:
            out[:, 0] += draws.get(side.group_bias_sigma) * rng.standard_normal(s)
        if rank:
            z = np.sqrt(1.0 - share)[:, None] * rng.standard_normal((s, rank))
            if group is None and has_share:
                z = z + np.sqrt(share)[:, None] * rng.standard_normal((s, rank))
            if e is not None:
                z = z + np.einsum("sf,sfk->sk", e, big_b)
            out[:, 1:] = scale[:, None] * z
        return out

    def cov() -> np.ndarray:
        # The covariance of sample_centered, term by term (used by tests and by
        # closed-form expected-information computations).
        xcov = np.einsum("sij,skj->sik", x_factor, x_factor)
        w = np.concatenate([beta[:, :, None], big_b], axis=2)  # (S, F, 1 + K)
        out = (
            np.einsum("sfi,sfg,sgj->sij", w, xcov, w)
            if len(x)
            else np.zeros((s, 1 + rank, 1 + rank))
        )
        out[:, 0, 0] += bias_sigma**2
        if new_group:
            out[:, 0, 0] += draws.get(side.group_bias_sigma) ** 2
        if rank:
            var_u = (1.0 - share) + (share if group is None and has_share else 0.0)
            k = np.arange(1, 1 + rank)
            out[:, k, k] += var_u[:, None]
            scaled = np.concatenate([np.ones((s, 1)), np.repeat(scale[:, None], rank, 1)], 1)
            out = out * scaled[:, :, None] * scaled[:, None, :]
        return out

    return NewRowPrior(mean=mean, sample_centered=sample_centered, cov=cov)


@dataclass(frozen=True)
class Newcomer:
    """A new LLM row or task column to forecast, in positions and on the unit scale.

    Built by :meth:`bayes_cpp.BayesCPP.newcomer` from names, factors and
    scores in task units.

    Attributes
    ----------
    side : {"llm", "task"}
        Which side the newcomer is on.
    group : int or None
        Position of its family (category) in the fit, or None for a new one.
    x : numpy.ndarray
        Standardized design factors ``(F,)`` of its side, NaN where unknown.
    known : numpy.ndarray of int
        Positions on the other side (tasks for a new LLM) of its known scores.
    known_scores : numpy.ndarray
        Those scores on the unit scale.
    chance : float
        A new task's chance level on the unit scale (new LLMs use the chance
        levels of the fitted tasks).
    """

    side: dims.SideName
    group: int | None
    x: np.ndarray
    known: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))
    known_scores: np.ndarray = field(default_factory=lambda: np.zeros(0))
    chance: float = 0.0


class Predictor:
    """Predictive distributions of a fitted model, on the unit scale.

    Parameters
    ----------
    draws : Draws
        The fit's posterior draws (see :meth:`required_variables`).
    rank : int
        Number of latent dimensions.
    noise_floor : float
        Smallest noise sd (the spec's ``noise_floor``).
    noise_scaling : {"constant", "binomial"}
        How a cell's sd follows its mean (the spec's ``noise_scaling``).
    chance : numpy.ndarray
        Chance level of every fitted task on the unit scale (zeros when the
        spec has no chance level).
    n_features : mapping of side name to int
        Design features per side.

    All outputs are ``(mean, sd)`` arrays of the likelihood's per-draw mean and
    noise sd, sample axis first; :meth:`noisy` turns them into predictive
    draws.
    """

    def __init__(
        self,
        draws: Draws,
        *,
        rank: int,
        noise_floor: float,
        noise_scaling: str,
        chance: np.ndarray,
        n_features: dict[str, int],
    ) -> None:
        self.draws = draws
        self.rank = rank
        self.noise_floor = noise_floor
        self.noise_scaling = noise_scaling
        self.chance = np.asarray(chance, dtype=float)
        self.n_features = dict(n_features)

    @staticmethod
    def required_variables(
        *,
        rank: int,
        likelihood: str,
        groups: dict[str, bool],
        n_features: dict[str, int],
        llm_noise: bool = False,
        chance_share: bool = False,
    ) -> tuple[list[str], list[str]]:
        """Posterior variables a predictor of this shape needs: (required, optional).

        ``groups[side]`` says whether the fit had that side's group level
        (a hierarchy with more than one family / category).
        """
        required = [dims.INTERCEPT, dims.SIGMA, dims.NOISE_LOG_MU, dims.NOISE_LOG_SIGMA]
        optional: list[str] = []
        if likelihood == "student_t":
            required.append(dims.NOISE_NU)
        if llm_noise:
            required += [dims.LLM_NOISE, dims.LLM_NOISE_SIGMA]
        if chance_share:
            required.append(dims.CHANCE_SHARE)
        for s in (LLM_SIDE, TASK_SIDE):
            required += [s.bias, s.bias_sigma]
            n_feat = n_features.get(s.name, 0)
            if groups.get(s.name):
                required += [s.group_bias, s.group_bias_sigma]
            if n_feat:
                required.append(s.bias_coef)
                required += s.feature_vars(n_feat)
            if rank:
                required.append(s.loading)
                if s.loading_scale:
                    required.append(s.loading_scale)
                if groups.get(s.name):
                    required += [s.group_loading_offset, s.group_loading_share]
                if n_feat:
                    required.append(s.loading_coef)
        return required, optional

    # ----------------------------------------------------------------- basics
    @property
    def n_samples(self) -> int:
        """Number of posterior samples ``S``."""
        return self.draws.n_samples

    @property
    def nu(self) -> np.ndarray | None:
        """Student-t degrees of freedom per draw, or None for normal noise."""
        return self.draws.values.get(dims.NOISE_NU)

    def noisy(self, mean: np.ndarray, sd: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Posterior predictive unit scores ``(S, L, T)`` from :meth:`cells`-shaped parameters."""
        return equations.noisy_scores(mean, sd, self.nu, rng)

    def cell_sd(
        self, sigma: np.ndarray, mean: np.ndarray, llm_noise: np.ndarray | None = None
    ) -> np.ndarray:
        """Per-cell noise sd broadcast to ``mean``'s shape (``llm_noise``: the LLMs' multipliers)."""
        sd = equations.cell_sd(sigma, mean, self.noise_floor, self.noise_scaling, llm_noise)
        return np.broadcast_to(sd, mean.shape)

    @property
    def has_llm_noise(self) -> bool:
        """Whether the fit has a noise multiplier per LLM (spec ``llm_noise``)."""
        return dims.LLM_NOISE in self.draws.values

    def llm_noise(
        self, positions: Sequence[int | None], rng: np.random.Generator | None = None
    ) -> np.ndarray:
        """Noise multipliers ``(S, n)`` of fitted LLMs (ones without ``llm_noise``).

        A ``None`` position is an LLM drawn from the population (needs ``rng``).
        """
        s = self.n_samples
        if not self.has_llm_noise:
            return np.ones((s, len(positions)))
        d = self.draws
        cols = [
            d.values[dims.LLM_NOISE][:, p]
            if p is not None
            else np.exp(d.get(dims.LLM_NOISE_SIGMA) * _need(rng).standard_normal(s))
            for p in positions
        ]
        return np.stack(cols, axis=1)

    def floor(self, chance: np.ndarray) -> np.ndarray:
        """Lower asymptotes ``(S, n)`` (or ``(1, n)``) of tasks with chance levels ``chance``.

        The chance level itself (the hard floor) unless the fit learned the
        share of it that floors the mean (spec ``chance_share``).
        """
        values = np.asarray(chance, dtype=float).reshape(1, -1)
        share = self.draws.values.get(dims.CHANCE_SHARE)
        return equations.chance_floor(values, None if share is None else share[:, None])

    def new_task_sigma(self, rng: np.random.Generator) -> np.ndarray:
        """Noise sd ``(S,)`` of a task the fit has not seen, drawn from the shared prior."""
        d = self.draws
        z = rng.standard_normal(d.n_samples)
        return np.asarray(
            equations.task_sigma(
                d.get(dims.NOISE_LOG_MU) + d.get(dims.NOISE_LOG_SIGMA) * z, self.noise_floor
            )
        )

    def row_prior(self, side: Side, *, group: int | None, x: np.ndarray) -> NewRowPrior:
        """The per-draw Gaussian prior of a new row on ``side`` (see :func:`new_row_prior`)."""
        return new_row_prior(self.draws, side, group=group, x=x, rank=self.rank)

    def _rows(
        self, side: Side, positions: Sequence[int | None], rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Bias ``(S, n)`` and loading ``(S, n, K)`` draws of fitted rows; None = a population draw."""
        d = self.draws
        biases, loadings = [], []
        for pos in positions:
            if pos is not None:
                biases.append(d.values[side.bias][:, pos])
                loadings.append(d.values[side.loading][:, pos, :] if self.rank else None)
                continue
            prior = self.row_prior(
                side, group=None, x=np.full(self.n_features.get(side.name, 0), np.nan)
            )
            theta = prior.mean + prior.sample_centered(rng)
            biases.append(theta[:, 0])
            loadings.append(theta[:, 1:])
        bias = np.stack(biases, axis=1)
        loading = np.stack(loadings, axis=1) if self.rank else None  # type: ignore[arg-type]
        return bias, loading

    def _means(
        self,
        llm: tuple[np.ndarray, np.ndarray | None],
        task: tuple[np.ndarray, np.ndarray | None],
        chance: np.ndarray,
    ) -> np.ndarray:
        """Mean unit scores ``(S, L, T)`` from LLM and task rows and the tasks' floors ``(S|1, T)``."""
        (a, u), (b, v) = llm, task
        eta = self.draws.get(dims.INTERCEPT)[:, None, None] + a[:, :, None] + b[:, None, :]
        if u is not None and v is not None and u.shape[-1]:
            eta = eta + np.einsum("slk,stk->slt", u, v)
        return np.asarray(equations.link(eta, chance[:, None, :]))

    # ------------------------------------------------------------ known cells
    def cells(
        self,
        llms: Sequence[int | None],
        tasks: Sequence[int | None],
        rng: np.random.Generator,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Mean and noise sd ``(S, L, T)`` of the grid of fitted LLMs x fitted tasks.

        A ``None`` position is a row (column) drawn from the population: a new
        family (category) with unknown design factors, a new task's noise
        drawn from the shared noise prior and no chance level.
        """
        llm_rows = self._rows(LLM_SIDE, llms, rng)
        task_rows = self._rows(TASK_SIDE, tasks, rng)
        chance = np.array([self.chance[t] if t is not None else 0.0 for t in tasks])
        mean = self._means(llm_rows, task_rows, self.floor(chance))
        sigma_cols = [
            self.draws.values[dims.SIGMA][:, t] if t is not None else self.new_task_sigma(rng)
            for t in tasks
        ]
        sigma = np.stack(sigma_cols, axis=1)
        return mean, self.cell_sd(sigma[:, None, :], mean, self.llm_noise(llms, rng)[:, :, None])

    def pairs(
        self, llms: Sequence[int], tasks: Sequence[int], rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        """Mean and noise sd ``(S, n)`` of the fitted cells ``(llms[i], tasks[i])``.

        :meth:`cells` on the grid of the distinct rows and columns, gathered
        at the pairs (for scattered cells such as a split's hidden ones).
        """
        if len(llms) != len(tasks):
            raise ValueError(f"{len(llms)} LLM positions but {len(tasks)} task positions")
        rows, li = np.unique(np.asarray(llms, dtype=int), return_inverse=True)
        cols, ti = np.unique(np.asarray(tasks, dtype=int), return_inverse=True)
        mean, sd = self.cells(rows.tolist(), cols.tolist(), rng)
        return mean[:, li, ti], sd[:, li, ti]

    # --------------------------------------------------------------- newcomers
    def _other_side(
        self, newcomer: Newcomer, positions: np.ndarray, sigma_new: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray, np.ndarray]:
        """Fixed rows on the other side: bias, loading, chance and sigma at ``positions``.

        Shapes ``(S, n)``, ``(S, n, K)`` (or None), ``(1, n)`` and ``(S, n)``.
        """
        d = self.draws
        other = dims.side(newcomer.side).other
        bias = d.values[other.bias][:, positions]
        load = d.values[other.loading][:, positions, :] if self.rank else None
        if newcomer.side == dims.LLM:  # the other side are fitted tasks
            chance = self.chance[positions][None, :]
            sigma = d.values[dims.SIGMA][:, positions]
        else:  # a new task: its own chance level and noise
            assert sigma_new is not None
            chance = np.full((1, len(positions)), newcomer.chance)
            sigma = np.repeat(sigma_new[:, None], len(positions), axis=1)
        return bias, load, chance, sigma

    def _newcomer_prior(self, newcomer: Newcomer) -> NewRowPrior:
        """The newcomer's row prior, with its log noise multiplier last for a new LLM."""
        prior = self.row_prior(dims.side(newcomer.side), group=newcomer.group, x=newcomer.x)
        if newcomer.side != dims.LLM or not self.has_llm_noise:
            return prior
        s_tau = self.draws.get(dims.LLM_NOISE_SIGMA)
        s = self.n_samples

        def sample_centered(rng: np.random.Generator) -> np.ndarray:
            tail = s_tau[:, None] * rng.standard_normal((s, 1))
            return np.concatenate([prior.sample_centered(rng), tail], axis=1)

        # No cov(): only the elliptical slice sampler uses this prior.
        mean = np.concatenate([prior.mean, np.zeros((s, 1))], axis=1)
        return NewRowPrior(mean=mean, sample_centered=sample_centered)

    def _split_row(self, newcomer: Newcomer, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(bias, loading)`` columns ``(S, 1 + K)`` and the noise multiplier ``(S,)``."""
        k = 1 + self.rank
        if newcomer.side == dims.LLM and self.has_llm_noise:
            return theta[:, :k], np.exp(theta[:, k])
        return theta[:, :k], np.ones(theta.shape[0])

    def _other_noise(
        self, newcomer: Newcomer, positions: np.ndarray, own: np.ndarray
    ) -> np.ndarray:
        """Noise multipliers ``(S, n)`` of the newcomer's cells with ``positions``.

        A new LLM's own multiplier (``own``) for each of its cells; a new task's
        cells take the fitted LLMs' multipliers.
        """
        if newcomer.side == dims.LLM:
            return np.repeat(own[:, None], len(positions), axis=1)
        return self.llm_noise(positions.tolist())

    def newcomer_row(
        self, newcomer: Newcomer, rng: np.random.Generator, *, sigma_new: np.ndarray | None = None
    ) -> np.ndarray:
        """Draws ``(S, 1 + K)`` of the newcomer's ``(bias, loading)`` given its known scores.

        With a noise multiplier per LLM (spec ``llm_noise``), a new LLM's row
        has its log multiplier as a last column, conditioned with the rest.
        ``sigma_new`` is a new task's noise sd per draw (required for a new
        task with known scores; see :meth:`new_task_sigma`).
        """
        prior = self._newcomer_prior(newcomer)
        if not len(newcomer.known):
            return np.asarray(prior.mean + prior.sample_centered(rng))
        idx = np.asarray(newcomer.known, dtype=int)
        y = np.asarray(newcomer.known_scores, dtype=float)
        bias, load, chance, sigma = self._other_side(newcomer, idx, sigma_new)
        intercept = self.draws.get(dims.INTERCEPT)
        nu = self.nu
        rank = self.rank
        fixed_tau = self._other_noise(newcomer, idx, np.ones(self.n_samples))
        floor = self.floor(chance[0])

        def loglik(theta: np.ndarray, rows: np.ndarray) -> np.ndarray:
            row, own = self._split_row(newcomer, theta)
            eta = intercept[rows, None] + row[:, :1] + bias[rows]
            if rank and load is not None:
                eta = eta + np.einsum("sk,sjk->sj", row[:, 1:], load[rows])
            mu = equations.link(eta, floor if len(floor) == 1 else floor[rows])
            sd = self.cell_sd(sigma[rows], mu, fixed_tau[rows] * own[:, None])
            return equations.cell_loglik(y[None, :], mu, sd, nu)

        return condition_new_row(prior, loglik, rng)

    def forecast(
        self, newcomer: Newcomer, others: Sequence[int], rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        """Mean and noise sd ``(S, n)`` of the newcomer's cells with fitted rows ``others``.

        For a new LLM ``others`` are task positions; for a new task, LLM
        positions (its noise sd is drawn from the shared noise prior).
        """
        sigma_new = self.new_task_sigma(rng) if newcomer.side == dims.TASK else None
        theta, own = self._split_row(
            newcomer, self.newcomer_row(newcomer, rng, sigma_new=sigma_new)
        )
        idx = np.asarray(others, dtype=int)
        bias, load, chance, sigma = self._other_side(newcomer, idx, sigma_new)
        row = (theta[:, None, 0], theta[:, None, 1:] if self.rank else None)
        if newcomer.side == dims.LLM:
            mean = self._means(row, (bias, load), self.floor(chance[0]))[:, 0, :]
        else:
            mean = self._means((bias, load), row, self.floor(chance[0, :1]))[:, :, 0]
        return mean, self.cell_sd(sigma, mean, self._other_noise(newcomer, idx, own))

    def describe(self) -> dict[str, Any]:
        """A short record of the predictor's shape (for reprs and logs)."""
        return {
            "n_samples": self.n_samples,
            "rank": self.rank,
            "noise": f"{self.noise_scaling}, floor {self.noise_floor:g}",
            "student_t": self.nu is not None,
        }
