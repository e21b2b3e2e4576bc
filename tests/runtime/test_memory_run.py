"""Small nodes: against ``serve`` with two 4-processor nodes that have memory for two
deployments each, the default run passes (the oracle counts memory as the planner does)
and the memory-bound scenario really ran; the mutant whose planner ignores memory is caught."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from runtime_helpers import PYTHON, cli_env

from conformance.mutants.selftest import main as selftest

SMALL_NODES = "ml-0:4:2gb,ml-1:4:2gb"


@pytest.mark.slow
@pytest.mark.parametrize("served", [["--nodes", SMALL_NODES]], indirect=True)
def test_default_run_passes_on_memory_bound_nodes(served: str, tmp_path: Path) -> None:
    done = subprocess.run(
        [PYTHON, "-m", "conformance", "run", "--target", served, "--report-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        env=cli_env(CI="1"),
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    results = json.loads((tmp_path / "results.json").read_text())
    tests = {t["test"].rsplit("::", 1)[-1]: t["outcome"] for t in results["run"]["tests"]}
    assert tests["test_memory_bounds_capacity"] == "passed"
    outcomes = {r["id"]: r["outcome"] for r in results["rules"]}
    assert outcomes["capacity.fitting-increase-planned-in-full"] == "pass"
    assert outcomes["capacity.over-capacity-answer"] == "pass"


@pytest.mark.slow
def test_a_planner_that_ignores_memory_is_caught(tmp_path: Path) -> None:
    selftest(["--only", "memory-ignored-by-planner", "--report-dir", str(tmp_path), "--max-examples", "5"])
    target = json.loads((tmp_path / "selftest.json").read_text())["targets"][0]
    assert target["verdict"] == "caught" and target["expected_seen"], target
    assert "capacity.node-memory-not-exceeded (MUST)" in target["failed_rules"]
