"""Scripted scenarios: every error contract and every state transition on every run.

Generated traffic may or may not hit a 404, a 409 or a 429; these scripts make sure
each error rule is exercised (§3.5-15) and each kind of update (increase, decrease,
no-op, over capacity, low priority) is seen at least once. The scripts hold no checks:
every exchange goes through ``Run.update``, the rules judge it, and a failed verdict
fails the scenario.
"""

from __future__ import annotations

from typing import Any

import pytest

from conformance.context import Feature
from conformance.exchange import DeploymentInfo, Exchange, IntentKind
from conformance.oracle import allocatable, free_memory, has_memory_for, used_processors
from conformance.rules.errors import INVALID_CASES, TRUNCATED_JSON
from conformance.suite.runner import Run
from conformance.suite.strategies import (
    JSON_HEADERS,
    assert_conforms,
    capacity,
    case_applies,
    invalid_request,
    send,
)

COUNT_1 = {"number_of_allocations": 1}
COUNT_2 = {"number_of_allocations": 2}
ADAPTIVE_ON = {
    "adaptive_allocations": {"enabled": True, "min_number_of_allocations": 1, "max_number_of_allocations": 2}
}


def _require_capacity(dc_run: Run, allocations: int) -> None:
    """Skip when the target cannot hold ``allocations`` one-thread allocations (§3.2)."""
    if dc_run.ctx.capacity_unknown:
        pytest.skip(f"capacity cannot be discovered: {dc_run.ctx.capacity_unknown}")
    if capacity(dc_run.ctx) < allocations:
        pytest.skip(f"the target has {dc_run.ctx.total_processors} processor(s); the scenario needs {allocations}")


def _require_room(dc_run: Run) -> None:
    """Skip when no ML node has memory for one more deployment of the tiny model (§3.2):
    small nodes hold only a few (each reserves 240 MB + 2 x model bytes where it runs)."""
    snapshot = dc_run.snapshot()
    observed = snapshot.get(dc_run.primary)
    need = observed.required_native_memory_bytes if observed is not None else None
    room = [free_memory(node, snapshot) for node in dc_run.ctx.nodes]
    if need is not None and room and all(free is not None and free < need for free in room):
        pytest.skip(f"no ML node has memory for one more deployment ({need} bytes each)")


def _update(dc_run: Run, deployment_id: str, **kwargs: Any) -> Exchange:
    return assert_conforms(dc_run, dc_run.update(deployment_id, **kwargs))


# -- 404: no deployment under that id (§1.6 C.1) ---------------------------------------------


def test_unknown_deployment_is_404(dc_run: Run) -> None:
    _update(dc_run, f"{dc_run.run_id}-no-such-deployment", body=COUNT_1, kind=IntentKind.UPDATE_UNKNOWN_DEPLOYMENT)


@pytest.mark.dc_requires(Feature.DEPLOYMENT_ID)
def test_model_id_of_a_differently_named_deployment_is_404(dc_run: Run) -> None:
    """Since 8.8 the path value is a deployment id; the model id of another deployment is unknown (§1.2)."""
    _require_room(dc_run)
    other = dc_run.deployments.start(deployment_id=f"{dc_run.run_id}-renamed", priority="low")  # no processors (§3.2)
    try:
        _update(dc_run, other.model_id, body=COUNT_1, kind=IntentKind.UPDATE_BY_MODEL_ID)
    finally:
        dc_run.stop_deployment(other.deployment_id)


# -- 409, and the no-op answered before the state check (§1.6 C.5, C.6) ---------------------------


@pytest.mark.dc_reaches("errors.not-started-409")
def test_deployment_that_never_started(dc_run: Run, dc_primary: str) -> None:
    """A broken model's route fails, so its assignment stays ``starting``.

    A state-changing update gets 409 (C.6); the same count is a no-op that C.5 answers
    with 200 before the state check. It is a normal-priority deployment (a low-priority
    one may be rejected for its priority first, §1.6 D), so it needs a processor beside
    the primary's.
    """
    _require_capacity(dc_run, 2)
    _require_room(dc_run)
    broken = dc_run.deployments.start(broken=True, wait_for="starting")
    try:
        _update(dc_run, broken.deployment_id, body=COUNT_2, kind=IntentKind.UPDATE_NOT_STARTED)
        _update(dc_run, broken.deployment_id, body=COUNT_1, kind=IntentKind.UPDATE_NOT_STARTED, detail="no-op")
    finally:
        dc_run.stop_deployment(broken.deployment_id)


def test_model_that_is_not_deployed_is_404(dc_run: Run) -> None:
    """Once its only deployment stopped, a model exists but is not deployed (§1.6 C.1).

    The broken model is used because the run's own model stays deployed as the primary;
    low priority needs no processors (§3.2), so this works on the smallest target.
    """
    _require_room(dc_run)
    broken = dc_run.deployments.start(broken=True, priority="low", wait_for="starting")
    dc_run.stop_deployment(broken.deployment_id)
    _update(dc_run, broken.model_id, body=COUNT_1, kind=IntentKind.UPDATE_NOT_DEPLOYED_MODEL)


