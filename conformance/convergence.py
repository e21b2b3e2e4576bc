"""Convergence: what an assignment promises once its routes settle, and whether a
``_stats`` observation keeps that promise (§2.4, §3.5 P13).

Kept apart from the run so that the rules of convergence can be read, tested and
refined (e.g. for nodes whose native process runs fewer allocations than planned,
§3.3) without touching how the run polls.
"""

from __future__ import annotations

from typing import Any, Mapping

from conformance.exchange import DeploymentObservation


def promise_of(assignment: Mapping[str, Any]) -> dict[str, Any]:
    """What an assignment promises once its routes settle (§2.4, §3.5 P13)."""
    routing = assignment.get("routing_table") or {}
    targets = {node: int(route.get("target_allocations", 0)) for node, route in routing.items()
               if isinstance(route, Mapping)}
    parameters = assignment.get("task_parameters") or {}
    return {
        "target_allocations": targets,
        "total": sum(targets.values()),
        "number_of_allocations": parameters.get("number_of_allocations"),
    } if assignment else {}


def has_converged(observed: DeploymentObservation | None, promise: Mapping[str, Any]) -> bool:
    """Every promised node runs its target count in a started route, and no other node runs any."""
    if observed is None:
        return False
    targets: Mapping[str, int] = promise.get("target_allocations", {})
    for node_id, target in targets.items():
        route = observed.nodes.get(node_id)
        if target > 0 and (route is None or route.routing_state != "started" or route.allocations != target):
            return False
    extra = sum(r.allocations for n, r in observed.nodes.items() if n not in targets)
    if extra:
        return False
    return observed.allocation_count in (None, promise.get("total"))
