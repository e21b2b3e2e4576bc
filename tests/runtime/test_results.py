"""Results: worst-outcome verdicts, exit codes, the baseline and "not exercised" rules."""

from __future__ import annotations

from rules.factories import stub_rule

from conformance.context import Context, Version
from conformance.exchange import (
    DeploymentInfo,
    DeploymentObservation,
    Exchange,
    Intent,
    Request,
    Response,
    Snapshot,
)
from conformance.results import (
    EVIDENCE_LIMIT,
    NOT_EXERCISED,
    Tally,
    apply_baseline,
    build_results,
    results_from_dict,
)
from conformance.rules.base import Level, Outcome, Verdict

CTX = Context(Version(8, 10), "default", "8.10", frozenset({"deployment_ids"}), ())
EXCHANGE = Exchange(
    Request("POST", "http://t/x", (("authorization", "<redacted>"),), b"{}"),
    Response(429, (), b'{"status":429}'),
    0.01,
    Intent("update"),
)


RULES = [
    stub_rule("a.must-fails"),
    stub_rule("a.should-fails", Level.SHOULD),
    stub_rule("b.passes"),
    stub_rule("b.never"),
    stub_rule("c.too-new", since=Version(8, 16)),
    stub_rule("c.feature", requires=frozenset({"adaptive_allocations"})),
]


def _tally(*verdicts: tuple[str, Outcome]) -> Tally:
    tally = Tally()
    tally.add([Verdict(rule_id, outcome, ("m",), EXCHANGE) for rule_id, outcome in verdicts], test="t::x", seed=7)
    return tally


def _by_id(results):
    return {r.id: r for r in results.rules}


def test_worst_outcome_wins_and_unjudged_rules_are_listed() -> None:
    tally = _tally(
        ("a.must-fails", Outcome.PASS),
        ("a.must-fails", Outcome.FAIL),
        ("b.passes", Outcome.PASS),
        ("a.should-fails", Outcome.INDETERMINATE),
        ("a.should-fails", Outcome.FAIL),
    )
    results = _by_id(build_results(RULES, CTX, tally))
    assert results["a.must-fails"].outcome == "fail"
    assert results["a.must-fails"].counts == {"pass": 1, "fail": 1}
    assert results["a.must-fails"].evidence["seed"] == 7
    assert results["b.passes"].outcome == "pass" and results["b.passes"].evidence is None
    assert results["b.never"].outcome == NOT_EXERCISED
    assert results["c.too-new"].outcome == "skip" and "8.16" in results["c.too-new"].reason
    assert "adaptive_allocations" in results["c.feature"].reason


def _complete(*verdicts: tuple[str, Outcome]) -> Tally:
    """Every applicable MUST rule judged (passing unless listed otherwise)."""
    given = {rule_id for rule_id, _ in verdicts}
    rest = [(rule_id, Outcome.PASS) for rule_id in ("a.must-fails", "b.passes", "b.never") if rule_id not in given]
    return _tally(*verdicts, *rest)


def test_exit_codes() -> None:
    must = build_results(RULES, CTX, _tally(("a.must-fails", Outcome.FAIL)))
    should = build_results(RULES, CTX, _complete(("a.should-fails", Outcome.FAIL)))
    unjudged = build_results(RULES, CTX, Tally(), unjudged="target unreachable")
    assert (must.exit_code, should.exit_code, unjudged.exit_code) == (1, 0, 3)


def test_a_verdict_with_holes_is_never_green() -> None:
    """A MUST rule never reached, left indeterminate or errored, or a run that says it is
    incomplete, gives exit 3; a MUST failure still gives 1 and the holes are listed."""
    never = build_results(RULES, CTX, _tally(("a.must-fails", Outcome.PASS), ("b.passes", Outcome.PASS)))
    assert never.exit_code == 3 and "b.never" in never.holes[0]
    indeterminate = build_results(RULES, CTX, _complete(("b.never", Outcome.INDETERMINATE)))
    errored = build_results(RULES, CTX, _complete(("b.never", Outcome.ERROR)))
    assert (indeterminate.exit_code, errored.exit_code) == (3, 3)
    stopped = build_results(RULES, CTX, _complete(), incomplete=("a test errored",))
    assert stopped.exit_code == 3 and stopped.holes == ("a test errored",)
    failed_then_stopped = build_results(
        RULES, CTX, _complete(("a.must-fails", Outcome.FAIL)), incomplete=("the run was interrupted",)
    )
    assert failed_then_stopped.exit_code == 1 and failed_then_stopped.holes == ("the run was interrupted",)
    assert build_results(RULES, CTX, _complete()).exit_code == 0


