"""Update-semantics rules: what a successful _update may and may not change (§3.5, §1.6 C.5).

They compare the 200 answer with the request and with ``last_assignment``, the newest
assignment the target returned for the deployment before this call.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from conformance.context import Context, Feature
from conformance.exchange import AnsweredExchange, Exchange, IntentKind
from conformance.rules.base import UPDATE_KINDS, Level, answered_200, rule
from conformance.rules.reading import (
    ABSENT,
    adaptive_enabled,
    adaptive_settings,
    assignment_in,
    assignment_of,
    body_field,
    instant,
    last_assignment,
    path_id,
    requested_allocations,
    route_total,
    routes,
    stored_count,
    task_parameter,
)

IMMUTABLE_TASK_PARAMETERS = (
    "threads_per_allocation",
    "priority",
    "queue_capacity",
    "cache_size",
    "model_id",
    "deployment_id",
    "model_bytes",
)


def _with_last(ex: Exchange, ctx: Context) -> bool:
    return answered_200(ex, ctx) and last_assignment(ex) is not None


def sends_adaptive(ex: Exchange) -> bool:
    return body_field(ex.request, "adaptive_allocations") is not ABSENT


def is_noop_request(ex: Exchange) -> bool:
    """The request asks for the stored count and nothing else (§1.6 C.5)."""
    last = last_assignment(ex)
    requested = requested_allocations(ex.request)
    return last is not None and requested is not None and not sends_adaptive(ex) and requested == stored_count(last)


@rule(
    "update.number-of-allocations-applied",
    reads_answer=True,
    level=Level.MUST,
    source="§3.5-1",
    applies=lambda ex, ctx: answered_200(ex, ctx) and requested_allocations(ex.request) is not None,
)
def number_of_allocations_applied(ex: AnsweredExchange, ctx: Context) -> Iterator[str]:
    """After a 200, task_parameters.number_of_allocations equals the requested count (query or body)."""
    if adaptive_enabled(adaptive_settings(assignment_in(ex.response))) or adaptive_enabled(
        adaptive_settings(last_assignment(ex))
    ):
        return  # the adaptive scaler owns the count (§1.6 C.3)
    requested = requested_allocations(ex.request)
    got = task_parameter(assignment_in(ex.response), "number_of_allocations")
    if got != requested:
        yield f"$.assignment.task_parameters.number_of_allocations: expected {requested} (requested), got {_shown(got)}"


@rule("update.immutable-fields-unchanged", reads_answer=True, level=Level.MUST, source="§3.5-2", applies=_with_last)
def immutable_fields_unchanged(ex: AnsweredExchange, ctx: Context) -> Iterator[str]:
    """threads_per_allocation, priority, queue_capacity, cache_size, ids, model_bytes and start_time never change."""
    now, before = assignment_of(ex), last_assignment(ex)
    assert before is not None, "_with_last selects exchanges with a previous assignment"
    for name in IMMUTABLE_TASK_PARAMETERS:
        old, new = task_parameter(before, name), task_parameter(now, name)
        if old != new:
            yield f"$.assignment.task_parameters.{name}: expected {_shown(old)} (unchanged), got {_shown(new)}"
    old_start, new_start = before.get("start_time"), now.get("start_time")
    if old_start != new_start and (instant(old_start) is None or instant(old_start) != instant(new_start)):
        yield f"$.assignment.start_time: expected {old_start!r} (unchanged), got {new_start!r}"


@rule(
    "update.deployment-id-is-path-id",
    reads_answer=True,
    level=Level.MUST,
    source="§3.5-3",
    since="8.8",
    applies=answered_200,
)
def deployment_id_is_path_id(ex: AnsweredExchange, ctx: Context) -> Iterator[str]:
    """task_parameters.deployment_id equals the id in the path (the lookup is by deployment id)."""
    got = task_parameter(assignment_in(ex.response), "deployment_id")
    if got != path_id(ex.request):
        yield (
            f"$.assignment.task_parameters.deployment_id: expected {path_id(ex.request)!r} (path id), got {_shown(got)}"
        )


@rule(
    "update.same-value-is-noop",
    level=Level.MUST,
    source="§1.6 C.5",
    applies=lambda ex, ctx: (
        ex.intent.kind in UPDATE_KINDS
        and ex.response is not None
        and is_noop_request(ex)
        and not adaptive_enabled(adaptive_settings(last_assignment(ex)))
    ),
)
def same_value_is_noop(ex: AnsweredExchange, ctx: Context) -> Iterator[str]:
    """Asking for the stored count is a 200 no-op with the assignment unchanged, even when not started."""
    response = ex.response
    if response.status != 200:
        yield (
            f"HTTP status: expected 200 (no-op: the count is already {requested_allocations(ex.request)}), got "
            f"{response.status}"
        )
        return
    yield from _unchanged(last_assignment(ex), assignment_in(response))


@rule(
    "update.empty-body-is-noop",
    level=Level.MUST,
    source="§1.6 A.1",
    requires=[Feature.EMPTY_BODY_NOOP],
    applies=lambda ex, ctx: (
        ex.intent.kind in UPDATE_KINDS | {IntentKind.UPDATE_INVALID}
        and ex.response is not None
        and ex.request.json() == {}
        and not ex.request.query
    ),
)
def empty_body_is_noop(ex: AnsweredExchange, ctx: Context) -> Iterator[str]:
    """From 8.15 a body of {} is a 200 no-op (no field set means no update)."""
    response = ex.response
    if response.status != 200:
        yield f"HTTP status: expected 200 (a {{}} body changes nothing since 8.15), got {response.status}"
        return
    if last_assignment(ex) is not None:
        yield from _unchanged(last_assignment(ex), assignment_in(response))


@rule("update.max-assigned-covers-current", reads_answer=True, level=Level.MUST, source="§3.5-4", applies=answered_200)
def max_assigned_covers_current(ex: AnsweredExchange, ctx: Context) -> Iterator[str]:
    """max_assigned_allocations >= Σ routing_table.*.current_allocations."""
    assignment = assignment_of(ex)
    maximum, current = assignment.get("max_assigned_allocations"), route_total(assignment, "current_allocations")
    if not isinstance(maximum, int) or maximum < current:
        yield f"$.assignment.max_assigned_allocations: expected >= {current} (Σ current_allocations), got {maximum!r}"


@rule("update.max-assigned-never-decreases", reads_answer=True, level=Level.MUST, source="§3.5-5", applies=_with_last)
def max_assigned_never_decreases(ex: AnsweredExchange, ctx: Context) -> Iterator[str]:
    """max_assigned_allocations is never lower than in the previous assignment of the deployment."""
    last = last_assignment(ex)
    assert last is not None, "_with_last selects exchanges with a previous assignment"
    old = last.get("max_assigned_allocations")
    new = assignment_of(ex).get("max_assigned_allocations")
    if isinstance(old, int) and (not isinstance(new, int) or new < old):
        yield f"$.assignment.max_assigned_allocations: expected >= {old} (previous value), got {new!r}"


@rule("update.no-negative-allocations", reads_answer=True, level=Level.MUST, source="§3.5-9", applies=answered_200)
def no_negative_allocations(ex: AnsweredExchange, ctx: Context) -> Iterator[str]:
    """No route has negative current_allocations or target_allocations."""
    for node, route in routes(assignment_in(ex.response)).items():
        for field in ("current_allocations", "target_allocations"):
            value = route.get(field)
            if isinstance(value, int) and value < 0:
                yield f"$.assignment.routing_table.{node}.{field}: expected >= 0, got {value}"


@rule(
    "update.routes-on-ml-nodes",
    reads_answer=True,
    level=Level.MUST,
    source="§2.4",
    applies=answered_200,
    needs_nodes=True,
)
def routes_on_ml_nodes(ex: AnsweredExchange, ctx: Context) -> Iterator[str]:
    """Every routing_table key is the node id of one of the cluster's ML nodes (the planner places routes there, §3.2).

    The ML nodes are the ones discovery found; a node that joins a shared cluster during
    the run would show here first, so the message names the nodes known.
    """
    known = {node.id for node in ctx.nodes}
    for node_id in routes(assignment_in(ex.response)):
        if node_id not in known:
            yield (
                f"$.assignment.routing_table.{node_id}: names no ML node of the cluster "
                f"(ML node ids: {', '.join(sorted(known)) or 'none'})"
            )


@rule(
    "update.started-after-increase",
    reads_answer=True,
    level=Level.MUST,
    source="§10.1",
    applies=lambda ex, ctx: _with_last(ex, ctx) and ex.intent.kind == IntentKind.UPDATE and _is_increase(ex),
)
def started_after_increase(ex: AnsweredExchange, ctx: Context) -> Iterator[str]:
    """A 200 that increased the count leaves the assignment `started` (not required after decreases)."""
    state = assignment_of(ex).get("assignment_state")
    if state != "started":
        yield f"$.assignment.assignment_state: expected 'started' after an increase, got {state!r}"


def _is_increase(ex: Exchange) -> bool:
    before = stored_count(last_assignment(ex))
    requested = requested_allocations(ex.request)
    return before is not None and requested is not None and requested > before


def _unchanged(before: Mapping[str, Any] | None, now: Mapping[str, Any] | None) -> Iterator[str]:
    """Messages for each way ``now`` differs from ``before`` in what an update could change."""
    if before is None or now is None:
        return
    if before.get("task_parameters") != now.get("task_parameters"):
        yield (
            f"$.assignment.task_parameters: expected unchanged {before.get('task_parameters')!r}, got "
            f"{now.get('task_parameters')!r}"
        )
    old_targets = {node: route.get("target_allocations") for node, route in routes(before).items()}
    new_targets = {node: route.get("target_allocations") for node, route in routes(now).items()}
    if old_targets != new_targets:
        yield f"$.assignment.routing_table.*.target_allocations: expected unchanged {old_targets}, got {new_targets}"
    if before.get("adaptive_allocations") != now.get("adaptive_allocations"):
        yield (
            f"$.assignment.adaptive_allocations: expected unchanged {before.get('adaptive_allocations')!r}, "
            f"got {now.get('adaptive_allocations')!r}"
        )


def _shown(value: Any) -> str:
    return "nothing (field absent)" if value is ABSENT else repr(value)
