"""However the target misbehaves, the run ends by itself with a verdict that does not lie.

Each test serves the reference (or a mutant) behind a layer that misbehaves the way
real targets do, runs the whole suite against it over loopback, and checks the exit
code and what the verdict says about itself.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import time

import pytest
from runtime.runtime_helpers import run_prefixed_objects
from suite.misbehaving import BreaksMidRun, Drips, HugeStats, NeverAnswersLargeCounts
from suite.suite_runs import failed, judge

import conformance.mutants  # noqa: F401 - registers the mutants
from conformance.budget import CLEANUP_ALLOWANCE
from conformance.mutants import REGISTRY
from conformance.reference import ServerConfig, create_app
from conformance.reference.server import running_server
from conformance.results import EXIT_FAILED, EXIT_OK, EXIT_UNJUDGED
from conformance.target import TargetConfig

CONFIG = ServerConfig()


@pytest.mark.slow
def test_a_failure_found_before_the_target_broke_still_fails_the_run() -> None:
    """MUST failures found, then every update refused: exit 1, and the verdict says it is incomplete."""
    floats = REGISTRY["integral-floats"]
    results = judge(floats.config, app=BreaksMidRun(floats.build(floats.config), healthy=40))
    assert results.exit_code == EXIT_FAILED
    assert "shape.integers-written-as-integers" in [rule_id for rule_id, _ in failed(results)]
    assert results.holes, "the run could not go on, and the verdict must say so"


@pytest.mark.slow
def test_a_traffic_test_that_errors_never_reads_green() -> None:
    """Updates refused from the start (the suite cannot even restore its deployment): not exit 0."""
    results = judge(CONFIG, app=BreaksMidRun(create_app(CONFIG), healthy=0))
    assert results.exit_code != EXIT_OK
    assert any("errored" in hole for hole in results.holes)
    assert [t for t in results.run["tests"] if t["outcome"] == "error"]


@pytest.mark.slow
def test_updates_that_never_get_an_answer_leave_the_run_unjudged_not_green() -> None:
    results = judge(CONFIG, app=NeverAnswersLargeCounts(create_app(CONFIG)), target=TargetConfig(read_timeout=1.0))
    assert results.exit_code in (EXIT_FAILED, EXIT_UNJUDGED)
    indeterminate = [r.id for r in results.rules if r.outcome == "indeterminate" and r.level == "MUST"]
    assert indeterminate and results.holes


@pytest.mark.slow
def test_a_dripping_target_is_stopped_by_the_time_budget() -> None:
    """Every update answer drips in a byte a second: the budget bounds the whole run, clean-up included."""
    budget = 30.0  # the figure the issue names
    with running_server(CONFIG, app=Drips(create_app(CONFIG))) as url:
        started = time.monotonic()
        results = judge_at(url, time_budget=budget)
        took = time.monotonic() - started
        assert took < budget + CLEANUP_ALLOWANCE + 5, took
        assert results.exit_code == EXIT_UNJUDGED
        assert any("budget" in hole for hole in results.holes)
        assert run_prefixed_objects(url, results.run["run_id"]) == []


@pytest.mark.slow
def test_a_50_mb_answer_does_not_cost_the_run_its_memory(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The answer is given up past the size limit: the run's peak memory stays far below 200 MB."""
    with running_server(CONFIG, app=HugeStats(create_app(CONFIG), 50 * 2**20)) as url:
        probe = (
            "import sys\n"
            "from conformance.cli import main\n"
            f"code = main(['run', '--target', {url!r}, '--max-examples', '2', '--report-dir', {str(tmp_path)!r}])\n"
            # VmHWM is this process's own peak; ru_maxrss would carry over the forking parent's
            "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM:')][0]\n"
            "print('peak-kb', int(hwm.split()[1]))\n"
            "sys.exit(code)\n"
        )
        done = subprocess.run(
            [sys.executable, "-c", probe],
            capture_output=True,
            text=True,
            timeout=120,
            env={k: v for k, v in os.environ.items() if not k.startswith("DC_")},
        )
    peak_kb = int(done.stdout.rsplit("peak-kb", 1)[1].split()[0])
    assert done.returncode == EXIT_UNJUDGED, done.stdout + done.stderr
    assert peak_kb < 200 * 1024, f"peak memory {peak_kb / 1024:.0f} MB"


def judge_at(url: str, **settings: object):  # type: ignore[no-untyped-def]
    """One run against an already served URL (``judge`` serves its own)."""
    import secrets

    from conformance.suite import RunSettings, run_suite

    run_settings = RunSettings(
        target=TargetConfig(url=url), run_id=f"dc-{secrets.token_hex(3)}", seed=7, max_examples=4, **settings
    )  # type: ignore[arg-type]
    return run_suite(dataclasses.replace(run_settings))
