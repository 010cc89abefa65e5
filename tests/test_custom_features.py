"""Design features named in BayesCPP(llm_features=..., task_features=...) without a spec file."""

from __future__ import annotations

import pytest

from bayes_cpp import BayesCPP, CollaborativeData, DataError, SpecError


def _names(features):
    return [f.name for f in features]


def test_features_extend_override_or_replace_the_spec():
    extra = {"log_context": ("context_window", "log"), "instruct": "is_instruct"}
    spec = BayesCPP(llm_features=extra).resolved_spec()
    assert _names(spec.llm_features) == ["log_params", "log_tokens", "log_context", "instruct"]
    assert spec.llm_features[2].columns == ("context_window",)
    assert spec.llm_features[2].transform == "log"
    assert spec.llm_features[3].transform == "identity"
    # A name the spec has replaces that feature in place.
    spec = BayesCPP(llm_features={"log_params": ("params_b", "log2")}).resolved_spec()
    assert _names(spec.llm_features) == ["log_params", "log_tokens"]
    assert spec.llm_features[0].transform == "log2"
    # replace_features: the given mapping is the whole side; {} means none.
    spec = BayesCPP(llm_features={"instruct": "is_instruct"}, replace_features=True).resolved_spec()
    assert _names(spec.llm_features) == ["instruct"]
    assert _names(spec.task_features) == ["log_shots"]  # the other side untouched
    spec = BayesCPP(task_features={}, replace_features=True).resolved_spec()
    assert spec.task_features == ()
    # Spec-file records work too, and applying the same mapping twice changes nothing.
    est = BayesCPP(llm_features={"ctx": {"columns": ["context_window"], "transform": "log"}})
    once = est.resolved_spec()
    assert BayesCPP(once, llm_features=est.llm_features).resolved_spec() == once


@pytest.mark.parametrize(
    ("value", "match"),
    [
        (("context_window", "sqrt"), "transform 'sqrt'"),
        (3, "give a column name"),
        (("a", "b", "c"), "give a column name"),
    ],
)
def test_bad_feature_values_raise_spec_errors(value, match):
    with pytest.raises(SpecError, match=match):
        BayesCPP(llm_features={"f": value}).resolved_spec()


def test_features_must_be_a_mapping():
    with pytest.raises(SpecError, match="must be a mapping"):
        BayesCPP(llm_features=["context_window"]).resolved_spec()  # type: ignore[arg-type]


def _with_columns(sim):
    llms = sim.data.llms.assign(
        context_window=[2048.0 * (1 + i % 3) for i in range(sim.data.n_llms)],
        is_instruct=[float(i % 2) for i in range(sim.data.n_llms)],
    )
    return CollaborativeData(sim.data.scores, llms, sim.data.tasks)


def test_fit_uses_the_named_columns_and_saves_them(sim, mock_sampling, tmp_path):
    data = _with_columns(sim)
    est = BayesCPP(
        llm_features={"log_context": ("context_window", "log"), "instruct": "is_instruct"},
        draws=20,
        tune=10,
        chains=1,
        random_seed=1,
    ).fit(data)
    assert est.llm_design_.names == ["log_params", "log_tokens", "log_context", "instruct"]
    post = est.idata_["posterior"]
    assert post["llm_bias_coef"].sizes["llm_feature"] == 4
    back = BayesCPP.load(est.save(tmp_path / "fit.nc"))
    assert back.get_params()["llm_features"] == {
        "log_context": ["context_window", "log"],
        "instruct": "is_instruct",
    }
    assert back.resolved_spec() == est.spec_
    assert back.llm_design_ == est.llm_design_
    new = back.forecast("family-00", factors={"params_b": 7.0, "context_window": 8192.0})
    assert new.sizes["task"] == data.n_tasks


def test_a_named_column_missing_from_the_data_is_an_error(sim):
    est = BayesCPP(llm_features={"log_context": ("context_windw", "log")})
    with pytest.raises(DataError, match=r"'log_context': column 'context_windw' is not in the LLM"):
        est.build_model(_with_columns(sim))
    with pytest.raises(DataError, match=r"did you mean 'context_window'"):
        est.build_model(_with_columns(sim))


def test_get_and_set_params_know_the_new_parameters():
    est = BayesCPP(task_features={"n_shots": "shots"})
    params = est.get_params()
    assert params["task_features"] == {"n_shots": "shots"}
    assert params["llm_features"] is None
    assert params["replace_features"] is False
    est.set_params(replace_features=True)
    assert _names(est.resolved_spec().task_features) == ["n_shots"]
