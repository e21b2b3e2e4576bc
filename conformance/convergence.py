"""Convergence: what an assignment promises once its routes settle, and whether a
``_stats`` observation keeps that promise (§2.4, §3.4, §3.5 P13).

A route's target is what the node is asked to run, not always what it runs: the native
process on the node fits allocations and threads into the node's hardware threads
(§3.3), reports what it runs, and the node writes that count into the routing table as
``current_allocations`` (§3.4). So the promise is judged against what each node can
run: a node that clamps by design has converged at its clamped count, and one that
runs more than its hardware threads allow has not. Where a node's hardware threads are
unknown, the route's target is the promise, as before.

Kept apart from the run so that the rules of convergence can be read, tested and
refined without touching how the run polls.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from conformance.context import MlNode
from conformance.exchange import DeploymentObservation
from conformance.expectations import ConvergencePromise

NO_PROMISE: Final = ConvergencePromise()
"""What :func:`promise_of` makes of no assignment: no field promised."""


@dataclass(frozen=True)
class Expected:
    """What one route settles at: the allocations its process runs and the ``current_allocations`` written."""

    runs: int
    current: int


def _ceil_div(numerator: int, denominator: int) -> int:
    return -(-numerator // denominator)


def settles_at(route: Mapping[str, Any], threads_per_allocation: int, hardware_threads: int | None) -> Expected:
    """What a route of an assignment settles at on a node with ``hardware_threads`` (§3.3, §3.4).

    - current equal to target (a new route, or one the node has nothing to tell): the
      process runs the target within the hardware threads, and the routing table keeps
      the target, since the node only writes back after a live update;
    - current different from target: the node sends the target to the running process,
      which caps it at ceil(hardware threads / its threads per allocation), and writes
      back what the process reports. The process's threads were fitted at start into
      ceil(hardware threads / allocations started with); the route's current count
      stands for that start. This is exact for one-thread deployments and whenever the
      target fits the hardware threads; for a process started with more allocations
      than it runs now it may under-estimate.
    """
    target = int(route.get("target_allocations", 0) or 0)
    current = int(route.get("current_allocations", 0) or 0)
    if hardware_threads is None or target < 1:
        return Expected(target, target)
    if current == target:
        return Expected(min(target, hardware_threads), target)
    started_with = min(max(current, 1), hardware_threads)
    threads = max(1, min(threads_per_allocation, _ceil_div(hardware_threads, started_with)))
    runs = max(1, min(target, _ceil_div(hardware_threads, threads)))
    return Expected(runs, runs)


def promise_of(assignment: Mapping[str, Any], nodes: Iterable[MlNode] = ()) -> ConvergencePromise:
    """What an assignment promises once its routes settle (§2.4, §3.4, §3.5 P13).

    Each route's target is clamped where ``nodes`` say how many hardware threads its node
    has. No assignment, or one without a routing table (an object), makes no promise
    (:data:`NO_PROMISE`): the shape rules judge such an answer, and waiting for what it did
    not say would only hold the run to its convergence ceiling.
    """
    if not assignment or not isinstance(assignment.get("routing_table"), Mapping):
        return NO_PROMISE
    hardware = {node.id: node.hardware_threads for node in nodes}
    parameters = assignment.get("task_parameters") or {}
    threads = parameters.get("threads_per_allocation")
    threads = threads if isinstance(threads, int) and threads > 0 else 1
    routing = {
        node: route for node, route in (assignment.get("routing_table") or {}).items() if isinstance(route, Mapping)
    }
    expected = {node: settles_at(route, threads, hardware.get(node)) for node, route in routing.items()}
    return ConvergencePromise(
        target_allocations={node: e.runs for node, e in expected.items()},
        total=sum(e.runs for e in expected.values()),
        current_total=sum(e.current for e in expected.values()),
        route_targets={node: int(route.get("target_allocations", 0) or 0) for node, route in routing.items()},
        number_of_allocations=parameters.get("number_of_allocations"),
    )


def has_converged(observed: DeploymentObservation | None, promise: ConvergencePromise) -> bool:
    """Every promised node runs its expected count in a started route, no other node runs any,
    and the allocation count is the routing table's settled Σ current.

    Without a promise (no assignment seen, as for a deployment the run adopted and has not
    updated yet, or none with a routing table) there is nothing to hold the target to, so the
    deployment has converged once its own ``_stats`` say it has settled (:func:`has_settled`).
    """
    if observed is None:
        return False
    if promise == NO_PROMISE:
        return has_settled(observed)
    targets = promise.target_allocations
    for node_id, target in targets.items():
        route = observed.nodes.get(node_id)
        if target > 0 and (route is None or route.routing_state != "started" or route.allocations != target):
            return False
    extra = sum(r.allocations for n, r in observed.nodes.items() if n not in targets)
    if extra:
        return False
    settled = promise.current_total if promise.current_total is not None else promise.total
    return observed.allocation_count in (None, settled)


def has_settled(observed: DeploymentObservation) -> bool:
    """The deployment's ``_stats`` show nothing in motion (§2.4, §3.4): it is ``started``,
    every route that runs allocations is ``started``, and ``allocation_status`` counts as
    many allocations as it targets (where it reports both)."""
    if observed.state != "started":
        return False
    if any(route.allocations and route.routing_state != "started" for route in observed.nodes.values()):
        return False
    count, target = observed.allocation_count, observed.target_allocation_count
    return count is None or target is None or count == target
