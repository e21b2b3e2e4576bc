"""Capacity rules: allocations never over-commit processors or memory, and over-asking is answered
(§3.2, §3.5, §1.6 C.8).

"Thread clamping" in this API is the planner's job (§3): it places at most
floor(free processors / threads_per_allocation) allocations per node; the stored count
is never clamped. An increase beyond capacity gets 429 and changes nothing, unless
the cluster could scale, when it gets a partial 200 with a ``reason``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from conformance.context import Context
from conformance.exchange import AnsweredExchange, Exchange, IntentKind, Snapshot
from conformance.expectations import ConvergencePromise
from conformance.oracle import allocatable, free_memory, merge_adaptive, others_changed, used_processors
from conformance.rules.base import Level, answered_200, intent_is, rule, update_answer
from conformance.rules.reading import (
    adaptive_enabled,
    addressed_deployment,
    assignment_in,
    assignment_of,
    body_field,
    error_in,
    requested_allocations,
    route_total,
    routes,
    stats_deployments,
    task_parameter,
)

NOT_ENOUGH = "Could not update deployment because there are not enough resources to provide all requested allocations"
REASON_SEGMENT = re.compile(
    r"No ML nodes exist in the cluster|Could not assign \(more\) allocations on node \[[^\]]+\]\. Reason: .+",
    re.DOTALL,  # a reason may quote multi-line text: it is matched as one whole value
)
_TOO_MANY = update_answer(lambda status: status == 429)


def _stable_cluster(ex: Exchange) -> bool:
    return not others_changed(ex.before, ex.after, addressed_deployment(ex))


def reason_problems(reason: Any) -> list[str]:
    """Why an assignment ``reason`` is not in the §2.2 format (empty list when it is)."""
    if not isinstance(reason, str) or not reason:
        return [f"expected a reason in the §2.2 format, got {reason!r}"]
    return [
        f"reason segment {segment!r} is not in the §2.2 format"
        for segment in reason.split("|")
        if not REASON_SEGMENT.fullmatch(segment)
    ]


@rule(
    "capacity.targets-within-requested", reads_answer=True, level=Level.SHOULD, source="§3.5-10", applies=answered_200
)
def targets_within_requested(ex: AnsweredExchange, ctx: Context) -> Iterator[str]:
    """Σ routing_table.*.target_allocations (stopping routes aside) <= task_parameters.number_of_allocations."""
    assignment = assignment_in(ex.response)
    requested = task_parameter(assignment, "number_of_allocations")
    targets = route_total(assignment, "target_allocations", skip_stopping=True)
    if isinstance(requested, int) and targets > requested:
        yield (
            f"$.assignment.routing_table.*.target_allocations: expected Σ <= {requested} (number_of_allocations), got "
            f"{targets}"
        )


def _others_snapshot(ex: Exchange) -> Snapshot | None:
    return ex.after or ex.before


@rule(
    "capacity.node-processors-not-exceeded",
    reads_answer=True,
    level=Level.MUST,
    source="§3.5-11",
    needs_nodes=True,
    applies=lambda ex, ctx: (
        answered_200(ex, ctx)
        and _others_snapshot(ex) is not None
        and task_parameter(assignment_in(ex.response), "priority") != "low"
        and _stable_cluster(ex)
    ),
)
def node_processors_not_exceeded(ex: AnsweredExchange, ctx: Context) -> Iterator[str]:
    """Per node, target × threads of this deployment plus other normal deployments' use <= processor capacity."""
    assignment = assignment_in(ex.response)
    threads = task_parameter(assignment, "threads_per_allocation")
    if not isinstance(threads, int):
        return
    snapshot = _others_snapshot(ex)
    assert snapshot is not None, "applies() selects exchanges with a snapshot around the call"
    for node_id, route in routes(assignment).items():
        node, target = ctx.node(node_id), route.get("target_allocations")
        if node is None or not isinstance(target, int):
            continue
        others = used_processors(snapshot, node_id, excluding=addressed_deployment(ex))
        if target * threads + others > node.processor_capacity:
            yield (
                f"$.assignment.routing_table.{node_id}.target_allocations: {target} × {threads} threads + {others} "
                f"processors of other deployments exceeds the node's {node.processor_capacity} processors"
            )


def _increase(ex: Exchange, ctx: Context) -> tuple[int, int] | None:
    """``(requested, allocatable)`` for an increase of a started normal-priority deployment
    on a stable cluster, which the planner answers (§1.6 C.7, C.8); ``None`` for anything else."""
    deployment = ex.intent.deployment
    if ex.intent.kind != IntentKind.UPDATE or deployment is None or ex.before is None or deployment.priority == "low":
        return None
    observed = ex.before.get(deployment.deployment_id)
    requested = requested_allocations(ex.request)
    if observed is None or observed.state != "started" or requested is None or observed.number_of_allocations is None:
        return None
    if adaptive_enabled(merge_adaptive(observed.adaptive_allocations, body_field(ex.request, "adaptive_allocations"))):
        return None  # §1.6 C.3 rejects the count while the merged settings are enabled (400), before C.8
    if requested <= observed.number_of_allocations or not _stable_cluster(ex):
        return None
    return requested, allocatable(ctx, ex.before, deployment.deployment_id, deployment.threads_per_allocation)


