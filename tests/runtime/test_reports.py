"""Reports: three files, valid, self-contained, escaped, and free of secrets."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

from rules.factories import stub_rule

from conformance.context import Context, Version
from conformance.exchange import Exchange, Intent, Request, Response
from conformance.redaction import Redactor
from conformance.report import write_reports
from conformance.results import Tally, build_results
from conformance.rules.base import Outcome, Verdict

SECRET = "hunter2-secret"
HOSTILE = "<script>alert(1)</script>"
CTX = Context(Version(9, 3), "default", "9.3", frozenset(), ())


def _results():
    rules = [
        stub_rule("shape.fails"),
        stub_rule("shape.passes"),
        stub_rule("x.never"),
        stub_rule("x.old", until=Version(8, 8)),
    ]
    exchange = Exchange(
        Request(
            "POST",
            "http://t/_ml/trained_models/d/deployment/_update",
            (("authorization", "<redacted>"),),
            f'{{"note":"{SECRET}"}}'.encode(),
        ),
        Response(200, (("content-type", "application/json"),), HOSTILE.encode()),
        0.02,
        Intent("update"),
    )
    tally = Tally()
    tally.add(
        [
            Verdict("shape.fails", Outcome.FAIL, (f"bad {HOSTILE}",), exchange),
            Verdict("shape.passes", Outcome.PASS, (), exchange),
        ],
        test="suite::t",
        seed=11,
    )
    return rules, build_results(rules, CTX, tally, run={"target": "http://t", "run_id": "dc-abc"})


def test_three_reports_are_valid_complete_and_escaped(tmp_path: Path) -> None:
    rules, results = _results()
    written = write_reports(results, str(tmp_path / "out"), Redactor([SECRET]))
    assert set(written) == {"results.json", "junit.xml", "report.html", "summary.md"}

    data = json.loads(Path(written["results.json"]).read_text())
    assert data["exit_code"] == 1 and {r["id"] for r in data["rules"]} == {r.id for r in rules}

    suite = ET.parse(written["junit.xml"]).getroot().find("testsuite")
    cases = {case.get("name"): case for case in suite.iter("testcase")}
    assert set(cases) == {r.id for r in rules}
    assert cases["shape.fails"].find("failure") is not None
    assert "curl" in cases["shape.fails"].find("failure").text
    assert cases["x.never"].find("skipped") is not None
    assert suite.get("failures") == "1"

    html = Path(written["report.html"]).read_text()
    for rule_ in rules:
        assert rule_.id in html
    assert HOSTILE not in html and "&lt;script&gt;" in html
    assert "not exercised" in html and "applies before Elasticsearch 8.8.0" in html
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html), "report must not load external assets"

    for path in written.values():
        assert SECRET not in Path(path).read_text()
