"""§1.7, §5.1, §5.3: models, start validation, stop and delete around the `_update` endpoint."""

from __future__ import annotations

import pytest

from conformance.reference.config import NodeSpec, ServerConfig, parse_nodes
from reference.conftest import Es, config, error_of, make_es

START = "/_ml/trained_models/tiny/deployment/_start"


@pytest.fixture
def modelled(es: Es) -> Es:
    es.put_model("tiny")
    return es


@pytest.mark.parametrize(
    "params, message",
    [
        ({"number_of_allocations": "0"}, "[number_of_allocations] must be a positive integer"),
        ({"threads_per_allocation": "0"}, "[threads_per_allocation] must be a positive integer"),
        ({"threads_per_allocation": "3"}, "[threads_per_allocation] must be a power of 2 less than or equal to 32"),
        ({"threads_per_allocation": "64"}, "[threads_per_allocation] must be a power of 2 less than or equal to 32"),
        ({"queue_capacity": "0"}, "[queue_capacity] must be a positive integer"),
        ({"queue_capacity": "100001"}, "[queue_capacity] must be less than 100000"),
        ({"wait_for": "done"}, "invalid [wait_for] state [done]"),
        ({"priority": "low", "number_of_allocations": "2"}, "[number_of_allocations] must be 1 when [priority] is low"),
        (
            {"priority": "low", "threads_per_allocation": "2"},
            "[threads_per_allocation] must be 1 when [priority] is low",
        ),
    ],
)
def test_s1_7_start_validation(modelled: Es, params: dict, message: str) -> None:
    status, kind, reason = error_of(modelled.client.post(START, params=params))
    assert (status, kind) == (400, "action_request_validation_exception")
    assert f"1: {message};" in reason


def test_s1_7_queue_capacity_100000_is_allowed(modelled: Es) -> None:
    assert modelled.start(queue_capacity="100000")["task_parameters"]["queue_capacity"] == 100000


def test_s1_7_defaults(modelled: Es) -> None:
    params = modelled.start()["task_parameters"]
    assert (
        params["number_of_allocations"],
        params["threads_per_allocation"],
        params["queue_capacity"],
        params["priority"],
    ) == (1, 1, 10000, "normal")
    assert "cache_size" not in params


def test_s1_7_start_body_fields_and_adaptive_min(modelled: Es) -> None:
    body = {"threads_per_allocation": 2, "adaptive_allocations": {"enabled": True, "min_number_of_allocations": 2}}
    response = modelled.client.post(START, json=body)
    assignment = response.json()["assignment"]
    assert assignment["task_parameters"]["number_of_allocations"] == 2
    assert assignment["adaptive_allocations"] == {"enabled": True, "min_number_of_allocations": 2}


def test_s5_1_low_priority_start_forces_one_by_one(modelled: Es) -> None:
    params = modelled.start(priority="low")["task_parameters"]
    assert (params["priority"], params["number_of_allocations"], params["threads_per_allocation"]) == ("low", 1, 1)


def test_s5_1_missing_definition(es: Es) -> None:
    es.client.put("/_ml/trained_models/empty", json={"model_type": "pytorch", "inference_config": {"ner": {}}})
    assert error_of(es.client.post("/_ml/trained_models/empty/deployment/_start"))[2] == (
        "Could not find trained model definition [empty]"
    )


def test_s5_1_duplicate_deployment_id(modelled: Es) -> None:
    modelled.start(deployment_id="dep")
    assert error_of(modelled.client.post(START, params={"deployment_id": "dep"}))[2] == (
        "Could not start model deployment because an existing deployment with the same id [dep] exist"
    )


def test_s1_2_deployment_id_may_not_be_another_models_id(modelled: Es) -> None:
    modelled.put_model("other")
    assert error_of(modelled.client.post(START, params={"deployment_id": "other"}))[0] == 400


def test_s5_2_start_too_many_allocations_is_429_and_leaves_no_deployment(modelled: Es) -> None:
    assert error_of(modelled.client.post(START, params={"number_of_allocations": "100"})) == (
        429,
        "status_exception",
        "Could not start deployment because there are not enough resources to provide all requested allocations",
    )
    assert "deployment_stats" not in modelled.stats("tiny")["trained_model_stats"][0]