# -- 400: every validation and parse error of the profile (§1.3-§1.6) -------------------------

_PREPARED_ELSEWHERE = {
    name for name, case in INVALID_CASES.items() if case.needs_low_priority or case.needs_inference_endpoint
}


@pytest.mark.parametrize("name", [n for n in INVALID_CASES if n not in _PREPARED_ELSEWHERE])
def test_invalid_request_gets_its_error(dc_run: Run, dc_primary: str, name: str) -> None:
    case = INVALID_CASES[name]
    if not case_applies(case, dc_run.ctx):
        pytest.skip(f"{name} is not a rule of profile {dc_run.ctx.profile}")
    if case.needs_adaptive_enabled:
        _update(dc_run, dc_primary, body=ADAPTIVE_ON)
    send(dc_run, dc_primary, invalid_request(case))


@pytest.mark.dc_requires(Feature.INFERENCE_ENDPOINT_CONFLICT)
@pytest.mark.dc_reaches("errors.invalid-inference-endpoint-deployment")
def test_deployment_of_an_inference_endpoint_is_409(dc_run: Run) -> None:
    """Newest versions refuse to update a deployment an inference endpoint owns (§1.6 B)."""
    _require_capacity(dc_run, 2)
    _require_room(dc_run)
    owned = dc_run.start_inference_endpoint()
    try:
        send(dc_run, owned.deployment_id, invalid_request(INVALID_CASES["inference-endpoint-deployment"]))
    finally:
        dc_run.remove_inference_endpoint(owned.deployment_id)  # its processor is needed by later scenarios


def test_malformed_json_is_400(dc_run: Run, dc_primary: str) -> None:
    _update(
        dc_run,
        dc_primary,
        content=b'{"number_of_allocations": }',
        headers=dict(JSON_HEADERS),
        kind=IntentKind.UPDATE_MALFORMED_JSON,
        detail="malformed",
    )


def test_truncated_json(dc_run: Run, dc_primary: str) -> None:
    """400 from 8.15.2, a 500 before (§1.5, §10.2): the rule knows which the profile expects."""
    _update(
        dc_run,
        dc_primary,
        content=b"{",
        headers=dict(JSON_HEADERS),
        kind=IntentKind.UPDATE_MALFORMED_JSON,
        detail=TRUNCATED_JSON,
        case=TRUNCATED_JSON,
    )


# -- 405 and 406: protocol errors (§1.1, §1.5) -------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_wrong_method_is_405(dc_run: Run, dc_primary: str, method: str) -> None:
    _update(dc_run, dc_primary, method=method, kind=IntentKind.UPDATE_WRONG_METHOD)


def test_text_plain_is_406(dc_run: Run, dc_primary: str) -> None:
    _update(
        dc_run,
        dc_primary,
        content=b'{"number_of_allocations": 1}',
        headers={"Content-Type": "text/plain"},
        kind=IntentKind.UPDATE_WRONG_CONTENT_TYPE,
    )


# -- capacity: 429 (or a partial 200 when the cluster could scale) (§1.6 C.8) ------------------


def _require_no_scale_up(dc_run: Run) -> None:
    """Skip what asks beyond capacity where that would add ML nodes (and cost) without consent."""
    if dc_run.ctx.holds_back_scaling:
        pytest.skip("the target can scale: an update beyond capacity would add ML nodes; --allow-scaling sends it")


def test_over_capacity_increase(dc_run: Run, dc_primary: str) -> None:
    """One allocation more than all processors hold: 429 and nothing changed, or a partial 200."""
    _require_no_scale_up(dc_run)
    _update(dc_run, dc_primary, body={"number_of_allocations": capacity(dc_run.ctx) + 1})


WIDE_THREADS = 2


def test_threads_per_allocation_bound_capacity(dc_run: Run) -> None:
    """Each allocation of a two-thread deployment takes two processors (§3.2, §3.5-11).

    What still fits it is floor(free processors / 2) per node: asking for exactly that
    must be placed within every node's processors, and one more must get 429 (or a
    partial 200 where the cluster could scale), never a silent over-commit.
    """
    free = [node.processor_capacity - used_processors(dc_run.snapshot(), node.id) for node in dc_run.ctx.nodes]
    if max(free, default=0) < WIDE_THREADS:
        pytest.skip(f"no ML node has {WIDE_THREADS} free processors for a {WIDE_THREADS}-thread allocation")
    _require_room(dc_run)
    wide = dc_run.deployments.start(deployment_id=f"{dc_run.run_id}-wide", threads_per_allocation=WIDE_THREADS)
    try:
        fits = allocatable(dc_run.ctx, dc_run.snapshot(), wide.deployment_id, WIDE_THREADS)
        if not dc_run.ctx.holds_back_scaling:
            _update(dc_run, wide.deployment_id, body={"number_of_allocations": fits + 1})
        if fits > 1:
            _update(dc_run, wide.deployment_id, body={"number_of_allocations": fits})
    finally:
        dc_run.stop_deployment(wide.deployment_id)


MAX_FILLERS = 4


