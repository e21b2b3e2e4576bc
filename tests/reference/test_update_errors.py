"""§1.3-§1.6: parsing, validation order and the exact error messages of `_update`, per version."""

from __future__ import annotations

import pytest

from conformance.reference.config import ServerConfig
from reference.conftest import VERSIONS, Es, at_least, config, deployed_on, error_of, make_es

PARSER = "cluster:admin/xpack/ml/trained_models/deployment/update"


def test_s1_5_no_body_is_request_body_required(deployed: Es) -> None:
    assert error_of(deployed.update("dep")) == (400, "parse_exception", "request body is required")


@pytest.mark.parametrize("version", VERSIONS)
def test_s1_3_query_param_is_unrecognized_before_8_15(version: str) -> None:
    es = deployed_on(version)
    response = es.update("dep", {"number_of_allocations": 2}, params={"number_of_allocations": "2"})
    if at_least(version, "8.15"):
        assert error_of(response) == (
            400,
            "illegal_argument_exception",
            "request [POST /_ml/trained_models/dep/deployment/_update] does not support having a body",
        )
    else:
        status, kind, reason = error_of(response)
        assert (status, kind) == (400, "illegal_argument_exception")
        assert reason.startswith(
            "request [/_ml/trained_models/dep/deployment/_update] contains unrecognized "
            "parameter: [number_of_allocations]"
        )


def test_s1_5_query_param_with_empty_object_body_is_rejected(deployed: Es) -> None:
    response = deployed.update("dep", {}, params={"number_of_allocations": "2"})
    assert error_of(response)[2].endswith("does not support having a body")
    assert deployed.deployment_stats("dep")["number_of_allocations"] == 1


def test_s1_3_query_param_updates(deployed: Es) -> None:
    response = deployed.update("dep", params={"number_of_allocations": "3"})
    assert response.status_code == 200
    assert response.json()["assignment"]["task_parameters"]["number_of_allocations"] == 3


@pytest.mark.parametrize("value", ["abc", "", "2.5", "99999999999"])
def test_s1_3_bad_int_query_param(deployed: Es, value: str) -> None:
    assert error_of(deployed.update("dep", params={"number_of_allocations": value})) == (
        400,
        "illegal_argument_exception",
        f"Failed to parse int parameter [number_of_allocations] with value [{value}]",
    )


def test_s1_3_unknown_param_with_suggestion(deployed: Es) -> None:
    status, kind, reason = error_of(deployed.update("dep", {"number_of_allocations": 2}, params={"timeot": "1s"}))
    assert (status, kind) == (400, "illegal_argument_exception")
    assert reason == (
        "request [/_ml/trained_models/dep/deployment/_update] contains unrecognized parameter: "
        "[timeot] -> did you mean [timeout]?"
    )


def test_s1_3_common_params_accepted(deployed: Es) -> None:
    params = {"pretty": "", "human": "true", "error_trace": "false", "format": "json", "filter_path": "assignment"}
    response = deployed.update("dep", {"number_of_allocations": 2}, params=params)
    assert response.status_code == 200
    assert list(response.json()) == ["assignment"]


@pytest.mark.parametrize(
    "field", ["foo", "threads_per_allocation", "queue_capacity", "priority", "cache_size", "deployment_id"]
)
def test_s1_4_unknown_and_non_updatable_fields(deployed: Es, field: str) -> None:
    status, kind, reason = error_of(deployed.update("dep", {field: 1}))
    assert (status, kind) == (400, "x_content_parse_exception")
    assert reason.startswith(f"[1:2] [{PARSER}] unknown field [{field}]")


def test_s1_5_unknown_field_location_counts_lines(deployed: Es) -> None:
    body = b'{\n  "number_of_allocations": 2,\n  "nope": 1\n}'
    response = deployed.update("dep", content=body, headers={"content-type": "application/json"})
    assert error_of(response)[2].startswith(f"[3:3] [{PARSER}] unknown field [nope]")


def test_s1_5_unknown_field_wins_over_later_syntax_error(deployed: Es) -> None:
    response = deployed.update("dep", content=b'{"nope": }', headers={"content-type": "application/json"})
    assert "unknown field [nope]" in error_of(response)[2]


@pytest.mark.parametrize(
    "value, token", [(True, "VALUE_BOOLEAN"), (None, "VALUE_NULL"), ({}, "START_OBJECT"), ([], "START_ARRAY")]
)
def test_s1_5_wrong_token_types(deployed: Es, value, token: str) -> None:
    status, kind, reason = error_of(deployed.update("dep", {"number_of_allocations": value}))
    assert (status, kind) == (400, "x_content_parse_exception")
    assert reason == f"[1:26] [{PARSER}] number_of_allocations doesn't support values of type: {token}"