def test_s1_6_c8_start_partially_when_scaling_possible() -> None:
    es = make_es(ServerConfig(scaling_possible=True))
    es.put_model("tiny")
    assignment = es.start(number_of_allocations="12", wait_for="starting")
    assert assignment["reason"].count("Could not assign (more) allocations on node") == 2


def test_s5_1_stop_unknown_without_allow_no_match_is_404(es: Es) -> None:
    response = es.client.post("/_ml/trained_models/nothing/deployment/_stop", params={"allow_no_match": "false"})
    assert error_of(response) == (404, "resource_not_found_exception", "No known model deployment with id [nothing]")


def test_s5_1_stop_answers_stopped_and_removes(modelled: Es) -> None:
    modelled.start(deployment_id="dep")
    response = modelled.client.post("/_ml/trained_models/dep/deployment/_stop", params={"force": "true"})
    assert response.json() == {"stopped": True}
    assert error_of(modelled.update("dep", {"number_of_allocations": 2}))[0] == 404


def test_s5_3_delete_while_deployed_is_409(modelled: Es) -> None:
    modelled.start(deployment_id="dep")
    assert error_of(modelled.client.delete("/_ml/trained_models/tiny")) == (
        409,
        "status_exception",
        "Cannot delete model [tiny] as it is currently deployed",
    )
    modelled.client.post("/_ml/trained_models/dep/deployment/_stop")
    assert modelled.client.delete("/_ml/trained_models/tiny").json() == {"acknowledged": True}
    assert modelled.client.get("/_ml/trained_models/tiny").status_code == 404


def test_get_models_and_stats_by_model_or_deployment_id(modelled: Es) -> None:
    modelled.start(deployment_id="dep-a")
    modelled.start(deployment_id="dep-b")
    assert modelled.client.get("/_ml/trained_models").json()["count"] == 1
    by_model = modelled.stats("tiny")["trained_model_stats"]
    assert sorted(e["deployment_stats"]["deployment_id"] for e in by_model) == ["dep-a", "dep-b"]
    by_deployment = modelled.stats("dep-b")["trained_model_stats"]
    assert [e["deployment_stats"]["deployment_id"] for e in by_deployment] == ["dep-b"]
    assert modelled.stats("*")["count"] == 1  # models matched, not deployments (§11.1)
    assert error_of(modelled.client.get("/_ml/trained_models/nope/_stats"))[0] == 404


def test_s5_3_model_size_stats(modelled: Es) -> None:
    entry = modelled.stats("tiny")["trained_model_stats"][0]
    size = entry["model_size_stats"]["model_size_bytes"]
    assert entry["model_size_stats"]["required_native_memory_bytes"] == 240 * 2**20 + 2 * size


def test_put_model_twice_and_bad_ids(es: Es) -> None:
    es.put_model("tiny")
    body = {"model_type": "pytorch", "inference_config": {"pass_through": {}}}
    assert error_of(es.client.put("/_ml/trained_models/tiny", json=body))[1] == "resource_already_exists_exception"
    assert error_of(es.client.put("/_ml/trained_models/Bad_ID", json=body))[0] == 400


def test_definition_part_validation(es: Es) -> None:
    es.client.put("/_ml/trained_models/m", json={"model_type": "pytorch", "inference_config": {"ner": {}}})
    part = {"definition": "!!!", "total_definition_length": 3, "total_parts": 1}
    assert error_of(es.client.put("/_ml/trained_models/m/definition/0", json=part))[0] == 400
    part = {"definition": "AAAA", "total_definition_length": 3, "total_parts": 1}
    assert error_of(es.client.put("/_ml/trained_models/m/definition/1", json=part))[0] == 400
    assert error_of(es.client.put("/_ml/trained_models/missing/definition/0", json=part))[0] == 404


def test_parse_nodes() -> None:
    assert parse_nodes("ml-0:4,ml-1:8") == (NodeSpec("ml-0", 4), NodeSpec("ml-1", 8))
    assert parse_nodes("a:2.5:8gb") == (NodeSpec("a", 2.5, 8 * 2**30),)
    for bad in ("", "a", "a:x", "a:0", "a:1,a:2", "a:1:lots", "a:1,"):
        with pytest.raises(ValueError):
            parse_nodes(bad)


def test_unsupported_version_is_rejected() -> None:
    with pytest.raises(ValueError):
        make_es(config(es_version="8.5.0"))
