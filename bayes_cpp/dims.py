"""Dimension names, variable names and interval constants used everywhere.

One place for the vocabulary so that data, graph, predictions and diagnostics
agree. The LLM axis is ``llm`` (never ``model``: that collides with
``pm.Model`` and with ArviZ's model-comparison dimension).
"""

from __future__ import annotations

from typing import Final

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
