from __future__ import annotations

import json

import pytest

from bayes_cpp import ModelSpec, Prior, SpecError, available_specs, load_spec
from bayes_cpp.spec import DEFAULT_PRIORS


def test_shipped_specs_load_and_roundtrip():
    names = available_specs()
    assert {"hbmf", "hbmf_robust", "bpmf", "factors_only"} <= set(names)
    for name in names:
        spec = load_spec(name)
        assert spec.name == name
        again = ModelSpec.from_dict(json.loads(json.dumps(spec.to_dict())))
        assert again == spec


def test_default_spec_content():
    spec = load_spec("hbmf")
    assert spec.rank == 2
    assert spec.hierarchy
    assert spec.chance_level
    assert [f.name for f in spec.llm_features] == ["log_params", "log_tokens"]
    assert load_spec("bpmf").hierarchy is False
    assert load_spec("factors_only").rank == 0
    assert load_spec("hbmf_robust").likelihood == "student_t"
    assert (spec.noise_scaling, spec.noise_floor) == ("binomial", 0.005)
    assert ModelSpec().noise_scaling == "constant"


def test_every_default_prior_roundtrips_through_json():
    for key, prior in DEFAULT_PRIORS.items():
        assert Prior.from_dict(json.loads(json.dumps(prior.to_dict()))) == prior, key


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda: Prior("Nromal", mu=0, sigma=1),
            "unknown prior distribution 'Nromal'.*did you mean 'Normal'",
        ),
        (lambda: Prior("Normal", mu=0), "prior Normal takes parameters mu, sigma; got mu"),
        (lambda: Prior("Normal", mu="a", sigma=1), "must be numbers"),
        (lambda: ModelSpec(rank=-1), "rank must be a non-negative integer"),
        (lambda: ModelSpec(likelihood="cauchy"), "likelihood must be 'normal' or 'student_t'"),
        (
            lambda: ModelSpec(noise_scaling="poisson"),
            "noise_scaling must be 'constant' or 'binomial', not 'poisson'",
        ),
        (
            lambda: ModelSpec(priors={"llm_bias_scale": Prior("Normal", mu=0, sigma=1)}),
            "is a scale: use a positive distribution",
        ),
        (
            lambda: ModelSpec(priors={"family_bias_share": Prior("HalfNormal", sigma=1)}),
            "is a share in \\(0, 1\\): use a Beta prior",
        ),
        (
            lambda: ModelSpec(priors={"llm_bias_sigma": Prior("HalfNormal", sigma=1)}),
            "'llm_bias_sigma' \\(now 'llm_bias_scale'\\) were replaced",
        ),
        (lambda: ModelSpec.from_dict({"rnak": 2}), "unknown spec key.*'rnak'.*did you mean 'rank'"),
        (lambda: load_spec("hbfm"), "unknown model spec 'hbfm'.*did you mean 'hbmf'"),
    ],
)
def test_spec_errors(make, message):
    with pytest.raises(SpecError, match=message):
        make()


def test_replace_merges_priors():
    spec = load_spec("hbmf").replace(priors={"intercept": Prior("Normal", mu=1, sigma=1)}, rank=2)
    assert spec.rank == 2
    assert spec.prior("intercept").params["mu"] == 1.0
    assert spec.prior("llm_bias_scale") == DEFAULT_PRIORS["llm_bias_scale"]


def test_load_spec_from_toml_path(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text(
        'rank = 1\nlikelihood = "student_t"\n[priors]\nintercept = {dist = "Normal", mu = 0.5, sigma = 2}\n'
    )
    spec = load_spec(path)
    assert (spec.name, spec.rank, spec.prior("intercept").params["sigma"]) == ("mine", 1, 2.0)
    bad = tmp_path / "bad.toml"
    bad.write_text("rank = [")
    with pytest.raises(SpecError, match="not valid TOML"):
        load_spec(bad)


def test_specs_resolve_by_name_outside_the_repo(tmp_path):
    """Run from an unrelated folder: the installed package (or the source tree) finds specs."""
    import subprocess
    import sys

    code = "from bayes_cpp.spec import load_spec; print(load_spec('hbmf').rank)"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, check=True, capture_output=True, text=True
    )
    assert out.stdout.strip() == "2"


def test_unreadable_spec_files_are_spec_errors(tmp_path):
    from bayes_cpp import SpecError, load_spec

    latin = tmp_path / "latin.toml"
    latin.write_bytes('name = "mod\xe8le"\n'.encode("latin-1"))
    with pytest.raises(SpecError, match="is not UTF-8 text"):
        load_spec(latin)
    folder = tmp_path / "folder.toml"
    folder.mkdir()
    with pytest.raises(SpecError, match="cannot read spec file"):
        load_spec(folder)


def test_chance_share_needs_a_chance_level():
    from bayes_cpp import SpecError

    with pytest.raises(SpecError, match="chance_share = true needs chance_level = true"):
        load_spec("hbmf").replace(chance_level=False, chance_share=True)
