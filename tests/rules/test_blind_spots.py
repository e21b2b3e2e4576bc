"""The rules for what used to pass every rule: 5xx answers to valid updates, burst answers,
and a read path that disagrees with the write path (issue 8, "Why")."""

from __future__ import annotations

from dataclasses import replace

import pytest

from conformance.exchange import Exchange, Response
from conformance.expectations import BurstCapacity
from conformance.rules import CATALOGUE, Outcome, evaluate
from conformance.rules.errors import VALID_UPDATE_KINDS
from rules.factories import (
    NODE,
    assignment,
    changed,
    context,
    error,
    exchange,
    info,
    observation,
    ok,
    request,
    snapshot,
)

CTX = context()
NOT_ENOUGH = "Could not update deployment because there are not enough resources to provide all requested allocations"
NOT_STARTED = "cannot update deployment that is not in [started] state"
RACE = "cluster state update executor did not preserve version numbers: [update model deployment]"


def outcome(rule_id: str, ex: Exchange, ctx=CTX) -> Outcome | None:
    verdict = evaluate(CATALOGUE[rule_id], ex, ctx)
    return None if verdict is None else verdict.outcome


# -- a valid update never gets a 5xx (§3.5-15) ------------------------------------------------


def test_a_5xx_the_oracle_cannot_judge_still_fails() -> None:
    """Why it passed before: the oracle judges only certain predictions, and another deployment
    that moved during the call makes it uncertain. The 5xx is wrong whatever moved."""
    moved = snapshot(observation(1), observation(1, deployment_id="other"))
    moving = snapshot(observation(1), observation(2, {NODE: 2}, deployment_id="other"))
    ex = exchange(
        "update",
        request({"number_of_allocations": 2}),
        error(503, "illegal_state_exception", RACE),
        deployment=info(assignment(1)),
        before=moved,
        after=moving,
    )
    assert outcome("oracle.agrees", ex) is Outcome.PASS  # uncertain: no verdict against the 503
    assert outcome("errors.valid-never-5xx", ex) is Outcome.FAIL


@pytest.mark.parametrize("kind", sorted(VALID_UPDATE_KINDS))
def test_every_kind_of_valid_update_is_judged(kind: str) -> None:
    ex = exchange(
        kind,
        request({"number_of_allocations": 2}),
        error(500, "illegal_state_exception", RACE),
        deployment=info(assignment(1)),
        expected=BurstCapacity(4),
    )
    assert outcome("errors.valid-never-5xx", ex) is Outcome.FAIL


def test_requests_whose_500_is_judged_elsewhere_are_not_judged() -> None:
    """A truncated body gave 500 before 8.16 (§10.2); invalid input has errors.invalid-never-5xx."""
    truncated = exchange(
        "update-malformed-json", request(raw=b"{"), error(500, "x_content_e_o_f_exception", "eof"), case="truncated"
    )
    assert outcome("errors.valid-never-5xx", truncated) is None


# -- every burst answer is judged as a valid update (§1.6 C.6, C.8, C.9) ----------------------


def burst(body: dict, resp: Response, allocatable: int | None = 4) -> Exchange:
    return exchange(
        "burst-update",
        request(body),
        resp,
        deployment=info(assignment(1)),
        detail="request 3 of a burst of 12",
        expected=BurstCapacity(allocatable),
    )


COUNT_2, COUNT_6 = {"number_of_allocations": 2}, {"number_of_allocations": 6}
SETTINGS = {"adaptive_allocations": {"enabled": False, "min_number_of_allocations": 1, "max_number_of_allocations": 3}}
TOO_MANY = error(429, "status_exception", NOT_ENOUGH)