def test_a_rule_only_skipped_tests_reach_is_a_skip_with_their_reason() -> None:
    from types import SimpleNamespace

    skipped = SimpleNamespace(test="t.py::test_x", outcome="skipped", reason="needs 2 processors", reaches=("b.nev*",))
    results = _by_id(build_results(RULES, CTX, _complete(("b.never", Outcome.PASS)), tests=(skipped,)))
    assert results["b.never"].outcome == "pass"
    tally = _tally(("a.must-fails", Outcome.PASS), ("b.passes", Outcome.PASS))
    results = _by_id(build_results(RULES, CTX, tally, tests=(skipped,)))
    assert results["b.never"].outcome == "skip" and "needs 2 processors" in results["b.never"].reason
    broken = SimpleNamespace(test="t.py::test_x", outcome="error", reason="KeyError: 'x'", reaches=("b.never",))
    results = _by_id(build_results(RULES, CTX, tally, tests=(broken,)))
    assert results["b.never"].outcome == NOT_EXERCISED and "errored: KeyError" in results["b.never"].reason


def test_baseline_forgives_listed_failures_and_reports_fixed_ones() -> None:
    results = build_results(RULES, CTX, _complete(("a.must-fails", Outcome.FAIL)))
    based = apply_baseline(results, frozenset({"a.must-fails", "b.passes"}))
    assert based.exit_code == 0
    assert _by_id(based)["a.must-fails"].baselined
    assert based.fixed_baseline == ("b.passes",)
    unlisted = apply_baseline(results, frozenset({"b.passes"}))
    assert unlisted.exit_code == 1


def test_selection_skips_unselected_rules_with_a_reason() -> None:
    results = _by_id(build_results(RULES, CTX, Tally(), selected=frozenset({"b.passes"})))
    assert results["a.must-fails"].outcome == "skip"
    assert results["a.must-fails"].reason == "not selected by --select"
    assert results["b.passes"].outcome == NOT_EXERCISED


def test_tally_survives_json_and_merge_keeps_evidence_in_order() -> None:
    first = _tally(("a.must-fails", Outcome.FAIL))
    second = Tally.from_json(_tally(("a.must-fails", Outcome.FAIL), ("b.passes", Outcome.PASS)).to_json())
    second.evidence["a.must-fails"]["fail"][0]["test"] = "other"
    first.merge(second)
    assert first.counts == {"a.must-fails": {"fail": 2}, "b.passes": {"pass": 1}}
    assert [e["test"] for e in first.evidence["a.must-fails"]["fail"]] == ["t::x", "other"]
    assert first.exchanges == 2  # one exchange per tally, carried through JSON and summed
    assert first.seconds["a.must-fails"] == 2 * EXCHANGE.duration


def test_every_failing_exchange_is_kept_up_to_the_limit() -> None:
    tally = Tally()
    for _ in range(EVIDENCE_LIMIT + 3):
        tally.add([Verdict("a.must-fails", Outcome.FAIL, ("m",), EXCHANGE)], test="t::x", seed=7)
    tally.merge(_tally(("a.must-fails", Outcome.FAIL)))
    assert len(tally.evidence["a.must-fails"]["fail"]) == EVIDENCE_LIMIT
    result = _by_id(build_results(RULES, CTX, tally))["a.must-fails"]
    assert len(result.all_evidence) == EVIDENCE_LIMIT and result.evidence == result.all_evidence[0]


def test_the_timeline_follows_the_addressed_deployment_and_marks_failures() -> None:
    info = DeploymentInfo("dc-1-primary", "dc-1-model", 1)
    observed = DeploymentObservation("dc-1-primary", "dc-1-model", "started", 3, 1, "normal", 1024, None, 2, 3, 0)
    tally = Tally()
    for taken_at, outcome in ((2.0, Outcome.FAIL), (1.0, Outcome.PASS)):
        exchange = Exchange(
            EXCHANGE.request,
            EXCHANGE.response,
            0.01,
            Intent("update", deployment=info),
            after=Snapshot({"dc-1-primary": observed}, taken_at),
        )
        tally.add([Verdict("a.must-fails", outcome, ("m",), exchange)], test="t::x", seed=7)
    tally.add([Verdict("b.passes", Outcome.PASS, (), EXCHANGE)], test="t::x", seed=7)  # no deployment: no point
    timeline = build_results(RULES, CTX, Tally.from_json(tally.to_json())).timeline["dc-1-primary"]
    assert [(p["t"], p["requested"], p["planned"], p["current"], p["failed"]) for p in timeline] == [
        (1.0, 3, 3, 2, []),
        (2.0, 3, 3, 2, ["a.must-fails"]),
    ]
    assert tally.evidence["a.must-fails"]["fail"][0]["after"]["dc-1-primary"]["allocation_count"] == 2


def test_an_exchange_every_rule_ignored_still_counts_as_judged() -> None:
    tally = Tally()
    tally.add([], test="t::x", seed=1)
    assert tally.exchanges == 1 and bool(tally)


def test_results_round_trip_through_their_json_form() -> None:
    results = build_results(RULES, CTX, _tally(("a.must-fails", Outcome.FAIL)), run={"seed": 3})
    again = results_from_dict(results.to_dict())
    assert again == results
