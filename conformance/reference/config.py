"""How a reference server is configured: its emulated version and its ML topology.

Kept free of behaviour so that the CLI can build a configuration from flags and hand it
to :func:`conformance.reference.app.create_app` without importing the cluster model.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

DEFAULT_VERSION = "9.3.0"
"""The newest behaviour described in ``elasticsearch-behaviour.md`` (§4, §1.6 D)."""

DEFAULT_MEMORY_BYTES = 16 * 2**30

_MEMORY_UNITS = {"b": 1, "kb": 2**10, "mb": 2**20, "gb": 2**30, "tb": 2**40}
_NODE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_HARDWARE_THREADS = re.compile(r"^hw\d+$", re.IGNORECASE)
_MEMORY = re.compile(r"^(\d+)\s*(b|kb|mb|gb|tb)?$", re.IGNORECASE)


@dataclass(frozen=True)
class NodeSpec:
    """One ML node: its id and the processors/memory the planner may use (§3.2)."""

    id: str
    allocated_processors: float
    memory_bytes: int = DEFAULT_MEMORY_BYTES
    hardware_threads: int | None = None  # None: the allocated processors rounded up (§3.3)

    @property
    def max_jvm_bytes(self) -> int:
        """The ``ml.max_jvm_size`` attribute: a quarter of the machine memory here."""
        return self.memory_bytes // 4

    @property
    def threads(self) -> int:
        """The hardware threads the node's native process sees (``hardware_concurrency``, §3.3)."""
        return self.hardware_threads if self.hardware_threads is not None else math.ceil(self.allocated_processors)


@dataclass(frozen=True)
class ServerConfig:
    """Everything that makes one reference server differ from another."""

    es_version: str = DEFAULT_VERSION
    nodes: tuple[NodeSpec, ...] = (NodeSpec("ml-0", 4), NodeSpec("ml-1", 4))
    scaling_possible: bool = False
    convergence_delay: float = 0.0
    cluster_name: str = "reference"
    license_type: str = "trial"  # GET _license; PyTorch deployments need platinum, enterprise or trial (§1.1)
    privileges: frozenset[str] | None = None  # None: security off; else on, and the user holds these cluster privileges
    flavor: str = "default"  # "serverless": GET / says so and GET _nodes answers an error (§1.1)
    max_machine_memory_percent: int = 30  # xpack.ml.max_machine_memory_percent (ES default 30)
    use_auto_machine_memory_percent: bool = False  # xpack.ml.use_auto_machine_memory_percent (true on Elastic Cloud)
    max_content_length: int = 100 * 2**20
    """``http.max_content_length`` (default 100mb): a longer request body gets 413."""


def parse_nodes(spec: str) -> tuple[NodeSpec, ...]:
    """Parse ``"ml-0:4,ml-1:8"``, ``"ml-0:4:8gb"`` or ``"ml-0:4:2gb:hw2"`` into node specs.

    Each entry is ``id:processors[:memory][:hwN]``; processors may be fractional (the
    planner rounds them up, §10.6); memory takes ``b``/``kb``/``mb``/``gb``/``tb`` (bytes
    when unitless); ``hwN`` gives the node N hardware threads (default: the processors
    rounded up). Raises ``ValueError`` naming the offending entry.
    """
    entries = [entry.strip() for entry in spec.split(",")]
    if not spec.strip() or any(not entry for entry in entries):
        raise ValueError(f"node spec {spec!r} is empty or has an empty entry; expected e.g. 'ml-0:4,ml-1:8'")
    nodes = tuple(_parse_node(entry) for entry in entries)
    ids = [node.id for node in nodes]
    duplicates = sorted({node_id for node_id in ids if ids.count(node_id) > 1})
    if duplicates:
        raise ValueError(f"node spec {spec!r} repeats node id(s): {', '.join(duplicates)}")
    return nodes


def _parse_node(entry: str) -> NodeSpec:
    pieces = entry.split(":")
    hardware_threads = None
    if len(pieces) > 2 and _HARDWARE_THREADS.match(pieces[-1].strip()):
        hardware_threads = _parse_hardware_threads(entry, pieces.pop().strip())
    if len(pieces) not in (2, 3):
        raise ValueError(f"node entry {entry!r} must be 'id:processors[:memory][:hwN]'")
    node_id, processors_text = pieces[0].strip(), pieces[1].strip()
    if not _NODE_ID.match(node_id):
        raise ValueError(f"node entry {entry!r}: id {node_id!r} must be letters, digits, '-', '_' or '.'")
    try:
        processors = float(processors_text)
    except ValueError:
        raise ValueError(f"node entry {entry!r}: processors {processors_text!r} is not a number") from None
    if not math.isfinite(processors) or processors <= 0:
        raise ValueError(f"node entry {entry!r}: processors must be a positive number")
    memory = _parse_memory(entry, pieces[2].strip()) if len(pieces) == 3 else DEFAULT_MEMORY_BYTES
    return NodeSpec(node_id, processors, memory, hardware_threads)


def _parse_hardware_threads(entry: str, text: str) -> int:
    count = int(text[2:])
    if count <= 0:
        raise ValueError(f"node entry {entry!r}: hardware threads must be positive")
    return count


def _parse_memory(entry: str, text: str) -> int:
    match = _MEMORY.match(text)
    if not match:
        raise ValueError(f"node entry {entry!r}: memory {text!r} must look like '8gb', '512mb' or a byte count")
    amount = int(match.group(1)) * _MEMORY_UNITS[(match.group(2) or "b").lower()]
    if amount <= 0:
        raise ValueError(f"node entry {entry!r}: memory must be positive")
    return amount
