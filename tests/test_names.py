"""One name per posterior variable, no private access across modules, no upward imports."""

from __future__ import annotations

import ast
import re

import pytest

from bayes_cpp import BayesCPP, available_specs, dims
from tests.conftest import REPO

PACKAGE = REPO / "bayes_cpp"


def _graph_names(spec, data):
    model = BayesCPP(spec).build_model(data)
    names = set(model.named_vars)
    # The imputation network's variables are named by Side.feature_var.
    feature = re.compile(r"^(llm_x|task_x)_(mean_|coef_|sd_)?\d+(_unobserved|_observed)?$")
    return {n for n in names if not feature.match(n)}


def test_every_graph_variable_is_in_the_names_table(sim):
    table = dims.model_variables()
    used = set()
    # A task with few scores keeps a non-centered bias offset (bayes_cpp.inputs).
    scores = sim.data.scores
    sparse = scores[(scores["task"] != "task-00") | (scores["llm"].isin(sim.data.llm_names[:2]))]
    for spec, data in [(s, sim.data) for s in available_specs()] + [
        ("hbmf", sim.data.with_scores(sparse))
    ]:
        names = _graph_names(spec, data)
        assert names <= table, f"{spec}: graph variables missing from dims: {names - table}"
        used |= names
    # Every name in the table is a variable of some shipped spec.
    assert table <= used, f"names in dims that no graph defines: {table - used}"


def test_identified_quantities_are_graph_variables(sim):
    names = set().union(
        *(
            _graph_names(s, sim.data)
            for s in ("hbmf", "hbmf_robust", "hbmf_llm_noise", "hbmf_chance_share")
        )
    )
    assert set(dims.IDENTIFIED) <= names


def test_feature_network_names_match_the_graph(sim):
    model = BayesCPP("hbmf").build_model(sim.data)
    expected = dims.LLM_SIDE.feature_vars(2) + dims.TASK_SIDE.feature_vars(1)
    assert set(expected) <= set(model.named_vars)


def test_missing_required_variable_is_a_clear_error(mock_fitted):
    from bayes_cpp import IncompatibleFileError
    from bayes_cpp.predictor import Draws

    post = mock_fitted.idata_["posterior"].to_dataset().drop_vars(dims.LLM_SIDE.bias)
    with pytest.raises(IncompatibleFileError, match="lacks 'llm_bias'"):
        Draws.from_posterior(post, [dims.INTERCEPT, dims.LLM_SIDE.bias])


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        yield path, ast.parse(path.read_text(encoding="utf-8"))


def test_no_module_touches_private_members_of_the_estimator():
    # Any `<name>._something` where the name is not self/cls and `_something`
    # is a member the estimator defines.
    est_tree = ast.parse((PACKAGE / "estimator.py").read_text(encoding="utf-8"))
    private = {
        node.name
        for node in ast.walk(est_tree)
        if isinstance(node, ast.FunctionDef)
        and node.name.startswith("_")
        and not node.name.startswith("__")
    } | {"_predictor"}
    offenders = []
    for path, tree in _modules():
        if path.name == "estimator.py":
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in private:
                offenders.append(f"{path.relative_to(REPO)}:{node.lineno} .{node.attr}")
    assert not offenders, offenders


#: Layers from low to high; a module may import only from its own layer or below.
LAYERS = [
    {
        "dims",
        "exceptions",
        "_version",
        "_validation",
        "seeds",
        "equations",
        "progress",
        "_mcmcstats",
    },
    {"_tables", "spec"},
    {"data", "features", "readers", "datasets", "simulation", "newcomers"},
    {"inputs", "kernel"},
    {"predictor", "inference", "approximate", "graph", "diagnostics"},
    {"persistence"},
    {"estimator"},
    {"model_selection", "evaluation", "testing", "validation", "fitcache"},
    # The workflows of issue 14 (questions users bring), on the public API.
    {"whatif", "similarity", "importance", "active", "output"},
    {"cli", "plotting", "report", "__init__", "__main__"},
]


def _layer(module: str) -> int:
    top = module.split(".")[0]
    for i, layer in enumerate(LAYERS):
        if top in layer:
            return i
    raise AssertionError(f"module {module!r} has no layer in tests/test_names.py")


def test_no_module_imports_upward():
    offenders = []
    for path, tree in _modules():
        rel = path.relative_to(PACKAGE).with_suffix("")
        me = _layer(".".join(rel.parts))
        for node in ast.walk(tree):
            if not isinstance(node, ast.ImportFrom) or not node.module:
                continue
            if node.module == "bayes_cpp":
                # Submodules by name; anything else is the package's public API.
                targets = [
                    a.name
                    if (PACKAGE / f"{a.name}.py").exists() or (PACKAGE / a.name).is_dir()
                    else "__init__"
                    for a in node.names
                ]
            elif node.module.startswith("bayes_cpp."):
                targets = [node.module[len("bayes_cpp.") :]]
            else:
                continue
            for target in targets:
                if _layer(target) > me:
                    offenders.append(f"{rel} imports bayes_cpp.{target}")
    assert not offenders, offenders


def test_package_import_stays_light():
    # The workflows are exported at the top level but import ArviZ, the
    # evaluation harness (scoringrules) and PyMC only when called, so the CLI
    # starts fast.
    import subprocess
    import sys

    heavy = ["pymc", "arviz_stats", "scoringrules", "bayes_cpp.evaluation"]
    code = f"import sys, bayes_cpp; print([m for m in {heavy!r} if m in sys.modules])"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO
    )
    assert out.stdout.strip() == "[]"


def test_interval_bounds_refuse_probabilities_that_collapse_the_interval():
    from bayes_cpp.dims import interval_bounds
    from bayes_cpp.exceptions import SpecError
    from bayes_cpp.output import quantile_levels

    assert interval_bounds(0.9) == (0.05, 0.95)
    assert interval_bounds(1e-6) == (0.4999995, 0.5000005)
    for bad in (0.0, 1.0, 6.813223419546742e-303, 1.0 - 1e-9, float("nan"), -0.5):
        with pytest.raises(ValueError, match="interval probability"):
            interval_bounds(bad)
        with pytest.raises(SpecError, match="interval probability"):
            quantile_levels([0.9, bad])
