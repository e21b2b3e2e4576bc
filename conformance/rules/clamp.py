"""Native rules: the second layer of "thread clamping", inside each ML node (§3.3, §3.4).

The planner places allocations within allocated processors (§3.2, the ``capacity``
family). Then the native inference process on each node fits what it is told into the
node's hardware threads (ml-cpp ``bin/pytorch_inference/CThreadSettings.cc`` since 8.4.0,
PR #2369): at start allocations into [1, hw] and threads into [1, ceil(hw / allocations)],
on a live update allocations into [1, ceil(hw / threads)]. It reports what it runs; the
node writes that count back as the route's ``current_allocations`` (§3.4). None of it ever
reaches the ``_update`` answer's ``task_parameters`` or the stored count (§3.1).

Hardware threads are known where ``GET _nodes`` reports ``os.available_processors``
(the JVM's count, :func:`conformance.discovery.hardware_threads`). It can be below the
``hardware_concurrency`` the process sees (container quotas), never above, and
Elasticsearch keeps allocated processors within it, so normal-priority deployments are
never asked for more than it; low-priority ones are (they are planned on a fixed pool,
§3.2), so the bound is judged on normal-priority deployments only.
"""

from __future__ import annotations

from collections.abc import Iterator

from conformance.context import Context
from conformance.exchange import AnsweredExchange, DeploymentObservation, Exchange, IntentKind
from conformance.expectations import ConvergencePromise
from conformance.rules.base import Level, answered_200, rule
from conformance.rules.reading import (
    addressed_deployment,
    assignment_in,
    last_assignment,
    requested_allocations,
    routes,
    task_parameter,
)


def _counts_set(ex: Exchange, ctx: Context) -> bool:
    return answered_200(ex, ctx) and requested_allocations(ex.request) is not None


@rule("native.request-never-clamped", level=Level.MUST, source="§3.1, §3.4", applies=_counts_set)
def request_never_clamped(ex: AnsweredExchange, ctx: Context) -> Iterator[str]:
    """The answer's task_parameters and the stored count (stats, target_allocation_count) hold the count asked, never a clamped one."""  # noqa: E501 - the first line is the rule's description
    requested = requested_allocations(ex.request)
    answered = task_parameter(assignment_in(ex.response), "number_of_allocations")
    if answered != requested:
        yield (
            f"$.assignment.task_parameters.number_of_allocations: expected {requested} (the answer is built "
            f"before any node clamps, §3.4), got {answered!r}"
        )
    stored = ex.after.get(addressed_deployment(ex) or "") if ex.after is not None else None
    if stored is None:
        return
    for field, value in (
        ("number_of_allocations", stored.number_of_allocations),
        ("allocation_status.target_allocation_count", stored.target_allocation_count),
    ):
        if value is not None and value != requested:
            yield f"deployment_stats.{field} after the call: expected {requested} (never clamped, §3.1), got {value!r}"


def _started_nodes(observed: DeploymentObservation) -> Iterator[tuple[str, int, int]]:
    """(node, allocations, threads) the process reports for each started route."""
    for node_id, route in sorted(observed.nodes.items()):
        if route.routing_state == "started" and route.allocations > 0 and route.threads_per_allocation > 0:
            yield node_id, route.allocations, route.threads_per_allocation


@rule("native.process-within-request", level=Level.MUST, source="§3.4", applies=lambda ex, ctx: ex.after is not None)
def process_within_request(ex: AnsweredExchange, ctx: Context) -> Iterator[str]:
    """Per node, _stats' process-reported threads_per_allocation (and, once converged, number_of_allocations) never exceed what was asked."""  # noqa: E501 - the first line is the rule's description
    after = ex.after
    if after is None:
        return
    for deployment_id, observed in sorted(after.deployments.items()):
        asked = observed.threads_per_allocation
        for node_id, _, threads in _started_nodes(observed):
            if isinstance(asked, int) and threads > asked:
                yield (
                    f"deployment_stats[{deployment_id}].nodes[{node_id}].threads_per_allocation: {threads} "
                    f"exceeds the {asked} asked (the process only ever lowers it, §3.3)"
                )
    if ex.intent.kind != IntentKind.CONVERGED:
        return
    promise = ex.intent.expectation(ConvergencePromise)
    targets = promise.route_targets if promise is not None else None
    settled = after.get(addressed_deployment(ex) or "")
    if settled is None or targets is None:
        return
    for node_id, allocations, _ in _started_nodes(settled):
        target = targets.get(node_id, 0)
        if allocations > target:
            yield (
                f"deployment_stats.nodes[{node_id}].number_of_allocations: {allocations} after convergence "
                f"exceeds the route's target_allocations {target}"
            )