@pytest.mark.parametrize(
    "value, cause",
    [("abc", "number_format_exception"), (2**31, "input_coercion_exception"), ("1e10", "illegal_argument_exception")],
)
def test_s1_5_failed_to_parse_field(deployed: Es, value, cause: str) -> None:
    response = deployed.update("dep", {"number_of_allocations": value})
    body = response.json()
    assert response.status_code == 400
    assert body["error"]["reason"] == f"[1:26] [{PARSER}] failed to parse field [number_of_allocations]"
    assert body["error"]["caused_by"]["type"] == cause


@pytest.mark.parametrize("value, stored", [("3", 3), (2.7, 2)])
def test_s1_4_coercion(deployed: Es, value, stored: int) -> None:
    response = deployed.update("dep", {"number_of_allocations": value})
    assert response.json()["assignment"]["task_parameters"]["number_of_allocations"] == stored


def test_s1_4_model_threads_alias_with_deprecation_warning(deployed: Es) -> None:
    response = deployed.update("dep", {"model_threads": 2})
    assert response.json()["assignment"]["task_parameters"]["number_of_allocations"] == 2
    assert "model_threads" in response.headers["warning"]


def test_s1_5_malformed_json(deployed: Es) -> None:
    response = deployed.update(
        "dep", content=b'{"number_of_allocations": }', headers={"content-type": "application/json"}
    )
    body = response.json()
    assert (response.status_code, body["error"]["type"]) == (400, "x_content_parse_exception")
    assert body["error"]["reason"].startswith("[1:27] Unexpected character ('}'")
    assert body["error"]["caused_by"]["type"] == "json_parse_exception"


