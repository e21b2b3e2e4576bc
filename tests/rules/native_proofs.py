"""Proofs of the native rules (§3.3, §3.4) for the catalogue table of ``test_catalogue.py``.

One node with 4 processors and 2 hardware threads: the planner places 4 one-thread
allocations there, the node's process runs 2 of them (ml-cpp ``CThreadSettings``).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from conformance.context import Context
from conformance.exchange import Exchange, NodeAllocation
from conformance.expectations import ConvergencePromise
from rules.factories import (
    NODE,
    assignment,
    context,
    exchange,
    info,
    observation,
    ok,
    request,
    response,
    snapshot,
    stats_doc,
    stats_request,
)

HW2 = replace(context(), nodes=tuple(replace(n, hardware_threads=2) for n in context().nodes))


def runs(n: int, allocations: int, threads: int = 1, priority: str = "normal"):
    """A stats observation of ``dep`` storing ``n`` whose process on NODE runs ``allocations`` x ``threads``."""
    found = observation(n, {NODE: allocations}, threads=1, priority=priority)
    return replace(found, nodes={NODE: NodeAllocation("started", allocations, threads)})


def _update(body: Any, answer: dict, *, last: dict, before=None, after=None) -> Exchange:
    return exchange("update", request(body), ok(answer), deployment=info(last), before=before, after=after)


def native_proofs() -> list[tuple[str, Exchange, Exchange, Context]]:
    to_four = {"number_of_allocations": 4}
    asked = assignment(4, {NODE: 4}, {NODE: 1})  # the answer: built before the node reacts
    promise = ConvergencePromise(
        target_allocations={NODE: 2},
        total=2,
        current_total=2,
        route_targets={NODE: 4},
        number_of_allocations=4,
    )
    return [
        (
            "native.request-never-clamped",
            _update(to_four, assignment(2, {NODE: 4}, {NODE: 1}), last=assignment(1), after=snapshot(runs(2, 1))),
            _update(to_four, asked, last=assignment(1), after=snapshot(runs(4, 2))),
            HW2,
        ),
        (
            "native.process-within-request",
            _update(to_four, asked, last=assignment(1), after=snapshot(runs(4, 2, threads=2))),
            _update(to_four, asked, last=assignment(1), after=snapshot(runs(4, 2))),
            HW2,
        ),
        (
            "native.process-within-hardware-threads",
            _update(to_four, asked, last=assignment(1), after=snapshot(runs(4, 4))),
            _update(to_four, asked, last=assignment(1), after=snapshot(runs(4, 2))),
            HW2,
        ),
        (
            "native.current-follows-process",
            _update(
                to_four,
                assignment(4, {NODE: 4}, {NODE: 4}),
                last=asked,
                before=snapshot(runs(4, 2)),
                after=snapshot(runs(4, 2)),
            ),
            _update(
                to_four,
                assignment(4, {NODE: 4}, {NODE: 2}),
                last=asked,
                before=snapshot(runs(4, 2)),
                after=snapshot(runs(4, 2)),
            ),
            HW2,
        ),
        (
            "native.process-within-request",
            exchange(
                "converged",
                stats_request(),
                response(200, stats_doc(("dep", 4, {NODE: 5}))),
                deployment=info(asked),
                expected=promise,
                after=snapshot(runs(4, 5)),
            ),
            exchange(
                "converged",
                stats_request(),
                response(200, stats_doc(("dep", 4, {NODE: 2}))),
                deployment=info(asked),
                expected=promise,
                after=snapshot(runs(4, 2)),
            ),
            HW2,
        ),
    ]
