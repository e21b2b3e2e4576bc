"""What discovery learned about a target: the facts every rule is judged against.

Capacity always comes from the target (``GET _nodes`` attributes), never from the
machine the suite runs on.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

MB = 2**20
NATIVE_EXECUTABLE_CODE_OVERHEAD = 30 * MB  # ES MachineLearning.NATIVE_EXECUTABLE_CODE_OVERHEAD


class Feature(enum.StrEnum):
    """A named behaviour that a profile has from one version on: the features of
    ``schemas/profiles.json`` (its ``since``, ``source`` and description are there; a test
    keeps the two lists equal). Rules require them, scenarios need them, the oracle asks."""

    DEPLOYMENT_ID = "deployment_id"
    MEMORY_FIELDS = "memory_fields"
    QUERY_NUMBER_OF_ALLOCATIONS = "query_number_of_allocations"
    EMPTY_BODY_NOOP = "empty_body_noop"
    ADAPTIVE_ALLOCATIONS = "adaptive_allocations"
    TRUNCATED_JSON_400 = "truncated_json_400"
    INFERENCE_ENDPOINT_CONFLICT = "inference_endpoint_conflict"
    LOW_PRIORITY_UPDATE_REJECTED = "low_priority_update_rejected"


@dataclass(frozen=True, order=True)
class Version:
    major: int
    minor: int
    patch: int = 0

    @classmethod
    def parse(cls, text: str) -> Version:
        """``"8.15.2"``, ``"9.0.0-SNAPSHOT"`` or ``"8.16"`` -> ``Version``; raises ``ValueError``."""
        core = text.strip().split("-", 1)[0]
        pieces = core.split(".")
        if not 2 <= len(pieces) <= 3 or not all(p.isdigit() for p in pieces):
            raise ValueError(f"not an Elasticsearch version: {text!r}")
        numbers = [int(p) for p in pieces] + [0] * (3 - len(pieces))
        return cls(*numbers)

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"


@dataclass(frozen=True)
class MlNode:
    """An ML node and the processors the planner may use on it (section 3.2)."""

    id: str
    name: str
    allocated_processors: float
    memory_bytes: int | None = None  # ``ml.machine_memory``
    hardware_threads: int | None = None  # what the node's OS reports, where the target exposes it (§3.3)
    ml_memory_bytes: int | None = None  # what ML may use: ES NativeMemoryCalculator.allowedBytesForMl (§3.2)

    @property
    def planner_memory_bytes(self) -> int | None:
        """Memory the planner may fill with deployments: the ML memory less the native code
        loaded once per node (ES ``NodeLoad.getFreeMemoryExcludingPerNodeOverhead``); ``None``
        when the target does not say."""
        if self.ml_memory_bytes is None:
            return None
        return max(self.ml_memory_bytes - NATIVE_EXECUTABLE_CODE_OVERHEAD, 0)

    @property
    def processor_capacity(self) -> int:
        """Processors for normal-priority allocations: the attribute rounded up (section 10.6)."""
        return math.ceil(self.allocated_processors) if self.allocated_processors > 0 else 0


@dataclass(frozen=True)
class Context:
    """The discovered target. ``features`` are the profile's named behaviours.

    ``scaling_possible`` is ``None`` when the target does not say (then both answers to
    an over-capacity increase that Elasticsearch can give are accepted).
    """

    version: Version
    flavor: str
    profile: str
    features: frozenset[Feature]
    nodes: tuple[MlNode, ...]
    scaling_possible: bool | None = None
    limits: Mapping[str, Any] = field(default_factory=dict)
    reported_version: Version | None = None  # what GET / said, when --profile forces another
    capacity_unknown: str | None = None  # why the ML nodes cannot be read (serverless, _nodes refused), else None
    allow_scaling: bool = False  # the user's consent (--allow-scaling) to updates that would scale the cluster up

    def has(self, feature: Feature) -> bool:
        return feature in self.features

    def node(self, node_id: str) -> MlNode | None:
        return next((n for n in self.nodes if n.id == node_id), None)

    @property
    def holds_back_scaling(self) -> bool:
        """Updates beyond capacity are withheld: the target would add ML nodes for them
        (minutes of waiting, and a bill, §1.6 C.8) and the user did not consent."""
        return self.scaling_possible is True and not self.allow_scaling

    @property
    def total_processors(self) -> int:
        return sum(n.processor_capacity for n in self.nodes)
