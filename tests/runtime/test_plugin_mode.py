"""``pytest --pyargs conformance.suite --dc-target URL``: the suite as a plain pytest plugin."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from runtime_helpers import PYTHON, cli_env, run_prefixed_objects


@pytest.mark.slow
def test_the_suite_runs_under_plain_pytest_with_prefixed_options(served: str, tmp_path: Path) -> None:
    results_file = tmp_path / "results.json"
    done = subprocess.run(
        [
            PYTHON,
            "-m",
            "pytest",
            "--pyargs",
            "conformance.suite",
            "--dc-target",
            served,
            "--dc-seed",
            "4",
            "--dc-max-examples",
            "3",
            "--dc-results-file",
            str(results_file),
            "-q",
            "-p",
            "no:cacheprovider",
        ],
        cwd=tmp_path,
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    results = json.loads(results_file.read_text())
    assert results["exit_code"] == 0 and results["run"]["judged_exchanges"] > 50
    assert run_prefixed_objects(served) == []  # the plain session cleaned up after itself
