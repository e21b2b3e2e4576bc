"""§2.4, §2.5, §10.1: routes start `starting`, converge after the delay, and the assignment
state is `started` iff some route is started — modelled lazily with a fake clock."""

from __future__ import annotations

from conformance.reference.config import ServerConfig
from reference.conftest import FakeClock, config, error_of, make_es


def slow(clock: FakeClock, delay: float = 5.0):
    es = make_es(config(convergence_delay=delay), clock=clock)
    es.put_model("tiny")
    return es


def test_s2_5_starting_until_the_delay_passes() -> None:
    clock = FakeClock()
    es = slow(clock)
    assignment = es.start("tiny", deployment_id="dep", wait_for="starting")
    assert assignment["assignment_state"] == "starting"
    assert assignment["routing_table"]["ml-0"]["routing_state"] == "starting"
    assert error_of(es.update("dep", {"number_of_allocations": 2}))[0] == 409  # §1.6 C.6
    clock.advance(5.0)
    stats = es.deployment_stats("dep")
    assert stats["state"] == "started"
    assert stats["allocation_status"]["state"] == "fully_allocated"


def test_s2_4_current_converges_to_target_after_the_delay() -> None:
    clock = FakeClock()
    es = slow(clock)
    es.start("tiny", deployment_id="dep", wait_for="starting")
    clock.advance(5.0)
    es.update("dep", {"number_of_allocations": 3})
    stats = es.deployment_stats("dep")
    assert stats["allocation_status"]["allocation_count"] == 1  # ml-0 still at 1, ml-1 starting
    assert stats["state"] == "started"
    clock.advance(5.0)
    stats = es.deployment_stats("dep")
    assert stats["allocation_status"] == {
        "allocation_count": 3,
        "target_allocation_count": 3,
        "state": "fully_allocated",
    }


def test_s10_1_decrease_can_leave_only_starting_routes() -> None:
    clock = FakeClock()
    es = slow(clock)
    es.start("tiny", deployment_id="dep", wait_for="starting", threads_per_allocation="4")
    clock.advance(5.0)
    es.update("dep", {"number_of_allocations": 2})  # second allocation lands on ml-1, starting
    assignment = es.update("dep", {"number_of_allocations": 1}).json()["assignment"]
    assert list(assignment["routing_table"]) == ["ml-1"]
    assert assignment["assignment_state"] == "starting"
    assert error_of(es.update("dep", {"number_of_allocations": 2}))[0] == 409


def test_s2_4_failed_route_keeps_assignment_starting() -> None:
    es = make_es(ServerConfig())
    es.put_model("broken", broken=True)
    assignment = es.start("broken", deployment_id="dep")
    route = assignment["routing_table"]["ml-0"]
    assert route["routing_state"] == "failed" and route["reason"]
    assert assignment["assignment_state"] == "starting"
    stats = es.deployment_stats("dep")
    assert stats["allocation_status"]["state"] == "starting"
