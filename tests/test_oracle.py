"""The oracle's predictions, table by table: §1.6 order of checks, capacity, versions, adaptive merge."""

from __future__ import annotations

import pytest
from rules.factories import NODE, NODE_B, assignment, context, info, observation, request, snapshot

from conformance.oracle import UNKNOWN, allocatable, merge_adaptive, others_changed, predict_update
from conformance.update_request import ABSENT, requested_allocations

STARTED = snapshot(observation(1))
ADAPTIVE_ON = {"enabled": True, "min_number_of_allocations": 1, "max_number_of_allocations": 4}


@pytest.mark.parametrize(
    ("label", "req", "before", "profile", "statuses", "error_type"),
    [
        ("wrong method first", request({"number_of_allocations": 0}, method="PUT"), STARTED, "9.3", {405}, None),
        ("content type before parsing", request(raw=b"{", content_type="text/plain"), STARTED, "9.3", {406}, None),
        ("missing body", request(), STARTED, "9.3", {400}, "parse_exception"),
        (
            "malformed JSON",
            request(raw=b'{"number_of_allocations": }'),
            STARTED,
            "9.3",
            {400},
            "x_content_parse_exception",
        ),
        ("truncated JSON from 8.16", request(raw=b"{"), STARTED, "8.16", {400}, "x_content_parse_exception"),
        ("truncated JSON before 8.16", request(raw=b"{"), STARTED, "8.15", {400, 500}, None),
        ("unknown field", request({"foo": 1}), STARTED, "9.3", {400}, "x_content_parse_exception"),
        (
            "threads are not updatable",
            request({"threads_per_allocation": 2}),
            STARTED,
            "9.3",
            {400},
            "x_content_parse_exception",
        ),
        ("boolean count", request({"number_of_allocations": True}), STARTED, "9.3", {400}, "x_content_parse_exception"),
        (
            "Java's int minimum parses",
            request({"number_of_allocations": -(2**31)}),
            STARTED,
            "9.3",
            {400},
            "action_request_validation_exception",
        ),
        (
            "beyond Java's int maximum before truncation",
            request({"number_of_allocations": 2**31 - 0.5}),
            STARTED,
            "9.3",
            {400},
            "x_content_parse_exception",
        ),
        (
            "inconsistent model_id",
            request({"model_id": "x", "number_of_allocations": 2}),
            STARTED,
            "9.3",
            {400},
            "status_exception",
        ),
        (
            "query param unknown before 8.15",
            request({"number_of_allocations": 2}, query="number_of_allocations=2"),
            STARTED,
            "8.11",
            {400},
            "illegal_argument_exception",
        ),
        (
            "query and body",
            request({}, query="number_of_allocations=2"),
            STARTED,
            "8.15",
            {400},
            "illegal_argument_exception",
        ),
        (
            "query not an int",
            request(query="number_of_allocations=abc"),
            STARTED,
            "8.15",
            {400},
            "illegal_argument_exception",
        ),
        (
            "unknown query param",
            request({"number_of_allocations": 2}, query="foo=1"),
            STARTED,
            "9.3",
            {400},
            "illegal_argument_exception",
        ),
        ("zero", request({"number_of_allocations": 0}), STARTED, "9.3", {400}, "action_request_validation_exception"),
        (
            "validation before existence",
            request({"number_of_allocations": -1}),
            snapshot(),
            "9.3",
            {400},
            "action_request_validation_exception",
        ),
        ("8.6 {} fails", request({}), STARTED, "8.6", {400}, "action_request_validation_exception"),
        ("8.15 {} is a no-op", request({}), STARTED, "8.15", {200}, None),
        (
            "adaptive and count",
            request({"number_of_allocations": 2, "adaptive_allocations": {"enabled": True}}),
            STARTED,
            "9.3",
            {400},
            "action_request_validation_exception",
        ),
        (
            "min above max",
            request({"adaptive_allocations": {"min_number_of_allocations": 3, "max_number_of_allocations": 2}}),
            STARTED,
            "9.3",
            {400},
            "action_request_validation_exception",
        ),
        (
            "unknown deployment",
            request({"number_of_allocations": 2}),
            snapshot(),
            "9.3",
            {404},
            "resource_not_found_exception",
        ),
        (
            "count while stored adaptive enabled",
            request({"number_of_allocations": 2}),
            snapshot(observation(1, adaptive=ADAPTIVE_ON)),
            "9.3",
            {400},
            "validation_exception",
        ),
        (
            "merged min above max",
            request({"adaptive_allocations": {"max_number_of_allocations": 1}}),
            snapshot(observation(1, adaptive={"enabled": True, "min_number_of_allocations": 2})),
            "9.3",
            {400},
            "action_request_validation_exception",
        ),
        (
            "no-op before the state check",
            request({"number_of_allocations": 1}),
            snapshot(observation(1, state="starting")),
            "9.3",
            {200},
            None,
        ),
        (
            "not started",
            request({"number_of_allocations": 2}),
            snapshot(observation(1, state="starting")),
            "9.3",
            {409},
            "status_exception",
        ),
        ("decrease", request({"number_of_allocations": 1}), snapshot(observation(3, {NODE: 3})), "9.3", {200}, None),
        ("increase that fits", request({"number_of_allocations": 4}), STARTED, "9.3", {200}, None),
        ("increase beyond capacity", request({"number_of_allocations": 5}), STARTED, "9.3", {429}, "status_exception"),
        ("query count", request(query="number_of_allocations=3"), STARTED, "8.15", {200}, None),
        (
            "low priority beyond 1 rejected",
            request({"number_of_allocations": 2}),
            snapshot(observation(1, priority="low")),
            "9.3",
            set(range(400, 500)),
            None,
        ),
        (
            "low priority beyond 1 before the fix",
            request({"number_of_allocations": 9}),
            snapshot(observation(1, priority="low")),
            "9.2",
            {200},
            None,
        ),
    ],
)
def test_order_of_checks(label, req, before, profile, statuses, error_type) -> None:
    predicted = predict_update(req, info(assignment(1)), before, context(profile))
    assert predicted.statuses == frozenset(statuses), predicted.why
    assert predicted.error_type == error_type, predicted.why
    assert predicted.certain


