"""What every output says the same way: the verdict line, the run's properties, the
warnings, and the commands that reproduce a failed rule.

The console, ``report.html``, ``junit.xml`` and ``summary.md`` all read these, so a
reader never sees two versions of one fact.
"""

from __future__ import annotations

import shlex
from datetime import datetime

from conformance.context import Version
from conformance.results import Results

PROG = "deployment-conformance"


def verdict_line(results: Results) -> str:
    """``"exit code 1: at least one MUST rule failed"`` and its kin; a verdict with holes
    says so, with its first reason (the others are listed beside it)."""
    holes = results.holes
    if results.exit_code == 0:
        why = "every MUST rule held"
    elif results.exit_code == 1:
        why = "at least one MUST rule failed" + (f" (incomplete: {holes[0]})" if holes else "")
    elif results.unjudged is not None:
        why = f"the run could not judge: {results.unjudged}"
    else:
        why = f"the verdict is incomplete: {holes[0] if holes else 'see the report'}"
    return f"exit code {results.exit_code}: {why}"


def run_properties(results: Results) -> dict[str, str]:
    """The facts a CI dashboard shows beside the verdict (junit ``<properties>``)."""
    from conformance import __version__

    run = results.run
    found = {
        "target": run.get("target"),
        "version": run.get("version"),
        "judged_as": run.get("judged_as"),
        "profile": run.get("profile"),
        "seed": run.get("seed"),
        "run_id": run.get("run_id"),
        "max_examples": run.get("max_examples"),
        "select": run.get("select"),
        "tool_version": __version__,
        "exit_code": results.exit_code,
        "unjudged": results.unjudged,
        "incomplete": "; ".join(results.holes) or None,
        "started_at": results.started_at,
        "ended_at": results.ended_at,
    }
    return {name: str(value) for name, value in found.items() if value is not None}


def warnings_of(results: Results) -> list[str]:
    """What the reader should know before trusting the verdicts."""
    from conformance.discovery import newer_than_known

    found = []
    try:
        reported = Version.parse(str(results.run.get("version")))
    except ValueError:
        reported = None
    if (newer := newer_than_known(reported)) is not None:
        found.append(newer)
    found += [f"clean-up: {problem}" for problem in results.run.get("cleanup_problems") or ()]
    return found


def duration_s(results: Results) -> float | None:
    if not results.started_at or not results.ended_at:
        return None
    try:
        return (datetime.fromisoformat(results.ended_at) - datetime.fromisoformat(results.started_at)).total_seconds()
    except ValueError:
        return None


def rerun_command(results: Results, rule_id: str) -> str:
    """The run that repeats a failure: same target (or embedded server), seed, and the rule selected."""
    run = results.run
    argv = [PROG, "run"]
    if not run.get("embedded") and run.get("target"):
        argv += ["--target", str(run["target"])]
    argv += [str(a) for a in run.get("rerun_args") or ()]
    if run.get("seed") is not None:
        argv += ["--seed", str(run["seed"])]
    argv += ["--select", rule_id]
    return shlex.join(argv)


def replay_command(results: Results, rule_id: str) -> str:
    """``deployment-conformance replay`` of the rule's recorded exchange (``--target`` unless embedded)."""
    run = results.run
    argv = [PROG, "replay", str(run.get("report_dir") or "REPORT_DIR"), "--rule", rule_id]
    if not run.get("embedded") and run.get("target"):
        argv += ["--target", str(run["target"])]
    return shlex.join(argv)


def curl_note(results: Results) -> str | None:
    """Why a recorded curl command may not run as it is."""
    if results.run.get("embedded"):
        return (
            "the embedded server of this run and its deployment are gone: point the curl command at a "
            "server you start (deployment-conformance serve), after setting the deployment up, or use replay"
        )
    return "the run's deployment was deleted at clean-up: replay sets it up again"
