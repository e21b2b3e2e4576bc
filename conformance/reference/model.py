"""The cluster's records: trained models, deployments and their routes (plain data).

Behaviour lives in :mod:`conformance.reference.cluster`; these classes only hold state
and compute what follows directly from it (§2.5 assignment state, §2.2 max allocations).
"""

from __future__ import annotations

import enum
import io
import zipfile
from dataclasses import dataclass, field
from typing import Any, Final

from conformance.reference.native import ThreadSettings


class Absent(enum.Enum):
    """The one value of a request field that was not sent (as opposed to JSON ``null``)."""

    ABSENT = "absent"

    def __repr__(self) -> str:
        return "ABSENT"


ABSENT: Final = Absent.ABSENT


@dataclass
class TrainedModel:
    model_id: str
    config: dict[str, Any]
    create_time_ms: int
    vocabulary: list[str] | None = None
    parts: dict[int, bytes] = field(default_factory=dict)
    total_parts: int | None = None
    total_definition_length: int | None = None

    @property
    def fully_defined(self) -> bool:
        return self.total_parts is not None and len(self.parts) == self.total_parts

    def declared_memory(self, name: str) -> int:
        """``metadata.per_deployment_memory_bytes`` / ``per_allocation_memory_bytes``: what an
        uploader (eland) declares and a start copies into the task parameters (ES #98139); 0 when absent."""
        value = (self.config.get("metadata") or {}).get(name) if isinstance(self.config.get("metadata"), dict) else None
        return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0

    @property
    def packaged(self) -> bool:
        """An Elastic-provided model (``.elser_model_2``...): its definition would be downloaded."""
        return self.model_id.startswith(".")

    @property
    def model_bytes(self) -> int:
        if self.total_definition_length is not None:
            return self.total_definition_length
        return sum(len(part) for part in self.parts.values())

    def is_torchscript(self) -> bool:
        """A TorchScript file is a zip with ``<dir>/data.pkl`` and ``<dir>/version`` entries."""
        if not self.fully_defined:
            return False
        definition = b"".join(self.parts[index] for index in range(self.total_parts or 0))
        try:
            with zipfile.ZipFile(io.BytesIO(definition)) as archive:
                names = {name.rsplit("/", 1)[-1] for name in archive.namelist()}
        except (zipfile.BadZipFile, ValueError, OSError, EOFError):
            return False
        return {"data.pkl", "version"} <= names


@dataclass
class Route:
    """One node's share of a deployment (§2.4). ``settles_at`` is when the node catches up;
    ``process`` is what the node's native process runs once it started (§3.3, §3.4)."""

    current: int
    target: int
    state: str  # starting | started | stopping | failed
    reason: str | None
    settles_at: float
    process: ThreadSettings | None = None
    inference_count: int = 0
    cache_hits: int = 0
    timeout_count: int = 0
    last_access_ms: int | None = None


@dataclass
class Deployment:
    deployment_id: str
    model_id: str
    model_bytes: int
    threads_per_allocation: int
    number_of_allocations: int
    queue_capacity: int
    priority: str
    start_time_ns: int
    cache_size: str | None = None
    cache_size_bytes: int | None = None
    per_deployment_memory_bytes: int = 0
    per_allocation_memory_bytes: int = 0
    routes: dict[str, Route] = field(default_factory=dict)
    reason: str | None = None
    max_assigned_allocations: int = 0
    adaptive_allocations: dict[str, Any] | None = None
    inference_id: str | None = None
    inferences_routed: int = 0
    """How many documents were routed so far: the position in the weighted round robin."""
    caches: dict[str, Any] = field(default_factory=dict)
    """Node id -> the native process's inference cache (:class:`.inference.InferenceCache`)."""
    idle_since: float = 0.0
    """The cluster clock at the start or the last inference request: the scaler's idle time (§11.5 C)."""

    @property
    def low_priority(self) -> bool:
        return self.priority == "low"

    @property
    def state(self) -> str:
        """§2.5 / §10.1: ``started`` iff some route is started, else ``starting``; a deployment
        scaled to zero allocations is ``started`` (ES#115824, 8.16; §11.5 C)."""
        if self.number_of_allocations == 0 and not self.routes:
            return "started"
        return "started" if any(route.state == "started" for route in self.routes.values()) else "starting"

    @property
    def total_current(self) -> int:
        return sum(route.current for route in self.routes.values())

    @property
    def total_target(self) -> int:
        return sum(route.target for route in self.routes.values())

    def record_max_assigned(self) -> None:
        """§2.2: ``max_assigned_allocations`` is max-ed with the current total, never lowered."""
        self.max_assigned_allocations = max(self.max_assigned_allocations, self.total_current)


@dataclass(frozen=True)
class UpdateRequest:
    """A parsed ``_update``: ``number_of_allocations`` ``None`` = not sent; ``adaptive`` may be
    :data:`ABSENT`, ``None`` (JSON null = reset, §1.4) or a dict whose ``-1`` means "unset"."""

    number_of_allocations: int | None = None
    adaptive: Any | Absent = ABSENT


@dataclass(frozen=True)
class StartRequest:
    model_id: str
    deployment_id: str
    number_of_allocations: int | None = None
    threads_per_allocation: int = 1
    queue_capacity: int = 10_000
    cache_size: str | None = None
    cache_size_bytes: int | None = None
    priority: str = "normal"
    adaptive: dict[str, Any] | None = None
    inference_id: str | None = None


@dataclass
class InferenceEndpoint:
    inference_id: str
    task_type: str
    service: str
    service_settings: dict[str, Any] = field(default_factory=dict)