def _over_capacity(ex: Exchange, ctx: Context) -> bool:
    increase = _increase(ex, ctx)
    return increase is not None and increase[0] > increase[1]


def _fitting_increase(ex: Exchange, ctx: Context) -> bool:
    increase = _increase(ex, ctx)
    return increase is not None and increase[0] <= increase[1] and answered_200(ex, ctx)


@rule(
    "capacity.over-capacity-answer",
    level=Level.MUST,
    source="§1.6 C.8",
    applies=_over_capacity,
    over_capacity=True,
    needs_nodes=True,
)
def over_capacity_answer(ex: AnsweredExchange, ctx: Context) -> Iterator[str]:
    """An increase beyond capacity gets 429, or (when the cluster can scale) a partial 200 with a reason."""
    response = ex.response
    deployment = ex.intent.deployment
    assert deployment is not None and ex.before is not None, "_over_capacity selects known deployments read before"
    capacity = allocatable(ctx, ex.before, deployment.deployment_id, deployment.threads_per_allocation)
    status = response.status
    allowed = {False: {429}, True: {200}, None: {200, 429}}[ctx.scaling_possible]
    if status not in allowed:
        yield (
            f"HTTP status: expected {' or '.join(map(str, sorted(allowed)))} for {requested_allocations(ex.request)} "
            f"allocations when only {capacity} fit (scaling possible: {ctx.scaling_possible}), got {status}"
        )
        return
    if status == 200:
        assignment = assignment_in(response) or {}
        targets = route_total(assignment, "target_allocations")
        if targets > capacity:
            yield f"silent over-commit: Σ target_allocations {targets} exceeds the {capacity} allocations that fit"
        for problem in reason_problems(assignment.get("reason")):
            yield f"$.assignment.reason: {problem}"


@rule(
    "capacity.fitting-increase-planned-in-full",
    reads_answer=True,
    level=Level.MUST,
    source="§3.2, ES#156638",
    applies=_fitting_increase,
    needs_nodes=True,
)
def fitting_increase_planned_in_full(ex: AnsweredExchange, ctx: Context) -> Iterator[str]:
    """An increase that fits (processors and memory) is planned in full: Σ target_allocations = requested, no reason."""
    increase = _increase(ex, ctx)
    assert increase is not None, "_fitting_increase selects increases only"
    requested, fits = increase
    assignment = assignment_in(ex.response) or {}
    targets = route_total(assignment, "target_allocations", skip_stopping=True)
    if targets != requested:
        yield (
            f"Σ routing_table.*.target_allocations: expected {requested} (the {requested} requested fit the "
            f"{fits} allocatable by processors and memory), got {targets}"
        )
    if assignment.get("reason"):
        yield f"$.assignment.reason: expected none for an increase that fits, got {assignment['reason']!r}"


def _placed_on_new_nodes(ex: Exchange, ctx: Context) -> bool:
    deployment_id = addressed_deployment(ex)
    observed = ex.before.get(deployment_id or "") if ex.before is not None else None
    return (
        answered_200(ex, ctx)
        and observed is not None
        and observed.required_native_memory_bytes is not None
        and _stable_cluster(ex)
        and bool(set(routes(assignment_in(ex.response))) - set(observed.nodes))
    )


@rule(
    "capacity.node-memory-not-exceeded",
    reads_answer=True,
    level=Level.MUST,
    source="§3.2",
    applies=_placed_on_new_nodes,
    needs_nodes=True,
)
def node_memory_not_exceeded(ex: AnsweredExchange, ctx: Context) -> Iterator[str]:
    """A deployment is placed on a node only where its memory estimate fits beside the deployments already there."""
    deployment_id = addressed_deployment(ex) or ""
    observed = ex.before.get(deployment_id) if ex.before is not None else None
    needed = observed.required_native_memory_bytes if observed is not None else None
    # _placed_on_new_nodes selects deployments read before the call, with a memory estimate
    assert ex.before is not None and observed is not None and needed is not None, "read before, with an estimate"
    for node_id in sorted(set(routes(assignment_in(ex.response))) - set(observed.nodes)):
        node = ctx.node(node_id)
        if node is None:
            continue
        free = free_memory(node, ex.before, excluding=deployment_id)
        if free is not None and free < needed:
            yield (
                f"$.assignment.routing_table.{node_id}: the deployment needs {needed} bytes "
                f"(required_native_memory_bytes) on a new node, but only {max(free, 0)} of the node's "
                f"{node.planner_memory_bytes} bytes for ML were free"
            )


def _scales(ctx: Context) -> str | None:
    """A cluster that can scale answers an over-capacity increase with a partial 200, never 429."""
    if ctx.scaling_possible:
        return "the target can scale up, so an increase beyond capacity is never answered 429 (§1.6 C.8)"
    return None


