"""Hand-built documents in the shapes of the behaviour document, per profile.

Builders return a fresh, complete, valid document for a profile; tests break one thing
at a time with ``mutated``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from conformance.schemas import Profile

NODE = "uckeG3R8TLe2MMNBQ6AGrw"  # a real node id from the docs example (§7)
OTHER_NODE = "9wPkeCtmQe2q_Ls-0YHTcg"


def task_parameters(profile: Profile, **overrides: Any) -> dict[str, Any]:
    """TaskParams.toXContent in emitted order (§2.3), with the profile's optional fields."""
    doc: dict[str, Any] = {"model_id": "test_model"}
    if profile.has("deployment_id"):
        doc["deployment_id"] = "test_model_deployment"
    doc.update(
        model_bytes=1630, threads_per_allocation=1, number_of_allocations=4, queue_capacity=10000, priority="normal"
    )
    if profile.has("memory_fields"):
        doc.update(per_deployment_memory_bytes=0, per_allocation_memory_bytes=0)
    doc.update(overrides)
    return doc


def assignment_response(profile: Profile, **overrides: Any) -> dict[str, Any]:
    """The immediate post-increase answer of §7 completed with every field the profile writes (§2.2)."""
    assignment: dict[str, Any] = {
        "task_parameters": task_parameters(profile),
        "routing_table": {
            NODE: {"current_allocations": 1, "target_allocations": 4, "routing_state": "started", "reason": ""}
        },
        "assignment_state": "started",
        "start_time": "2022-11-02T11:50:34.766591Z",
        "max_assigned_allocations": 1,
    }
    if profile.has("adaptive_allocations"):
        assignment["adaptive_allocations"] = None
    assignment.update(overrides)
    return {"assignment": assignment}


def stats_response(profile: Profile) -> dict[str, Any]:
    """GET _stats for one deployed model: the fields the suite reads (§3.4, §7)."""
    deployment: dict[str, Any] = {"model_id": "test_model"}
    if profile.has("deployment_id"):
        deployment["deployment_id"] = "test_model_deployment"
    deployment.update(
        threads_per_allocation=1,
        number_of_allocations=2,
        queue_capacity=1024,
        state="started",
        allocation_status={"allocation_count": 2, "target_allocation_count": 2, "state": "fully_allocated"},
        priority="normal",
        start_time=1667389834766,
        peak_throughput_per_minute=0,
        nodes=[
            {
                "node": {NODE: {"name": "node-0", "roles": ["ml"], "attributes": {}}},
                "routing_state": {"routing_state": "started"},
                "start_time": 1667389834766,
                "threads_per_allocation": 1,
                "number_of_allocations": 2,
                "peak_throughput_per_minute": 0,
                "throughput_last_minute": 0,
            }
        ],
    )
    return {
        "count": 1,
        "trained_model_stats": [
            {
                "model_id": "test_model",
                "model_size_stats": {"model_size_bytes": 1630, "required_native_memory_bytes": 251661020},
                "pipeline_count": 0,
                "deployment_stats": deployment,
            }
        ],
    }


def envelope(status: int, type_: str, reason: str, **extra: Any) -> dict[str, Any]:
    """Elasticsearch's error envelope with a single root cause (DESIGN, §1.5)."""
    cause = {"type": type_, "reason": reason}
    return {"error": {"root_cause": [dict(cause)], **cause, **extra}, "status": status}


def mutated(doc: dict[str, Any], change: Callable[[dict[str, Any]], Any]) -> dict[str, Any]:
    """A deep copy of ``doc`` with ``change`` applied to it."""
    copied = copy.deepcopy(doc)
    change(copied)
    return copied
