"""Shared fixtures of the runtime tests: the reference server as a subprocess."""

from __future__ import annotations

import subprocess
from typing import Iterator

import httpx
import pytest
from runtime_helpers import PYTHON, cli_env, free_port, wait_until


@pytest.fixture
def served(request: pytest.FixtureRequest) -> Iterator[str]:
    """``deployment-conformance serve`` as a subprocess; yields its URL (args via indirect params)."""
    port = free_port()
    extra = list(getattr(request, "param", ()))
    process = subprocess.Popen(
        [PYTHON, "-m", "conformance", "serve", "--port", str(port), *extra],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=cli_env(),
    )
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return httpx.get(url + "/").status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_until(up, what="the reference server to answer")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)
