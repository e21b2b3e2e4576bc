"""Enum rules: state and priority values exactly as Elasticsearch spells them (§2.5).

The schemas check these too, but a separate rule per enum lets a report say "wrong
routing_state" instead of "schema mismatch somewhere". Both the update answer and the
stats answer are read, since a server can get either wrong.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from conformance.context import Context
from conformance.exchange import AnsweredExchange, Exchange
from conformance.rules.base import Level, rule
from conformance.rules.reading import ABSENT, assignment_in, routes, stats_entries, task_parameter

ASSIGNMENT_STATES = frozenset({"starting", "started", "stopping"})  # `failed` is never computed (§2.5, §3.5-6)
ROUTING_STATES = frozenset({"starting", "started", "stopping", "failed", "stopped"})
PRIORITIES = frozenset({"normal", "low"})
ALLOCATION_STATUS_STATES = frozenset({"starting", "started", "fully_allocated"})


def _has_json_object(ex: Exchange, ctx: Context) -> bool:
    return ex.response is not None and ex.response.status == 200 and isinstance(ex.response.json(), dict)


def _check(path: str, value: Any, allowed: frozenset[str]) -> Iterator[str]:
    if value not in allowed:
        yield f"{path}: expected one of {sorted(allowed)}, got {value!r}"


@rule("enums.assignment-state", level=Level.MUST, source="§2.5", applies=_has_json_object)
def assignment_state(ex: AnsweredExchange, ctx: Context) -> Iterator[str]:
    """assignment_state (and stats deployment state) is starting, started or stopping."""
    response = ex.response
    assignment = assignment_in(response)
    if assignment is not None and "assignment_state" in assignment:
        yield from _check("$.assignment.assignment_state", assignment["assignment_state"], ASSIGNMENT_STATES)
    for path, stats in stats_entries(response.json()):
        if "state" in stats:
            yield from _check(f"{path}.state", stats["state"], ASSIGNMENT_STATES)


@rule("enums.routing-state", level=Level.MUST, source="§2.5", applies=_has_json_object)
def routing_state(ex: AnsweredExchange, ctx: Context) -> Iterator[str]:
    """Every route's routing_state is starting, started, stopping, failed or stopped."""
    response = ex.response
    for node, route in routes(assignment_in(response)).items():
        if "routing_state" in route:
            yield from _check(
                f"$.assignment.routing_table.{node}.routing_state", route["routing_state"], ROUTING_STATES
            )
    for path, stats in stats_entries(response.json()):
        for index, node in enumerate(stats.get("nodes") or []):
            state = node.get("routing_state") if isinstance(node, dict) else None
            if isinstance(state, dict) and "routing_state" in state:
                yield from _check(
                    f"{path}.nodes[{index}].routing_state.routing_state", state["routing_state"], ROUTING_STATES
                )


@rule("enums.priority", level=Level.MUST, source="§2.5", applies=_has_json_object)
def priority(ex: AnsweredExchange, ctx: Context) -> Iterator[str]:
    """priority is normal or low (there is no `default`)."""
    response = ex.response
    value = task_parameter(assignment_in(response), "priority")
    if value is not ABSENT:
        yield from _check("$.assignment.task_parameters.priority", value, PRIORITIES)
    for path, stats in stats_entries(response.json()):
        if "priority" in stats:
            yield from _check(f"{path}.priority", stats["priority"], PRIORITIES)


@rule("enums.allocation-status-state", level=Level.MUST, source="§2.5", applies=_has_json_object)
def allocation_status_state(ex: AnsweredExchange, ctx: Context) -> Iterator[str]:
    """Stats allocation_status.state is starting, started or fully_allocated."""
    response = ex.response
    for path, stats in stats_entries(response.json()):
        status = stats.get("allocation_status")
        if isinstance(status, dict) and "state" in status:
            yield from _check(f"{path}.allocation_status.state", status["state"], ALLOCATION_STATUS_STATES)
