"""Issue 10's acceptance: the default run passes against a node that clamps by design.

``serve --nodes ml-0:4:2gb:hw2`` has 4 allocated processors and 2 hardware threads, so
the planner places allocations its native process cannot all run (§3.3, §3.4).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from runtime_helpers import PYTHON, cli_env

from conformance.rules.base import CATALOGUE

NATIVE = sorted(rule.id for rule in CATALOGUE if rule.family == "native")


@pytest.mark.slow
@pytest.mark.parametrize("served", [["--nodes", "ml-0:4:2gb:hw2"]], indirect=True)
def test_default_run_passes_against_a_clamping_node(served: str, tmp_path: Path) -> None:
    done = subprocess.run(
        [PYTHON, "-m", "conformance", "run", "--target", served, "--seed", "1", "--report-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        env=cli_env(),
        timeout=300,
    )
    results = json.loads((tmp_path / "results.json").read_text())
    outcomes = {rule["id"]: rule["outcome"] for rule in results["rules"]}
    assert done.returncode == 0, [r for r in results["rules"] if r["outcome"] == "fail"]
    assert {rule_id: outcomes[rule_id] for rule_id in NATIVE} == dict.fromkeys(NATIVE, "pass")
    assert outcomes["capacity.converges"] == "pass"
    assert [n["hardware_threads"] for n in results["run"]["context"]["nodes"]] == [2]
