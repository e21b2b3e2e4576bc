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
from conformance.suite.strategies import assert_conforms, scaling_limit

BURST_SIZE = 12


def test_concurrent_updates_lose_nothing(run: Run, primary: str) -> None:
    log = fire(run.target, primary, plan(run.ctx, BURST_SIZE, limit=scaling_limit(run, primary)))
    for entry in log:
        run.assert_conforms(run.judge(entry.exchange))
    intent = Intent("burst-final", deployment=run.deployment(primary),
                    detail=f"state read after {len(log)} concurrent updates",
                    expected={"log": [entry.as_dict() for entry in log]})
    assert_conforms(run, run.send("GET", STATS_PATH, intent=intent))
