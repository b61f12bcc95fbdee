"""The batch engine that `feast materialize` uses (named in feature_store.yaml).

STUB for now: Feast's LocalComputeEngine. To become the chunked, gated, checkpointed,
monotonic engine of issue 4.
"""
from __future__ import annotations

from typing import Literal

from feast.infra.compute_engines.local.compute import LocalComputeEngine, LocalComputeEngineConfig


class NbaBatchEngineConfig(LocalComputeEngineConfig):
    type: Literal["materialize.engine.NbaBatchEngine"] = "materialize.engine.NbaBatchEngine"  # type: ignore[assignment]


class NbaBatchEngine(LocalComputeEngine):
    pass
