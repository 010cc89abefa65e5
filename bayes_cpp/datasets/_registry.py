"""Static records of the bundled public datasets (no I/O here).

Shapes are declared, not measured, so :func:`bayes_cpp.datasets.list` works
offline; ``tests/test_datasets.py`` checks every declaration against a real load.
"""

from __future__ import annotations

from dataclasses import dataclass

from bayes_cpp._validation import listing, suggest
from bayes_cpp.exceptions import DataError

__all__ = ["REGISTRY", "DataFile", "DatasetInfo", "get_info"]

_CPP_REPO = "Don-Joey/CPP_LLM"
_CPP_COMMIT = "4c4319a36d38a8eff086559c1a0c751570e6740f"
_CPP_LICENSE = "none (no license file upstream: download from the source, do not redistribute)"
_OBS_REPO = "ryoungj/ObsScaling"
_OBS_COMMIT = "4d6e1e43fd2635d04654aa77d1df9d5266ea0382"
_SLOTH_REPO = "felipemaiapolo/sloth"
_SLOTH_COMMIT = "6dc6bb3efeefc7c1db01d60cba1f4b73e5d260d1"


@dataclass(frozen=True)
class DataFile:
    """One raw file of a dataset.

    Attributes
    ----------
    fname : str
        Local file name (inside the dataset's ``subdir``).
    path : str
        Path of the file in the source repository.
    sha256 : str
        Hex digest of the pinned file.
    """

    fname: str
    path: str
    sha256: str


@dataclass(frozen=True)
class DatasetInfo:
    """Registry record of a named dataset.

    Attributes
    ----------
    name : str
        Name passed to :func:`bayes_cpp.datasets.load`.
    description : str
        One line on what the data is.
    repo, commit : str
        Source GitHub repository (``owner/name``) and pinned commit.
    license : str
        License of the source files.
    subdir : str
        Folder of the files under ``BAYES_CPP_DATA`` (and in the download cache).
    files : tuple of DataFile
        Raw files, each with its path in the repository and sha256.
    n_llms, n_tasks, n_observed : int
        Declared shape of ``load(name)`` with default options.
    options : tuple of (str, str)
        Keyword options of ``load(name, ...)`` and what they do.
    """

    name: str
    description: str
    repo: str
    commit: str
    license: str
    subdir: str
    files: tuple[DataFile, ...]
    n_llms: int
    n_tasks: int
    n_observed: int
    options: tuple[tuple[str, str], ...] = ()

    @property
    def shape(self) -> tuple[int, int]:
        """Declared ``(n_llms, n_tasks)``."""
        return (self.n_llms, self.n_tasks)

    @property
    def density(self) -> float:
        """Declared share of observed cells."""
        return self.n_observed / (self.n_llms * self.n_tasks)

    @property
    def source(self) -> str:
        """``owner/name@commit`` of the source repository."""
        return f"{self.repo}@{self.commit}"

    @property
    def option_names(self) -> tuple[str, ...]:
        """Names of the keyword options ``load`` accepts for this dataset."""
        return tuple(name for name, _ in self.options)

    def file(self, fname: str) -> DataFile:
        """Return the record of one raw file by its local name."""
        for item in self.files:
            if item.fname == fname:
                return item
        known = [f.fname for f in self.files]
        raise DataError([f"dataset {self.name!r} has no file {fname!r}; files: {listing(known)}"])

    def url(self, file: DataFile) -> str:
        """Raw download address of ``file`` at the pinned commit."""
        return f"https://raw.githubusercontent.com/{self.repo}/{self.commit}/{file.path}"


