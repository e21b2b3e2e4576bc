"""``junit.xml``: one test case per rule, so CI systems show rules as tests.

A failed rule is a ``<failure>`` carrying its evidence; a rule that broke is an
``<error>``; skipped, indeterminate and never-exercised rules are ``<skipped>`` with why.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from conformance.results import NOT_EXERCISED, Results, RuleResult

SUITE_NAME = "deployment-conformance"


def render_junit(results: Results) -> str:
    suite = ET.Element("testsuite", name=SUITE_NAME)
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for result in results.rules:
        case = ET.SubElement(suite, "testcase", classname=f"{SUITE_NAME}.{result.family}", name=result.id)
        counts["tests"] += 1
        kind = _element_for(result)
        if kind is None:
            continue
        counts[_COUNTER[kind]] += 1
        child = ET.SubElement(case, kind, message=_message(result))
        if result.evidence:
            child.text = _evidence_text(result)
    for key, value in counts.items():
        suite.set(key, str(value))
    if results.unjudged:
        props = ET.SubElement(suite, "properties")
        ET.SubElement(props, "property", name="unjudged", value=results.unjudged)
    root = ET.Element("testsuites")
    root.append(suite)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


_COUNTER = {"failure": "failures", "error": "errors", "skipped": "skipped"}


def _element_for(result: RuleResult) -> str | None:
    if result.outcome == "fail":
        return "skipped" if result.baselined else "failure"
    if result.outcome == "error":
        return "error"
    if result.outcome in ("skip", "indeterminate", NOT_EXERCISED):
        return "skipped"
    return None


def _message(result: RuleResult) -> str:
    if result.outcome == "skip":
        return result.reason or "skipped"
    if result.outcome == NOT_EXERCISED:
        return "not exercised: no exchange this rule judges was sent"
    if result.baselined:
        return "known failure (listed in the baseline)"
    messages = (result.evidence or {}).get("messages") or []
    level = f"[{result.level}] "
    return level + ("; ".join(messages) if messages else result.outcome)


def _evidence_text(result: RuleResult) -> str:
    evidence = result.evidence or {}
    lines = [f"rule: {result.id} ({result.level}, {result.source})"]
    lines += [f"message: {m}" for m in evidence.get("messages", [])]
    lines.append(f"test: {evidence.get('test')}  seed: {evidence.get('seed')}")
    if evidence.get("curl"):
        lines.append(f"reproduce: {evidence['curl']}")
    response = evidence.get("response")
    if response:
        lines.append(f"response status: {response['status']}")
        lines.append(f"response body: {response['body']}")
    elif evidence.get("error"):
        lines.append(f"no response: {evidence['error']}")
    lines.append("evidence: " + json.dumps(evidence, ensure_ascii=False))
    return "\n".join(lines)
