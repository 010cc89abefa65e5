"""Tests of bayes_cpp.datasets: registry, file finding, and the curated real datasets.

The real-data tests read the raw files from ``BAYES_CPP_DATA`` (CI sets it to the
shared data folder) and never download: they pass ``download=False`` or point
``BAYES_CPP_CACHE`` at an empty temporary folder.
"""

from __future__ import annotations

import hashlib
import math
import os
import shutil
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import requests

from bayes_cpp import CollaborativeData, DataError, DatasetUnavailableError, datasets
from bayes_cpp.datasets._curation import apply_llm_edits, curation_table
from bayes_cpp.datasets._fetch import sha256sum
from bayes_cpp.datasets._registry import REGISTRY

_ENV = os.environ.get("BAYES_CPP_DATA", "")
DATA = Path(_ENV) if _ENV else None
HAVE_DATA = DATA is not None and (DATA / "cpp_llm" / "crowdsource_performance.csv").is_file()
needs_data = pytest.mark.skipif(
    not HAVE_DATA,
    reason="real data not found: set BAYES_CPP_DATA to a folder with cpp_llm/, obsscaling/, "
    "openllm/ (e.g. /work/shared/data)",
)
NAMES = ["cpp-crowdsourced", "cpp-helm", "obsscaling", "openllm-v1"]
# The full openllm-v1 load (7,169 LLMs) takes about 5 s.
NAMES_MARKED = [pytest.param(n, marks=pytest.mark.slow) if n == "openllm-v1" else n for n in NAMES]
CURATION_FILES = ["cpp_crowdsourced.toml", "cpp_helm.toml", "obsscaling.toml", "openllm_v1.toml"]