def _refused_for_capacity(ex: Exchange, ctx: Context) -> bool:
    """A 429, or an increase beyond capacity on a cluster that cannot scale: one that must get one."""
    predicted = ctx.scaling_possible is False and not ctx.capacity_unknown and _over_capacity(ex, ctx)
    return _TOO_MANY(ex, ctx) or predicted


@rule(
    "capacity.429-contract",
    level=Level.MUST,
    source="§1.6 C.8",
    applies=_refused_for_capacity,
    over_capacity=True,
    unless=_scales,
)
def too_many_contract(ex: AnsweredExchange, ctx: Context) -> Iterator[str]:
    """An increase beyond capacity (where the cluster cannot scale) gets 429 status_exception "Could not update deployment because there are not enough resources..."."""  # noqa: E501 - the first line is the rule's description
    if ex.response.status != 429:
        yield (
            f"HTTP status: expected 429 for {requested_allocations(ex.request)} allocations beyond capacity "
            f"on a cluster that cannot scale, got {ex.response.status}"
        )
        return
    error = error_in(ex.response)
    if error is None or error.type != "status_exception":
        yield f"$.error.type: expected 'status_exception', got {error.type if error else None!r}"
    if error is None or NOT_ENOUGH not in (error.reason or ""):
        yield f"$.error.reason: expected {NOT_ENOUGH!r}, got {error.reason if error else None!r}"


@rule(
    "capacity.429-leaves-state-unchanged",
    level=Level.MUST,
    source="§1.6 C.8",
    over_capacity=True,
    unless=_scales,
    applies=lambda ex, ctx: _refused_for_capacity(ex, ctx) and ex.before is not None and ex.after is not None,
)
def too_many_leaves_state(ex: AnsweredExchange, ctx: Context) -> Iterator[str]:
    """An update refused for capacity (429) changes nothing: number_of_allocations and target_allocation_count stay."""
    deployment_id = addressed_deployment(ex) or ""
    assert ex.before is not None and ex.after is not None, "applies() selects exchanges with both snapshots"
    old, new = ex.before.get(deployment_id), ex.after.get(deployment_id)
    if old is None or new is None:
        return
    for field in ("number_of_allocations", "target_allocation_count"):
        if getattr(old, field) != getattr(new, field):
            yield (
                f"deployment_stats.{field}: expected {getattr(old, field)} (unchanged by a 429), got "
                f"{getattr(new, field)}"
            )


@rule(
    "capacity.partial-has-reason",
    reads_answer=True,
    level=Level.SHOULD,
    source="§3.5-12",
    applies=answered_200,
    over_capacity=True,
)
def partial_has_reason(ex: AnsweredExchange, ctx: Context) -> Iterator[str]:
    """An assignment that plans fewer allocations than requested says why, in the §2.2 format."""
    assignment = assignment_of(ex)
    requested = task_parameter(assignment, "number_of_allocations")
    partial = isinstance(requested, int) and route_total(assignment, "target_allocations") < requested
    if partial or assignment.get("reason"):
        for problem in reason_problems(assignment.get("reason")):
            yield f"$.assignment.reason: {problem}"


@rule("capacity.converges", level=Level.SHOULD, source="§3.5-13", applies=intent_is(IntentKind.CONVERGED))
def converges(ex: AnsweredExchange, ctx: Context) -> Iterator[str]:
    """After an update, the allocations the nodes run converge to what the routing table promised.

    The promise (``intent.expected``, a :class:`ConvergencePromise`) holds ``target_allocations``
    per node, their ``total`` and the ``number_of_allocations`` asked for.
    """
    response = ex.response
    promise = ex.intent.expectation(ConvergencePromise) or ConvergencePromise()
    per_node = promise.target_allocations
    total = promise.total if promise.total is not None else sum(per_node.values())
    deployment_id = addressed_deployment(ex)
    found = stats_deployments(response.json()).get(deployment_id or "")
    if found is None:
        yield f"$.trained_model_stats: expected deployment_stats for {deployment_id!r}, found none"
        return
    running = {node: count for node, count in found.allocations_by_node.items() if isinstance(count, int)}
    if sum(running.values()) != total:
        yield (
            f"Σ deployment_stats.nodes[*].number_of_allocations: expected {total} (Σ target_allocations), got "
            f"{sum(running.values())}"
        )
    for node in sorted(set(per_node) | set(running)):
        if running.get(node, 0) != per_node.get(node, 0):
            yield (
                f"deployment_stats.nodes[{node}].number_of_allocations: expected {per_node.get(node, 0)} "
                f"(the route's target), got {running.get(node, 0)}"
            )
    wanted = promise.number_of_allocations
    if wanted is not None and found.target_allocation_count is not None and found.target_allocation_count != wanted:
        yield (
            f"deployment_stats.allocation_status.target_allocation_count: expected {wanted} "
            f"(task_parameters.number_of_allocations), got {found.target_allocation_count!r}"
        )
