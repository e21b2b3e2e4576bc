"""Read-path rules: after an update, ``GET _ml/trained_models/_stats`` tells the same story
as the assignment (§3.4, §3.5-2, §7).

The read path is built apart from the write path, and Elasticsearch has shipped it wrong
while every ``_update`` answer was right: after an allocation change the stats reported
``threads_per_allocation`` equal to the number of allocations and lost ``cache_size``
(ES#91095, backported as ES#91122, 8.5); ``required_native_memory_bytes`` was computed
from the allocations of every deployment, so updating one deployment changed the figure
reported for the others (ES#107831, fixed by ES#143077). These rules judge the snapshot
the suite reads right after each update (``Exchange.after``) against the assignment and
against the snapshot read right before it (``Exchange.before``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from conformance.context import Context
from conformance.exchange import AnsweredExchange, DeploymentObservation, Exchange
from conformance.rules.base import Level, rule
from conformance.rules.reading import (
    ABSENT,
    adaptive_enabled,
    adaptive_settings,
    addressed_deployment,
    assignment_in,
    is_update_call,
    last_assignment,
    task_parameter,
)

# Figures of a deployment that no update changes (§3.5-2), as stats name them (§7).
FIXED_FIGURES = ("threads_per_allocation", "priority", "queue_capacity", "cache_size")


def _judged_assignment(ex: Exchange) -> Mapping[str, Any] | None:
    """The assignment the stats after the call must agree with: the 200's, else the last known."""
    return assignment_in(ex.response) or last_assignment(ex)


def _after_an_update(ex: Exchange, ctx: Context) -> bool:
    return (
        ex.after is not None
        and ex.intent.deployment is not None
        and is_update_call(ex.request)
        and _judged_assignment(ex) is not None
    )


@rule("stats.agree-with-assignment", level=Level.MUST, source="§3.5-2", applies=_after_an_update)
def agree_with_assignment(ex: AnsweredExchange, ctx: Context) -> Iterator[str]:
    """After an update, the deployment's stats report its assignment's threads (in total and per node), priority,
    queue_capacity, cache_size (exactly when set) and, after a 200, its count (ES#91095).

    The count is compared after a 200 only (another answer changes nothing, and the count
    before is the oracle's to judge) and not while adaptive allocations own it (§1.6 C.3).
    Per node, the native process reports the threads it runs, which it may clamp below the
    setting on a node with fewer hardware threads (§3.3, §3.4), never above it.
    """
    assignment = _judged_assignment(ex)
    deployment_id = addressed_deployment(ex) or ""
    assert ex.after is not None, "_after_an_update selects exchanges with a snapshot after the call"
    observed = ex.after.get(deployment_id)
    answered = assignment_in(ex.response) is not None
    if observed is None:
        if answered:
            yield f"$.trained_model_stats: expected deployment_stats for {deployment_id!r} after its 200, found none"
        return
    for name in FIXED_FIGURES:
        wanted, got = task_parameter(assignment, name), getattr(observed, name)
        if name == "cache_size" and wanted is ABSENT:
            wanted = None  # absent when it was never set (§2.3, §2.6), in stats as in the assignment
        if wanted is not ABSENT and not _same(name, wanted, got):
            yield f"deployment_stats.{name}: expected {_shown(wanted)} (as in the assignment), got {_shown(got)}"
    threads = task_parameter(assignment, "threads_per_allocation")
    if isinstance(threads, int):
        for node_id, placed in sorted(observed.nodes.items()):
            if placed.threads_per_allocation > threads:  # 0: the route does not report threads (not started)
                yield (
                    f"deployment_stats.nodes[{node_id}].threads_per_allocation: expected at most {threads} "
                    f"(the setting; the process may only clamp it down), got {placed.threads_per_allocation}"
                )
    count = task_parameter(assignment, "number_of_allocations")
    if (
        answered
        and isinstance(count, int)
        and not adaptive_enabled(adaptive_settings(assignment))
        and observed.number_of_allocations != count
    ):
        yield (
            f"deployment_stats.number_of_allocations: expected {count} (the 200's task_parameters), "
            f"got {observed.number_of_allocations!r}"
        )


