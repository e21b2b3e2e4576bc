"""ML-node shutdown (§11.5) through the official client against a served reference.

The node shutdown API's answers and errors (§11.5 A), what ML does with a node that has a
shutdown record (§11.5 B), and ES#146910 (§11.5 C): a deployment scaled to zero is dropped
by the shutdown rebalance before the fix and carried forward after it.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import elasticsearch
import pytest

from conformance.assets import tiny_model
from conformance.reference.app import create_app
from conformance.reference.cluster import Cluster
from conformance.reference.config import NodeSpec, ServerConfig
from conformance.reference.scaler import SCALE_TO_ZERO_AFTER
from conformance.reference.server import running_server
from reference.conftest import FakeClock, TestClient

TWO_NODES = (NodeSpec("ml-0", 4), NodeSpec("ml-1", 4))

# The client flags the shutdown API as private (operator-only on Elastic Cloud); it is still the API.
pytestmark = pytest.mark.filterwarnings("ignore::elasticsearch.exceptions.GeneralAvailabilityWarning")


@contextmanager
def served(es_version: str = "9.5.0", convergence_delay: float = 0.0) -> Iterator[tuple[Any, FakeClock]]:
    """A reference on two 4-processor ML nodes with a clock the test moves, and a client to it."""
    clock = FakeClock()
    config = ServerConfig(es_version=es_version, nodes=TWO_NODES, convergence_delay=convergence_delay)
    cluster = Cluster(config, clock=clock)
    with (
        running_server(app=create_app(config, cluster)) as url,
        elasticsearch.Elasticsearch(url, request_timeout=10, max_retries=0, retry_on_status=()) as es,
    ):
        model = tiny_model()
        es.ml.put_trained_model(model_id="tiny", **model.config)
        es.ml.put_trained_model_vocabulary(model_id="tiny", vocabulary=model.vocabulary)
        es.ml.put_trained_model_definition_part(model_id="tiny", part=0, **model.definition_part())
        yield es, clock


def start(es: Any, deployment_id: str, **options: Any) -> dict[str, Any]:
    options.setdefault("wait_for", "started")
    answer = es.ml.start_trained_model_deployment(model_id="tiny", deployment_id=deployment_id, **options)
    return dict(answer["assignment"])


def routes_of_started(es: Any, deployment_id: str, **options: Any) -> dict[str, int]:
    """Start, then node id -> target allocations of the answer's routing table."""
    assignment = start(es, deployment_id, **options)
    return {node: route["target_allocations"] for node, route in assignment["routing_table"].items()}


def stats_of(es: Any, deployment_id: str) -> dict[str, Any] | None:
    """The deployment's ``deployment_stats`` as ``_stats`` lists them, ``None`` when it lists none."""
    for entry in es.ml.get_trained_models_stats(model_id="_all")["trained_model_stats"]:
        stats = entry.get("deployment_stats")
        if stats is not None and stats["deployment_id"] == deployment_id:
            return dict(stats)
    return None


def assignment_of(es: Any, deployment_id: str) -> dict[str, Any]:
    """The assignment as ``_update`` answers it when asked for the count it already has (§1.6 C.5)."""
    stats = stats_of(es, deployment_id)
    assert stats is not None
    answer = es.ml.update_trained_model_deployment(
        model_id=deployment_id, number_of_allocations=stats["number_of_allocations"]
    )
    return dict(answer["assignment"])


def routes_of(es: Any, deployment_id: str) -> dict[str, int]:
    """Node id -> target allocations of the deployment's routing table."""
    table = assignment_of(es, deployment_id)["routing_table"]
    return {node: route["target_allocations"] for node, route in table.items()}


# -- §11.5 A: the API ----------------------------------------------------------------------------------


