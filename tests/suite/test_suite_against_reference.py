"""The suite, run in-process against the reference server, passes and exercises every error rule.

A false failure here means a traffic generator sends something the rules misjudge (or
the reference server is wrong); an error rule left "not exercised" means a scenario
stopped reaching it. Each configuration is one full suite run through
``conformance.suite.run_suite``, the entry point the CLI uses.
"""

from __future__ import annotations

import pytest
from suite.suite_runs import failed, judge, outcomes

from conformance.reference.config import NodeSpec, ServerConfig
from conformance.results import NOT_EXERCISED

pytestmark = pytest.mark.slow  # each test is a whole suite run


@pytest.mark.parametrize(
    "config",
    [
        pytest.param(ServerConfig(es_version="8.6.0"), id="8.6"),
        pytest.param(ServerConfig(es_version="8.15.0", nodes=(NodeSpec("ml-0", 1.5),)), id="8.15-one-small-node"),
    ],
)
def test_suite_passes_and_exercises_every_error_rule(config: ServerConfig) -> None:
    results = judge(config)
    found = outcomes(results)
    assert results.exit_code == 0, (failed(results), results.holes)
    unexercised = sorted(
        rule_id for rule_id, outcome in found.items() if rule_id.startswith("errors.") and outcome == NOT_EXERCISED
    )
    assert unexercised == []


def test_newest_profile_leaves_no_rule_unexercised() -> None:
    """Against the newest behaviour every rule of the catalogue is judged at least once,
    the inference-endpoint 409 and the not-started 409 included (none "not exercised")."""
    results = judge(ServerConfig())
    found = outcomes(results)
    assert results.exit_code == 0, (failed(results), results.holes)
    assert sorted(rule_id for rule_id, outcome in found.items() if outcome == NOT_EXERCISED) == []
    assert found["errors.invalid-inference-endpoint-deployment"] == "pass"
    assert all(test["outcome"] in ("passed", "skipped") for test in results.run["tests"])


def test_suite_passes_with_slow_convergence_and_scaling() -> None:
    results = judge(ServerConfig(scaling_possible=True, convergence_delay=0.5))
    assert results.exit_code == 0, (failed(results), results.holes)
