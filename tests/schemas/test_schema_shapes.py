"""Per profile: every shape of the behaviour document validates, and each way of being
wrong is rejected with a message that names where (the JSON path)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from schema_documents import (
    NODE,
    OTHER_NODE,
    assignment_response,
    envelope,
    mutated,
    stats_response,
    task_parameters,
)

from conformance.schemas import Profile, profile_named, profile_names

PROFILES = [profile_named(name) for name in profile_names()]
ADAPTIVE = [p for p in PROFILES if p.has("adaptive_allocations")]
BEFORE_ADAPTIVE = [p for p in PROFILES if not p.has("adaptive_allocations")]


def ids(profiles: list[Profile]) -> list[str]:
    return [p.name for p in profiles]


def assert_rejected(problems: list[str], path: str) -> None:
    assert problems, "expected the document to be rejected"
    assert any(problem.startswith((f"{path}:", f"{path}.")) for problem in problems), problems


# --- assignment answers --------------------------------------------------------------


def _assignment(doc: dict[str, Any]) -> dict[str, Any]:
    return doc["assignment"]


def _task(doc: dict[str, Any]) -> dict[str, Any]:
    return doc["assignment"]["task_parameters"]


def _route(doc: dict[str, Any]) -> dict[str, Any]:
    return doc["assignment"]["routing_table"][NODE]


VALID_ASSIGNMENT_VARIATIONS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "as built (§7 completed)": lambda d: None,
    "assignment reason (§2.2)": lambda d: _assignment(d).update(
        reason="Could not assign (more) allocations on node [uckeG3R8TLe2MMNBQ6AGrw]. Reason: This node has "
        "insufficient allocated processors. Available processors [4], free processors [0], processors "
        "required for each allocation of this model [1]"
    ),
    "cache_size '0' (§5.1)": lambda d: _task(d).update(cache_size="0"),
    "cache_size '10kb' (§5.1)": lambda d: _task(d).update(cache_size="10kb"),
    "low priority, 1 thread (§5.1)": lambda d: _task(d).update(priority="low", number_of_allocations=1),
    "32 threads, 100000 queue (§1.7)": lambda d: _task(d).update(threads_per_allocation=32, queue_capacity=100000),
    "empty routing table (§2.2)": lambda d: _assignment(d).update(routing_table={}),
    "route without reason (§2.4)": lambda d: _route(d).pop("reason"),
    "failed route with reason (§2.4)": lambda d: _route(d).update(routing_state="failed", reason="boom"),
    "stopped route (§2.5)": lambda d: _route(d).update(routing_state="stopped"),
    "two nodes, starting (§2.4)": lambda d: _assignment(d)["routing_table"].update(
        {OTHER_NODE: {"current_allocations": 3, "target_allocations": 3, "routing_state": "starting", "reason": ""}}
    ),
    "assignment starting (§10.1)": lambda d: _assignment(d).update(assignment_state="starting"),
    "assignment stopping (§2.5)": lambda d: _assignment(d).update(assignment_state="stopping"),
    "3 fraction digits (§2.2)": lambda d: _assignment(d).update(start_time="2022-11-02T11:50:34.766Z"),
    "9 fraction digits (§2.2)": lambda d: _assignment(d).update(start_time="2022-11-02T11:50:34.766591123Z"),
    "integral float is an integer (2020-12)": lambda d: _task(d).update(number_of_allocations=4.0),
    "failed_allocations tolerated (§2.4, §9)": lambda d: _route(d).update(failed_allocations=0),
}


@pytest.mark.parametrize("profile", PROFILES, ids=ids(PROFILES))
@pytest.mark.parametrize("variation", list(VALID_ASSIGNMENT_VARIATIONS))
def test_every_documented_assignment_shape_validates(profile: Profile, variation: str) -> None:
    doc = mutated(assignment_response(profile), VALID_ASSIGNMENT_VARIATIONS[variation])
    assert profile.validate_assignment_response(doc) == []


@pytest.mark.parametrize("profile", ADAPTIVE, ids=ids(ADAPTIVE))
@pytest.mark.parametrize(
    "settings",
    [
        {"enabled": True, "min_number_of_allocations": 0, "max_number_of_allocations": 4},
        {"enabled": False},
        {"enabled": True, "max_number_of_allocations": 1},
    ],
)
def test_adaptive_allocations_object_validates_from_8_16(profile: Profile, settings: dict[str, Any]) -> None:
    doc = assignment_response(profile, adaptive_allocations=settings)
    assert profile.validate_assignment_response(doc) == []


@pytest.mark.parametrize("profile", ADAPTIVE, ids=ids(ADAPTIVE))
def test_scale_to_zero_allows_zero_allocations_from_8_16(profile: Profile) -> None:
    doc = mutated(assignment_response(profile), lambda d: _task(d).update(number_of_allocations=0))
    assert profile.validate_assignment_response(doc) == []


@pytest.mark.parametrize("profile", BEFORE_ADAPTIVE, ids=ids(BEFORE_ADAPTIVE))
def test_zero_allocations_rejected_before_8_16(profile: Profile) -> None:
    doc = mutated(assignment_response(profile), lambda d: _task(d).update(number_of_allocations=0))
    assert_rejected(profile.validate_assignment_response(doc), "$.assignment.task_parameters.number_of_allocations")


WRONG_ASSIGNMENTS: dict[str, tuple[Callable[[dict[str, Any]], Any], str]] = {
    "assignment_state upper case": (
        lambda d: _assignment(d).update(assignment_state="STARTED"),
        "$.assignment.assignment_state",
    ),
    "assignment_state failed (never computed, §2.5)": (
        lambda d: _assignment(d).update(assignment_state="failed"),
        "$.assignment.assignment_state",
    ),
    "routing_state unknown": (
        lambda d: _route(d).update(routing_state="running"),
        f"$.assignment.routing_table.{NODE}.routing_state",
    ),
    "priority DEFAULT (§2.5)": (lambda d: _task(d).update(priority="default"), "$.assignment.task_parameters.priority"),
    "priority wrong case": (lambda d: _task(d).update(priority="Normal"), "$.assignment.task_parameters.priority"),
    "missing task_parameters": (lambda d: _assignment(d).pop("task_parameters"), "$.assignment"),
    "missing start_time": (lambda d: _assignment(d).pop("start_time"), "$.assignment"),
    "missing max_assigned_allocations": (lambda d: _assignment(d).pop("max_assigned_allocations"), "$.assignment"),
    "missing priority": (lambda d: _task(d).pop("priority"), "$.assignment.task_parameters"),
    "missing routing_state": (lambda d: _route(d).pop("routing_state"), f"$.assignment.routing_table.{NODE}"),
    "string for integer": (
        lambda d: _task(d).update(number_of_allocations="4"),
        "$.assignment.task_parameters.number_of_allocations",
    ),
    "fractional allocations 2.5": (
        lambda d: _route(d).update(target_allocations=2.5),
        f"$.assignment.routing_table.{NODE}.target_allocations",
    ),
    "negative current allocations": (
        lambda d: _route(d).update(current_allocations=-1),
        f"$.assignment.routing_table.{NODE}.current_allocations",
    ),
    "negative max_assigned_allocations": (
        lambda d: _assignment(d).update(max_assigned_allocations=-1),
        "$.assignment.max_assigned_allocations",
    ),
    "threads 3": (
        lambda d: _task(d).update(threads_per_allocation=3),
        "$.assignment.task_parameters.threads_per_allocation",
    ),
    "threads 64": (
        lambda d: _task(d).update(threads_per_allocation=64),
        "$.assignment.task_parameters.threads_per_allocation",
    ),
    "queue capacity 0": (lambda d: _task(d).update(queue_capacity=0), "$.assignment.task_parameters.queue_capacity"),
    "queue capacity 100001": (
        lambda d: _task(d).update(queue_capacity=100001),
        "$.assignment.task_parameters.queue_capacity",
    ),
    "model_bytes as ByteSize string": (
        lambda d: _task(d).update(model_bytes="1.5kb"),
        "$.assignment.task_parameters.model_bytes",
    ),
    "negative model_bytes": (lambda d: _task(d).update(model_bytes=-1), "$.assignment.task_parameters.model_bytes"),
    "cache_size as a number": (lambda d: _task(d).update(cache_size=0), "$.assignment.task_parameters.cache_size"),
    "start_time without Z": (
        lambda d: _assignment(d).update(start_time="2022-11-02T11:50:34.766591"),
        "$.assignment.start_time",
    ),
    "start_time with offset": (
        lambda d: _assignment(d).update(start_time="2022-11-02T11:50:34.766+00:00"),
        "$.assignment.start_time",
    ),
    "start_time without fraction": (
        lambda d: _assignment(d).update(start_time="2022-11-02T11:50:34Z"),
        "$.assignment.start_time",
    ),
    "start_time 10 fraction digits": (
        lambda d: _assignment(d).update(start_time="2022-11-02T11:50:34.7665911234Z"),
        "$.assignment.start_time",
    ),
    "start_time epoch millis": (lambda d: _assignment(d).update(start_time=1667389834766), "$.assignment.start_time"),
    "start_time impossible date": (
        lambda d: _assignment(d).update(start_time="2022-02-30T11:50:34.766Z"),
        "$.assignment.start_time",
    ),
    "unknown assignment field": (lambda d: _assignment(d).update(allocation_state="started"), "$.assignment"),
    "unknown task parameter": (lambda d: _task(d).update(model_threads=1), "$.assignment.task_parameters"),
    "unknown route field": (lambda d: _route(d).update(node_name="n"), f"$.assignment.routing_table.{NODE}"),
    "routing key not a node id": (
        lambda d: _assignment(d).update(routing_table={"node 1": _route(d)}),
        "$.assignment.routing_table",
    ),
    "reason not a string": (lambda d: _assignment(d).update(reason=None), "$.assignment.reason"),
    "routing_table as list": (lambda d: _assignment(d).update(routing_table=[]), "$.assignment.routing_table"),
    "unknown top-level field": (lambda d: d.update(acknowledged=True), "$"),
}


@pytest.mark.parametrize("profile", PROFILES, ids=ids(PROFILES))
@pytest.mark.parametrize("wrong", list(WRONG_ASSIGNMENTS))
def test_wrong_assignment_is_rejected_at_its_path(profile: Profile, wrong: str) -> None:
    change, path = WRONG_ASSIGNMENTS[wrong]
    assert_rejected(profile.validate_assignment_response(mutated(assignment_response(profile), change)), path)


def test_missing_assignment_envelope_is_rejected() -> None:
    profile = profile_named("9.3")
    inner = assignment_response(profile)["assignment"]
    assert_rejected(profile.validate_assignment_response(inner), "$")


@pytest.mark.parametrize("profile", ADAPTIVE, ids=ids(ADAPTIVE))
@pytest.mark.parametrize(
    ("value", "path"),
    [
        ("x", "$.assignment.adaptive_allocations"),  # the official "string" branch (§2.7)
        ({"min_number_of_allocations": 1}, "$.assignment.adaptive_allocations"),  # enabled always written (§1.4)
        (
            {"enabled": True, "max_number_of_allocations": None},
            "$.assignment.adaptive_allocations.max_number_of_allocations",
        ),
        (
            {"enabled": True, "max_number_of_allocations": 0},
            "$.assignment.adaptive_allocations.max_number_of_allocations",
        ),
        (
            {"enabled": True, "min_number_of_allocations": -1},
            "$.assignment.adaptive_allocations.min_number_of_allocations",
        ),
        ({"enabled": "true"}, "$.assignment.adaptive_allocations.enabled"),
        ({"enabled": True, "scale": 1}, "$.assignment.adaptive_allocations"),
    ],
)
def test_wrong_adaptive_allocations_answer_is_rejected(profile: Profile, value: Any, path: str) -> None:
    assert_rejected(
        profile.validate_assignment_response(assignment_response(profile, adaptive_allocations=value)), path
    )


@pytest.mark.parametrize("profile", ADAPTIVE, ids=ids(ADAPTIVE))
def test_adaptive_allocations_must_be_written_from_8_16(profile: Profile) -> None:
    doc = mutated(assignment_response(profile), lambda d: _assignment(d).pop("adaptive_allocations"))
    assert_rejected(profile.validate_assignment_response(doc), "$.assignment")


def test_adaptive_allocations_is_tolerated_but_not_required_in_8_15() -> None:
    profile = profile_named("8.15")
    assert profile.validate_assignment_response(assignment_response(profile)) == []
    assert profile.validate_assignment_response(assignment_response(profile, adaptive_allocations=None)) == []


@pytest.mark.parametrize("name", ["8.6", "8.8", "8.11"])
def test_adaptive_allocations_is_unknown_before_8_15(name: str) -> None:
    profile = profile_named(name)
    assert_rejected(
        profile.validate_assignment_response(assignment_response(profile, adaptive_allocations=None)), "$.assignment"
    )


@pytest.mark.parametrize(
    ("name", "field", "present"),
    [
        ("8.6", "deployment_id", False),
        ("8.8", "deployment_id", True),
        ("8.8", "per_deployment_memory_bytes", False),
        ("8.11", "per_deployment_memory_bytes", True),
        ("8.11", "per_allocation_memory_bytes", True),
    ],
)
def test_version_specific_task_parameters(name: str, field: str, present: bool) -> None:
    profile = profile_named(name)
    without = mutated(assignment_response(profile), lambda d: _task(d).pop(field, None))
    with_it = mutated(
        assignment_response(profile), lambda d: _task(d).setdefault(field, 0 if "bytes" in field else "x")
    )
    if present:  # required from this version on
        assert_rejected(profile.validate_assignment_response(without), "$.assignment.task_parameters")
        assert profile.validate_assignment_response(with_it) == []
    else:  # not written yet, so an unknown field
        assert profile.validate_assignment_response(without) == []
        assert_rejected(profile.validate_assignment_response(with_it), "$.assignment.task_parameters")


# --- the docs example of §7 ----------------------------------------------------------

DOCS_EXAMPLE = {
    "assignment": {
        "task_parameters": {
            "model_id": "elastic__distilbert-base-uncased-finetuned-conll03-english",
            "model_bytes": 265632637,
            "threads_per_allocation": 1,
            "number_of_allocations": 4,
            "queue_capacity": 1024,
        },
        "routing_table": {
            "uckeG3R8TLe2MMNBQ6AGrw": {
                "current_allocations": 1,
                "target_allocations": 4,
                "routing_state": "started",
                "reason": "",
            }
        },
        "assignment_state": "started",
        "start_time": "2022-11-02T11:50:34.766591Z",
    }
}


@pytest.mark.parametrize("profile", PROFILES, ids=ids(PROFILES))
def test_abbreviated_docs_example_is_not_a_complete_answer(profile: Profile) -> None:
    problems = profile.validate_assignment_response(DOCS_EXAMPLE)
    assert any("max_assigned_allocations" in p for p in problems), problems
    assert any("priority" in p for p in problems), problems


def test_docs_example_completed_with_omitted_fields_validates_for_8_6() -> None:
    profile = profile_named("8.6")

    def complete(d: dict[str, Any]) -> None:
        _assignment(d)["max_assigned_allocations"] = 1
        _task(d)["priority"] = "normal"

    assert profile.validate_assignment_response(mutated(DOCS_EXAMPLE, complete)) == []


# --- errors ---------------------------------------------------------------------------

ERROR_EXAMPLES: dict[str, dict[str, Any]] = {
    "404 missing deployment (§1.6 C.1)": envelope(
        404, "resource_not_found_exception", "No known model deployment with id [missing]"
    ),
    "400 request validation (§1.6 A)": envelope(
        400,
        "action_request_validation_exception",
        "Validation Failed: 1: [number_of_allocations] must be a positive integer;",
    ),
    "400 validation_exception (§1.6 C.3)": envelope(
        400,
        "validation_exception",
        "Validation Failed: 1: [number_of_allocations] cannot be set if adaptive allocations is enabled;",
    ),
    "400 unknown field with position (§1.5)": envelope(
        400,
        "x_content_parse_exception",
        "[1:2] [cluster:admin/xpack/ml/trained_models/deployment/update] unknown field [threads_per_allocation]",
    ),
    "400 failed to parse with caused_by (§1.5)": envelope(
        400,
        "x_content_parse_exception",
        "[1:27] [cluster:admin/xpack/ml/trained_models/deployment/update] failed to parse field "
        "[number_of_allocations]",
        caused_by={
            "type": "illegal_argument_exception",
            "reason": 'For input string: "abc"',
            "caused_by": {"type": "number_format_exception", "reason": 'For input string: "abc"'},
        },
    ),
    "400 malformed JSON (§1.5)": envelope(
        400,
        "x_content_parse_exception",
        "[1:27] Unexpected character ('}' (code 125))",
        caused_by={"type": "json_parse_exception", "reason": "Unexpected character ('}' (code 125))"},
    ),
    "400 body required (§1.5)": envelope(400, "parse_exception", "request body is required"),
    "400 unrecognized parameter (§1.3)": envelope(
        400,
        "illegal_argument_exception",
        "request [/_ml/trained_models/m/deployment/_update] contains unrecognized parameter: [number_of_allocation] -> "
        "did you mean [number_of_allocations]?",
    ),
    "400 inconsistent model_id (§1.4)": envelope(
        400,
        "status_exception",
        "Inconsistent model_id; 'a' specified in the body differs from 'b' specified as a URL argument",
    ),
    "409 not started (§1.6 C.6)": envelope(
        409, "status_exception", "cannot update deployment that is not in [started] state"
    ),
    "429 not enough resources (§1.6 C.8)": envelope(
        429,
        "status_exception",
        "Could not update deployment because there are not enough resources to provide all requested allocations",
    ),
    "500 truncated JSON before 8.16 (§1.5)": envelope(
        500, "x_content_e_o_f_exception", "[1:2] Unexpected end-of-input"
    ),
    "stack_trace with error_trace": envelope(
        404,
        "resource_not_found_exception",
        "No known model deployment with id [x]",
        stack_trace="ResourceNotFoundException[...]\n\tat ...",
    ),
    "metadata keys stay open": envelope(
        404, "resource_not_found_exception", "x", **{"resource.id": "x", "resource.type": "deployment"}
    ),
    "406 plain form (§1.5)": {"error": "Content-Type header [text/plain] is not supported", "status": 406},
    "405 plain form (§1.1)": {
        "error": "Incorrect HTTP method for uri [/_ml/trained_models/m/deployment/_update] and method [GET], allowed: "
        "[POST]",
        "status": 405,
    },
    "405 envelope form (§1.1)": envelope(
        405,
        "status_exception",
        "Incorrect HTTP method for uri [/_ml/trained_models/m/deployment/_update] and method [GET], allowed: [POST]",
    ),
}


@pytest.mark.parametrize("example", list(ERROR_EXAMPLES))
def test_every_documented_error_validates(example: str) -> None:
    for profile in PROFILES:
        assert profile.validate_error_response(ERROR_EXAMPLES[example]) == [], profile.name


BASE_ERROR = ERROR_EXAMPLES["404 missing deployment (§1.6 C.1)"]
WRONG_ERRORS: dict[str, tuple[Any, str]] = {
    "error without status": (mutated(BASE_ERROR, lambda d: d.pop("status")), "$"),
    "status 200": (mutated(BASE_ERROR, lambda d: d.update(status=200)), "$.status"),
    "status as string": (mutated(BASE_ERROR, lambda d: d.update(status="404")), "$.status"),
    "no root_cause": (mutated(BASE_ERROR, lambda d: d["error"].pop("root_cause")), "$.error"),
    "empty root_cause": (mutated(BASE_ERROR, lambda d: d["error"].update(root_cause=[])), "$.error.root_cause"),
    "root cause without type": (
        mutated(BASE_ERROR, lambda d: d["error"]["root_cause"][0].pop("type")),
        "$.error.root_cause[0]",
    ),
    "no reason": (mutated(BASE_ERROR, lambda d: d["error"].pop("reason")), "$.error"),
    "Java class name as type": (
        mutated(BASE_ERROR, lambda d: d["error"].update(type="ResourceNotFoundException")),
        "$.error.type",
    ),
    "caused_by not an object": (mutated(BASE_ERROR, lambda d: d["error"].update(caused_by="x")), "$.error.caused_by"),
    "nested caused_by without reason": (
        mutated(BASE_ERROR, lambda d: d["error"].update(caused_by={"type": "a", "caused_by": {"type": "b"}})),
        "$.error.caused_by",
    ),
    "extra top-level key": (mutated(BASE_ERROR, lambda d: d.update(message="x")), "$"),
    "plain form with extra key": ({"error": "x", "status": 406, "reason": "x"}, "$"),
    "plain form empty text": ({"error": "", "status": 406}, "$.error"),
    "plain form without status": ({"error": "x"}, "$"),
    "not an object": ("No known model deployment", "$"),
}


@pytest.mark.parametrize("wrong", list(WRONG_ERRORS))
def test_wrong_error_is_rejected_at_its_path(wrong: str) -> None:
    doc, path = WRONG_ERRORS[wrong]
    for profile in PROFILES:
        assert_rejected(profile.validate_error_response(doc), path)


# --- requests -------------------------------------------------------------------------

VALID_REQUESTS: dict[str, tuple[dict[str, Any], str]] = {
    "count (§6 example)": ({"number_of_allocations": 4}, "8.6"),
    "integral float count": ({"number_of_allocations": 4.0}, "8.6"),
    "largest Java int": ({"number_of_allocations": 2147483647}, "8.6"),
    "model_id and timeout (§1.4)": ({"number_of_allocations": 1, "model_id": "m", "timeout": "30s"}, "8.6"),
    "timeout -1": ({"number_of_allocations": 1, "timeout": "-1"}, "8.6"),
    "empty body no-op (§1.6 C.5)": ({}, "8.15"),
    "adaptive null removes (§1.4)": ({"adaptive_allocations": None}, "8.16"),
    "adaptive full object": (
        {"adaptive_allocations": {"enabled": True, "min_number_of_allocations": 0, "max_number_of_allocations": 4}},
        "8.16",
    ),
    "adaptive partial object merges (§1.4)": ({"adaptive_allocations": {"max_number_of_allocations": 4}}, "8.16"),
    "adaptive min/max null clear (§1.4)": (
        {
            "adaptive_allocations": {
                "enabled": True,
                "min_number_of_allocations": None,
                "max_number_of_allocations": None,
            }
        },
        "8.16",
    ),
    "count with adaptive disabled": ({"number_of_allocations": 2, "adaptive_allocations": {"enabled": False}}, "8.16"),
    "count with adaptive removed": ({"number_of_allocations": 2, "adaptive_allocations": None}, "8.16"),
}


@pytest.mark.parametrize("request_name", list(VALID_REQUESTS))
def test_valid_update_request_accepted_from_its_version(request_name: str) -> None:
    body, since = VALID_REQUESTS[request_name]
    first = profile_named(since).version
    for profile in PROFILES:
        problems = profile.validate_update_request(body)
        assert (problems == []) == (profile.version >= first), (profile.name, problems)


WRONG_REQUESTS: dict[str, tuple[Any, str]] = {
    "coerced string '3' (§1.4)": ({"number_of_allocations": "3"}, "$.number_of_allocations"),
    "fractional 2.5 (§1.5)": ({"number_of_allocations": 2.5}, "$.number_of_allocations"),
    "zero (§1.6 A.1)": ({"number_of_allocations": 0}, "$.number_of_allocations"),
    "negative": ({"number_of_allocations": -1}, "$.number_of_allocations"),
    "beyond Java int (§1.5)": ({"number_of_allocations": 2147483648}, "$.number_of_allocations"),
    "boolean (§1.5)": ({"number_of_allocations": True}, "$.number_of_allocations"),
    "null (§1.5)": ({"number_of_allocations": None}, "$.number_of_allocations"),
    "unknown field (§1.5)": ({"number_of_allocations": 1, "foo": 1}, "$"),
    "threads_per_allocation cannot be updated (§1.4)": ({"threads_per_allocation": 2}, "$"),
    "priority cannot be updated (§1.4)": ({"priority": "low"}, "$"),
    "deprecated alias model_threads (§1.4)": ({"model_threads": 2}, "$"),
    "adaptive as a string": ({"adaptive_allocations": "x"}, "$.adaptive_allocations"),
    "adaptive as a number (§1.5)": ({"adaptive_allocations": 5}, "$.adaptive_allocations"),
    "adaptive unknown key (§1.4)": ({"adaptive_allocations": {"x": 1}}, "$.adaptive_allocations"),
    "adaptive min negative (§1.6 A.3)": (
        {"adaptive_allocations": {"min_number_of_allocations": -1}},
        "$.adaptive_allocations.min_number_of_allocations",
    ),
    "adaptive max zero (§1.6 A.3)": (
        {"adaptive_allocations": {"max_number_of_allocations": 0}},
        "$.adaptive_allocations.max_number_of_allocations",
    ),
    "adaptive enabled null": ({"adaptive_allocations": {"enabled": None}}, "$.adaptive_allocations.enabled"),
    "count with adaptive enabled (§1.6 A.2)": (
        {"number_of_allocations": 2, "adaptive_allocations": {"enabled": True}},
        "$.adaptive_allocations.enabled",
    ),
    "timeout with words": ({"number_of_allocations": 1, "timeout": "30 seconds"}, "$.timeout"),
    "timeout fractional": ({"number_of_allocations": 1, "timeout": "1.5s"}, "$.timeout"),
    "timeout as number": ({"number_of_allocations": 1, "timeout": 30}, "$.timeout"),
    "empty model_id": ({"number_of_allocations": 1, "model_id": ""}, "$.model_id"),
    "body as array": ([{"number_of_allocations": 1}], "$"),
}


@pytest.mark.parametrize("wrong", list(WRONG_REQUESTS))
def test_wrong_update_request_is_rejected(wrong: str) -> None:
    body, path = WRONG_REQUESTS[wrong]
    assert_rejected(profile_named("9.3").validate_update_request(body), path)


@pytest.mark.parametrize("name", ["8.6", "8.8", "8.11"])
def test_empty_body_rejected_before_8_15(name: str) -> None:
    assert_rejected(profile_named(name).validate_update_request({}), "$")


@pytest.mark.parametrize("profile", BEFORE_ADAPTIVE, ids=ids(BEFORE_ADAPTIVE))
def test_adaptive_allocations_body_rejected_before_8_16(profile: Profile) -> None:
    body = {"number_of_allocations": 1, "adaptive_allocations": None}
    assert_rejected(profile.validate_update_request(body), "$")


# --- query ----------------------------------------------------------------------------


@pytest.mark.parametrize("profile", PROFILES, ids=ids(PROFILES))
def test_query_number_of_allocations_exists_from_8_15(profile: Profile) -> None:
    problems = profile.validate_update_query({"number_of_allocations": 3, "timeout": "30s"})
    assert (problems == []) == profile.has("query_number_of_allocations"), problems


@pytest.mark.parametrize(
    ("params", "path"),
    [
        ({"number_of_allocations": 0}, "$.number_of_allocations"),
        ({"number_of_allocations": "3"}, "$.number_of_allocations"),
        ({"master_timeout": "soon"}, "$.master_timeout"),
        ({"numer_of_allocations": 3}, "$"),  # unrecognized parameter (§1.3)
        ({"filter_path": "assignment"}, "$"),  # left out on purpose: changes the answer's shape
    ],
)
def test_wrong_query_is_rejected(params: dict[str, Any], path: str) -> None:
    assert_rejected(profile_named("9.3").validate_update_query(params), path)


# --- stats ----------------------------------------------------------------------------


@pytest.mark.parametrize("profile", PROFILES, ids=ids(PROFILES))
def test_stats_shape_validates(profile: Profile) -> None:
    assert profile.validate_stats_response(stats_response(profile)) == []


def test_stats_of_undeployed_model_validates() -> None:
    profile = profile_named("9.3")
    doc = mutated(stats_response(profile), lambda d: d["trained_model_stats"][0].pop("deployment_stats"))
    assert profile.validate_stats_response(doc) == []


def test_clamped_node_threads_need_not_be_a_power_of_two() -> None:
    profile = profile_named("9.3")
    doc = mutated(stats_response(profile), lambda d: _deployment(d)["nodes"][0].update(threads_per_allocation=3))
    assert profile.validate_stats_response(doc) == []


def _deployment(doc: dict[str, Any]) -> dict[str, Any]:
    return doc["trained_model_stats"][0]["deployment_stats"]


D = "$.trained_model_stats[0].deployment_stats"
WRONG_STATS: dict[str, tuple[Callable[[dict[str, Any]], Any], str]] = {
    "start_time as ISO string (§2.2)": (
        lambda d: _deployment(d).update(start_time="2022-11-02T11:50:34.766Z"),
        f"{D}.start_time",
    ),
    "node start_time as ISO string": (
        lambda d: _deployment(d)["nodes"][0].update(start_time="2022-11-02T11:50:34.766Z"),
        f"{D}.nodes[0].start_time",
    ),
    "missing deployment_id (8.8+)": (lambda d: _deployment(d).pop("deployment_id"), D),
    "allocation_status state misspelt": (
        lambda d: _deployment(d)["allocation_status"].update(state="fully-allocated"),
        f"{D}.allocation_status.state",
    ),
    "allocation_count negative": (
        lambda d: _deployment(d)["allocation_status"].update(allocation_count=-1),
        f"{D}.allocation_status.allocation_count",
    ),
    "state unknown": (lambda d: _deployment(d).update(state="running"), f"{D}.state"),
    "threads not a power of two at deployment level": (
        lambda d: _deployment(d).update(threads_per_allocation=3),
        f"{D}.threads_per_allocation",
    ),
    "node routing state unknown": (
        lambda d: _deployment(d)["nodes"][0]["routing_state"].update(routing_state="up"),
        f"{D}.nodes[0].routing_state.routing_state",
    ),
    "node threads zero": (
        lambda d: _deployment(d)["nodes"][0].update(threads_per_allocation=0),
        f"{D}.nodes[0].threads_per_allocation",
    ),
    "node allocations fractional": (
        lambda d: _deployment(d)["nodes"][0].update(number_of_allocations=1.5),
        f"{D}.nodes[0].number_of_allocations",
    ),
    "missing count": (lambda d: d.pop("count"), "$"),
}


@pytest.mark.parametrize("wrong", list(WRONG_STATS))
def test_wrong_stats_is_rejected_at_its_path(wrong: str) -> None:
    profile = profile_named("9.3")
    change, path = WRONG_STATS[wrong]
    assert_rejected(profile.validate_stats_response(mutated(stats_response(profile), change)), path)


def test_task_parameters_builder_matches_profile_fields() -> None:
    # Guards the builders: a builder that forgot a version's field would make the tests above vacuous.
    assert "deployment_id" not in task_parameters(profile_named("8.6"))
    assert {"deployment_id", "per_deployment_memory_bytes"} <= set(task_parameters(profile_named("9.3")))
