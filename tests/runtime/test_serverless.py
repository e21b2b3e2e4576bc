"""Serverless, and targets that refuse ``GET _nodes``: judged with the capacity rules skipped
for that reason, everything else as usual."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
from runtime_helpers import run_cli
from starlette.responses import JSONResponse

from conformance.discovery import discover
from conformance.reference.app import create_app
from conformance.reference.config import ServerConfig
from conformance.reference.server import running_server
from conformance.rules.base import CATALOGUE
from conformance.target import Target, TargetConfig

NODE_RULES = sorted(rule.id for rule in CATALOGUE if rule.needs_nodes)


def _run(url: str, tmp_path: Path) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    return run_cli(url, tmp_path, seed=9)


def test_the_reference_answers_like_serverless() -> None:
    with running_server(ServerConfig(flavor="serverless")) as url:
        root = httpx.get(url + "/").json()
        nodes = httpx.get(url + "/_nodes")
        with Target(TargetConfig(url=url)) as target:
            ctx = discover(target)
    assert root["version"]["build_flavor"] == "serverless"
    assert nodes.status_code == 410
    assert nodes.json()["error"]["type"] == "api_not_available_exception"
    assert nodes.json()["error"]["reason"] == (
        "Request for uri [/_nodes] with method [GET] exists but is not available when running in serverless mode"
    )
    assert ctx.nodes == () and "Serverless" in (ctx.capacity_unknown or "")
    assert ctx.scaling_possible is True  # the platform adds ML capacity itself


@pytest.mark.slow
@pytest.mark.parametrize("served", [["--flavor", "serverless"]], indirect=True)
def test_a_serverless_target_is_judged_without_capacity_rules(served: str, tmp_path: Path) -> None:
    done, rules = _run(served, tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert NODE_RULES and all(rules[rule_id]["outcome"] == "skip" for rule_id in NODE_RULES)
    assert all("Serverless" in rules[rule_id]["reason"] for rule_id in NODE_RULES)
    for judged in (
        "errors.unknown-deployment-404",
        "shape.assignment-schema",
        "update.same-value-is-noop",
        "errors.invalid-zero",
    ):
        assert rules[judged]["outcome"] == "pass", rules[judged]
    assert "the target can scale" in done.stdout


def _refusing_nodes(app: Any) -> Any:
    """The reference, but ``GET _nodes`` is refused (a user without ``monitor``, a proxy)."""

    async def wrapped(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == "/_nodes":
            body = {
                "error": {
                    "root_cause": [{"type": "security_exception", "reason": "unauthorized"}],
                    "type": "security_exception",
                    "reason": "unauthorized",
                },
                "status": 403,
            }
            await JSONResponse(body, 403, headers={"X-Elastic-Product": "Elasticsearch"})(scope, receive, send)
            return
        await app(scope, receive, send)

    return wrapped


@pytest.mark.slow
def test_a_target_refusing_nodes_is_judged_without_capacity_rules(tmp_path: Path) -> None:
    with running_server(app=_refusing_nodes(create_app(ServerConfig()))) as url:
        done, rules = _run(url, tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert all(
        rules[rule_id]["reason"] == "capacity cannot be discovered: GET /_nodes answered HTTP 403"
        for rule_id in NODE_RULES
    )
    assert rules["shape.assignment-schema"]["outcome"] == "pass"