def test_s11_5_a_put_get_delete_answers() -> None:
    with served() as (es, clock):
        assert es.shutdown.get_node()["nodes"] == []
        assert es.shutdown.put_node(node_id="ml-1", type="restart", reason="rolling upgrade")["acknowledged"] is True
        every = es.shutdown.get_node()["nodes"]
        assert every == [
            {
                "node_id": "ml-1",
                "type": "RESTART",
                "reason": "rolling upgrade",
                "shutdown_startedmillis": int(clock.now * 1000),
                "status": "COMPLETE",
                "shard_migration": {"status": "COMPLETE", "shard_migrations_remaining": 0},
                "persistent_tasks": {"status": "COMPLETE"},
                "plugins": {"status": "COMPLETE"},
            }
        ]
        assert es.shutdown.get_node(node_id="ml-1")["nodes"] == every
        assert es.shutdown.get_node(node_id="ml-0")["nodes"] == []
        assert es.shutdown.delete_node(node_id="ml-1")["acknowledged"] is True
        assert es.shutdown.get_node()["nodes"] == []
        with pytest.raises(elasticsearch.NotFoundError) as missing:
            es.shutdown.delete_node(node_id="ml-1")
        assert missing.value.body["error"]["type"] == "resource_not_found_exception"
        assert missing.value.body["error"]["reason"] == "node [ml-1] is not currently shutting down"


@pytest.mark.parametrize(
    ("body", "error_type", "reason"),
    [
        (None, "parse_exception", "request body is required"),
        ({}, "illegal_argument_exception", "Required [type, reason]"),
        ({"type": "remove"}, "illegal_argument_exception", "Required [reason]"),
        (
            {"type": "pause", "reason": "r"},
            "x_content_parse_exception",
            "Failed to build [put_node_shutdown_request] after last required field arrived",
        ),
        ({"type": "remove", "reason": "r", "delay": "1m"}, "x_content_parse_exception", "unknown field [delay]"),
        (
            {"type": "replace", "reason": "r"},
            "action_request_validation_exception",
            "Validation Failed: 1: target node name is required for REPLACE type shutdowns;",
        ),
        (
            {"type": "remove", "reason": "r", "allocation_delay": "10m"},
            "action_request_validation_exception",
            "Validation Failed: 1: allocation_delay is only allowed for RESTART-type shutdown requests;",
        ),
        (
            {"type": "sigterm", "reason": "r"},
            "action_request_validation_exception",
            "Validation Failed: 1: grace period is required for SIGTERM shutdowns;",
        ),
        (
            {"type": "remove", "reason": "r", "allocation_delay": "1m", "grace_period": "1m"},
            "action_request_validation_exception",
            "Validation Failed: 1: allocation_delay is only allowed for RESTART-type shutdown requests;"
            "2: grace period is only valid for SIGTERM type shutdowns, but was given type [REMOVE] and target node "
            "name [null];",
        ),
        (
            {"type": "restart", "reason": "r", "allocation_delay": "soon"},
            "x_content_parse_exception",
            "Failed to build [put_node_shutdown_request] after last required field arrived",
        ),
    ],
)
def test_s11_5_a_bad_requests_get_elasticsearch_errors(body: Any, error_type: str, reason: str) -> None:
    with served() as (es, _):
        with pytest.raises(elasticsearch.BadRequestError) as bad:
            es.perform_request(
                "PUT",
                "/_nodes/ml-1/shutdown",
                headers={"accept": "application/json", "content-type": "application/json"},
                body=body,
            )
        assert bad.value.meta.status == 400
        assert bad.value.body["error"]["type"] == error_type
        assert reason in bad.value.body["error"]["reason"]
        assert es.shutdown.get_node()["nodes"] == []  # nothing was registered


def test_s11_5_a_unknown_type_names_itself_in_the_cause() -> None:
    with served() as (es, _):
        with pytest.raises(elasticsearch.BadRequestError) as bad:
            es.shutdown.put_node(node_id="ml-1", type="pause", reason="r")
        assert bad.value.body["error"]["caused_by"]["reason"] == "unknown shutdown type: pause"


# -- §11.5 B: what ML does with a shutting-down node -------------------------------------------------