@pytest.mark.parametrize(
    "body",
    [
        b"\xff\xfe",
        b'{"a":1,"a":2}',
        b"[1]",
        b"5",
        b'{"number_of_allocations": 01}',
        b'{"number_of_allocations": "\x01"}',
    ],
)
def test_s1_5_other_bad_bodies_are_400(deployed: Es, body: bytes) -> None:
    response = deployed.update("dep", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "x_content_parse_exception"


@pytest.mark.parametrize("version, status", [("8.15.1", 500), ("8.15.2", 400), ("8.16.0", 400), ("9.3.0", 400)])
def test_s1_5_s10_2_truncated_json_status_per_version(version: str, status: int) -> None:
    es = deployed_on(version)
    response = es.update("dep", content=b"{", headers={"content-type": "application/json"})
    assert response.status_code == status
    assert response.json()["error"]["type"] == "x_content_e_o_f_exception"


def test_s1_4_inconsistent_model_id(deployed: Es) -> None:
    assert error_of(deployed.update("dep", {"model_id": "other"})) == (
        400,
        "status_exception",
        "Inconsistent model_id; 'other' specified in the body differs from 'dep' specified as a URL argument",
    )


def test_s1_5_bad_timeout(deployed: Es) -> None:
    response = deployed.update("dep", {"number_of_allocations": 2}, params={"timeout": "soon"})
    assert error_of(response)[:2] == (400, "parse_exception")


@pytest.mark.parametrize("version", VERSIONS)
def test_s1_6_a1_zero_and_negative_rejected(version: str) -> None:
    es = deployed_on(version)
    for value in (0, -1):
        assert error_of(es.update("dep", {"number_of_allocations": value})) == (
            400,
            "action_request_validation_exception",
            "Validation Failed: 1: [number_of_allocations] must be a positive integer;",
        )


@pytest.mark.parametrize("version", VERSIONS)
def test_s1_6_a1_empty_body_per_version(version: str) -> None:
    es = deployed_on(version)
    response = es.update("dep", {})
    if at_least(version, "8.15"):
        assert response.status_code == 200  # C.5 no-op
    else:
        assert error_of(response) == (
            400,
            "action_request_validation_exception",
            "Validation Failed: 1: [number_of_allocations] must be a positive integer;",
        )


@pytest.mark.parametrize("version", ["8.15.0", "8.16.0"])
def test_s1_4_adaptive_allocations_from_8_16(version: str) -> None:
    es = deployed_on(version)
    response = es.update("dep", {"adaptive_allocations": {"enabled": False}})
    if at_least(version, "8.16"):
        assert response.status_code == 200
    else:
        assert "unknown field [adaptive_allocations]" in error_of(response)[2]


def test_s1_6_a_errors_accumulate(deployed: Es) -> None:
    body = {
        "number_of_allocations": 0,
        "adaptive_allocations": {"enabled": True, "min_number_of_allocations": -2, "max_number_of_allocations": 0},
    }
    assert error_of(deployed.update("dep", body)) == (
        400,
        "action_request_validation_exception",
        "Validation Failed: 1: [number_of_allocations] must be a positive integer;"
        "2: [number_of_allocations] cannot be set if adaptive allocations is enabled;"
        "3: [min_number_of_allocations] must be a non-negative integer or null;"
        "4: [max_number_of_allocations] must be a positive integer or null;",
    )


def test_s1_6_a3_min_larger_than_max(deployed: Es) -> None:
    body = {"adaptive_allocations": {"min_number_of_allocations": 3, "max_number_of_allocations": 2}}
    assert error_of(deployed.update("dep", body))[2] == (
        "Validation Failed: 1: [min_number_of_allocations] must not be larger than [max_number_of_allocations];"
    )


def test_s1_4_adaptive_unknown_field_uses_autoscaling_settings_parser(deployed: Es) -> None:
    response = deployed.update("dep", {"adaptive_allocations": {"bogus": 1}})
    body = response.json()["error"]
    assert body["reason"].endswith(f"[{PARSER}] failed to parse field [adaptive_allocations]")
    assert "[autoscaling_settings] unknown field [bogus]" in body["caused_by"]["reason"]


def test_s1_5_adaptive_wrong_type(deployed: Es) -> None:
    assert error_of(deployed.update("dep", {"adaptive_allocations": 5}))[2].endswith(
        "adaptive_allocations doesn't support values of type: VALUE_NUMBER"
    )


def test_s1_6_c1_unknown_deployment_is_404(deployed: Es) -> None:
    assert error_of(deployed.update("missing", {"number_of_allocations": 4})) == (
        404,
        "resource_not_found_exception",
        "No known model deployment with id [missing]",
    )


def test_s1_2_model_id_of_differently_named_deployment_is_404(deployed: Es) -> None:
    assert error_of(deployed.update("tiny", {"number_of_allocations": 2}))[:2] == (404, "resource_not_found_exception")


def test_s1_6_c1_model_not_deployed_is_404(es: Es) -> None:
    es.put_model("idle")
    assert error_of(es.update("idle", {"number_of_allocations": 2}))[0] == 404


def test_s1_2_before_8_8_path_is_the_model_id() -> None:
    es = make_es(config(es_version="8.7.0"))
    es.deploy("tiny")
    assert es.update("tiny", {"number_of_allocations": 2}).status_code == 200
    response = es.client.post("/_ml/trained_models/tiny/deployment/_start", params={"deployment_id": "x"})
    assert "unrecognized parameter: [deployment_id]" in error_of(response)[2]


def test_s1_6_a_validation_runs_before_existence_check(es: Es) -> None:
    assert error_of(es.update("missing", {"number_of_allocations": 0}))[0] == 400


def test_s1_6_c3_adaptive_enabled_earlier_blocks_number(deployed: Es) -> None:
    assert (
        deployed.update("dep", {"adaptive_allocations": {"enabled": True, "max_number_of_allocations": 4}}).status_code
        == 200
    )
    assert error_of(deployed.update("dep", {"number_of_allocations": 2})) == (
        400,
        "validation_exception",
        "Validation Failed: 1: [number_of_allocations] cannot be set if adaptive allocations is enabled;",
    )


def test_s1_6_c4_merged_settings_are_validated(deployed: Es) -> None:
    deployed.update("dep", {"adaptive_allocations": {"enabled": True, "min_number_of_allocations": 2}})
    response = deployed.update("dep", {"adaptive_allocations": {"enabled": True, "max_number_of_allocations": 1}})
    assert error_of(response) == (
        400,
        "action_request_validation_exception",
        "Validation Failed: 1: [min_number_of_allocations] must not be larger than [max_number_of_allocations];",
    )


def test_s1_4_adaptive_merge_reset_and_clear(deployed: Es) -> None:
    first = deployed.update(
        "dep",
        {"adaptive_allocations": {"enabled": True, "min_number_of_allocations": 1, "max_number_of_allocations": 4}},
    )
    assert first.json()["assignment"]["adaptive_allocations"] == {
        "enabled": True,
        "min_number_of_allocations": 1,
        "max_number_of_allocations": 4,
    }
    merged = deployed.update("dep", {"adaptive_allocations": {"max_number_of_allocations": 6}})
    assert merged.json()["assignment"]["adaptive_allocations"] == {
        "enabled": True,
        "min_number_of_allocations": 1,
        "max_number_of_allocations": 6,
    }
    cleared = deployed.update("dep", {"adaptive_allocations": {"min_number_of_allocations": None}})
    assert cleared.json()["assignment"]["adaptive_allocations"] == {"enabled": True, "max_number_of_allocations": 6}
    kept = deployed.update("dep", {"adaptive_allocations": {"enabled": False}})
    assert kept.json()["assignment"]["adaptive_allocations"] == {"enabled": False, "max_number_of_allocations": 6}
    reset = deployed.update("dep", {"adaptive_allocations": None})
    assert reset.json()["assignment"]["adaptive_allocations"] is None


def test_s1_4_enabled_is_optional_and_emitted_false(deployed: Es) -> None:
    response = deployed.update("dep", {"adaptive_allocations": {"max_number_of_allocations": 4}})
    assert response.json()["assignment"]["adaptive_allocations"] == {"enabled": False, "max_number_of_allocations": 4}


def test_s1_6_c5_noop_returns_before_state_check(es: Es) -> None:
    es.put_model("broken", broken=True)
    assignment = es.start("broken", wait_for="starting")
    assert assignment["assignment_state"] == "starting"
    noop = es.update("broken", {"number_of_allocations": 1})
    assert noop.status_code == 200
    assert noop.json()["assignment"]["assignment_state"] == "starting"
    assert error_of(es.update("broken", {"number_of_allocations": 2})) == (
        409,
        "status_exception",
        "cannot update deployment that is not in [started] state",
    )


def test_s1_6_c8_increase_beyond_capacity_is_429_and_changes_nothing(deployed: Es) -> None:
    before = deployed.stats("dep")
    assert error_of(deployed.update("dep", {"number_of_allocations": 257})) == (
        429,
        "status_exception",
        "Could not update deployment because there are not enough resources to provide all requested allocations",
    )
    assert deployed.stats("dep") == before


def test_s1_6_c8_scaling_possible_gives_partial_assignment_with_reason() -> None:
    es = make_es(ServerConfig(scaling_possible=True))
    es.deploy(deployment_id="dep")
    response = es.update("dep", {"number_of_allocations": 42})
    assignment = response.json()["assignment"]
    assert response.status_code == 200
    assert assignment["task_parameters"]["number_of_allocations"] == 42
    assert sum(r["target_allocations"] for r in assignment["routing_table"].values()) == 8
    segments = assignment["reason"].split("|")
    assert all(s.startswith("Could not assign (more) allocations on node [") for s in segments)
    assert "insufficient allocated processors" in segments[0]
    decreased = es.update("dep", {"number_of_allocations": 3}).json()["assignment"]
    assert "reason" not in decreased  # C.7: satisfied again, reason cleared


def test_s1_6_d_low_priority_update_rejected_in_newest() -> None:
    es = make_es(config(es_version="9.3.0"))
    es.deploy(deployment_id="low", priority="low")
    status, _, reason = error_of(es.update("low", {"number_of_allocations": 2}))
    assert status == 400 and "low" in reason and "priority" in reason
    status, _, reason = error_of(es.update("low", {"adaptive_allocations": {"max_number_of_allocations": 3}}))
    assert status == 400 and "low" in reason and "priority" in reason


def test_s1_6_d_low_priority_update_allowed_before_fix() -> None:
    es = make_es(config(es_version="9.2.0"))
    es.deploy(deployment_id="low", priority="low")
    assert es.update("low", {"number_of_allocations": 2}).status_code == 200


@pytest.mark.parametrize("version", VERSIONS)
def test_s1_6_b_inference_endpoint_conflict_from_9_2(version: str) -> None:
    es = make_es(config(es_version=version))
    es.put_model("tiny")
    body = {
        "service": "elasticsearch",
        "service_settings": {"model_id": "tiny", "num_allocations": 1, "num_threads": 1},
    }
    response = es.client.put("/_inference/text_embedding/my-endpoint", json=body)
    if not at_least(version, "9.2"):
        assert response.status_code == 400 and "no handler found" in response.json()["error"]
        return
    assert response.status_code == 200
    assert error_of(es.update("my-endpoint", {"number_of_allocations": 2})) == (
        409,
        "status_exception",
        "Cannot update deployment [my-endpoint] as it was created by inference endpoint [my-endpoint]. This model "
        "deployment must be updated through the inference API.",
    )
    assert es.client.delete("/_inference/text_embedding/my-endpoint").status_code == 200
    assert error_of(es.update("my-endpoint", {"number_of_allocations": 2}))[0] == 404
