"""After a concurrent burst the run takes the primary back to a known state, adaptive settings
included, and what it learnt of the target's convergence time still holds."""

from __future__ import annotations

from conformance.reference import ServerConfig, running_server
from conformance.suite.runner import RunSettings, open_run
from conformance.suite.test_concurrency import test_concurrent_updates_lose_nothing as run_bursts
from conformance.target import TargetConfig


def test_bursts_leave_the_primary_restored_and_its_waits_intact() -> None:
    with running_server(ServerConfig()) as url:
        run = open_run(RunSettings(target=TargetConfig(url=url), run_id="dc-burst"))
        try:
            run_bursts(run, run.primary)
            seen = run.snapshot().get(run.primary)
            assert seen is not None
            assert not seen.adaptive_allocations  # the bursts' disabled settings are cleared again
            assert seen.number_of_allocations == 1
            assert run.primary not in run.settling.waits.unconverged  # no restore ran into its deadline
        finally:
            assert run.close() == []