@pytest.mark.parametrize("kind", ["restart", "remove"])
def test_s11_5_b_nothing_new_goes_to_a_shutting_down_node(kind: str) -> None:
    with served() as (es, _):
        es.shutdown.put_node(node_id="ml-1", type=kind, reason="maintenance")
        assert routes_of_started(es, "four", number_of_allocations=4) == {"ml-0": 4}
        with pytest.raises(elasticsearch.ApiError) as full:
            es.ml.update_trained_model_deployment(model_id="four", number_of_allocations=5)
        assert full.value.meta.status == 429  # ml-1 has 4 free processors, but it is leaving
        with pytest.raises(elasticsearch.ApiError) as none_fits:
            start(es, "more")
        assert none_fits.value.meta.status == 429
        es.shutdown.delete_node(node_id="ml-1")  # plannable again
        es.ml.update_trained_model_deployment(model_id="four", number_of_allocations=5)
        assert routes_of(es, "four") == {"ml-0": 4, "ml-1": 1}


def test_s11_5_b_routes_drain_and_move_to_the_other_node() -> None:
    with served(convergence_delay=5.0) as (es, clock):
        placed = routes_of_started(es, "two", number_of_allocations=2, wait_for="starting")  # the clock is ours
        assert placed.get("ml-1", 0) > 0
        clock.advance(5.0)
        es.shutdown.put_node(node_id="ml-1", type="remove", reason="scale in")
        table = assignment_of(es, "two")["routing_table"]
        assert table["ml-1"]["routing_state"] == "stopping"  # draining
        assert table["ml-0"]["target_allocations"] == 2
        assert es.shutdown.get_node(node_id="ml-1")["nodes"][0]["plugins"]["status"] == "IN_PROGRESS"
        clock.advance(5.0)
        assert routes_of(es, "two") == {"ml-0": 2}
        assert es.shutdown.get_node(node_id="ml-1")["nodes"][0]["plugins"]["status"] == "COMPLETE"
        stats = stats_of(es, "two")
        assert stats is not None and stats["allocation_status"]["allocation_count"] == 2


def test_s11_5_b_what_does_not_fit_stays_unplanned_until_the_node_returns() -> None:
    with served() as (es, _):
        assert routes_of_started(es, "eight", number_of_allocations=8) == {"ml-0": 4, "ml-1": 4}
        es.shutdown.put_node(node_id="ml-1", type="restart", reason="patch")
        assignment = assignment_of(es, "eight")
        assert {n: r["target_allocations"] for n, r in assignment["routing_table"].items()} == {"ml-0": 4}
        assert assignment["task_parameters"]["number_of_allocations"] == 8
        assert "Could not assign (more) allocations on node [ml-0]" in assignment["reason"]
        es.shutdown.delete_node(node_id="ml-1")
        assignment = assignment_of(es, "eight")
        assert {n: r["target_allocations"] for n, r in assignment["routing_table"].items()} == {"ml-0": 4, "ml-1": 4}
        assert "reason" not in assignment


# -- §11.5 C: ES#146910 --------------------------------------------------------------------------------

ADAPTIVE_TO_ZERO = {"enabled": True, "min_number_of_allocations": 0, "max_number_of_allocations": 2}


def scale_idle_to_zero_then_shut_down(es: Any, clock: FakeClock) -> None:
    """``idle`` scales to zero after a day without requests; ``busy`` keeps a route on ml-1, so
    marking ml-1 for shutdown makes the master rebalance."""
    start(es, "idle", adaptive_allocations=ADAPTIVE_TO_ZERO)
    busy = routes_of_started(es, "busy", number_of_allocations=2)
    assert busy.get("ml-1", 0) > 0
    clock.advance(SCALE_TO_ZERO_AFTER)
    idle = stats_of(es, "idle")
    assert idle is not None and idle["number_of_allocations"] == 0 and idle["state"] == "started"
    es.ml.infer_trained_model(model_id="busy", docs=[{"input": "hello"}])
    es.shutdown.put_node(node_id="ml-1", type="restart", reason="rolling upgrade")
    assert routes_of(es, "busy") == {"ml-0": 2}


