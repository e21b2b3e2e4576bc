"""``report.html``: one self-contained page for people (no scripts, fonts or links out).

Every value that came from a target or a rule is escaped: a hostile server must not be
able to inject markup into the report that judges it.
"""

from __future__ import annotations

import json
from html import escape

from conformance.results import NOT_EXERCISED, Results, RuleResult

STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;width:100%}td,th{border:1px solid #ccc;padding:4px 6px;text-align:left;vertical-align:top}
th{background:#f3f3f3}.fail{background:#fdd}.error{background:#fec}.pass{background:#dfd}
.skip,.not-exercised,.indeterminate{background:#eee}
pre{white-space:pre-wrap;overflow-wrap:anywhere;background:#f7f7f7;padding:6px}
.summary span{margin-right:1.5em}
"""


def render_html(results: Results) -> str:
    run = results.run
    parts = [
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>",
        "<title>deployment-conformance report</title>",
        f"<style>{STYLE}</style></head><body>",
        "<h1>deployment-conformance report</h1>",
        _summary(results),
        "<h2>Rules</h2>",
        _rule_table(results),
        "<h2>Evidence</h2>",
        *[_evidence(r) for r in results.rules if r.evidence],
        "<h2>Run</h2>",
        f"<pre>{escape(json.dumps(dict(run), indent=2, default=str))}</pre>",
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def _summary(results: Results) -> str:
    verdict = {0: "every MUST rule held", 1: "at least one MUST rule failed",
               3: f"the run could not judge: {results.unjudged}"}[results.exit_code]
    totals = "".join(f"<span>{escape(k)}: <b>{v}</b></span>" for k, v in sorted(results.totals().items()))
    run = results.run
    facts = (f"target {escape(str(run.get('target')))}, version {escape(str(run.get('version')))}, "
             f"judged by profile {escape(str(run.get('profile')))}, run id {escape(str(run.get('run_id')))}, "
             f"seed {escape(str(run.get('seed')))}, {escape(str(run.get('judged_exchanges')))} exchanges judged")
    failed = [r for r in results.rules if r.outcome in ("fail", "error")]
    if failed:
        links = ", ".join(f"<a href='#ev-{escape(r.id)}'>{escape(r.id)}</a>" for r in failed)
        facts += f"</p><p>Failed: {links}"
    fixed = ""
    if results.fixed_baseline:
        fixed = "<p>Baseline rules that now pass: " + escape(", ".join(results.fixed_baseline)) + "</p>"
    return (f"<p><b>Exit code {results.exit_code}</b>: {escape(verdict)}</p>"
            f"<p class=summary>{totals}</p><p>{facts}</p>{fixed}")


def _rule_table(results: Results) -> str:
    rows = ["<table><tr><th>rule</th><th>level</th><th>outcome</th><th>counts</th>"
            "<th>source</th><th>description / reason</th></tr>"]
    for r in results.rules:
        css = r.outcome.replace(" ", "-")
        counts = ", ".join(f"{k} {v}" for k, v in sorted(r.counts.items()))
        note = r.reason or r.description
        outcome = r.outcome + (" (baseline)" if r.baselined else "")
        anchor = f"<a href='#ev-{escape(r.id)}'>{escape(r.id)}</a>" if r.evidence else escape(r.id)
        rows.append(f"<tr class='{escape(css)}'><td>{anchor}</td><td>{escape(r.level)}</td>"
                    f"<td>{escape(outcome)}</td><td>{escape(counts)}</td><td>{escape(r.source)}</td>"
                    f"<td>{escape(note)}</td></tr>")
    rows.append("</table>")
    if not any(r.outcome == NOT_EXERCISED for r in results.rules):
        return "".join(rows)
    return "".join(rows) + "<p>Rules marked <i>not exercised</i> judged no exchange in this run.</p>"


def _evidence(result: RuleResult) -> str:
    evidence = result.evidence or {}
    request = evidence.get("request") or {}
    response = evidence.get("response")
    pieces = [
        f"<h3 id='ev-{escape(result.id)}'>{escape(result.id)} — {escape(evidence.get('outcome', ''))}</h3>",
        "<ul>" + "".join(f"<li>{escape(m)}</li>" for m in evidence.get("messages", [])) + "</ul>",
        f"<p>test {escape(str(evidence.get('test')))}, seed {escape(str(evidence.get('seed')))}</p>",
        f"<p>Reproduce:</p><pre>{escape(str(evidence.get('curl', '')))}</pre>",
        f"<p>Request:</p><pre>{escape(_format_message(request.get('method', ''), request.get('url', ''), request))}</pre>",
    ]
    if response:
        pieces.append(f"<p>Response:</p><pre>{escape(_format_message('HTTP', str(response['status']), response))}</pre>")
    else:
        pieces.append(f"<p>No response: {escape(str(evidence.get('error')))}</p>")
    return "\n".join(pieces)


def _format_message(first: str, second: str, message: dict) -> str:
    headers = "\n".join(f"{name}: {value}" for name, value in message.get("headers", []))
    return f"{first} {second}\n{headers}\n\n{_readable(message.get('body') or '')}"


def _readable(body: str) -> str:
    """JSON bodies indented for reading; anything else exactly as it was."""
    try:
        return json.dumps(json.loads(body), indent=2, ensure_ascii=False)
    except ValueError:
        return body
