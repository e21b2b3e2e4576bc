"""The console: a failing CI run fits one screen and says how to reproduce each failure;
pytest's own output goes to the log; live progress renders events."""

from __future__ import annotations

import io
import re
from dataclasses import replace

import pytest
from conftest import SavedRun
from rules.factories import stub_rule

from conformance import events
from conformance.console import Console, is_plain, summary
from conformance.context import Context, Version
from conformance.events import Judged, Notice, PhaseStarted
from conformance.exchange import Exchange, Intent, Request, Response
from conformance.results import Tally, build_results
from conformance.rules.base import Outcome, Verdict

MAX_LINES = 40


@pytest.mark.slow
def test_a_failing_ci_run_fits_one_screen_with_a_reproducer_per_failed_rule(failing_run: SavedRun) -> None:
    assert failing_run.returncode == 1, failing_run.stderr[-2000:]
    results = failing_run.results()
    failed = [r["id"] for r in results["rules"] if r["outcome"] == "fail"]
    target, seed = results["run"]["target"], results["run"]["seed"]
    out = failing_run.stdout + failing_run.stderr
    assert len(out.splitlines()) <= MAX_LINES, out
    assert f"target {target}" in out and f"seed {seed}" in out and f"profile {results['run']['profile']}" in out
    for rule_id in failed:
        assert re.search(
            rf"rerun: +deployment-conformance run --target {re.escape(target)} .*--seed {seed} "
            rf"--select {re.escape(rule_id)}$",
            out,
            re.M,
        ), rule_id
        assert (
            f"replay: deployment-conformance replay {failing_run.report_dir} --rule {rule_id} --target {target}"
        ) in out
    # pytest's progress (and any traceback) is in the log, not on the console; a failed rule
    # no longer fails a pytest test (the traffic goes on), so the log shows tests that passed
    log = (failing_run.report_dir / "pytest.log").read_text()
    assert re.search(r"\d+ passed", log)
    assert "passed" not in out and "Traceback" not in out
    assert re.search(r"^  scenarios: \d+ exchanges judged", out, re.M)


def _many_failures(count: int):  # type: ignore[no-untyped-def]
    rules = [stub_rule(f"shape.rule-{n}") for n in range(count)]
    exchange = Exchange(Request("POST", "http://t/x"), Response(400, (), b"{}"), 0.01, Intent("update"))
    tally = Tally()
    tally.add(
        [Verdict(r.id, Outcome.FAIL, (f"{r.id} broke " + "x" * 500,), exchange) for r in rules], test="t::x", seed=9
    )
    ctx = Context(Version(9, 3), "default", "9.3", frozenset(), ())
    run = {
        "target": "http://t",
        "version": "10.1.0",
        "profile": "9.3",
        "seed": 9,
        "run_id": "dc-9",
        "rerun_args": ["--max-examples", "25"],
    }
    return build_results(rules, ctx, tally, run=run)


def test_the_summary_stays_on_one_screen_however_many_rules_fail() -> None:
    text = summary(_many_failures(30), "reports")
    lines = text.splitlines()
    assert len(lines) <= MAX_LINES and max(len(line) for line in lines) < 260
    assert "... and 22 more: see report.html" in text
    assert "warning: the target reports Elasticsearch 10.1.0, newer than any profile" in text
    assert "deployment-conformance run --target http://t --max-examples 25 --seed 9 --select shape.rule-0" in text
    assert lines[0] == "deployment-conformance: FAIL, exit code 1: at least one MUST rule failed"


def test_an_embedded_run_reproduces_without_its_dead_port() -> None:
    results = _many_failures(1)
    results = replace(results, run={**results.run, "embedded": True, "rerun_args": ["--es-version", "8.15.2"]})
    text = summary(results, "out")
    assert "rerun:  deployment-conformance run --es-version 8.15.2 --seed 9 --select shape.rule-0" in text
    assert "replay: deployment-conformance replay out --rule shape.rule-0\n" in text + "\n"
    assert "http://t" not in text.split("\n", 2)[2]


def test_plain_progress_is_one_line_per_phase_and_family() -> None:
    stream = io.StringIO()
    console = Console(stream, lambda text: text.replace("hunter2", "[redacted]"), plain=True)
    for event in (
        PhaseStarted("discovery", "http://t"),
        Judged("scenarios", 3, 0),
        Judged("scenarios", 7, 1),
        events.TestFinished("t::a", "scenarios", "failed", "boom"),
        Judged("stateful", 9, 1),
        Notice("a note with hunter2"),
        PhaseStarted("cleanup"),
    ):
        console(event)
    console.close()
    assert stream.getvalue().splitlines() == [
        "deployment-conformance: discovery: http://t",
        "  scenarios: 7 exchanges judged (7 in all, 1 rule(s) failing)",
        "deployment-conformance: a note with [redacted]",
        "  stateful: 2 exchanges judged (9 in all, 1 rule(s) failing)",
        "deployment-conformance: cleanup",
    ]


def test_live_progress_renders_with_rich() -> None:
    stream = io.StringIO()
    console = Console(stream, plain=False)
    for event in (
        PhaseStarted("traffic"),
        Judged("scenarios", 4, 1),
        events.TestFinished("t::a", "scenarios", "failed", "boom"),
    ):
        console(event)
    console.close()
    text = stream.getvalue()
    assert "scenarios: 4 exchanges judged (4 in all, 1 rule(s) failing)" in text and "FAILED t::a: boom" in text


def test_plain_when_ci_is_set_or_no_terminal() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert is_plain(io.StringIO(), {}) and is_plain(Tty(), {"CI": "true"}) and not is_plain(Tty(), {})
