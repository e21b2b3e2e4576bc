"""The one reader of ``GET _ml/trained_models/_stats``: a document in, typed observations out.

The run polls ``_stats`` for convergence, provisioning reads an adopted deployment's
settings back through it, clean-up lists the run's deployments from it, and the traffic
compares the state before and after its requests. They all read the same document, so
they read it here, one way: a deployment is a ``trained_model_stats`` entry with a
``deployment_stats`` object, keyed by its ``deployment_id`` (the model id before 8.8,
§1.2). What the state means is judged elsewhere.

The reader is tolerant of gaps: a body that is not an object, ``trained_model_stats`` that
is not a list, entries or ``deployment_stats`` that are not objects, and nodes without a
node object are passed over, and a missing field reads as ``None``, so that a bad answer
is judged by the rules instead of ending a wait. Rules that judge the document's own shape
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
    status = stats.get("allocation_status") or {}
    model_id = str(stats.get("model_id", entry.get("model_id", "")))
    return DeploymentObservation(
        deployment_id=str(stats.get("deployment_id", model_id)),
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
        nodes=dict(_node_allocations(stats.get("nodes") or ())),
        adaptive_allocations=stats.get("adaptive_allocations"),
        required_native_memory_bytes=(entry.get("model_size_stats") or {}).get("required_native_memory_bytes"),
    )


def _node_allocations(nodes: Iterable[Any]) -> Iterable[tuple[str, NodeAllocation]]:
    for node in nodes:
        if not isinstance(node, Mapping) or not isinstance(node.get("node"), Mapping) or not node["node"]:
            continue
        node_id = next(iter(node["node"]))
        routing = node.get("routing_state") or {}
        yield (
            node_id,
            NodeAllocation(
                routing_state=str(routing.get("routing_state", "")),
                allocations=int(node.get("number_of_allocations") or 0),
                threads_per_allocation=int(node.get("threads_per_allocation") or 0),
            ),
        )
