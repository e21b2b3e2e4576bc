"""Helpers of the runtime tests: free ports, polling with a deadline, API reads, CLI environment."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

PYTHON = sys.executable


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate, *, timeout: float = 20.0, what: str = "condition"):  # type: ignore[no-untyped-def]
    """Poll ``predicate`` with back-off until it returns a truthy value or the deadline passes."""
    deadline = time.monotonic() + timeout
    delay = 0.02
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(delay)
        delay = min(delay * 2, 0.5)


def cli_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DC_") and k != "CI"}
    env.update(extra)
    return env


def run_prefixed_objects(url: str, prefix: str = "dc-") -> list[str]:
    """Models and deployments on the target whose ids start with ``prefix``, read through the API."""
    found = []
    stats = httpx.get(url + "/_ml/trained_models/_stats").json()
    for entry in stats.get("trained_model_stats", []):
        deployment = (entry.get("deployment_stats") or {}).get("deployment_id")
        found += [i for i in (entry.get("model_id"), deployment) if i and i.startswith(prefix)]
    return sorted(set(found))


def run_cli(url: str, report_dir: Path, *flags: str, seed: int = 5) -> tuple[subprocess.CompletedProcess[str], dict]:
    """``deployment-conformance run`` against ``url`` (5 examples, CI output) and its rules by id."""
    done = subprocess.run(
        [
            PYTHON,
            "-m",
            "conformance",
            "run",
            "--target",
            url,
            "--max-examples",
            "5",
            "--seed",
            str(seed),
            "--report-dir",
            str(report_dir),
            *flags,
        ],
        capture_output=True,
        text=True,
        env=cli_env(CI="1"),
        timeout=600,
    )
    results = json.loads((report_dir / "results.json").read_text())
    return done, {rule["id"]: rule for rule in results["rules"]}
