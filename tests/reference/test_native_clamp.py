"""§3.3, §3.4: the reference's ML nodes run what their native process can, and say so.

The first test is the README's worked example ("Two layers of thread clamping"), run
with the official client over real HTTP: a node with 4 allocated processors and 2
hardware threads, an update from 1 to 4 one-thread allocations.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import elasticsearch
import pytest

from conformance.assets import tiny_model
from conformance.reference.config import ServerConfig, parse_nodes
from conformance.reference.server import running_server
from reference.conftest import FakeClock, make_es

HW2 = ServerConfig(nodes=parse_nodes("ml-0:4:2gb:hw2"))


@pytest.fixture
def client() -> Iterator[elasticsearch.Elasticsearch]:
    with (
        running_server(HW2) as url,
        elasticsearch.Elasticsearch(url, request_timeout=10, max_retries=0, retry_on_status=()) as es,
    ):
        yield es


def _deploy(es: elasticsearch.Elasticsearch) -> None:
    model = tiny_model()
    es.ml.put_trained_model(model_id="tiny", **model.config)
    es.ml.put_trained_model_vocabulary(model_id="tiny", vocabulary=model.vocabulary)
    es.ml.put_trained_model_definition_part(model_id="tiny", part=0, **model.definition_part())
    es.ml.start_trained_model_deployment(model_id="tiny", deployment_id="dep", wait_for="started")


def _stats(es: elasticsearch.Elasticsearch) -> dict[str, Any]:
    return es.ml.get_trained_models_stats(model_id="dep")["trained_model_stats"][0]["deployment_stats"]


def test_readme_worked_example(client: elasticsearch.Elasticsearch) -> None:
    os_info = client.nodes.info()["nodes"]["ml-0"]["os"]
    assert (os_info["available_processors"], os_info["allocated_processors"]) == (2, 4)
    _deploy(client)

    answer = client.ml.update_trained_model_deployment(model_id="dep", number_of_allocations=4)["assignment"]
    assert answer["task_parameters"]["number_of_allocations"] == 4  # never clamped (§3.1)
    assert answer["routing_table"]["ml-0"] == {
        "current_allocations": 1,
        "target_allocations": 4,
        "routing_state": "started",
        "reason": "",
    }

    stats = _stats(client)  # the default server converges at the next read
    assert (stats["number_of_allocations"], stats["threads_per_allocation"]) == (4, 1)
    assert stats["allocation_status"] == {"allocation_count": 2, "target_allocation_count": 4, "state": "started"}
    node = stats["nodes"][0]
    assert (node["number_of_allocations"], node["threads_per_allocation"]) == (2, 1)

    settled = client.ml.update_trained_model_deployment(model_id="dep", number_of_allocations=4)["assignment"]
    assert settled["routing_table"]["ml-0"]["current_allocations"] == 2  # what the process reported (§3.4)
    assert settled["routing_table"]["ml-0"]["target_allocations"] == 4  # stays below the target for good
    assert settled["task_parameters"]["number_of_allocations"] == 4


def test_a_new_route_keeps_its_planned_current_while_the_process_runs_less() -> None:
    """ES loads the process with the route's current count and writes back only after live updates."""
    es = make_es(ServerConfig(nodes=parse_nodes("ml-0:4:2gb:hw2")))
    es.deploy(deployment_id="dep", number_of_allocations="4")
    stats = es.deployment_stats("dep")
    assert stats["allocation_status"]["allocation_count"] == 4
    assert stats["nodes"][0]["number_of_allocations"] == 2


def test_threads_are_fitted_at_start_and_allocations_on_updates() -> None:
    """ml-cpp: threads into ceil(hw / allocations) at start; later allocations into ceil(hw / threads)."""
    es = make_es(ServerConfig(nodes=parse_nodes("ml-0:8:2gb:hw4")))
    es.deploy(deployment_id="dep", number_of_allocations="2", threads_per_allocation="4")
    node = es.deployment_stats("dep")["nodes"][0]
    assert (node["number_of_allocations"], node["threads_per_allocation"]) == (2, 2)
    assert es.deployment_stats("dep")["threads_per_allocation"] == 4  # the task parameter is never clamped
    assert es.update("dep", {"number_of_allocations": 1}).status_code == 200
    es.deployment_stats("dep")
    assignment = es.update("dep", {"number_of_allocations": 2}).json()["assignment"]
    assert assignment["routing_table"]["ml-0"]["current_allocations"] == 1  # not reacted yet in the answer
    node = es.deployment_stats("dep")["nodes"][0]
    assert (node["number_of_allocations"], node["threads_per_allocation"]) == (2, 2)  # ceil(4 / 2) = 2


def test_the_clamp_waits_for_the_node_to_settle() -> None:
    clock = FakeClock()
    es = make_es(ServerConfig(nodes=parse_nodes("ml-0:4:2gb:hw2"), convergence_delay=5.0), clock=clock)
    es.deploy(deployment_id="dep", wait_for="starting")
    clock.advance(5.0)
    es.update("dep", {"number_of_allocations": 4})
    assert es.deployment_stats("dep")["nodes"][0]["number_of_allocations"] == 1
    clock.advance(5.0)
    assert es.deployment_stats("dep")["nodes"][0]["number_of_allocations"] == 2


def test_nodes_without_a_hardware_thread_limit_run_their_targets() -> None:
    es = make_es()
    es.deploy(deployment_id="dep")
    es.update("dep", {"number_of_allocations": 8})
    stats = es.deployment_stats("dep")
    assert sorted(n["number_of_allocations"] for n in stats["nodes"]) == [4, 4]
    assert stats["allocation_status"]["allocation_count"] == 8