@pytest.mark.parametrize("es_version", ["9.3.4", "9.4.1", "9.5.0"])
def test_s11_5_c_zero_allocation_deployment_survives_the_shutdown_rebalance(es_version: str) -> None:
    with served(es_version) as (es, clock):
        scale_idle_to_zero_then_shut_down(es, clock)
        idle = stats_of(es, "idle")
        assert idle is not None and idle["number_of_allocations"] == 0
        updated = es.ml.update_trained_model_deployment(
            model_id="idle",
            adaptive_allocations={"enabled": True, "min_number_of_allocations": 0, "max_number_of_allocations": 3},
        )
        assert updated["assignment"]["adaptive_allocations"]["max_number_of_allocations"] == 3
        assert es.ml.stop_trained_model_deployment(model_id="idle", allow_no_match=False)["stopped"] is True


@pytest.mark.parametrize("es_version", ["8.19.0", "9.3.0", "9.4.0"])
def test_s11_5_c_before_the_fix_the_zero_allocation_deployment_is_gone(es_version: str) -> None:
    with served(es_version) as (es, clock):
        scale_idle_to_zero_then_shut_down(es, clock)
        assert stats_of(es, "idle") is None
        with pytest.raises(elasticsearch.NotFoundError) as missing:
            es.ml.update_trained_model_deployment(
                model_id="idle", adaptive_allocations={"max_number_of_allocations": 3}
            )
        assert missing.value.body["error"]["reason"] == "No known model deployment with id [idle]"
        with pytest.raises(elasticsearch.NotFoundError):
            es.ml.stop_trained_model_deployment(model_id="idle", allow_no_match=False)
        assert stats_of(es, "busy") is not None  # only the deployment at zero is lost


def test_s11_5_a_no_body_reaches_a_5xx() -> None:
    """Bodies of every JSON shape, and broken ones, against the three methods: never a 500."""
    rng = random.Random(20261201)
    values: list[Any] = [None, True, 3, -1.5, "", "restart", "REMOVE", "sigterm", "replace", "1m", "x" * 40, [], {}]
    fields = ["type", "reason", "allocation_delay", "target_node_name", "grace_period", "other"]
    app = create_app(ServerConfig(nodes=TWO_NODES))
    with TestClient(app) as client:
        for _ in range(300):
            document = {name: rng.choice(values) for name in rng.sample(fields, rng.randint(0, len(fields)))}
            body = json.dumps(document).encode()
            if rng.random() < 0.2:
                body = body[: rng.randint(0, len(body))]
            method = rng.choice(["PUT", "PUT", "GET", "DELETE"])
            node = rng.choice(["ml-0", "ml-1", "gone", "ml-0,ml-1", "_all"])
            response = client.request(
                method, f"/_nodes/{node}/shutdown", content=body, headers={"content-type": "application/json"}
            )
            assert response.status_code < 500, (method, node, body, response.text)


@pytest.mark.parametrize(("es_version", "survives"), [("9.3.0", False), ("9.5.0", True)])
@pytest.mark.parametrize("trigger", ["start", "increase"])
def test_s11_5_c_any_rebalance_while_a_node_shuts_down_runs_the_same_step(
    es_version: str, survives: bool, trigger: str
) -> None:
    """No route on ml-1, so its shutdown alone rebalances nothing; the next start or increase
    does, and before the fix it loses the deployment at zero."""
    with served(es_version) as (es, clock):
        if trigger == "increase":
            assert routes_of_started(es, "grows", number_of_allocations=1) == {"ml-0": 1}
        start(es, "idle", adaptive_allocations=ADAPTIVE_TO_ZERO)
        clock.advance(SCALE_TO_ZERO_AFTER)
        es.shutdown.put_node(node_id="ml-1", type="remove", reason="scale in")
        assert stats_of(es, "idle") is not None
        if trigger == "start":
            start(es, "later", number_of_allocations=1)
        else:
            es.ml.update_trained_model_deployment(model_id="grows", number_of_allocations=2)
        assert (stats_of(es, "idle") is not None) is survives
