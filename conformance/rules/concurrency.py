"""Concurrency rules: concurrent updates are never lost (§1.6 C.9; DESIGN "never lost").

Elasticsearch serialises every change through the master's cluster-state updates and
retries when the state moved meanwhile, so after a burst each field holds the value of
an acknowledged request that no other acknowledged request of the same field strictly
followed in real time. Any other final value means a write was lost.
"""

from __future__ import annotations

from typing import Any, Iterator, Mapping, Sequence

from conformance.context import Context
from conformance.exchange import Exchange
from conformance.oracle import output_form
from conformance.rules.base import Level, intent_is, rule
from conformance.rules.reading import ABSENT, addressed_deployment, assignment_in, stats_deployments, task_parameter

FIELDS = ("number_of_allocations", "adaptive_allocations")


def last_writers(log: Sequence[Mapping[str, Any]], field: str) -> list[Mapping[str, Any]]:
    """Requests of ``field`` whose write may be the final one.

    Acknowledged (200) requests that no other acknowledged request of the field started
    after they ended, plus unanswered ones (status ``None``: their write may have landed).
    """
    mine = [entry for entry in log if entry.get("field") == field]
    acknowledged = [entry for entry in mine if entry.get("status") == 200]
    maximal = [entry for entry in acknowledged
               if not any(other["started"] > entry["ended"] for other in acknowledged if other is not entry)]
    return maximal + [entry for entry in mine if entry.get("status") is None]


def final_values(ex: Exchange, ctx: Context) -> Mapping[str, Any]:
    """The deployment's final count and adaptive settings, from a stats or assignment answer.

    Stats leave ``adaptive_allocations`` out when none are set, so where the profile has
    adaptive allocations an absent field reads as "unset" (``None``): settings that a lost
    update wiped out must not pass for settings the read did not show.
    """
    assignment = assignment_in(ex.response)
    if assignment is not None:
        return {"number_of_allocations": task_parameter(assignment, "number_of_allocations"),
                "adaptive_allocations": assignment.get("adaptive_allocations", ABSENT)}
    found = stats_deployments(ex.response.json()).get(addressed_deployment(ex) or "")
    if found is None:
        return {}
    adaptive = found.adaptive_allocations
    if adaptive is ABSENT and ctx.has("adaptive_allocations"):
        adaptive = None
    return {"number_of_allocations": found.number_of_allocations, "adaptive_allocations": adaptive}


def _same(field: str, written: Any, final: Any) -> bool:
    if field == "adaptive_allocations":
        written = output_form(written) if isinstance(written, Mapping) else written
        final = output_form(final) if isinstance(final, Mapping) else final
    return written == final


@rule("concurrency.no-lost-update", level=Level.MUST, source="§1.6 C.9", applies=intent_is("burst-final"))
def no_lost_update(ex: Exchange, ctx: Context) -> Iterator[str]:
    """After a burst, each field holds the value of a last acknowledged write (no lost update)."""
    log = ex.intent.expected.get("log") or []
    finals = final_values(ex, ctx)
    if not finals:
        yield f"the final read has no state for deployment {addressed_deployment(ex)!r}"
        return
    for field in FIELDS:
        writers = last_writers(log, field)
        if not writers or finals.get(field, ABSENT) is ABSENT:
            continue
        if not any(_same(field, entry["value"], finals[field]) for entry in writers):
            candidates = ", ".join(repr(entry["value"]) for entry in writers)
            yield (f"{field}: final value {finals[field]!r} is not what any last acknowledged request wrote "
                   f"(candidates: {candidates}): a concurrent update was lost")
