"""The one reader of ``GET _ml/trained_models/_stats``: a document in, typed observations out.

The run polls ``_stats`` for convergence, provisioning reads an adopted deployment's
settings back through it, clean-up lists the run's deployments from it, and the traffic
compares the state before and after its requests. They all read the same document, so
they read it here, one way: a deployment is a ``trained_model_stats`` entry with a
``deployment_stats`` object, keyed by its ``deployment_id`` (the model id before 8.8,
§1.2). What the state means is judged elsewhere.

The reader is tolerant of gaps: a body that is not an object, ``trained_model_stats`` that
is not a list, entries or ``deployment_stats`` that are not objects, ``nodes`` that is not
a list and nodes without a node object are passed over; a missing field (or a nested object
of the wrong type) reads as ``None``, and a node count that is no number as 0, so that a bad
answer is judged by the rules instead of ending a wait or the run. Rules that judge the document's own shape
(its JSON paths, a field's type, an absent field against a ``null`` one) read the raw JSON
(:mod:`conformance.rules.reading`) instead of these normalised figures.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from conformance.exchange import DeploymentObservation, NodeAllocation, Snapshot

__all__ = ["parse_stats"]


def parse_stats(body: Any, taken_at: float) -> Snapshot:
    """Normalise ``GET _ml/trained_models/_stats`` into a :class:`Snapshot` (tolerant of gaps)."""
    deployments: dict[str, DeploymentObservation] = {}
    entries = body.get("trained_model_stats") if isinstance(body, Mapping) else None
    for entry in entries if isinstance(entries, list) else ():
        stats = entry.get("deployment_stats") if isinstance(entry, Mapping) else None
        if not isinstance(stats, Mapping):
            continue
        observation = _observation(entry, stats)
        deployments[observation.deployment_id] = observation
    return Snapshot(deployments=deployments, taken_at=taken_at)


def _observation(entry: Mapping[str, Any], stats: Mapping[str, Any]) -> DeploymentObservation:
    status = _object(stats.get("allocation_status"))
    model_id = str(_present(stats.get("model_id"), entry.get("model_id"), ""))
    return DeploymentObservation(
        deployment_id=str(_present(stats.get("deployment_id"), model_id)),
        model_id=model_id,
        state=stats.get("state"),
        number_of_allocations=stats.get("number_of_allocations"),
        threads_per_allocation=stats.get("threads_per_allocation"),
        priority=stats.get("priority"),
        queue_capacity=stats.get("queue_capacity"),
        cache_size=stats.get("cache_size"),
        allocation_count=status.get("allocation_count"),
        target_allocation_count=status.get("target_allocation_count"),
        start_time_ms=stats.get("start_time"),
        nodes=dict(_node_allocations(stats.get("nodes"))),
        adaptive_allocations=stats.get("adaptive_allocations"),
        required_native_memory_bytes=_object(entry.get("model_size_stats")).get("required_native_memory_bytes"),
    )


def _node_allocations(nodes: Any) -> Iterable[tuple[str, NodeAllocation]]:
    for node in nodes if isinstance(nodes, list) else ():
        if not isinstance(node, Mapping) or not isinstance(node.get("node"), Mapping) or not node["node"]:
            continue
        node_id = next(iter(node["node"]))
        routing = _object(node.get("routing_state"))
        yield (
            node_id,
            NodeAllocation(
                routing_state=str(routing.get("routing_state", "")),
                allocations=_count(node.get("number_of_allocations")),
                threads_per_allocation=_count(node.get("threads_per_allocation")),
            ),
        )


def _object(value: Any) -> Mapping[str, Any]:
    """``value`` where it is a JSON object, else an empty one (a field of the wrong type reads as absent)."""
    return value if isinstance(value, Mapping) else {}


def _present(*values: Any) -> Any:
    """The first value that is there (not ``None``: a JSON ``null`` id is no id)."""
    return next((value for value in values if value is not None), None)


def _count(value: Any) -> int:
    """A count as a number (``3``, ``3.0`` or ``"3"``); anything else, or nothing, reads as 0."""
    try:
        return int(value or 0)
    except (TypeError, ValueError, OverflowError):
        return 0
