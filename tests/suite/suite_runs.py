"""Whole suite runs against a served reference (or mutant) for the project's tests."""

from __future__ import annotations

import dataclasses
import secrets
from typing import Any

from conformance.reference.config import ServerConfig
from conformance.reference.server import running_server
from conformance.results import Results
from conformance.suite import RunSettings, run_suite
from conformance.target import TargetConfig


def judge(config: ServerConfig, *, app: Any = None, **settings: Any) -> Results:
    """One run of the suite (seed 7, 4 examples unless given) against ``config`` served on loopback."""
    with running_server(config, app=app) as url:
        values: dict[str, Any] = {"seed": 7, "max_examples": 4, **settings}
        target = values.pop("target", TargetConfig(url=url))
        run_settings = RunSettings(
            target=dataclasses.replace(target, url=url), run_id=f"dc-{secrets.token_hex(3)}", **values
        )
        return run_suite(run_settings)


def outcomes(results: Results) -> dict[str, str]:
    return {rule.id: rule.outcome for rule in results.rules}


def failed(results: Results) -> list[tuple[str, Any]]:
    return [(r.id, (r.evidence or {}).get("messages")) for r in results.rules if r.outcome == "fail"]
