"""Selftest verdicts from run outcomes alone (no subprocess): what counts as caught and as a pass.

A crashed run must never pass for a caught mutant, and a reference run that judged
nothing or whose checks raised must never pass for a clean one.
"""

from __future__ import annotations

import json
from pathlib import Path

from conformance.mutants.base import UNJUDGED
from conformance.mutants.selftest import SelftestRun, _read_results
from conformance.mutants.worker import REFERENCE
from conformance.results import EXIT_FAILED, EXIT_OK, EXIT_UNJUDGED, EXIT_USAGE

RULE = "errors.not-started-409 (MUST)"


def _mutant(
    exit_code: int | None, failed: list[str] | None = None, expects: str = "errors.not-started-409"
) -> SelftestRun:
    return SelftestRun("some-mutant", "errors", expects, exit_code, failed_rules=failed or [])


def _reference(exit_code: int = EXIT_OK, judged: int = 12, errored: list[str] | None = None) -> SelftestRun:
    return SelftestRun(REFERENCE, "-", "(must pass)", exit_code, errored_rules=errored or [], judged_exchanges=judged)


def test_a_failed_rule_or_a_refusal_to_judge_catches_a_mutant() -> None:
    assert _mutant(EXIT_FAILED, [RULE]).verdict == "caught"
    assert _mutant(EXIT_UNJUDGED, expects=UNJUDGED).verdict == "caught"


def test_a_crashed_run_does_not_catch_a_mutant() -> None:
    for code in (EXIT_FAILED, EXIT_USAGE, 70):
        outcome = _mutant(code)
        assert outcome.verdict == "CRASHED", code
        assert not outcome.ok


def test_a_clean_run_lets_the_mutant_survive_and_a_killed_one_hangs() -> None:
    assert _mutant(EXIT_OK).verdict == "SURVIVED"
    assert _mutant(None).verdict == "hung"
    assert not _mutant(EXIT_OK).ok and not _mutant(None).ok


def test_a_clean_reference_run_that_judged_exchanges_passes() -> None:
    assert _reference().verdict == "pass"
    assert _reference().ok


def test_a_reference_run_that_judged_nothing_does_not_pass() -> None:
    outcome = _reference(judged=0)
    assert outcome.verdict == "FALSE FAILURE"
    assert not outcome.ok


def test_a_reference_run_with_an_errored_rule_does_not_pass() -> None:
    outcome = _reference(errored=["shape.assignment-schema (MUST)"])
    assert outcome.verdict == "FALSE FAILURE"
    assert not outcome.ok


def test_a_reference_run_with_a_failed_rule_or_a_bad_exit_does_not_pass() -> None:
    failed = _reference()
    failed.failed_rules = [RULE]
    assert failed.verdict == "FALSE FAILURE"
    assert _reference(exit_code=EXIT_UNJUDGED).verdict == "FALSE FAILURE"


def test_results_json_gives_failed_and_errored_rules_and_judged_exchanges(tmp_path: Path) -> None:
    results = {
        "run": {"judged_exchanges": 0, "first_failure_at": 1000.5},
        "unjudged": None,
        "rules": [
            {"id": "errors.not-started-409", "level": "MUST", "outcome": "fail"},
            {"id": "shape.assignment-schema", "level": "MUST", "outcome": "error"},
            {"id": "update.number-of-allocations-applied", "level": "MUST", "outcome": "pass"},
            {"id": "update.started-after-increase", "level": "MUST", "outcome": "not exercised"},
        ],
    }
    path = tmp_path / "partial-results.json"  # a hand-made excerpt: not held to the published schema
    path.write_text(json.dumps(results), encoding="utf-8")
    outcome = _reference(judged=99)
    _read_results(path, outcome, started_wall=1000.0)
    assert outcome.failed_rules == [RULE]
    assert outcome.errored_rules == ["shape.assignment-schema (MUST)"]
    assert outcome.not_exercised == ["update.started-after-increase"]
    assert outcome.first_failure_s == 0.5
    assert outcome.judged_exchanges == 0
    assert outcome.verdict == "FALSE FAILURE"
