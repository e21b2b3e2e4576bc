"""Convergence judged against what each node can run (§3.3, §3.4, §3.5 P13).

The suite's expectation (:mod:`conformance.convergence`) and the reference's process
model (:mod:`conformance.reference.native`) are written apart; these tests hold them to
each other over every small topology, and to ml-cpp's bound (``clamp_problem``).
"""

from __future__ import annotations

import itertools
from dataclasses import replace

from conformance.context import MlNode
from conformance.convergence import NO_PROMISE, has_converged, promise_of, settles_at
from conformance.exchange import DeploymentObservation, NodeAllocation
from conformance.reference import native
from conformance.rules.clamp import clamp_problem

POWERS_OF_TWO = (1, 2, 4, 8, 16, 32)  # threads_per_allocation at start (§3.5-8)


def route(current: int, target: int, state: str = "started") -> dict:
    return {"current_allocations": current, "target_allocations": target, "routing_state": state, "reason": ""}


def assignment(routes: dict, n: int, threads: int = 1) -> dict:
    return {"task_parameters": {"threads_per_allocation": threads, "number_of_allocations": n}, "routing_table": routes}


def observed(per_node: dict[str, int], allocation_count: int, threads: int = 1) -> DeploymentObservation:
    return DeploymentObservation(
        deployment_id="dep",
        model_id="tiny",
        state="started",
        number_of_allocations=4,
        threads_per_allocation=threads,
        priority="normal",
        queue_capacity=1024,
        cache_size=None,
        allocation_count=allocation_count,
        target_allocation_count=4,
        start_time_ms=0,
        nodes={node: NodeAllocation("started", count, threads) for node, count in per_node.items()},
    )


def test_every_setting_the_process_can_report_is_within_the_bound() -> None:
    for hw, threads, asked, update in itertools.product(range(1, 13), POWERS_OF_TWO, range(1, 20), range(1, 20)):
        at_start = native.started(hw, asked, threads)
        after = native.updated(hw, at_start, update)
        for settings in (at_start, after):
            assert clamp_problem(settings.allocations, settings.threads_per_allocation, hw) is None, (hw, settings)


def test_the_bound_is_not_vacuous() -> None:
    assert clamp_problem(3, 1, 2) is not None  # more allocations than hardware threads
    assert clamp_problem(1, 4, 2) is not None  # more threads than hardware threads
    assert clamp_problem(3, 3, 4) is not None  # 3 x 3 on 4 threads: neither path rounds up that far
    assert clamp_problem(2, 2, 3) is None  # live update: 2 <= ceil(3 / 2)


def test_promise_is_exact_for_one_thread_and_for_targets_that_fit() -> None:
    """Start with ``first``, update to ``second`` then ``third``: the promise of each answer is what the process
    runs."""
    for hw, threads, first, second, third in itertools.product(
        range(1, 9), POWERS_OF_TWO, range(1, 10), range(1, 10), range(1, 10)
    ):
        process = native.started(hw, first, threads)
        current = first  # a new route keeps its planned current (§2.4)
        for target in (second, third):
            if threads != 1 and target * threads > hw:
                break
            expected = settles_at(route(current, target), threads, hw)
            if current != target:
                process = native.updated(hw, process, target)
                current = process.allocations
            assert (expected.runs, expected.current) == (process.allocations, current), (hw, threads, first, target)


def test_a_node_that_clamps_by_design_has_converged() -> None:
    """The README's worked example: 4 processors, 2 hardware threads, 1 -> 4 one-thread allocations."""
    nodes = (MlNode("ml-0", "ml-0", 4.0, hardware_threads=2),)
    promise = promise_of(assignment({"ml-0": route(1, 4)}, 4), nodes)
    assert promise.target_allocations == {"ml-0": 2} and promise.current_total == 2
    assert promise.route_targets == {"ml-0": 4}
    assert has_converged(observed({"ml-0": 2}, 2), promise)
    assert not has_converged(observed({"ml-0": 4}, 4), promise)  # runs more than the node may
    assert not has_converged(observed({"ml-0": 2}, 4), promise)  # current written above the clamp


def test_a_new_route_keeps_its_planned_current() -> None:
    nodes = (MlNode("ml-0", "ml-0", 4.0, hardware_threads=2),)
    promise = promise_of(assignment({"ml-0": route(4, 4, "starting")}, 4), nodes)
    assert promise.target_allocations == {"ml-0": 2} and promise.current_total == 4


def test_without_hardware_threads_the_target_is_the_promise() -> None:
    nodes = (MlNode("ml-0", "ml-0", 4.0),)
    promise = promise_of(assignment({"ml-0": route(1, 4)}, 4), nodes)
    assert promise.target_allocations == {"ml-0": 4} and promise.total == 4 == promise.current_total
    assert promise_of(assignment({"ml-0": route(1, 4)}, 4)) == promise
    assert has_converged(observed({"ml-0": 4}, 4), promise)
    assert not has_converged(observed({"ml-0": 2}, 2), promise)


def test_without_a_promise_the_deployments_own_stats_decide() -> None:
    """An adopted deployment (no assignment seen yet) converges once its stats have settled, not never."""
    settled = observed({"ml-0": 2, "ml-1": 2}, 4)
    assert has_converged(settled, NO_PROMISE)
    assert not has_converged(replace(settled, allocation_count=3), NO_PROMISE)  # still counting up to its target
    assert not has_converged(replace(settled, state="starting"), NO_PROMISE)
    starting = replace(settled, nodes={**settled.nodes, "ml-1": NodeAllocation("starting", 2, 1)})
    assert not has_converged(starting, NO_PROMISE)
    assert has_converged(replace(settled, allocation_count=None, target_allocation_count=None), NO_PROMISE)
    assert not has_converged(None, NO_PROMISE)
    # An assignment with an empty routing table is a promise: that nothing runs.
    assert not has_converged(settled, promise_of({"task_parameters": {}, "routing_table": {}}))


def test_an_assignment_without_a_routing_table_promises_nothing() -> None:
    """Its shape is judged by the shape rules; the wait goes by the deployment's own stats."""
    assert promise_of({"task_parameters": {"number_of_allocations": 2}}) == NO_PROMISE
    assert promise_of({"task_parameters": {}, "routing_table": None}) == NO_PROMISE
    assert promise_of({"task_parameters": {}, "routing_table": {}}) != NO_PROMISE
