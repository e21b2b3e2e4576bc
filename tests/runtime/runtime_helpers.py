"""Helpers of the runtime tests: free ports, polling with a deadline, API reads, CLI environment."""

from __future__ import annotations

import os
import socket
import sys
import time

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