@pytest.fixture(autouse=True)
def _isolated_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # A test must never fill (or read) the user's real download cache.
    monkeypatch.setenv("BAYES_CPP_CACHE", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def load() -> Callable[..., CollaborativeData]:
    """Load from BAYES_CPP_DATA without downloading; memoised per module."""
    cache: dict[tuple[Any, ...], CollaborativeData] = {}

    def _load(name: str, **options: Any) -> CollaborativeData:
        key = (name, *sorted(options.items()))
        if key not in cache:
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                cache[key] = datasets.load(name, data_home=DATA, download=False, **options)
        return cache[key]

    return _load


@pytest.fixture
def data_env(monkeypatch: pytest.MonkeyPatch) -> Path:
    if not HAVE_DATA or DATA is None:
        pytest.skip("real data not found: set BAYES_CPP_DATA (e.g. /work/shared/data)")
    monkeypatch.setenv("BAYES_CPP_DATA", str(DATA))
    return DATA


def _copy_dataset_files(name: str, dest: Path) -> dict[str, Path]:
    assert DATA is not None
    info = datasets.info(name)
    out = {}
    for f in info.files:
        target = dest / info.subdir / f.fname
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(DATA / info.subdir / f.fname, target)
        target.chmod(0o644)
        out[f.fname] = target
    return out


# ---------------------------------------------------------------- registry / offline API
def test_list_works_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BAYES_CPP_DATA", raising=False)
    table = datasets.list()
    assert list(table.columns) == [
        "name",
        "n_llms",
        "n_tasks",
        "n_observed",
        "density",
        "source",
        "license",
        "description",
    ]
    assert table["name"].tolist() == NAMES
    row = table.set_index("name").loc["cpp-crowdsourced"]
    assert (row["n_llms"], row["n_tasks"], row["n_observed"]) == (72, 29, 878)
    assert row["density"] == pytest.approx(878 / (72 * 29))
    assert row["source"] == "Don-Joey/CPP_LLM@4c4319a36d38a8eff086559c1a0c751570e6740f"


def test_info_record_is_frozen_and_builds_pinned_urls() -> None:
    info = datasets.info("openllm-v1")
    assert isinstance(info, datasets.DatasetInfo)
    assert info.shape == (7169, 6)
    assert info.option_names == ("exclude_merges", "max_llms")
    (file,) = info.files
    assert file.fname == "open-llm-leaderboard_v1.csv"
    assert info.url(file) == (
        "https://raw.githubusercontent.com/felipemaiapolo/sloth/"
        "6dc6bb3efeefc7c1db01d60cba1f4b73e5d260d1/data/open-llm-leaderboard_old.csv"
    )
    with pytest.raises(AttributeError):
        info.name = "other"  # type: ignore[misc]


def test_unknown_name_suggests_a_close_match() -> None:
    with pytest.raises(DataError) as err:
        datasets.load("cpp_helm")
    message = str(err.value)
    assert "unknown dataset 'cpp_helm'" in message
    assert "did you mean 'cpp-helm'" in message
    for name in NAMES:
        assert name in message
    with pytest.raises(DataError, match="did you mean 'obsscaling'"):
        datasets.info("obscaling")


def test_unknown_option_is_an_error() -> None:
    with pytest.raises(DataError, match=r"unknown option 'max_llm'.*did you mean 'max_llms'"):
        datasets.load("openllm-v1", max_llm=10)
    with pytest.raises(DataError, match="unknown option 'extra' for dataset 'cpp-crowdsourced'"):
        datasets.load("cpp-crowdsourced", extra="emergent")


@pytest.mark.parametrize("fname", CURATION_FILES)
def test_every_curation_entry_has_a_reason(fname: str) -> None:
    table = curation_table(fname)
    entries = [
        entry
        for key in ("rename_llm", "set_llm", "move_llm", "drop_llm_column", "set_task")
        for entry in table.get(key, [])
    ]
    entries += table.get("drop", []) + table.get("family_alias", [])
    for entry in entries:
        assert entry.get("reason", "").strip(), entry


def test_curation_refuses_an_unexpected_raw_value() -> None:
    raw = pd.DataFrame(
        {"Model Size (B)": ["7.0"], "FLOPs (1E21)": ["42.0"]},
        index=pd.Index(["openlm-research/open_llama_7b_v2"]),
    )
    with pytest.raises(DataError, match="no longer matches the file"):
        apply_llm_edits(raw, curation_table("obsscaling.toml"), "test")
    assert raw.loc["openlm-research/open_llama_7b_v2", "Model Size (B)"] == "7.0"


# ------------------------------------------------------------------------ finding files
def test_offline_without_files_names_file_url_and_env(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("BAYES_CPP_DATA", str(empty))
    with pytest.raises(DatasetUnavailableError) as err:
        datasets.load("cpp-crowdsourced", download=False)
    message = str(err.value)
    assert "crowdsource_performance.csv" in message
    assert (
        "https://raw.githubusercontent.com/Don-Joey/CPP_LLM/"
        "4c4319a36d38a8eff086559c1a0c751570e6740f/data/crowdsource_performance.csv"
    ) in message
    assert "BAYES_CPP_DATA" in message
    assert "cpp_llm/crowdsource_performance.csv" in message


def test_failed_download_raises_our_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("BAYES_CPP_DATA", str(tmp_path))
    calls: list[str] = []

    def no_network(url: str, **kwargs: Any) -> str:
        calls.append(url)
        raise requests.exceptions.ConnectionError("Name or service not known")

    monkeypatch.setattr("pooch.retrieve", no_network)
    with pytest.raises(DatasetUnavailableError) as err:
        datasets.fetch("obsscaling")
    assert not isinstance(err.value, requests.RequestException)
    assert calls == [datasets.info("obsscaling").url(datasets.info("obsscaling").files[0])]
    message = str(err.value)
    assert "ConnectionError" in message
    assert "base_llm_benchmark_eval.csv" in message
    assert calls[0] in message
    assert "BAYES_CPP_DATA" in message


@needs_data
def test_download_goes_to_cache_with_pinned_url_and_hash(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert DATA is not None
    monkeypatch.delenv("BAYES_CPP_DATA", raising=False)
    seen: list[dict[str, Any]] = []

    def fake_retrieve(url: str, known_hash: str, path: Path, fname: str, **kw: Any) -> str:
        seen.append({"url": url, "known_hash": known_hash, "path": Path(path), "fname": fname})
        Path(path).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(DATA / "cpp_llm" / fname, Path(path) / fname)
        return str(Path(path) / fname)

    monkeypatch.setattr("pooch.retrieve", fake_retrieve)
    data = datasets.load("cpp-helm")
    assert data.n_llms == 88
    (call,) = seen
    assert call["url"] == (
        "https://raw.githubusercontent.com/Don-Joey/CPP_LLM/"
        "4c4319a36d38a8eff086559c1a0c751570e6740f/data/helm_core.csv"
    )
    assert call["known_hash"] == (
        "sha256:cf1abd1380309922a8b301e057bfd25c64a4f54ca807dc4c256f82c865d95ac4"
    )
    assert call["path"] == tmp_path / "cache" / "cpp_llm"
    # Once cached, download=False finds the file without calling pooch again.
    monkeypatch.setattr("pooch.retrieve", None)
    assert datasets.fetch("cpp-helm", download=False) == {
        "helm_core.csv": tmp_path / "cache" / "cpp_llm" / "helm_core.csv"
    }


@needs_data
def test_local_file_with_wrong_hash_is_a_data_error(tmp_path: Path) -> None:
    copies = _copy_dataset_files("cpp-crowdsourced", tmp_path)
    target = copies["model_feature.csv"]
    target.write_bytes(target.read_bytes().replace(b"INCITE-Base-7B,incite,800,3000", b"X,x,1,1"))
    actual = hashlib.sha256(target.read_bytes()).hexdigest()
    with pytest.raises(DataError) as err:
        datasets.load("cpp-crowdsourced", data_home=tmp_path, download=False)
    message = str(err.value)
    assert str(target) in message
    assert datasets.info("cpp-crowdsourced").file("model_feature.csv").sha256 in message
    assert actual in message


@needs_data
def test_fetch_prefers_the_data_folder(data_env: Path) -> None:
    paths = datasets.fetch("obsscaling", download=False)
    assert paths == {
        f.fname: data_env / "obsscaling" / f.fname for f in datasets.info("obsscaling").files
    }


@needs_data
def test_load_leaves_the_data_folder_untouched(data_env: Path) -> None:
    def snapshot() -> dict[str, tuple[int, int, str]]:
        return {
            str(p.relative_to(data_env)): (p.stat().st_size, p.stat().st_mtime_ns, sha256sum(p))
            for p in sorted(data_env.rglob("*"))
            if p.is_file()
        }

    before = snapshot()
    for name in NAMES:
        datasets.load(name, download=False, **({"max_llms": 50} if name == "openllm-v1" else {}))
    datasets.load("obsscaling", download=False, extra=("leaderboard_v2", "emergent"))
    assert snapshot() == before


# ---------------------------------------------------------------------- real datasets
@needs_data
@pytest.mark.parametrize("name", NAMES_MARKED)
def test_declared_shape_matches_a_real_load(
    name: str, load: Callable[..., CollaborativeData]
) -> None:
    data = load(name)
    info = REGISTRY[name]
    assert (data.n_llms, data.n_tasks, data.n_observed) == (
        info.n_llms,
        info.n_tasks,
        info.n_observed,
    )
    assert data.name == name
    assert data.notes[0].startswith("source: ")
    assert data.llms["family"].notna().all()
    assert (data.llms["family"].str.strip() != "").all()
    assert data.tasks["category"].notna().all()
    assert ((data.tasks["chance"] >= 0) & (data.tasks["chance"] < 1)).all()


@needs_data
def test_cpp_crowdsourced(load: Callable[..., CollaborativeData]) -> None:
    data = load("cpp-crowdsourced")
    assert (data.n_llms, data.n_tasks, data.n_observed) == (72, 29, 878)
    llms = data.llms
    assert list(llms.columns) == [
        "family",
        "params_b",
        "tokens_b",
        "gpu_hours",
        "context_window",
        "batch_size_m",
        "layers",
        "heads",
        "kv_size",
        "bottleneck",
        "carbon_tco2",
        "finetuned",
    ]
    assert llms.loc["Luminous Base-13B", "params_b"] == 13
    assert llms.loc["Luminous Extended-30B", "params_b"] == 30
    assert llms.loc["Luminous Supreme-70B", "params_b"] == 70
    assert llms.loc["Luminous Base-13B", "family"] == "Luminous"
    assert llms.loc["INCITE-Base-7B", "params_b"] == 7
    assert llms.loc["INCITE-Base-3B", "params_b"] == 3
    assert llms.loc["LLama-2-70B", "tokens_b"] == 2000
    assert llms.loc["Pythia-1.4B", "gpu_hours"] == 7120
    assert llms.loc["Pythia-2.8B", "gpu_hours"] == 14240
    assert len(data.families) == 35
    assert set(llms.index) == set(data.scores["llm"])
    assert llms.drop(columns="family").notna().any(axis=1).all()
    assert set(llms["finetuned"]) == {0.0, 1.0}
    assert llms["finetuned"].sum() == 5
    # Missing factors stay missing: GPT-4 has no public size.
    assert math.isnan(llms.loc["GPT-4", "params_b"])
    assert llms["params_b"].isna().sum() == 2

    tasks = data.tasks
    assert tasks.loc["PIQA(0-shot)", "chance"] == 0.5
    assert tasks.loc["PIQA(0-shot)", "output_format"] == "binary choice"
    assert tasks.loc["SIQA(0-shot)", "chance"] == pytest.approx(1 / 3)
    assert tasks.loc["TriviaQA(5-shot)", "chance"] == 0.0
    assert tasks.loc["TriviaQA(5-shot)", "output_format"] == "free-form"
    assert tasks.loc["MMLU(5-shot)", "chance"] == 0.25
    assert tasks.loc["NaturalQuestions(64-shot)", "shots"] == 64
    assert tasks.loc["MMLU(5-shot)", "category"] == "multitask"
    assert tasks.loc["ARC-c", "task_family"] == "arc"
    assert (tasks["lo"] == 0).all()
    assert (tasks["hi"] == 100).all()
    assert tasks["higher_is_better"].all()

    wide = data.to_wide()
    assert wide.loc["LLama-2-7B", "BoolQ(0-shot)"] == pytest.approx(77.4)
    assert wide.loc["Luminous Supreme-70B"].notna().sum() > 0


@needs_data
def test_cpp_crowdsourced_notes_report_every_curation(
    load: Callable[..., CollaborativeData],
) -> None:
    notes = load("cpp-crowdsourced").notes
    curation = curation_table("cpp_crowdsourced.toml")

    def noted(*parts: str) -> bool:
        return any(all(p in n for p in parts) for n in notes)

    for entry in curation["rename_llm"]:
        assert noted("curation", repr(entry["from"]), repr(entry["to"]))
    for entry in curation["set_llm"]:
        assert noted("curation", entry["llm"], entry["from"], entry["to"])
    for entry in curation["move_llm"]:
        assert noted("curation", entry["llm"], entry["value"], entry["to_column"])
    for entry in curation["drop_llm_column"]:
        assert noted("curation", repr(entry["column"]), "dropped")
    for entry in curation["set_task"]:
        assert noted("curation", entry["task"], repr(entry["to"]))
    n_entries = sum(
        len(curation[k])
        for k in ("rename_llm", "set_llm", "move_llm", "drop_llm_column", "set_task")
    )
    assert sum(n.startswith("curation: ") for n in notes) == n_entries


@needs_data
def test_cpp_helm(load: Callable[..., CollaborativeData]) -> None:
    data = load("cpp-helm")
    assert (data.n_llms, data.n_tasks, data.n_observed) == (88, 34, 2001)
    assert data.density == pytest.approx(0.6688, abs=1e-4)
    tasks = data.tasks
    assert not any("BPB" in t or "Density" in t or "HumanEval-" in t for t in data.task_names)
    assert "HumanEval (Code) - pass@1" not in data.task_names  # 2 LLMs only
    assert (tasks["lo"] == 0).all()
    assert (tasks["hi"] == 1).all()
    assert tasks["higher_is_better"].all()
    assert tasks.loc["MMLU - EM", "chance"] == 0.25
    assert tasks.loc["BoolQ - EM", "chance"] == 0.5
    assert tasks.loc["HellaSwag - EM", "chance"] == 0.25
    assert tasks.loc["GSM8K - EM", "chance"] == 0.0
    assert tasks.loc["MS MARCO (TREC) - NDCG@10", "category"] == "information retrieval"
    assert tasks.loc["XSUM - ROUGE-2", "category"] == "summarization"
    assert tasks.loc["MATH (chain-of-thoughts) - Equivalent (chain of thought)", "metric"] == (
        "Equivalent (chain of thought)"
    )
    llms = data.llms
    assert llms.loc["Llama 2 (70B)", "family"] == "Llama 2"
    assert llms.loc["Llama 2 (70B)", "params_b"] == 70
    assert llms.loc["ada (350M)", "params_b"] == pytest.approx(0.35)
    for name in (
        "text-davinci-002",
        "gpt-3.5-turbo-0613",
        "GPT-4 (0613)",
        "code-cushman-001 (12B)",
    ):
        assert llms.loc[name, "family"] == "OpenAI"
    assert llms.loc["Cohere Command beta (52.4B)", "family"] == "Cohere"
    assert llms.loc["J1-Jumbo v1 (178B)", "family"] == "AI21"
    assert llms.loc["Jurassic-2 Grande (17B)", "family"] == "AI21"
    assert math.isnan(llms.loc["text-davinci-002", "params_b"])
    assert math.isnan(llms.loc["Mixtral (8x7B 32K seqlen)", "params_b"])
    assert any("'The Pile - BPB'" in n and "lower is better" in n for n in data.notes)
    assert any("human ratings" in n and "XSUM - HumanEval-relevance" in n for n in data.notes)
    assert any("fewer than 20 LLMs" in n for n in data.notes)


@needs_data
def test_cpp_helm_min_llms(load: Callable[..., CollaborativeData]) -> None:
    data = load("cpp-helm", min_llms=60)
    assert data.n_tasks < 34
    assert (data.observed_counts("task") >= 60).all()
    with pytest.raises(DataError, match="min_llms"):
        datasets.load("cpp-helm", data_home=DATA, download=False, min_llms=0)


@needs_data
def test_obsscaling(load: Callable[..., CollaborativeData]) -> None:
    data = load("obsscaling")
    assert (data.n_llms, data.n_tasks, data.n_observed) == (148, 8, 1144)
    llms = data.llms
    assert list(llms.columns) == ["family", "params_b", "tokens_t", "flops_1e21"]
    assert llms["family"].notna().sum() == 148
    assert llms["params_b"].notna().sum() == 148
    assert llms["tokens_t"].notna().sum() == 123
    assert llms["flops_1e21"].notna().sum() == 123
    assert len(data.families) == 47
    assert llms.loc["meta-llama/Llama-2-70b-hf", "params_b"] == 70
    assert llms.loc["openlm-research/open_llama_7b_v2", "params_b"] == 7
    assert llms.loc["cerebras/btlm-3b-8k-base", "tokens_t"] == pytest.approx(0.627)
    assert llms["tokens_t"].max() == 15
    tasks = data.tasks
    assert tasks["category"].to_dict() == {
        "MMLU": "knowledge",
        "ARC-C": "reasoning",
        "HellaSwag": "commonsense",
        "Winograd": "commonsense",
        "TruthfulQA": "truthfulness",
        "GSM8K": "math",
        "XWinograd": "multilingual commonsense",
        "HumanEval": "code",
    }
    assert tasks.loc["Winograd", "chance"] == 0.5
    assert tasks.loc["HumanEval", "chance"] == 0.0
    assert (tasks["hi"] == 1).all()


@needs_data
def test_obsscaling_extra_tables(load: Callable[..., CollaborativeData]) -> None:
    v2 = load("obsscaling", extra="leaderboard_v2")
    assert (v2.n_llms, v2.n_tasks, v2.n_observed) == (148, 14, 1144 + 72 * 6)
    both = load("obsscaling", extra=("leaderboard_v2", "emergent"))
    assert (both.n_llms, both.n_tasks, both.n_observed) == (148, 22, 2189)
    assert both.tasks.loc["ipa_transliterate_2_bleu", "hi"] == 100
    assert both.tasks.loc["leaderboard_mmlu_pro", "chance"] == pytest.approx(0.1)
    assert both.to_wide()["ipa_transliterate_2_bleu"].max() > 1
    with pytest.raises(DataError, match="did you mean 'emergent'"):
        datasets.load("obsscaling", data_home=DATA, download=False, extra=("emergnt",))


@needs_data
@pytest.mark.slow
def test_openllm_v1_full(load: Callable[..., CollaborativeData]) -> None:
    data = load("openllm-v1")
    assert (data.n_llms, data.n_tasks, data.n_observed) == (7169, 6, 43014)
    assert data.density == 1.0
    llms = data.llms
    assert "01-ai/Yi-6B [float16]" in data.llm_names
    assert "01-ai/Yi-6B [bfloat16]" in data.llm_names
    assert "01-ai/Yi-6B" not in data.llm_names
    assert any("707 rows share a Model name" in n for n in data.notes)
    assert llms["params_b"].isna().sum() == 624
    assert (llms["params_b"].dropna() > 0).all()
    assert llms["flagged_flag"].sum() == 7060
    assert llms["is_merge"].sum() == 1009
    assert set(llms["llm_type"].dropna()) == {
        "fine-tuned on domain-specific datasets",
        "chat models (RLHF, DPO, IFT, ...)",
        "base merges and moerges",
        "pretrained",
        "continuously pretrained",
    }
    assert "L;l;a;m;a;F;o;r;C;a;u;s;a;l;L;M" not in set(llms["family"])
    assert (llms["family"] == "unknown").sum() == 318 + 438
    assert llms.loc[llms["family"] == "MixtralForCausalLM", "moe"].eq(1).all()
    assert data.tasks.loc["Winogrande", "chance"] == 0.5
    assert data.tasks.loc["TruthfulQA", "chance"] == 0.0


@needs_data
def test_openllm_v1_subsets(load: Callable[..., CollaborativeData]) -> None:
    small = load("openllm-v1", max_llms=200)
    assert (small.n_llms, small.n_tasks, small.n_observed) == (200, 6, 1200)
    assert small.llm_names[0] == "paloalma/Le_Triomphant-ECE-TW3"
    no_merges = load("openllm-v1", exclude_merges=True, max_llms=200)
    assert no_merges.n_llms == 200
    assert (no_merges.llms["is_merge"].fillna(0) == 0).all()
    assert small.llm_names != no_merges.llm_names
    for bad in (0, -1, 2.5, True):
        with pytest.raises(DataError, match="max_llms"):
            datasets.load("openllm-v1", data_home=DATA, download=False, max_llms=bad)


@needs_data
def test_every_dataset_loads_with_warnings_as_errors(data_env: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for name in ("cpp-crowdsourced", "cpp-helm", "obsscaling"):
            assert isinstance(datasets.load(name, download=False), CollaborativeData)
        datasets.load("obsscaling", download=False, extra=("leaderboard_v2", "emergent"))
        datasets.load("openllm-v1", download=False, max_llms=3)


@needs_data
def test_unit_scores_are_in_range(load: Callable[..., CollaborativeData]) -> None:
    for name in ("cpp-crowdsourced", "cpp-helm", "obsscaling"):
        unit = load(name).unit_scores().to_numpy()
        assert np.all((unit >= 0) & (unit <= 1)), name
