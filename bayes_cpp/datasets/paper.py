"""The CPP paper's named evaluation sets, as named in the bundled datasets.

The LLMs of its Table 4 (large LLMs held out, CPP-0/CPP-2) and the tasks of its
Table 5 (new tasks, CPP-T0/T2), next to the curation tables that fix the
datasets' names.
"""

from __future__ import annotations

from bayes_cpp.data import CollaborativeData

__all__ = ["PAPER_TABLE4", "PAPER_TABLE4_LLMS", "PAPER_TABLE5_TASKS", "paper_table4_llms"]

#: The 12 large LLMs of the CPP paper's Table 4: the ``cpp-crowdsourced`` name,
#: then the ``obsscaling`` name of the same LLM where that dataset has it.
PAPER_TABLE4: tuple[tuple[str, ...], ...] = (
    ("LLama-2-70B", "meta-llama/Llama-2-70b-hf"),
    ("Llama 3 70B", "meta-llama/Meta-Llama-3-70B"),
    ("LLaMA-65B", "huggyllama/llama-65b"),
    ("Luminous Supreme-70B",),
    ("Pythia-12B", "EleutherAI/pythia-12b-deduped"),
    ("Yi-9b",),
    ("Baichuan 2-13B-Base",),
    ("Qwen-14B", "Qwen/Qwen-14B"),
    ("TigerBot-70b",),
    ("Gemma-7b", "google/gemma-7b"),
    ("Falcon-180B", "tiiuae/falcon-180B"),
    ("Gopher - 280B",),
)

#: The Table 4 LLMs as named in ``cpp-crowdsourced``.
PAPER_TABLE4_LLMS: tuple[str, ...] = tuple(names[0] for names in PAPER_TABLE4)


def paper_table4_llms(data: CollaborativeData) -> list[str]:
    """The LLMs of the CPP paper's Table 4 that ``data`` has, under its own names."""
    known = set(data.llm_names)
    return [next(n for n in names if n in known) for names in PAPER_TABLE4 if known & set(names)]


#: The 4 tasks of the CPP paper's Table 5 (new-task setting), as named in ``cpp-crowdsourced``.
PAPER_TABLE5_TASKS: tuple[str, ...] = (
    "BoolQ(0-shot)",
    "BIG-bench hard(3-shot)",
    "HellaSwag(10-shot)",
    "HumanEval(pass@1)",
)
