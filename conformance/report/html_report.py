"""``report.html``: one self-contained page for people (no fonts, images, scripts or
styles from anywhere else; a Content-Security-Policy forbids every fetch, so it works
offline and cannot call home).

A header with the verdict; filters by outcome and family (a few lines of inline script;
without it every row simply stays visible); the rules; a timeline of the primary
deployment; and per rule that did not pass, every kept exchange as a collapsible
``<details>`` with the messages, how to reproduce it (``replay`` and ``curl``), the
request and response, the state before and after, and a picture of the nodes.

Every value that came from a target or a rule is escaped: a hostile server must not be
able to inject markup into the report that judges it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from conformance.report.facts import curl_note, replay_command, rerun_command, verdict_line, warnings_of
from conformance.report.pictures import node_svg, timeline_svg
from conformance.results import NOT_EXERCISED, Results, RuleResult
from conformance.rules.base import Outcome

CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"
STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:0 2em 2em;color:#222}
header{padding:1em 1.2em;margin:0 -2em 1em;color:#fff}header.v0{background:#1a7f37}header.v1{background:#cf222e}
header.v3{background:#9a6700}header h1{margin:0 0 .3em;font-size:1.5em}header p{margin:.2em 0}
.warning{background:#fff8c5;border:1px solid #d4a72c;padding:.4em .8em;color:#222}
table{border-collapse:collapse;width:100%}
td,th{border:1px solid #ccc;padding:4px 6px;text-align:left;vertical-align:top}
th{background:#f3f3f3}tr.fail{background:#fdd}tr.error{background:#fec}tr.pass{background:#dfd}
tr.skip,tr.not-exercised,tr.indeterminate{background:#eee}
pre{white-space:pre-wrap;overflow-wrap:anywhere;background:#f7f7f7;padding:6px;margin:.3em 0}
#filters{position:sticky;top:0;background:#fff;padding:.5em 0;border-bottom:1px solid #ddd;z-index:1}
#filters fieldset{display:inline-block;border:1px solid #ccc;margin-right:1em}#filters label{margin-right:.8em}
details{border:1px solid #ccc;margin:.4em 0;padding:.2em .6em}details>summary{cursor:pointer}
.muted{color:#666}.states{display:flex;gap:1em;flex-wrap:wrap}.states>div{flex:1;min-width:20em}
"""
FILTER_SCRIPT = """
(function(){
  var boxes = document.querySelectorAll('#filters input[type=checkbox]');
  function apply(){
    var off = {};
    boxes.forEach(function(b){ if(!b.checked){ off[b.dataset.kind + ':' + b.value] = true; } });
    document.querySelectorAll('[data-outcome]').forEach(function(el){
      el.hidden = !!(off['outcome:' + el.dataset.outcome] || off['family:' + el.dataset.family]);
    });
    var shown = document.querySelectorAll('#rules tbody tr:not([hidden])').length;
    document.getElementById('shown').textContent = shown + ' rule(s) shown';
  }
  boxes.forEach(function(b){ b.addEventListener('change', apply); });
  apply();
})();
"""