@pytest.mark.parametrize(
    ("label", "ex", "ctx", "expected"),
    [
        ("a count that fitted is never refused for capacity", burst(COUNT_2, TOO_MANY), CTX, Outcome.FAIL),
        ("a count that did not fit may get 429", burst(COUNT_6, TOO_MANY), CTX, Outcome.PASS),
        ("unknown capacity (the cluster moved) accepts 429", burst(COUNT_2, TOO_MANY, None), CTX, Outcome.PASS),
        ("settings that stay disabled meet no capacity check", burst(SETTINGS, TOO_MANY, None), CTX, Outcome.FAIL),
        (
            "a cluster that can scale answers a partial 200, never 429",
            burst(COUNT_6, TOO_MANY),
            context(scaling_possible=True),
            Outcome.FAIL,
        ),
        ("409 while not started", burst(COUNT_2, error(409, "status_exception", NOT_STARTED)), CTX, Outcome.PASS),
        (
            "a 409 with another error type",
            burst(COUNT_2, error(409, "version_conflict_engine_exception", "conflict")),
            CTX,
            Outcome.FAIL,
        ),
        (
            "a 400 for a valid request",
            burst(COUNT_2, error(400, "action_request_validation_exception", "no")),
            CTX,
            Outcome.FAIL,
        ),
        ("200", burst(SETTINGS, ok(assignment(1))), CTX, Outcome.PASS),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_each_burst_answer_is_judged(label: str, ex: Exchange, ctx, expected: Outcome) -> None:
    assert outcome("concurrency.burst-answers", ex, ctx) is expected


def test_burst_answers_are_judged_apart_from_the_oracle_and_the_snapshot_rules() -> None:
    """Overlapping requests have no single state before: no rule that needs one judges them."""
    ex = burst(COUNT_2, error(500, "illegal_state_exception", RACE))
    judged = {rule.id for rule in CATALOGUE if evaluate(rule, ex, CTX) is not None}
    assert {"errors.valid-never-5xx", "concurrency.burst-answers"} <= judged
    assert not judged & {"oracle.agrees", "oracle.status", "oracle.resulting-state", "capacity.over-capacity-answer"}


# -- after an update, the stats agree with the assignment (ES#91095) --------------------------


def after_update(answer: Response, after, *, last=None) -> Exchange:
    return exchange(
        "update",
        request({"number_of_allocations": 2}),
        answer,
        deployment=info(last or assignment(1)),
        before=snapshot(observation(1)),
        after=snapshot(*after),
    )


WITH_CACHE = changed(assignment(2), "task_parameters.cache_size", "10kb")


@pytest.mark.parametrize(
    ("label", "answer", "after", "expected"),
    [
        ("cache_size set and reported", ok(WITH_CACHE), [observation(2, cache_size="10kb")], Outcome.PASS),
        ("cache_size set but lost by the stats", ok(WITH_CACHE), [observation(2)], Outcome.FAIL),
        ("cache_size never set but reported", ok(assignment(2)), [observation(2, cache_size="10kb")], Outcome.FAIL),
        (
            "cache_size spelt another way for the same bytes",
            ok(WITH_CACHE),
            [observation(2, cache_size="10240b")],
            Outcome.PASS,
        ),
        ("cache_size of other bytes", ok(WITH_CACHE), [observation(2, cache_size="10mb")], Outcome.FAIL),
        (
            "a node's process clamps threads down (§3.4)",
            ok(assignment(2, threads=4)),
            [observation(2, threads=4, node_threads=2)],
            Outcome.PASS,
        ),
        (
            "a node reports more threads than the setting",
            ok(assignment(2)),
            [observation(2, node_threads=2)],
            Outcome.FAIL,
        ),
        ("the stats still show the count before the 200", ok(assignment(2)), [observation(1)], Outcome.FAIL),
        ("the deployment is missing from the stats after its 200", ok(assignment(2)), [], Outcome.FAIL),
        ("priority reported otherwise", ok(assignment(2)), [observation(2, priority="low")], Outcome.FAIL),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_stats_after_an_update_agree_with_its_assignment(
    label: str, answer: Response, after, expected: Outcome
) -> None:
    assert outcome("stats.agree-with-assignment", after_update(answer, after)) is expected


def test_after_a_refusal_the_stats_agree_with_the_last_assignment_but_the_count_is_not_compared() -> None:
    """A 429 changes nothing: the fixed figures are those of the last assignment; the count
    after it is capacity.429-leaves-state-unchanged's to judge."""
    refused = after_update(TOO_MANY, [observation(3)])
    assert outcome("stats.agree-with-assignment", refused) is Outcome.PASS
    assert outcome("stats.agree-with-assignment", after_update(TOO_MANY, [observation(1, threads=2)])) is Outcome.FAIL


def test_the_count_is_not_compared_while_adaptive_allocations_own_it() -> None:
    scaled = ok(
        assignment(2, adaptive={"enabled": True, "min_number_of_allocations": 1, "max_number_of_allocations": 4})
    )
    assert outcome("stats.agree-with-assignment", after_update(scaled, [observation(3)])) is Outcome.PASS


# -- other deployments' figures are theirs alone (ES#91095, ES#107831) ------------------------


def around_update(other_before, other_after, ctx=CTX, rule_id: str = "stats.others-unchanged") -> Outcome | None:
    ex = exchange(
        "update",
        request({"number_of_allocations": 2}),
        ok(assignment(2)),
        deployment=info(assignment(1)),
        before=snapshot(observation(1), other_before),
        after=snapshot(observation(2), other_after),
    )
    return outcome(rule_id, ex, ctx)


OTHER = observation(1, deployment_id="other", threads=2, memory=400)


def test_another_deployments_threads_on_a_node_stay_put() -> None:
    assert (
        around_update(OTHER, replace(OTHER, nodes={NODE: replace(OTHER.nodes[NODE], threads_per_allocation=1)}))
        is Outcome.FAIL
    )
    assert around_update(OTHER, OTHER) is Outcome.PASS


@pytest.mark.parametrize(
    ("label", "other_after"),
    [
        (
            "restarted by someone else",
            replace(
                OTHER, start_time_ms=OTHER.start_time_ms + 5, threads_per_allocation=1, required_native_memory_bytes=500
            ),
        ),
        ("its own count changed", replace(OTHER, number_of_allocations=3, required_native_memory_bytes=500)),
        (
            "its adaptive settings changed",
            replace(OTHER, adaptive_allocations={"enabled": True}, required_native_memory_bytes=500),
        ),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_a_deployment_that_changed_for_itself_is_not_judged(label: str, other_after) -> None:
    for rule_id in ("stats.others-unchanged", "stats.memory-of-others-unchanged"):
        assert around_update(OTHER, other_after, rule_id=rule_id) is Outcome.PASS


def test_the_memory_rule_holds_from_the_fix_on() -> None:
    """Before ES#143077 (taken as 9.3) Elasticsearch itself charged every deployment's allocations."""
    grown = replace(OTHER, required_native_memory_bytes=500)
    assert around_update(OTHER, grown, rule_id="stats.memory-of-others-unchanged") is Outcome.FAIL
    assert around_update(OTHER, grown, context("8.16"), "stats.memory-of-others-unchanged") is None