def untouched_others(ex: Exchange) -> Iterator[tuple[str, DeploymentObservation, DeploymentObservation]]:
    """Other deployments whose own settings the call did not change, before and after it.

    A deployment that restarted (another ``start_time``), whose count or adaptive settings
    changed (another client, or the adaptive scaler), or that appeared or went away is left
    out: its figures may change for reasons of its own.
    """
    addressed = addressed_deployment(ex)
    assert ex.before is not None and ex.after is not None, "_around_an_update selects exchanges with both snapshots"
    for deployment_id, old in sorted(ex.before.deployments.items()):
        new = ex.after.get(deployment_id)
        if deployment_id == addressed or new is None:
            continue
        own = ("start_time_ms", "number_of_allocations", "adaptive_allocations")
        if all(getattr(old, name) == getattr(new, name) for name in own):
            yield deployment_id, old, new


def _around_an_update(ex: Exchange, ctx: Context) -> bool:
    return ex.before is not None and ex.after is not None and is_update_call(ex.request)


@rule("stats.others-unchanged", level=Level.MUST, source="§3.5-2", applies=_around_an_update)
def others_unchanged(ex: AnsweredExchange, ctx: Context) -> Iterator[str]:
    """An update of one deployment leaves the threads (in total and per node), priority, queue_capacity and cache_size
    that stats report for every other deployment unchanged (ES#91095)."""
    for deployment_id, old, new in untouched_others(ex):
        for name in FIXED_FIGURES:
            if getattr(old, name) != getattr(new, name):
                yield (
                    f"deployment_stats.{name} of {deployment_id!r} (not the updated deployment): "
                    f"expected {_shown(getattr(old, name))} (unchanged), got {_shown(getattr(new, name))}"
                )
        for node_id in sorted(set(old.nodes) & set(new.nodes)):
            before, after = old.nodes[node_id].threads_per_allocation, new.nodes[node_id].threads_per_allocation
            if before and after and before != after:
                yield (
                    f"deployment_stats.nodes[{node_id}].threads_per_allocation of {deployment_id!r}: "
                    f"expected {before} (unchanged), got {after}"
                )


@rule("stats.memory-of-others-unchanged", level=Level.MUST, source="§11.3", since="9.3", applies=_around_an_update)
def memory_of_others_unchanged(ex: AnsweredExchange, ctx: Context) -> Iterator[str]:
    """An update of one deployment leaves model_size_stats.required_native_memory_bytes of the others unchanged (ES#107831).

    The estimate depends on a deployment's own allocations (§3.2). Before ES#143077 it
    used the allocations of all deployments; the fix reached 9.2 and 9.3 as patch
    backports (ES#143295, ES#143294), taken here as 9.3 (the 9.2 patch is not modelled).
    """  # noqa: E501 - the first line is the rule's description
    for deployment_id, old, new in untouched_others(ex):
        before, after = old.required_native_memory_bytes, new.required_native_memory_bytes
        if before is not None and before != after:
            yield (
                f"model_size_stats.required_native_memory_bytes of {deployment_id!r} (not the updated deployment): "
                f"expected {before} (its own allocations did not change), got {after!r}"
            )


_BYTE_UNITS = {
    "": 1,
    "b": 1,
    "k": 1 << 10,
    "kb": 1 << 10,
    "m": 1 << 20,
    "mb": 1 << 20,
    "g": 1 << 30,
    "gb": 1 << 30,
    "t": 1 << 40,
    "tb": 1 << 40,
    "p": 1 << 50,
    "pb": 1 << 50,
}


def byte_amount(text: Any) -> float | None:
    """A byte size as Elasticsearch spells it (``"10kb"``, ``"0"``, ``"1.5mb"``), in bytes; ``None`` otherwise."""
    found = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*", text.lower()) if isinstance(text, str) else None
    if found is None or found.group(2) not in _BYTE_UNITS:
        return None
    return float(found.group(1)) * _BYTE_UNITS[found.group(2)]


def _same(name: str, wanted: Any, got: Any) -> bool:
    """Equal figures; a cache size may be spelt another way for the same bytes (``10kb``, ``10240b``)."""
    if name == "cache_size" and byte_amount(wanted) is not None:
        return byte_amount(wanted) == byte_amount(got)
    return bool(wanted == got)


def _shown(value: Any) -> str:
    return "nothing (field absent)" if value is ABSENT or value is None else repr(value)
