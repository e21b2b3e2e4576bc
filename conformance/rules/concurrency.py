"""Concurrency rules: concurrent updates are never lost (§1.6 C.9; DESIGN "never lost"),
and each of them is answered as the valid update it is.

Elasticsearch serialises every change through the master's cluster-state updates and
retries when the state moved meanwhile, so after a burst each field holds the value of
an acknowledged request that no other acknowledged request of the same field strictly
followed in real time. Any other final value means a write was lost. Serialised, each
request meets some state of the deployment and gets what a lone update gets there.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from conformance.context import Context, Feature
from conformance.exchange import AnsweredExchange, Exchange, IntentKind
from conformance.expectations import BurstCapacity, BurstLog, BurstWrite
from conformance.oracle import output_form
from conformance.rules.base import Level, intent_is, rule
from conformance.rules.errors import NOT_STARTED, expect_error
from conformance.rules.reading import (
    ABSENT,
    addressed_deployment,
    assignment_in,
    requested_allocations,
    stats_deployments,
    task_parameter,
)

FIELDS = ("number_of_allocations", "adaptive_allocations")


def last_writers(log: Sequence[BurstWrite], field: str) -> list[BurstWrite]:
    """Requests of ``field`` whose write may be the final one.

    Acknowledged (200) requests that no other acknowledged request of the field started
    after they ended, plus unanswered ones (status ``None``: their write may have landed).
    """
    mine = [entry for entry in log if entry.field == field]
    acknowledged = [entry for entry in mine if entry.status == 200]
    maximal = [
        entry
        for entry in acknowledged
        if not any(other.started > entry.ended for other in acknowledged if other is not entry)
    ]
    return maximal + [entry for entry in mine if entry.status is None]


def final_values(ex: AnsweredExchange, ctx: Context) -> Mapping[str, Any]:
    """The deployment's final count and adaptive settings, from a stats or assignment answer.

    Stats leave ``adaptive_allocations`` out when none are set, so where the profile has
    adaptive allocations an absent field reads as "unset" (``None``): settings that a lost
    update wiped out must not pass for settings the read did not show.
    """
    response = ex.response
    assignment = assignment_in(response)
    if assignment is not None:
        return {
            "number_of_allocations": task_parameter(assignment, "number_of_allocations"),
            "adaptive_allocations": assignment.get("adaptive_allocations", ABSENT),
        }
    found = stats_deployments(response.json()).get(addressed_deployment(ex) or "")
    if found is None:
        return {}
    adaptive = found.adaptive_allocations
    if adaptive is ABSENT and ctx.has(Feature.ADAPTIVE_ALLOCATIONS):
        adaptive = None
    return {"number_of_allocations": found.number_of_allocations, "adaptive_allocations": adaptive}


def _same(field: str, written: Any, final: Any) -> bool:
    if field == "adaptive_allocations":
        written = output_form(written) if isinstance(written, Mapping) else written
        final = output_form(final) if isinstance(final, Mapping) else final
    return bool(written == final)


@rule("concurrency.no-lost-update", level=Level.MUST, source="§1.6 C.9", applies=intent_is(IntentKind.BURST_FINAL))
def no_lost_update(ex: AnsweredExchange, ctx: Context) -> Iterator[str]:
    """After a burst, each field holds the value of a last acknowledged write (no lost update)."""
    burst = ex.intent.expectation(BurstLog)
    log = burst.writes if burst is not None else ()
    finals = final_values(ex, ctx)
    if not finals:
        yield f"the final read has no state for deployment {addressed_deployment(ex)!r}"
        return
    for field in FIELDS:
        writers = last_writers(log, field)
        if not writers or finals.get(field, ABSENT) is ABSENT:
            continue
        if not any(_same(field, entry.value, finals[field]) for entry in writers):
            candidates = ", ".join(repr(entry.value) for entry in writers)
            yield (
                f"{field}: final value {finals[field]!r} is not what any last acknowledged request wrote "
                f"(candidates: {candidates}): a concurrent update was lost"
            )


def burst_statuses(ex: Exchange, ctx: Context) -> frozenset[int]:
    """The statuses one burst request may get, whichever state of the deployment it meets.

    200 always (a change, or a no-op when another request already set the value, §1.6 C.5,
    C.7); 409 while the deployment is not started (§1.6 C.6: a decrease can leave only
    ``starting`` routes, §10.1); 429 only for a count above what fitted the deployment
    before the burst (its own allocations do not count against it, §1.6 C.8), or when
    that is unknown, and never where the cluster can scale (a partial 200 instead).
    Settings that stay disabled never meet a capacity check (§1.6 C.7).
    """
    allowed = {200, 409}
    count = requested_allocations(ex.request)
    fits = _allocatable(ex)
    if count is not None and ctx.scaling_possible is not True and (fits is None or count > fits):
        allowed.add(429)
    return frozenset(allowed)


@rule("concurrency.burst-answers", level=Level.MUST, source="§1.6 C.9", applies=intent_is(IntentKind.BURST_UPDATE))
def burst_answers(ex: AnsweredExchange, ctx: Context) -> Iterator[str]:
    """Every request of a burst gets 200, 409 (not started) or, for a count that did not fit, 429."""
    response = ex.response
    allowed = burst_statuses(ex, ctx)
    if response.status not in allowed:
        fits = _allocatable(ex)
        yield (
            f"HTTP status: expected {' or '.join(map(str, sorted(allowed)))} for "
            f"{ex.intent.detail or 'a burst request'} "
            f"({fits if fits is not None else 'unknown'} allocations fitted before the burst), got {response.status}"
        )
    elif response.status == 409:
        yield from expect_error(ex, frozenset({409}), "status_exception", re.escape(NOT_STARTED))


def _allocatable(ex: Exchange) -> int | None:
    """What fitted the deployment before the burst (``None``: unknown)."""
    capacity = ex.intent.expectation(BurstCapacity)
    return capacity.allocatable if capacity is not None else None
