"""`running_server`: real HTTP on a free loopback port, a caller-supplied app, clean shutdown."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from conformance.context import Version
from conformance.provisioning import Provisioner
from conformance.reference.config import ServerConfig
from conformance.reference.server import running_server
from conformance.target import Target, TargetConfig


def test_serves_on_loopback_and_stops() -> None:
    with running_server(ServerConfig(es_version="8.16.0")) as url:
        assert url.startswith("http://127.0.0.1:")
        response = httpx.get(url + "/")
        assert response.json()["version"]["number"] == "8.16.0"
        assert response.headers["x-elastic-product"] == "Elasticsearch"
    with pytest.raises(httpx.ConnectError):
        httpx.get(url + "/", timeout=2)


def test_answers_carry_elasticsearchs_headers_only() -> None:
    """Netty sends neither ``Server`` nor ``Date``; uvicorn would add both."""
    with running_server(ServerConfig()) as url:
        headers = httpx.get(url + "/").headers
    assert "server" not in headers and "date" not in headers
    assert headers["content-type"] == "application/json"


def test_accepts_an_already_built_app() -> None:
    broken = Starlette(routes=[Route("/", lambda request: PlainTextResponse("mutant"))])
    with running_server(app=broken) as url:
        assert httpx.get(url + "/").text == "mutant"


@pytest.mark.slow
def test_s2_4_wait_for_started_waits_for_the_convergence_delay() -> None:
    """`wait_for=started` returns once routes started, even with a real convergence delay."""
    config = ServerConfig(convergence_delay=0.3)
    with running_server(config) as url, Target(TargetConfig(url=url)) as target:
        provisioner = Provisioner(target, "tiny", Version.parse(config.es_version))
        provisioner.upload_model("tiny")
        settings = {
            "threads_per_allocation": 1,
            "number_of_allocations": 1,
            "priority": "normal",
            "adaptive_allocations": None,
        }
        starting = provisioner.start("tiny", deployment_id="quick", wait_for="starting", **settings)
        assert starting["assignment_state"] == "starting"
        started = provisioner.start("tiny", deployment_id="waited", wait_for="started", **settings)
        assert started["assignment_state"] == "started"
