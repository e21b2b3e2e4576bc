"""Concurrent bursts of updates that change different things of the primary deployment.

Every burst request is judged on its own (protocol and shape rules: kind ``other``,
because overlapping requests have no single "state before"); the state read after the
burst is a ``burst-final`` exchange whose ``expected`` carries the burst's log, so the
concurrency rules can check that no successful change was lost (§1.6 C.9).
"""

from __future__ import annotations

from conformance.exchange import Intent
from conformance.suite.bursts import fire, plan
from conformance.suite.runner import STATS_PATH, Run
from conformance.suite.strategies import assert_conforms

BURST_SIZE = 12


def test_concurrent_updates_lose_nothing(dc_run: Run, dc_primary: str) -> None:
    log = fire(dc_run.target, dc_primary, plan(dc_run.ctx, BURST_SIZE))
    for entry in log:
        dc_run.assert_conforms(dc_run.judge(entry.exchange))
    intent = Intent("burst-final", deployment=dc_run.deployment(dc_primary),
                    detail=f"state read after {len(log)} concurrent updates",
                    expected={"log": [entry.as_dict() for entry in log]})
    assert_conforms(dc_run, dc_run.send("GET", STATS_PATH, intent=intent))
