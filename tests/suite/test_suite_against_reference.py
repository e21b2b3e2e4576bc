"""The suite, run in-process against the reference server, passes and exercises every error rule.

A false failure here means a traffic generator sends something the rules misjudge (or
the reference server is wrong); an error rule left "not exercised" means a scenario
stopped reaching it. Each configuration is one full suite run, so the list is short:
the newest behaviour, the oldest (no query form, no deployment ids, 500 for truncated
JSON), a single small node, and slow convergence with scaling possible.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conformance.reference.config import NodeSpec, ServerConfig
from conformance.reference.server import running_server

pytestmark = pytest.mark.slow  # each test is a whole suite run


def run_suite(config: ServerConfig, tmp_path: Path, *extra: str) -> tuple[int, dict]:
    results_file = tmp_path / "results.json"
    with running_server(config) as url:
        exit_code = pytest.main([
            "--pyargs", "conformance.suite", "--target", url, "--results-file", str(results_file),
            "--max-examples", "4", "--seed", "7", "-q", "-p", "no:randomly", "-x", *extra,
        ])
    return int(exit_code), json.loads(results_file.read_text())


def outcomes(results: dict) -> dict[str, str]:
    return {rule["id"]: rule["outcome"] for rule in results["rules"]}


@pytest.mark.parametrize(
    "config",
    [
        pytest.param(ServerConfig(es_version="8.6.0"), id="8.6"),
        pytest.param(ServerConfig(es_version="8.15.0", nodes=(NodeSpec("ml-0", 1.5),)), id="8.15-one-small-node"),
    ],
)
def test_suite_passes_and_exercises_every_error_rule(config: ServerConfig, tmp_path: Path) -> None:
    exit_code, results = run_suite(config, tmp_path)
    found = outcomes(results)
    assert exit_code == 0, [r for r in results["rules"] if r["outcome"] == "fail"]
    assert "fail" not in found.values()
    unexercised = sorted(
        rule_id for rule_id, outcome in found.items()
        if rule_id.startswith("errors.") and outcome == "not exercised"
    )
    assert unexercised == []


def test_newest_profile_leaves_no_rule_unexercised(tmp_path: Path) -> None:
    """Against the newest behaviour every rule of the catalogue is judged at least once,
    the inference-endpoint 409 and the not-started 409 included (none "not exercised")."""
    exit_code, results = run_suite(ServerConfig(), tmp_path)
    found = outcomes(results)
    assert exit_code == 0
    assert sorted(rule_id for rule_id, outcome in found.items() if outcome == "not exercised") == []
    assert found["errors.invalid-inference-endpoint-deployment"] == "pass"


def test_suite_passes_with_slow_convergence_and_scaling(tmp_path: Path) -> None:
    config = ServerConfig(scaling_possible=True, convergence_delay=0.5)
    exit_code, results = run_suite(config, tmp_path)
    assert exit_code == 0, [r for r in results["rules"] if r["outcome"] == "fail"]
