"""``junit.xml``: one test case per rule, so CI systems show rules as tests.

A dashboard must be green exactly when the exit code is 0, so only a MUST failure that
fails the run is a ``<failure>``. A SHOULD failure is reported in the case's
``<system-out>`` and ``outcome``/``level`` properties; a known (baselined) failure and
skipped, indeterminate and never-exercised rules are ``<skipped>`` with why; a rule whose
check broke is an ``<error>``. ``time`` is the time spent in the exchanges that judged a
rule; the suite's ``<properties>`` say what was judged (target, version, profile, seed).
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from typing import Any

from conformance.report.facts import duration_s, run_properties
from conformance.results import NOT_EXERCISED, Results, RuleResult
from conformance.rules.base import Outcome

SUITE_NAME = "deployment-conformance"
_COUNTER = {"failure": "failures", "error": "errors", "skipped": "skipped"}


def render_junit(results: Results) -> str:
    suite = ET.Element("testsuite", name=SUITE_NAME)
    if results.started_at:
        suite.set("timestamp", results.started_at)
    properties = ET.SubElement(suite, "properties")
    for name, value in run_properties(results).items():
        ET.SubElement(properties, "property", name=name, value=value)
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for result in results.rules:
        counts["tests"] += 1
        _testcase(suite, result, counts)
    for key, count in counts.items():
        suite.set(key, str(count))
    total = duration_s(results)
    suite.set("time", f"{total if total is not None else sum(r.seconds for r in results.rules):.3f}")
    root = ET.Element("testsuites", name=SUITE_NAME)
    root.append(suite)
    for key in ("tests", "failures", "errors", "skipped", "time"):
        root.set(key, suite.get(key, ""))
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _testcase(suite: ET.Element, result: RuleResult, counts: dict[str, int]) -> None:
    case = ET.SubElement(
        suite, "testcase", classname=f"{SUITE_NAME}.{result.family}", name=result.id, time=f"{result.seconds:.3f}"
    )
    kind = _element_for(result)
    if kind is not None:
        counts[_COUNTER[kind]] += 1
        child = ET.SubElement(case, kind, message=_message(result))
        if kind != "skipped":
            child.set("type", result.level.value)
        if result.evidence:
            child.text = _evidence_text(result)
    elif result.outcome is Outcome.FAIL:  # a SHOULD failure: reported, not a failed test
        props = ET.SubElement(case, "properties")
        for name, value in (("outcome", Outcome.FAIL.value), ("level", result.level.value)):
            ET.SubElement(props, "property", name=name, value=value)
        out = ET.SubElement(case, "system-out")
        out.text = f"{_message(result)} (a {result.level} rule: reported, does not fail the run)\n"
        if result.evidence:
            out.text += _evidence_text(result)


def _element_for(result: RuleResult) -> str | None:
    if result.outcome is Outcome.FAIL:
        if result.baselined:
            return "skipped"
        return "failure" if result.is_must_failure else None
    if result.outcome is Outcome.ERROR:
        return "error"
    if result.outcome in (Outcome.SKIP, Outcome.INDETERMINATE, NOT_EXERCISED):
        return "skipped"
    return None


def _message(result: RuleResult) -> str:
    if result.outcome is Outcome.SKIP:
        return result.reason or "skipped"
    if result.outcome == NOT_EXERCISED:
        return "not exercised: no exchange this rule judges was sent"
    if result.baselined:
        return "known failure (listed in the baseline)"
    messages = (result.evidence or {}).get("messages") or []
    level = f"[{result.level}] "
    return level + ("; ".join(messages) if messages else result.outcome)


def _evidence_text(result: RuleResult) -> str:
    lines = [f"rule: {result.id} ({result.level}, {result.source})"]
    for number, evidence in enumerate(result.all_evidence, 1):
        lines += _one_evidence(evidence, number, len(result.all_evidence))
    return "\n".join(lines)


def _one_evidence(evidence: Any, number: int, total: int) -> list[str]:
    lines = [f"-- exchange {number} of {total} kept"] if total > 1 else []
    lines += [f"message: {m}" for m in evidence.get("messages", [])]
    lines.append(f"test: {evidence.get('test')}  seed: {evidence.get('seed')}")
    if evidence.get("curl"):
        lines.append(f"request as curl: {evidence['curl']}")
    response = evidence.get("response")
    if response:
        lines.append(f"response status: {response['status']}")
        lines.append(f"response body: {response['body']}")
    elif evidence.get("error"):
        lines.append(f"no response: {evidence['error']}")
    lines.append("evidence: " + json.dumps(evidence, ensure_ascii=False))
    return lines
