"""§2.1-§2.6 and §3.5: the assignment returned by `_update`, per emulated version."""

from __future__ import annotations

import datetime
import re

import pytest

from reference.conftest import VERSIONS, at_least, deployed_on, make_es

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3,9}Z$")


def updated(version: str, body: dict, **start: str) -> dict:
    response = deployed_on(version, **start).update("dep", body)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize("version", VERSIONS)
def test_s2_2_s2_6_field_order_and_optional_fields(version: str) -> None:
    body = updated(version, {"number_of_allocations": 2})
    assert list(body) == ["assignment"]
    assignment = body["assignment"]
    expected = ["task_parameters", "routing_table", "assignment_state", "start_time", "max_assigned_allocations"]
    if at_least(version, "8.16"):
        expected.append("adaptive_allocations")
        assert assignment["adaptive_allocations"] is None
    assert list(assignment) == expected
    params = [
        "model_id",
        "deployment_id",
        "model_bytes",
        "threads_per_allocation",
        "number_of_allocations",
        "queue_capacity",
        "priority",
        "per_deployment_memory_bytes",
        "per_allocation_memory_bytes",
    ]
    if not at_least(version, "8.8"):
        params.remove("deployment_id")
    if not at_least(version, "8.11"):
        params = params[:-2]
    assert list(assignment["task_parameters"]) == params


def test_s2_3_cache_size_is_a_string_only_when_set() -> None:
    assert (
        updated("9.3.0", {"number_of_allocations": 2}, cache_size="10kb")["assignment"]["task_parameters"]["cache_size"]
        == "10kb"
    )
    assert (
        updated("9.3.0", {"number_of_allocations": 2}, cache_size="0")["assignment"]["task_parameters"]["cache_size"]
        == "0"
    )


def test_s3_5_invariants_after_increase() -> None:
    es = make_es()
    start = es.deploy(deployment_id="dep", threads_per_allocation="2")
    assignment = es.update("dep", {"number_of_allocations": 3}).json()["assignment"]
    params, first = assignment["task_parameters"], start["task_parameters"]
    assert params["number_of_allocations"] == 3  # §3.5-1
    for unchanged in (
        "threads_per_allocation",
        "priority",
        "queue_capacity",
        "model_id",
        "deployment_id",
        "model_bytes",
    ):
        assert params[unchanged] == first[unchanged]  # §3.5-2
    assert assignment["start_time"] == start["start_time"]
    routes = assignment["routing_table"].values()
    assert assignment["max_assigned_allocations"] >= sum(r["current_allocations"] for r in routes)  # §3.5-4
    assert sum(r["target_allocations"] for r in routes) == 3  # §3.5-10
    assert assignment["assignment_state"] == "started"  # §3.5-6


def test_s2_2_start_time_iso_matches_stats_millis() -> None:
    es = make_es()
    assignment = es.deploy(deployment_id="dep")
    assert ISO.match(assignment["start_time"])
    stats = es.deployment_stats("dep")
    parsed = datetime.datetime.fromisoformat(assignment["start_time"][:23] + "+00:00")
    assert int(parsed.timestamp() * 1000) == stats["start_time"]  # §10.5


def test_s2_4_existing_route_keeps_current_new_route_current_equals_target() -> None:
    es = make_es()
    es.deploy(deployment_id="dep")
    assignment = es.update("dep", {"number_of_allocations": 3}).json()["assignment"]
    routes = assignment["routing_table"]
    assert routes["ml-0"] == {
        "current_allocations": 1,
        "target_allocations": 2,
        "routing_state": "started",
        "reason": "",
    }
    assert routes["ml-1"] == {
        "current_allocations": 1,
        "target_allocations": 1,
        "routing_state": "starting",
        "reason": "",
    }


def test_s2_2_max_assigned_allocations_never_decreases() -> None:
    es = make_es()
    es.deploy(deployment_id="dep")
    es.update("dep", {"number_of_allocations": 6})
    es.stats()  # converge
    high = es.update("dep", {"number_of_allocations": 1}).json()["assignment"]["max_assigned_allocations"]
    es.stats()
    after = es.update("dep", {"number_of_allocations": 2}).json()["assignment"]
    assert high == 6 and after["max_assigned_allocations"] == 6


def test_s5_2_stats_after_update_converge_to_target() -> None:
    es = make_es()
    es.deploy(deployment_id="dep")
    es.update("dep", {"number_of_allocations": 2})
    stats = es.deployment_stats("dep")
    assert stats["allocation_status"] == {
        "allocation_count": 2,
        "target_allocation_count": 2,
        "state": "fully_allocated",
    }
    assert sum(node["number_of_allocations"] for node in stats["nodes"]) == 2
    assert es.update("dep", {"number_of_allocations": 1}).status_code == 200
    stats = es.deployment_stats("dep")
    assert stats["allocation_status"]["allocation_count"] == 1
