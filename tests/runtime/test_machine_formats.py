"""results.json against its published schema, junit.xml that is green exactly when the
exit code is 0, and summary.md for a CI step summary."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

from rules.factories import stub_rule
from runtime_helpers import free_port

from conformance import __version__
from conformance.cli import main
from conformance.context import Context, Version
from conformance.exchange import DeploymentInfo, DeploymentObservation, Exchange, Intent, Request, Response, Snapshot
from conformance.report import write_reports
from conformance.report.json_report import validate_results
from conformance.results import Tally, build_results
from conformance.rules.base import Level, Outcome, Verdict

CTX = Context(Version(9, 3), "default", "9.3", frozenset(), ())
INFO = DeploymentInfo("dc-1-primary", "dc-1-model", 1)
OBSERVED = DeploymentObservation("dc-1-primary", "dc-1-model", "started", 2, 1, "normal", 1024, None, 2, 2, 0)
EXCHANGE = Exchange(
    Request("POST", "http://t/_ml/trained_models/dc-1-primary/deployment/_update", (), b'{"number_of_allocations":2}'),
    Response(400, (("content-type", "application/json"),), b'{"error":"no"}'),
    0.25,
    Intent("update", deployment=INFO),
    before=Snapshot({"dc-1-primary": OBSERVED}, 1.0),
    after=Snapshot({"dc-1-primary": OBSERVED}, 1.3),
)
RUN = {"target": "http://t", "version": "9.3.0", "profile": "9.3", "seed": 5, "run_id": "dc-1", "judged_exchanges": 1}
STAMPS = {"started_at": "2026-12-01T10:00:00.000+00:00", "ended_at": "2026-12-01T10:00:04.500+00:00"}


def _results(*failing: tuple[str, Level]):  # type: ignore[no-untyped-def]
    rules = [stub_rule(rule_id, level) for rule_id, level in failing] + [stub_rule("shape.passes")]
    tally = Tally()
    tally.add(
        [Verdict(rule_id, Outcome.FAIL, (f"{rule_id} broke",), EXCHANGE) for rule_id, _ in failing]
        + [Verdict("shape.passes", Outcome.PASS, (), EXCHANGE)],
        test="suite::t",
        seed=5,
    )
    return replace(build_results(rules, CTX, tally, run=RUN), **STAMPS)


def _junit(results, tmp_path: Path) -> ET.Element:  # type: ignore[no-untyped-def]
    written = write_reports(results, str(tmp_path))
    return ET.parse(written["junit.xml"]).getroot().find("testsuite")  # type: ignore[return-value]


def test_results_json_carries_schema_version_tool_and_times_and_validates(tmp_path: Path) -> None:
    written = write_reports(_results(("update.x", Level.MUST)), str(tmp_path))
    data = json.loads(Path(written["results.json"]).read_text())
    assert data["schema_version"] == 1 and data["tool"] == {"name": "deployment-conformance", "version": __version__}
    assert (data["started_at"], data["ended_at"]) == (STAMPS["started_at"], STAMPS["ended_at"])
    assert data["rules"][0]["evidence"]["before"]["dc-1-primary"]["allocation_count"] == 2
    assert validate_results(data) == []


def test_the_schema_refuses_what_a_reader_could_not_rely_on(tmp_path: Path) -> None:
    data = _results(("update.x", Level.MUST)).to_dict()
    assert validate_results(data) == []
    assert any(
        "schema_version" in p for p in validate_results({k: v for k, v in data.items() if k != "schema_version"})
    )
    assert validate_results({**data, "started_at": "yesterday"}) != []
    data["rules"][0]["outcome"] = "failed"
    assert validate_results(data) != []


def test_only_should_failures_leave_no_failure_element(tmp_path: Path) -> None:
    results = _results(("capacity.soft", Level.SHOULD))
    assert results.exit_code == 0
    suite = _junit(results, tmp_path)
    assert suite.find(".//failure") is None and suite.get("failures") == "0"
    case = next(c for c in suite.iter("testcase") if c.get("name") == "capacity.soft")
    assert {p.get("name"): p.get("value") for p in case.iter("property")} == {"outcome": "fail", "level": "SHOULD"}
    assert "capacity.soft broke" in case.find("system-out").text  # type: ignore[union-attr]


def test_must_failures_are_failures_with_time_and_run_properties(tmp_path: Path) -> None:
    suite = _junit(_results(("update.x", Level.MUST), ("capacity.soft", Level.SHOULD)), tmp_path)
    failures = suite.findall(".//failure")
    assert [f.get("type") for f in failures] == ["MUST"] and suite.get("failures") == "1"
    assert suite.get("time") == "4.500" and suite.get("timestamp") == STAMPS["started_at"]
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert cases["update.x"].get("time") == "0.250"
    properties = {p.get("name"): p.get("value") for p in suite.find("properties").iter("property")}  # type: ignore[union-attr]
    assert {k: properties[k] for k in ("target", "version", "profile", "seed")} == {
        "target": "http://t",
        "version": "9.3.0",
        "profile": "9.3",
        "seed": "5",
    }


def test_summary_md_gives_verdict_facts_and_a_reproducer_per_failed_rule(tmp_path: Path) -> None:
    results = replace(
        _results(("update.x", Level.MUST), ("capacity.soft", Level.SHOULD)),
        run={**RUN, "rerun_args": ["--max-examples", "3"]},
    )
    summary = Path(write_reports(results, str(tmp_path))["summary.md"]).read_text()
    assert summary.startswith("## ❌ deployment-conformance: exit code 1: at least one MUST rule failed")
    assert "`http://t`" in summary and "`9.3`" in summary and "seed `5`" in summary
    for rule_id in ("update.x", "capacity.soft"):
        assert f"`deployment-conformance run --target http://t --max-examples 3 --seed 5 --select {rule_id}`" in summary
        assert f"`deployment-conformance replay {tmp_path} --rule {rule_id} --target http://t`" in summary
    assert "shape.passes" not in summary


def test_a_failed_preflight_still_writes_a_junit_xml_saying_why(tmp_path: Path) -> None:
    assert main(["run", "--target", f"http://127.0.0.1:{free_port()}", "--report-dir", str(tmp_path)]) == 3
    suite = ET.parse(tmp_path / "junit.xml").getroot().find("testsuite")
    properties = {p.get("name"): p.get("value") for p in suite.find("properties").iter("property")}  # type: ignore[union-attr]
    assert "cannot reach" in properties["unjudged"] and properties["exit_code"] == "3"
    assert json.loads((tmp_path / "results.json").read_text())["exit_code"] == 3