_CPP_FILES = {
    "crowdsource_performance.csv": (
        "cc8398bd025e4bbb498c2650a9f5f9f4a44299627c20055da757d3a43c415e1d"
    ),
    "model_feature.csv": "998da96e13e84e96759ee92805d7102b8eb6186cc750e433b055a87c407bf3d7",
    "benchmark_feature.csv": "da7f5cee65195ecdd4de6efaefc3fda9d2971df8f1839e3f2bdca8133b764797",
    "helm_core.csv": "cf1abd1380309922a8b301e057bfd25c64a4f54ca807dc4c256f82c865d95ac4",
}
_OBS_FILES = {
    "base_llm_benchmark_eval.csv": (
        "511996815735a4c46251dc585dcc525e370d148201f86561e6f927f9df2d0db8"
    ),
    "base_llm_leaderboard_v2_eval.csv": (
        "ace728c962dfb2b9133fe92081c818e3fba01391694c9590fa0198f850062563"
    ),
    "base_llm_emergent_capability_eval.csv": (
        "a156beee73c39b7833c3c53535c473939105512d85e90b0143be7325e516ef7c"
    ),
}


def _cpp(*names: str) -> tuple[DataFile, ...]:
    return tuple(DataFile(n, f"data/{n}", _CPP_FILES[n]) for n in names)


REGISTRY: dict[str, DatasetInfo] = {
    info.name: info
    for info in (
        DatasetInfo(
            name="cpp-crowdsourced",
            description=(
                "CPP paper's crowdsourced matrix: scores from papers, reports and model cards "
                "(percent; mixed prompt settings), with curated LLM and task design factors"
            ),
            repo=_CPP_REPO,
            commit=_CPP_COMMIT,
            license=_CPP_LICENSE,
            subdir="cpp_llm",
            files=_cpp("crowdsource_performance.csv", "model_feature.csv", "benchmark_feature.csv"),
            n_llms=72,
            n_tasks=29,
            n_observed=878,
        ),
        DatasetInfo(
            name="cpp-helm",
            description=(
                "HELM classic (+ lite) leaderboard as released with the CPP paper: bounded "
                "accuracy-like metrics only (fractions)"
            ),
            repo=_CPP_REPO,
            commit=_CPP_COMMIT,
            license=_CPP_LICENSE,
            subdir="cpp_llm",
            files=_cpp("helm_core.csv"),
            n_llms=88,
            n_tasks=34,
            n_observed=2001,
            options=(("min_llms", "keep metrics observed for at least this many LLMs (20)"),),
        ),
        DatasetInfo(
            name="obsscaling",
            description=(
                "Observational Scaling Laws: base LLMs on 8 benchmarks with one harness "
                "(fractions), with size, tokens and FLOPs"
            ),
            repo=_OBS_REPO,
            commit=_OBS_COMMIT,
            license="Apache-2.0",
            subdir="obsscaling",
            files=tuple(DataFile(n, f"eval_results/{n}", h) for n, h in _OBS_FILES.items()),
            n_llms=148,
            n_tasks=8,
            n_observed=1144,
            options=(
                (
                    "extra",
                    "tables to join on Model: 'leaderboard_v2' (6 tasks) and/or "
                    "'emergent' (8 BIG-bench tasks); default none",
                ),
            ),
        ),
        DatasetInfo(
            name="openllm-v1",
            description=(
                "Open LLM Leaderboard v1 dump (7,169 submissions x 6 tasks, percent, complete); "
                "architecture as family"
            ),
            repo=_SLOTH_REPO,
            commit=_SLOTH_COMMIT,
            license="MIT (sloth repository; scores from the Hugging Face Open LLM Leaderboard)",
            subdir="openllm",
            files=(
                DataFile(
                    "open-llm-leaderboard_v1.csv",
                    "data/open-llm-leaderboard_old.csv",
                    "4fc6c5ff328753a1b4e5d1eac764eac127d4341d685e0615c3c399b879055f28",
                ),
            ),
            n_llms=7169,
            n_tasks=6,
            n_observed=43014,
            options=(
                ("exclude_merges", "drop LLMs whose Type is 'base merges and moerges' (False)"),
                ("max_llms", "keep the first N LLMs in file order after filters (None = all)"),
            ),
        ),
    )
}


def get_info(name: str) -> DatasetInfo:
    """Registry record of ``name`` or a :class:`DataError` with a suggestion."""
    if not isinstance(name, str) or name not in REGISTRY:
        names = list(REGISTRY)
        hint = suggest(str(name), names)
        raise DataError([f"unknown dataset {name!r}{hint}; available: {listing(names)}"])
    return REGISTRY[name]
