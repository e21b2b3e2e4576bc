"""Every request is bounded: in time as a whole (a dripping answer too), in size, by the
run's budget, and a kind of request that never gets answered stops the traffic."""

from __future__ import annotations

import time

import pytest
from rules.factories import context, stub_rule
from suite.misbehaving import Drips, HugeStats, NeverAnswersLargeCounts

from conformance.budget import Budget, BudgetSpent, TargetUnresponsive
from conformance.exchange import OVERSIZED, Intent
from conformance.reference import ServerConfig, create_app
from conformance.reference.server import running_server
from conformance.rules import Outcome, evaluate
from conformance.target import MAX_UNANSWERED_IN_A_ROW, Target, TargetConfig

CONFIG = ServerConfig()
OTHER = Intent("other")
UPDATE = "/_ml/trained_models/x/deployment/_update"


@pytest.mark.slow
def test_an_answer_that_drips_in_is_cut_at_the_request_timeout() -> None:
    with (
        running_server(CONFIG, app=Drips(create_app(CONFIG))) as url,
        Target(TargetConfig(url=url, read_timeout=2.0)) as target,
    ):
        started = time.monotonic()
        exchange = target.request("POST", UPDATE, intent=OTHER, json={"number_of_allocations": 1}, send_json=True)
        took = time.monotonic() - started
    assert exchange.response is None and exchange.error is not None and exchange.error.startswith("timeout")
    assert took < 4.0  # one more byte may arrive after the deadline, never the whole answer


def test_an_answer_larger_than_the_limit_is_not_read_and_is_an_error_verdict() -> None:
    with (
        running_server(CONFIG, app=HugeStats(create_app(CONFIG), 8 * 2**20)) as url,
        Target(TargetConfig(url=url, max_response_bytes=2**20)) as target,
    ):
        exchange = target.request("GET", "/_ml/trained_models/_stats", intent=Intent("read-stats"))
    assert exchange.response is None and (exchange.error or "").startswith(OVERSIZED)
    verdict = evaluate(stub_rule("any.rule"), exchange, context())
    assert verdict is not None and verdict.outcome is Outcome.ERROR  # not merely indeterminate


def test_a_spent_budget_stops_the_next_request_at_once() -> None:
    with (
        running_server(CONFIG) as url,
        Target(TargetConfig(url=url), budget=Budget(time.monotonic() - 1)) as target,
        pytest.raises(BudgetSpent),
    ):
        target.request("GET", "/", intent=OTHER)


@pytest.mark.slow
def test_requests_of_a_kind_that_never_get_an_answer_stop_the_traffic() -> None:
    body = {"number_of_allocations": 5}
    with (
        running_server(CONFIG, app=NeverAnswersLargeCounts(create_app(CONFIG))) as url,
        Target(TargetConfig(url=url, read_timeout=0.3)) as target,
    ):
        for _ in range(MAX_UNANSWERED_IN_A_ROW):
            assert target.request("POST", UPDATE, intent=OTHER, json=body, send_json=True).response is None
            assert target.request("GET", "/", intent=OTHER).response is not None  # another kind still answers
        with pytest.raises(TargetUnresponsive):
            target.request("POST", UPDATE, intent=OTHER, json=body, send_json=True)