@pytest.mark.parametrize(
    ("label", "nodes", "threads", "others", "expected"),
    [
        ("1 node, 4 processors, 2 threads", {NODE: 4}, 2, (), 2),
        ("nodes of 4 and 8, 4 threads", {NODE: 4, NODE_B: 8}, 4, (), 3),
        ("fractional processors round up", {NODE: 3.5}, 2, (), 2),
        (
            "another deployment uses 3 processors",
            {NODE: 4, NODE_B: 8},
            4,
            (observation(3, {NODE_B: 1}, deployment_id="x", threads=3),),
            2,
        ),
        (
            "low-priority deployments use none",
            {NODE: 4},
            1,
            (observation(1, deployment_id="x", threads=4, priority="low"),),
            4,
        ),
        ("own allocations do not count against it", {NODE: 4}, 1, (), 4),
        (
            "a full node gives nothing, never less",
            {NODE: 4},
            1,
            (observation(3, {NODE: 3}, deployment_id="x", threads=2),),
            0,
        ),
    ],
)
def test_capacity(label, nodes, threads, others, expected) -> None:
    before = snapshot(observation(2, threads=threads), *others)
    assert allocatable(context(nodes=nodes), before, "dep", threads) == expected


@pytest.mark.parametrize(
    ("scaling_possible", "statuses", "changes_state", "count"),
    [(False, {429}, False, 1), (True, {200}, True, 3), (None, {200, 429}, True, None)],
)
def test_over_capacity_answer_depends_on_scaling(scaling_possible, statuses, changes_state, count) -> None:
    before = snapshot(observation(1, threads=2))
    predicted = predict_update(
        request({"number_of_allocations": 3}),
        info(assignment(1, threads=2), threads=2),
        before,
        context(scaling_possible=scaling_possible),
    )
    assert (predicted.statuses, predicted.changes_state, predicted.number_of_allocations) == (
        frozenset(statuses),
        changes_state,
        count,
    )


def test_low_priority_is_exempt_from_processor_capacity_before_the_fix() -> None:
    """9 low-priority allocations on 4 processors: 200 is allowed (§1.6 D), unlike a normal deployment."""
    before = snapshot(observation(1, priority="low"))
    predicted = predict_update(
        request({"number_of_allocations": 9}),
        info(assignment(1, priority="low"), priority="low"),
        before,
        context("9.2"),
    )
    assert predicted.statuses == {200} and predicted.number_of_allocations == 9, predicted.why
    beyond_pool = predict_update(
        request({"number_of_allocations": 101}),
        info(assignment(1, priority="low"), priority="low"),
        before,
        context("9.2"),
    )
    assert beyond_pool.statuses == {429}, beyond_pool.why
    normal = predict_update(request({"number_of_allocations": 9}), info(assignment(1)), STARTED, context("9.2"))
    assert normal.statuses == {429}


@pytest.mark.parametrize(
    ("query", "statuses", "count"),
    [
        ("number_of_allocations=%2B2", {200}, 2),  # Integer.parseInt takes a sign
        ("number_of_allocations=+2", {400}, None),  # an unencoded + decodes to a space
        ("number_of_allocations=abc&number_of_allocations=3", {200}, 3),  # a repeated parameter: the last counts
        ("number_of_allocations=3&number_of_allocations=abc", {400}, None),
    ],
)
def test_query_count_is_read_as_the_reference_server_reads_it(query, statuses, count) -> None:
    """§1.3: the oracle and the rules read ``?number_of_allocations`` with one reader, as the
    reference server does (``dict(parse_qsl(...))``, then ``Integer.parseInt``)."""
    req = request(query=query)
    predicted = predict_update(req, info(assignment(1)), STARTED, context("8.15"))
    assert predicted.statuses == frozenset(statuses), predicted.why
    assert requested_allocations(req) == count
    assert predicted.number_of_allocations == (count or 1)