def render_html(results: Results) -> str:
    parts = [
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>",
        f"<meta http-equiv='Content-Security-Policy' content=\"{CSP}\">",
        "<title>deployment-conformance report</title>",
        f"<style>{STYLE}</style></head><body>",
        _header(results),
        _filters(results),
        "<h2>Rules</h2>",
        _rule_table(results),
        "<h2>Timeline</h2>",
        _timeline(results),
        "<h2>Evidence</h2>",
        _evidence_intro(results),
        *[_evidence(results, r) for r in results.rules if r.all_evidence],
        "<h2>Run</h2>",
        f"<pre>{escape(json.dumps(dict(results.run), indent=2, default=str))}</pre>",
        f"<script>{FILTER_SCRIPT}</script>",
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def _header(results: Results) -> str:
    run = results.run
    word = {0: "PASS", 1: "FAIL", 3: "NOT JUDGED"}[results.exit_code]
    totals = ", ".join(f"{count} {escape(outcome)}" for outcome, count in sorted(results.totals().items()))
    facts = (
        f"target {escape(str(run.get('target')))} reporting version {escape(str(run.get('version')))}, "
        f"judged by profile {escape(str(run.get('profile')))}; run id {escape(str(run.get('run_id')))}, "
        f"seed {escape(str(run.get('seed')))}, {escape(str(run.get('judged_exchanges')))} exchanges judged"
    )
    when = ""
    if results.started_at:
        when = f"<p>from {escape(results.started_at)} to {escape(str(results.ended_at))}</p>"
    failed = [r for r in results.rules if r.outcome in (Outcome.FAIL, Outcome.ERROR)]
    links = ""
    if failed:
        links = (
            "<p>Not passing: "
            + ", ".join(f"<a style='color:#fff' href='#ev-{escape(r.id)}'>{escape(r.id)}</a>" for r in failed)
            + "</p>"
        )
    fixed = ""
    if results.fixed_baseline:
        fixed = "<p>Baseline rules that now pass: " + escape(", ".join(results.fixed_baseline)) + "</p>"
    warnings = "".join(f"<p class=warning>Warning: {escape(w)}</p>" for w in warnings_of(results))
    return (
        f"<header class='v{results.exit_code}'><h1 id=verdict>{word}: {escape(verdict_line(results))}</h1>"
        f"<p>{facts}</p>{when}<p>Rules: {totals}</p>{links}{fixed}</header>{warnings}"
    )


def _filters(results: Results) -> str:
    outcomes = sorted({r.outcome for r in results.rules})
    families = sorted({r.family for r in results.rules})

    def boxes(kind: str, values: Sequence[str]) -> str:
        return "".join(
            f"<label><input type=checkbox checked data-kind={kind} value='{escape(v)}' "
            f"id='filter-{kind}-{escape(v.replace(' ', '-'))}'> {escape(v)}</label>"
            for v in values
        )

    return (
        f"<form id=filters><fieldset><legend>outcome</legend>{boxes('outcome', outcomes)}</fieldset>"
        f"<fieldset><legend>family</legend>{boxes('family', families)}</fieldset>"
        f"<span id=shown class=muted></span></form>"
    )


def _rule_table(results: Results) -> str:
    rows = [
        "<table id=rules><thead><tr><th>rule</th><th>level</th><th>outcome</th><th>counts</th>"
        "<th>source</th><th>description / reason</th></tr></thead><tbody>"
    ]
    for r in results.rules:
        css = r.outcome.replace(" ", "-")
        counts = ", ".join(f"{k} {v}" for k, v in sorted(r.counts.items()))
        note = r.reason or r.description
        outcome = r.outcome + (" (baseline)" if r.baselined else "")
        anchor = f"<a href='#ev-{escape(r.id)}'>{escape(r.id)}</a>" if r.all_evidence else escape(r.id)
        rows.append(
            f"<tr class='{escape(css)}' {_data(r)}><td>{anchor}</td><td>{escape(r.level)}</td>"
            f"<td>{escape(outcome)}</td><td>{escape(counts)}</td><td>{escape(r.source)}</td>"
            f"<td>{escape(note)}</td></tr>"
        )
    rows.append("</tbody></table>")
    if any(r.outcome == NOT_EXERCISED for r in results.rules):
        rows.append("<p>Rules marked <i>not exercised</i> judged no exchange in this run.</p>")
    return "".join(rows)


def _timeline(results: Results) -> str:
    deployment = primary_deployment(results)
    if deployment is None:
        return "<p class=muted>No deployment's state was read after a judged exchange.</p>"
    points = results.timeline[deployment]
    failures = sum(1 for p in points if p.get("failed"))
    return (
        f"<p>Deployment <code>{escape(deployment)}</code>: {len(points)} state reads after judged exchanges, "
        f"{failures} with a failed rule (hover a mark for the rules).</p>" + timeline_svg(deployment, points)
    )


def primary_deployment(results: Results) -> str | None:
    """The run's primary deployment (``...-primary``, or the adopted one), else the one read most."""
    if not results.timeline:
        return None
    primary = [d for d in results.timeline if d.endswith("-primary")]
    if primary:
        return primary[0]
    return max(results.timeline, key=lambda d: len(results.timeline[d]))


def _evidence_intro(results: Results) -> str:
    return (
        "<p>Each rule that did not pass keeps its first exchanges of that outcome. To reproduce one, "
        "<b>replay</b> sets up what the exchange needed on a target, sends the recorded request and judges it "
        "again, then removes what it created; <b>rerun</b> repeats the run's traffic for that rule. The raw curl "
        f"command is shown too: {escape(curl_note(results) or '')}.</p>"
    )


def _evidence(results: Results, result: RuleResult) -> str:
    records = result.all_evidence
    nodes = ((results.run.get("context") or {}).get("nodes")) or []
    pieces = [
        f"<section class=evidence id='ev-{escape(result.id)}' {_data(result)}>",
        f"<h3>{escape(result.id)} — {escape(result.outcome)} [{escape(result.level)}]</h3>",
        f"<p>{escape(result.description)} <span class=muted>({escape(result.source)})</span></p>",
        f"<p>Rerun: <code>{escape(rerun_command(results, result.id))}</code><br>"
        f"Replay: <code>{escape(replay_command(results, result.id))}</code></p>",
    ]
    total = sum(result.counts.get(o, 0) for o in (Outcome.FAIL, Outcome.ERROR, Outcome.INDETERMINATE))
    if total > len(records):
        pieces.append(f"<p class=muted>{len(records)} of {total} such exchanges kept.</p>")
    note = curl_note(results) or ""
    for number, record in enumerate(records, 1):
        pieces.append(_exchange(record, number, nodes, note))
    pieces.append("</section>")
    return "\n".join(pieces)


def _exchange(record: Mapping[str, Any], number: int, nodes: list[Any], curl_note: str) -> str:
    request = record.get("request") or {}
    response = record.get("response")
    status = f"HTTP {response['status']}" if response else "no response"
    messages = record.get("messages") or []
    title = f"exchange {number}: {request.get('method', '')} {_path(request.get('url', ''))} → {status}"
    first = f": {messages[0]}" if messages else ""
    parts = [
        f"<details class=exchange><summary>{escape(title)}{escape(first[:200])}</summary>",
        "<ul>" + "".join(f"<li>{escape(m)}</li>" for m in messages) + "</ul>",
        f"<p>intent {escape(str((record.get('intent') or {}).get('kind')))} "
        f"{escape(str((record.get('intent') or {}).get('detail') or ''))}; test {escape(str(record.get('test')))}, "
        f"seed {escape(str(record.get('seed')))}</p>",
        f"<p>As curl <span class=muted>({escape(curl_note)})</span>:</p>"
        f"<pre>{escape(str(record.get('curl', '')))}</pre>",
        "<p>Request:</p>"
        f"<pre>{escape(_format_message(request.get('method', ''), request.get('url', ''), request))}</pre>",
    ]
    if response:
        parts.append(f"<p>Response:</p><pre>{escape(_format_message('HTTP', str(response['status']), response))}</pre>")
    else:
        parts.append(f"<p>No response: {escape(str(record.get('error')))}</p>")
    parts.append(
        "<div class=states>"
        + _state("State before", record.get("before"))
        + _state("State after", record.get("after"))
        + "</div>"
    )
    parts.append("<p>Nodes: processors and memory against the routing table's plan</p>" + node_svg(record, nodes))
    parts.append("</details>")
    return "\n".join(parts)


def _state(title: str, snapshot: Mapping[str, Any] | None) -> str:
    if snapshot is None:
        return f"<div><p>{escape(title)}: not read for this exchange.</p></div>"
    rows = "".join(
        f"<tr><td>{escape(d)}</td><td>{escape(str(o.get('state')))}</td>"
        f"<td>{escape(str(o.get('number_of_allocations')))}</td><td>{escape(str(o.get('target_allocation_count')))}</td>"
        f"<td>{escape(str(o.get('allocation_count')))}</td><td>{escape(_routes(o.get('nodes') or {}))}</td></tr>"
        for d, o in snapshot.items()
    )
    return (
        f"<div><p>{escape(title)}:</p><table><tr><th>deployment</th><th>state</th><th>requested</th>"
        f"<th>planned</th><th>current</th><th>per node</th></tr>{rows}</table></div>"
    )


def _routes(nodes: Mapping[str, Any]) -> str:
    return ", ".join(
        f"{node}: {n.get('allocations')}×{n.get('threads_per_allocation')} {n.get('routing_state')}"
        for node, n in sorted(nodes.items())
    )


def _data(result: RuleResult) -> str:
    return f"data-outcome='{escape(result.outcome)}' data-family='{escape(result.family)}'"


def _path(url: str) -> str:
    return "/" + url.split("://", 1)[-1].split("/", 1)[-1] if "://" in url else url


def _format_message(first: str, second: str, message: Mapping[str, Any]) -> str:
    headers = "\n".join(f"{name}: {value}" for name, value in message.get("headers", []))
    return f"{first} {second}\n{headers}\n\n{_readable(message.get('body') or '')}"


def _readable(body: str) -> str:
    """JSON bodies indented for reading; anything else exactly as it was."""
    try:
        return json.dumps(json.loads(body), indent=2, ensure_ascii=False)
    except ValueError:
        return body