@pytest.mark.dc_reaches("capacity.node-memory-not-exceeded", "capacity.fitting-increase-planned-in-full")
def test_memory_bounds_capacity(dc_run: Run, dc_primary: str) -> None:
    """A node without memory for a deployment takes none of its allocations, whatever its free
    processors (§3.2): every deployment reserves its estimate on each node it runs on.

    Low-priority fillers (memory, no processors) take the memory of the nodes that do not
    host the primary; then an increase to what still fits must be planned in full (ES#156638)
    and one allocation more is over capacity (429, or a partial 200 where the cluster could
    scale), although the full nodes still have free processors. Only on nodes small enough
    to fill with a few deployments (a 2-4 GB container, a trial deployment).
    """
    snapshot = dc_run.snapshot()
    observed = snapshot.get(dc_primary)
    need = observed.required_native_memory_bytes if observed is not None else None
    elsewhere = [node for node in dc_run.ctx.nodes if observed is not None and node.id not in observed.nodes]
    room = [free_memory(node, snapshot) for node in dc_run.ctx.nodes]
    if need is None or not elsewhere or any(free is None for free in room):
        pytest.skip("the target reports no node memory or estimates, or the primary runs on every ML node")
    slots = sum(max(free, 0) // need for free in room if free is not None)
    if slots > MAX_FILLERS:
        pytest.skip(f"the ML nodes have memory for {slots} more deployments; this scenario fills at most {MAX_FILLERS}")
    fillers: list[DeploymentInfo] = []
    try:
        while (
            any(has_memory_for(node, dc_run.snapshot(), dc_primary) for node in elsewhere)
            and len(fillers) < MAX_FILLERS
        ):
            fillers.append(
                dc_run.deployments.start(deployment_id=f"{dc_run.run_id}-filler-{len(fillers)}", priority="low")
            )
        fits = allocatable(dc_run.ctx, dc_run.snapshot(), dc_primary, 1)
        if fits > 1:
            _update(dc_run, dc_primary, body={"number_of_allocations": fits})
        if not dc_run.ctx.holds_back_scaling:
            _update(dc_run, dc_primary, body={"number_of_allocations": fits + 1})
    finally:
        for filler in fillers:
            dc_run.stop_deployment(filler.deployment_id)


# -- state transitions (§1.6 C.5, C.7; §2.2 max_assigned_allocations; §3.5) -------------------


def test_same_value_is_a_noop(dc_run: Run, dc_primary: str) -> None:
    _update(dc_run, dc_primary, body=COUNT_1)


@pytest.mark.dc_reaches("update.started-after-increase")
def test_increase_converges(dc_run: Run, dc_primary: str) -> None:
    _require_capacity(dc_run, 2)
    _update(dc_run, dc_primary, body=COUNT_2)
    assert_conforms(dc_run, dc_run.await_convergence(dc_primary))


def test_decrease_converges(dc_run: Run, dc_primary: str) -> None:
    _require_capacity(dc_run, 2)
    dc_run.restore(dc_primary, 2)
    _update(dc_run, dc_primary, body=COUNT_1)
    assert_conforms(dc_run, dc_run.await_convergence(dc_primary))


@pytest.mark.dc_reaches("update.started-after-increase")
def test_max_assigned_allocations_across_increase_and_decrease(dc_run: Run, dc_primary: str) -> None:
    """``max_assigned_allocations`` never drops and covers the current allocations (§3.5-4, -5)."""
    _require_capacity(dc_run, 2)
    for body in (COUNT_2, COUNT_1, COUNT_1):
        _update(dc_run, dc_primary, body=body)
        assert_conforms(dc_run, dc_run.await_convergence(dc_primary))


def test_low_priority_update_to_two(dc_run: Run) -> None:
    """Old versions accept it (ES#111227); newer ones reject it with a 4xx naming the priority (§1.6 D)."""
    _require_room(dc_run)
    low = dc_run.deployments.start(deployment_id=f"{dc_run.run_id}-low", priority="low")
    try:
        case = INVALID_CASES["low-priority-above-one"]
        if case_applies(case, dc_run.ctx):
            send(dc_run, low.deployment_id, invalid_request(case))
        else:
            _update(dc_run, low.deployment_id, body=COUNT_2)
    finally:
        dc_run.stop_deployment(low.deployment_id)


# -- adaptive allocations: enable, merge, reset (§1.4, §1.6 C.2-C.4) ---------------------------


@pytest.mark.dc_requires(Feature.ADAPTIVE_ALLOCATIONS)
def test_adaptive_allocations_enable_merge_reset(dc_run: Run, dc_primary: str) -> None:
    """Enabled settings own the count (C.3); partial settings merge; null removes them (§1.4)."""
    _update(dc_run, dc_primary, body=ADAPTIVE_ON)
    _update(dc_run, dc_primary, body=COUNT_1)  # rejected although it equals the stored count (C.3 before C.5)
    _update(dc_run, dc_primary, body={"adaptive_allocations": {"max_number_of_allocations": 3}})
    _update(dc_run, dc_primary, body={"adaptive_allocations": {"enabled": False}})
    _update(dc_run, dc_primary, body={"adaptive_allocations": None})
