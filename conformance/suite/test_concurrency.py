"""Concurrent bursts of updates that change different things of the primary deployment.

Every burst request is a valid update and is judged as one (kind ``burst-update``:
never a 5xx, only the statuses a valid update may get); the state read after the burst
is a ``burst-final`` exchange whose ``expected`` is the burst's log, so the
concurrency rules can check that no successful change was lost (§1.6 C.9). Every answer
and the final read are judged before the test fails, so one bad answer does not hide
the others.
"""

from __future__ import annotations

import time

from conformance.exchange import Intent, IntentKind
from conformance.expectations import BurstLog
from conformance.observations import parse_stats
from conformance.oracle import allocatable, others_changed
from conformance.suite.bursts import SETTINGS, fire, plan
from conformance.suite.runner import STATS_PATH, Run
from conformance.suite.strategies import scaling_limit

BURST_SIZE = 12


BURSTS = 3  # whether requests overlap on the server depends on its load: one burst may not show a race


def test_concurrent_updates_lose_nothing(dc_run: Run, dc_primary: str) -> None:
    for _ in range(BURSTS):
        _burst(dc_run, dc_primary)
        if "concurrency.no-lost-update" in dc_run.failed_rules:
            return


def _burst(run: Run, primary: str) -> None:
    """One burst, judged request by request, then the state it left behind."""
    run.restore(primary, 1)  # the burst's plan starts from one allocation, adaptive allocations off
    deployment = run.deployment(primary)
    before = run.snapshot()
    fits = allocatable(run.ctx, before, primary, deployment.threads_per_allocation)
    requests = plan(run.ctx, BURST_SIZE, limit=scaling_limit(run, primary))
    if any(request.field == SETTINGS for request in requests):
        run.sent_adaptive(primary)
    log = fire(run.target, deployment, requests, fits)
    intent = Intent(
        IntentKind.BURST_FINAL,
        deployment=deployment,
        detail=f"state read after {len(log)} concurrent updates",
        expected=BurstLog(tuple(entry.write for entry in log)),
    )
    final = run.send("GET", STATS_PATH, intent=intent)
    after = parse_stats(final.response.json(), time.monotonic()) if final.response is not None else None
    if after is None or others_changed(before, after, primary):
        log = [entry.capacity_unknown() for entry in log]
    for entry in log:
        run.judge(entry.exchange)
    run.restore(primary, 1)  # the run learns the primary's assignment again (the burst did not tell it)