def clamp_problem(allocations: int, threads: int, hardware_threads: int) -> str | None:
    """Why (allocations, threads) is more than a process on ``hardware_threads`` may run, or ``None``.

    Both ml-cpp paths keep each figure within the hardware threads and round up only once:
    at start threads <= ceil(hw / allocations), on a live update allocations <= ceil(hw /
    threads). Either way allocations x threads - max(allocations, threads) < hw.
    """
    if allocations > hardware_threads or threads > hardware_threads:
        return f"more than the node's {hardware_threads} hardware threads"
    if allocations * threads - max(allocations, threads) >= hardware_threads:
        return (
            f"neither threads <= ceil({hardware_threads} / allocations) nor "
            f"allocations <= ceil({hardware_threads} / threads)"
        )
    return None


def _threads_unknown(ctx: Context) -> str | None:
    if any(n.hardware_threads for n in ctx.nodes):
        return None
    return "the target reports no ML node's hardware threads (GET _nodes os.available_processors)"


@rule(
    "native.process-within-hardware-threads",
    level=Level.MUST,
    source="§3.3",
    needs_nodes=True,
    unless=_threads_unknown,
    applies=lambda ex, ctx: ex.after is not None,
)
def process_within_hardware_threads(ex: AnsweredExchange, ctx: Context) -> Iterator[str]:
    """Per node with known hardware threads, what _stats says a normal-priority process runs fits ml-cpp's clamp."""
    for deployment_id, observed in sorted(ex.after.deployments.items() if ex.after is not None else ()):
        if observed.priority == "low":
            continue
        for node_id, allocations, threads in _started_nodes(observed):
            node = ctx.node(node_id)
            if node is None or not node.hardware_threads:
                continue
            problem = clamp_problem(allocations, threads, node.hardware_threads)
            if problem:
                yield (
                    f"deployment_stats[{deployment_id}].nodes[{node_id}]: the process reports {allocations} "
                    f"allocations x {threads} threads, {problem} (ml-cpp CThreadSettings)"
                )


def _ran_before(ex: Exchange, node_id: str) -> int:
    """The allocations the node's process reported for the addressed deployment before the call."""
    observed = ex.before.get(addressed_deployment(ex) or "") if ex.before is not None else None
    route = observed.nodes.get(node_id) if observed is not None else None
    return route.allocations if route is not None else 0


def _is_increase(ex: Exchange) -> bool:
    observed = ex.before.get(addressed_deployment(ex) or "") if ex.before is not None else None
    requested, stored = requested_allocations(ex.request), observed.number_of_allocations if observed else None
    return isinstance(requested, int) and isinstance(stored, int) and requested > stored


@rule("native.current-follows-process", reads_answer=True, level=Level.MUST, source="§3.4", applies=answered_200)
def current_follows_process(ex: AnsweredExchange, ctx: Context) -> Iterator[str]:
    """current_allocations is what a process can run: within the target after an increase, and within the hardware threads once the node wrote it back."""  # noqa: E501 - the first line is the rule's description
    assignment = assignment_in(ex.response)
    earlier = routes(last_assignment(ex))
    increase, normal = _is_increase(ex), task_parameter(assignment, "priority") != "low"
    for node_id, route in routes(assignment).items():
        current, target = route.get("current_allocations"), route.get("target_allocations")
        if not isinstance(current, int) or not isinstance(target, int):
            continue
        if increase and current > max(target, _ran_before(ex, node_id)):
            yield (
                f"$.assignment.routing_table.{node_id}.current_allocations: {current} exceeds "
                f"target_allocations {target} after an increase (and the {_ran_before(ex, node_id)} it ran before)"
            )
        before = earlier.get(node_id)
        if before is None or before.get("current_allocations") == before.get("target_allocations"):
            continue  # the node had nothing to tell its process: a new route keeps its planned current (§2.4)
        if current == before.get("current_allocations"):
            continue  # the node has not written back yet
        node = ctx.node(node_id)
        if normal and node is not None and node.hardware_threads and current > node.hardware_threads:
            yield (
                f"$.assignment.routing_table.{node_id}.current_allocations: {current} is more than a process on "
                f"{node.hardware_threads} hardware threads runs (the node writes back what the process reports, §3.4)"
            )
