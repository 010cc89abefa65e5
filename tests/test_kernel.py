"""The hand-written numba density equals the PyMC graph's: layout, log density, gradient, outputs."""

from __future__ import annotations

import numpy as np
import pytest

from bayes_cpp import Prior, available_specs, load_spec, simulate
from bayes_cpp import kernel as K
from bayes_cpp.features import build_design
from bayes_cpp.graph import build_model
from bayes_cpp.inputs import graph_inputs

#: Priors of every distribution the kernel implements, on keys where each is allowed.
EXOTIC = {
    "intercept": Prior("StudentT", nu=4.0, mu=0.2, sigma=1.3),
    "llm_bias_scale": Prior("HalfStudentT", nu=3.0, sigma=0.8),
    "task_bias_scale": Prior("Exponential", lam=1.5),
    "llm_bias_coef": Prior("StudentT", nu=5.0, mu=0.0, sigma=0.6),
    "task_loading_sigma": Prior("Gamma", alpha=2.0, beta=3.0),
    "noise_log_sigma": Prior("LogNormal", mu=-1.0, sigma=0.5),
    "family_bias_share": Prior("Beta", alpha=3.0, beta=2.0),
}


def _case(spec, data):
    llm_design = build_design(spec.llm_features, data.llms, side="llm")
    task_design = build_design(spec.task_features, data.tasks, side="task")
    inputs = graph_inputs(data, spec, llm_design, task_design)
    return build_model(inputs, spec), K.build_layout(inputs, spec)


def _point(layout, theta):
    return {b.value: theta[b.start : b.start + b.size].reshape(b.shape) for b in layout.blocks}


def _sparse(data):
    """The same data with one task seen by two LLMs only (a non-centered task bias)."""
    scores = data.scores
    keep = (scores["task"] != data.task_names[0]) | scores["llm"].isin(data.llm_names[:2])
    return data.with_scores(scores[keep])


# Two cases in the fast suite cover every code path (features, hierarchy, anchors,
# centered and non-centered rows, Student-t, every prior); the rest run as slow.
_slow = pytest.mark.slow
CASES = [
    ("hbmf", None, 0),
    ("hbmf", {"llm_noise": True}, 1),
    ("hbmf", {"chance_share": True}, 0),
    pytest.param("hbmf_robust", {"chance_share": True, "rank": 0}, 1, marks=_slow),
    pytest.param("hbmf_robust", {"llm_noise": True}, 0, marks=_slow),
    pytest.param("hbmf_robust", {"rank": 3, "priors": EXOTIC}, 1, marks=_slow),
    *(pytest.param(name, None, 0, marks=_slow) for name in available_specs() if name != "hbmf"),
    pytest.param("hbmf", {"rank": 1}, 0, marks=_slow),
    pytest.param("hbmf", {"noise_scaling": "constant"}, 1, marks=_slow),
]


@pytest.fixture(scope="module")
def data():
    return simulate(30, 10, rank=2, n_families=6, n_categories=3, density=0.6, random_seed=4).data


@pytest.mark.parametrize(("name", "changes", "sparse"), CASES)
def test_kernel_equals_the_pymc_graph(data, name, changes, sparse):
    spec = load_spec(name)
    spec = spec.replace(**changes) if changes else spec
    model, layout = _case(spec, _sparse(data) if sparse else data)
    initial = model.initial_point()
    assert [(b.value, b.shape) for b in layout.blocks] == [
        (v.name, tuple(initial[v.name].shape)) for v in model.value_vars
    ]
    logp = model.compile_logp(mode="FAST_COMPILE", sum=False)
    dlogp = model.compile_dlogp(mode="FAST_COMPILE")
    names = [n for n, _, _ in layout.outputs]
    values = model.compile_fn(
        model.replace_rvs_by_values([model[n] for n in names]),
        inputs=model.value_vars,
        mode="FAST_COMPILE",
        on_unused_input="ignore",
    )
    rng = np.random.default_rng(7)
    for _ in range(3):
        theta = rng.normal(0.0, 0.6, layout.n_dim)
        point = _point(layout, theta)
        grad = np.zeros(layout.n_dim)
        value = K.logp_grad(theta, grad, layout.floats, layout.ints)
        expected = sum(float(np.sum(t)) for t in logp(point))
        # PyTensor's log-odds Jacobian differs from the exact one by ~2e-8 per share.
        assert value == pytest.approx(expected, abs=1e-6)
        expected_grad = dlogp(point)
        # Both sum terms of very different sizes; compare relative to the largest.
        scale = max(1.0, float(np.abs(expected_grad).max()))
        np.testing.assert_allclose(grad, expected_grad, rtol=1e-7, atol=1e-8 * scale)
        got = K.expand(layout, theta)
        for n, ref in zip(names, values(point), strict=True):
            np.testing.assert_allclose(
                got[n], np.reshape(ref, got[n].shape), rtol=1e-10, atol=1e-12
            )
    # Every variable PyMC would store in the posterior is an output.
    stored = {v.name for v in [*model.free_RVs, *model.deterministics]}
    assert stored == set(names)


def test_zerosum_map_is_an_isometry_into_the_zero_sum_plane():
    rng = np.random.default_rng(1)
    raw = rng.normal(size=6)
    out = np.empty(7)
    K._zerosum(raw, out)
    assert out.sum() == pytest.approx(0.0, abs=1e-12)
    assert np.sum(out**2) == pytest.approx(np.sum(raw**2))


def test_digamma_matches_scipy():
    from scipy.special import digamma

    for x in (0.3, 1.0, 2.5, 7.0, 40.0):
        assert K._digamma(x) == pytest.approx(digamma(x), rel=1e-12)


def test_share_priors_must_be_beta():
    from bayes_cpp import SpecError

    with pytest.raises(SpecError, match="share"):
        load_spec("hbmf").replace(priors={"family_loading_share": Prior("HalfNormal", sigma=1)})
