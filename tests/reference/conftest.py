"""Fixtures for the reference server's tests: a tiny TorchScript-like archive, clients, deployments."""

from __future__ import annotations

import base64
import io
import warnings
import zipfile
from dataclasses import dataclass, replace
from typing import Any, Iterator

import pytest

warnings.filterwarnings("ignore", message=".*httpx2.*")  # starlette 1.10 nudges towards httpx2

from starlette.testclient import TestClient  # noqa: E402

from conformance.context import Version
from conformance.reference.app import create_app
from conformance.reference.cluster import Cluster
from conformance.reference.config import NodeSpec, ServerConfig

MODEL_CONFIG = {
    "description": "simple model for testing",
    "model_type": "pytorch",
    "inference_config": {"pass_through": {"tokenization": {"bert": {"with_special_tokens": False}}}},
}
VOCABULARY = ["[PAD]", "[UNK]", "these", "are", "my", "words"]
UPDATE = "/_ml/trained_models/{}/deployment/_update"

# Versions that differ in the §4 table, oldest first.
VERSIONS = ["8.6.0", "8.8.0", "8.11.0", "8.15.0", "8.15.2", "8.16.0", "9.2.0", "9.3.0"]


def torchscript_archive() -> bytes:
    """A zip shaped like ``torch.jit.save`` output (``data.pkl``, ``version``, ``constants.pkl``)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("simplemodel/data.pkl", b"\x80\x02}q\x00.")
        archive.writestr("simplemodel/version", b"3\n")
        archive.writestr("simplemodel/constants.pkl", b"\x80\x02).")
    return buffer.getvalue()


class FakeClock:
    """A settable clock so that convergence can be tested without waiting."""

    def __init__(self, now: float = 1_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Es:
    """A TestClient over one reference app, with the set-up steps of §5.3."""

    client: TestClient
    cluster: Cluster

    def put_model(self, model_id: str = "tiny", definition: bytes | None = None) -> None:
        data = torchscript_archive() if definition is None else definition
        assert self.client.put(f"/_ml/trained_models/{model_id}", json=MODEL_CONFIG).status_code == 200
        assert self.client.put(f"/_ml/trained_models/{model_id}/vocabulary",
                               json={"vocabulary": VOCABULARY}).status_code == 200
        part = {"total_definition_length": len(data), "definition": base64.b64encode(data).decode(),
                "total_parts": 1}
        assert self.client.put(f"/_ml/trained_models/{model_id}/definition/0", json=part).status_code == 200

    def start(self, model_id: str = "tiny", **params: Any) -> dict[str, Any]:
        response = self.client.post(f"/_ml/trained_models/{model_id}/deployment/_start", params=params)
        assert response.status_code == 200, response.text
        return response.json()["assignment"]

    def deploy(self, model_id: str = "tiny", **params: Any) -> dict[str, Any]:
        self.put_model(model_id)
        return self.start(model_id, **params)

    def update(self, deployment_id: str, body: Any = None, **kwargs: Any):
        if body is not None:
            kwargs["json"] = body
        return self.client.post(UPDATE.format(deployment_id), **kwargs)

    def stats(self, ids: str = "_all") -> dict[str, Any]:
        response = self.client.get(f"/_ml/trained_models/{ids}/_stats")
        assert response.status_code == 200, response.text
        return response.json()


def make_es(config: ServerConfig = ServerConfig(), clock: Any = None) -> Es:
    cluster = Cluster(config, clock=clock) if clock is not None else Cluster(config)
    return Es(TestClient(create_app(config, cluster=cluster)), cluster)


@pytest.fixture
def es() -> Iterator[Es]:
    yield make_es()


@pytest.fixture(params=VERSIONS)
def es_any(request: pytest.FixtureRequest) -> Iterator[Es]:
    yield make_es(ServerConfig(es_version=request.param))


def config(**changes: Any) -> ServerConfig:
    return replace(ServerConfig(), **changes)


def small_nodes(*processors: float) -> tuple[NodeSpec, ...]:
    return tuple(NodeSpec(f"ml-{index}", count) for index, count in enumerate(processors))


def error_of(response) -> tuple[int, str, str]:
    body = response.json()
    return response.status_code, body["error"]["type"], body["error"]["reason"]


def at_least(version: str, first: str) -> bool:
    return Version.parse(version) >= Version.parse(first)