def test_increase_predicts_the_new_count() -> None:
    predicted = predict_update(request({"number_of_allocations": "3"}), info(assignment(1)), STARTED, context())
    assert (predicted.statuses, predicted.number_of_allocations, predicted.changes_state) == ({200}, 3, True)


def test_noop_does_not_change_state() -> None:
    predicted = predict_update(request({"number_of_allocations": 1}), info(assignment(1)), STARTED, context())
    assert not predicted.changes_state and predicted.number_of_allocations == 1


def test_without_a_snapshot_the_prediction_is_uncertain() -> None:
    predicted = predict_update(request({"number_of_allocations": 9}), info(assignment(1)), None, context())
    assert not predicted.certain


@pytest.mark.parametrize(
    ("stored", "sent", "expected"),
    [
        (ADAPTIVE_ON, ABSENT, ADAPTIVE_ON),
        (ADAPTIVE_ON, None, None),
        (None, {"max_number_of_allocations": 4}, {"enabled": False, "max_number_of_allocations": 4}),
        (ADAPTIVE_ON, {"max_number_of_allocations": 8}, {**ADAPTIVE_ON, "max_number_of_allocations": 8}),
        (
            ADAPTIVE_ON,
            {"enabled": False, "min_number_of_allocations": None},
            {"enabled": False, "max_number_of_allocations": 4},
        ),
        (ADAPTIVE_ON, {"min_number_of_allocations": -1}, {"enabled": True, "max_number_of_allocations": 4}),
    ],
)
def test_adaptive_merge(stored, sent, expected) -> None:
    assert merge_adaptive(stored, sent) == expected


def test_adaptive_settings_after_an_update() -> None:
    before = snapshot(observation(1, adaptive=ADAPTIVE_ON))
    predicted = predict_update(
        request({"adaptive_allocations": {"enabled": False}}), info(assignment(1)), before, context()
    )
    assert predicted.statuses == {200}
    assert predicted.adaptive_allocations == {
        "enabled": False,
        "min_number_of_allocations": 1,
        "max_number_of_allocations": 4,
    }


def test_settings_after_an_over_capacity_call_of_unknown_outcome() -> None:
    """With scaling unknown, 200 stores the merged settings and 429 keeps the stored ones:
    the oracle knows them only when both are the same."""
    stored = {"enabled": False, "max_number_of_allocations": 4}
    before = snapshot(observation(1, adaptive=stored))
    count_only = predict_update(
        request({"number_of_allocations": 9}), info(assignment(1)), before, context(scaling_possible=None)
    )
    assert count_only.statuses == {200, 429} and count_only.adaptive_allocations == stored, count_only.why
    both = predict_update(
        request({"number_of_allocations": 9, "adaptive_allocations": {"max_number_of_allocations": 8}}),
        info(assignment(1)),
        before,
        context(scaling_possible=None),
    )
    assert both.statuses == {200, 429} and both.adaptive_allocations is UNKNOWN, both.why


def test_other_deployments_changing_makes_a_call_uncertain() -> None:
    before = snapshot(observation(1), observation(1, deployment_id="x"))
    assert others_changed(before, snapshot(observation(3), observation(1, deployment_id="x")), "dep") is False
    assert others_changed(before, snapshot(observation(1), observation(2, deployment_id="x")), "dep") is True
    assert others_changed(before, snapshot(observation(1)), "dep") is True


@pytest.mark.parametrize(
    ("query", "statuses"),
    [("timeout=", {400}), ("master_timeout=abc", {400}), ("timeout=30s&master_timeout=-1", {200})],
)
def test_time_value_parameters(query, statuses) -> None:
    predicted = predict_update(
        request({"number_of_allocations": 1}, query=query), info(assignment(1)), STARTED, context()
    )
    assert predicted.statuses == frozenset(statuses), predicted.why


@pytest.mark.parametrize(
    ("body", "statuses"),
    [
        ({"number_of_allocations": 1, "timeout": "-1*"}, {400}),
        ({"number_of_allocations": 1, "timeout": 30}, {400}),
        ({"number_of_allocations": 1, "timeout": "30s"}, {200}),
    ],
)
def test_time_value_in_the_body(body, statuses) -> None:
    """§1.4: the body's timeout is parsed as a time value too; a bad one is a 400, not an update."""
    predicted = predict_update(request(body), info(assignment(1)), STARTED, context())
    assert predicted.statuses == frozenset(statuses), predicted.why


def test_inference_endpoint_deployment_is_409_where_the_profile_has_the_check() -> None:
    """§1.6 B: the transport action refuses deployments of inference endpoints before C runs;
    older versions (no such check) update them like any other."""
    from dataclasses import replace

    owned = replace(info(assignment(1)), created_by_inference_endpoint=True)
    newest = predict_update(request({"number_of_allocations": 2}), owned, STARTED, context())
    assert newest.statuses == frozenset({409}) and newest.error_type == "status_exception", newest.why
    older = predict_update(request({"number_of_allocations": 2}), owned, STARTED, context(profile="8.16"))
    assert 409 not in older.statuses, older.why
