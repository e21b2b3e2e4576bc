"""`running_server`: real HTTP on a free loopback port, a caller-supplied app, clean shutdown."""

from __future__ import annotations

import base64

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from conformance.reference.config import ServerConfig
from conformance.reference.server import running_server
from reference.conftest import MODEL_CONFIG, torchscript_archive


def test_serves_on_loopback_and_stops() -> None:
    with running_server(ServerConfig(es_version="8.16.0")) as url:
        assert url.startswith("http://127.0.0.1:")
        response = httpx.get(url + "/")
        assert response.json()["version"]["number"] == "8.16.0"
        assert response.headers["x-elastic-product"] == "Elasticsearch"
    with pytest.raises(httpx.ConnectError):
        httpx.get(url + "/", timeout=2)


def test_accepts_an_already_built_app() -> None:
    broken = Starlette(routes=[Route("/", lambda request: PlainTextResponse("mutant"))])
    with running_server(app=broken) as url:
        assert httpx.get(url + "/").text == "mutant"


def test_s2_4_wait_for_started_waits_for_the_convergence_delay() -> None:
    """`wait_for=started` returns once routes started, even with a real convergence delay."""
    with running_server(ServerConfig(convergence_delay=0.3)) as url, httpx.Client(base_url=url) as client:
        data = torchscript_archive()
        client.put("/_ml/trained_models/tiny", json=MODEL_CONFIG).raise_for_status()
        client.put("/_ml/trained_models/tiny/definition/0", json={
            "definition": base64.b64encode(data).decode(), "total_definition_length": len(data), "total_parts": 1,
        }).raise_for_status()
        starting = client.post("/_ml/trained_models/tiny/deployment/_start",
                               params={"deployment_id": "quick", "wait_for": "starting"}).json()
        assert starting["assignment"]["assignment_state"] == "starting"
        started = client.post("/_ml/trained_models/tiny/deployment/_start",
                              params={"deployment_id": "waited", "wait_for": "started"}).json()
        assert started["assignment"]["assignment_state"] == "started"
