"""``summary.md``: the verdict in Markdown, short enough for ``$GITHUB_STEP_SUMMARY`` or a
pull-request comment (failed rules first, each with its reason and how to reproduce it)."""

from __future__ import annotations

from conformance.report.facts import replay_command, rerun_command, verdict_line, warnings_of
from conformance.results import Results

FAILED_SHOWN = 25  # rows of failed rules before "and N more"


def render_markdown(results: Results) -> str:
    run = results.run
    icon = {0: "✅", 1: "❌", 3: "⚠️"}[results.exit_code]
    totals = ", ".join(f"{count} {outcome}" for outcome, count in sorted(results.totals().items()))
    lines = [
        f"## {icon} deployment-conformance: {verdict_line(results)}",
        "",
        f"Target `{run.get('target')}` reporting version `{run.get('version')}`, judged by profile "
        f"`{run.get('profile')}`; seed `{run.get('seed')}`, run id `{run.get('run_id')}`, "
        f"{run.get('judged_exchanges')} exchanges judged.",
        "",
        f"**Rules:** {totals}.",
    ]
    lines += [f"\n> **Warning:** {_cell(w)}" for w in warnings_of(results)]
    failed = results.failures()
    if failed:
        lines += ["", "| rule | level | reason | reproduce |", "| --- | --- | --- | --- |"]
        for result in failed[:FAILED_SHOWN]:
            messages = (result.evidence or {}).get("messages") or ["failed"]
            level = result.level + (", known (baseline)" if result.baselined else "")
            lines.append(
                f"| `{result.id}` | {level} | {_cell(messages[0])} | "
                f"`{rerun_command(results, result.id)}`<br>`{replay_command(results, result.id)}` |"
            )
        if len(failed) > FAILED_SHOWN:
            lines.append(f"\n…and {len(failed) - FAILED_SHOWN} more failed rules: see report.html.")
    if results.fixed_baseline:
        lines += [
            "",
            "Baseline rules that now pass (remove them from the baseline): "
            + ", ".join(f"`{r}`" for r in results.fixed_baseline),
        ]
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    """One table cell: no line breaks, no column separators, no Markdown/HTML surprises."""
    flat = " ".join(str(text).split())
    if len(flat) > 300:
        flat = flat[:300] + "…"
    return flat.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|").replace("`", "'")
