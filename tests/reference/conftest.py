"""Fixtures for the reference server's tests: the shipped tiny model, clients, deployments."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import pytest

from conformance.assets import tiny_model
from conformance.context import Version
from conformance.reference.app import create_app
from conformance.reference.cluster import Cluster
from conformance.reference.config import ServerConfig

warnings.filterwarnings("ignore", message=".*httpx2.*")  # starlette 1.10 nudges towards httpx2

from starlette.testclient import TestClient  # noqa: E402 - imported once the warning above is filtered

UPDATE = "/_ml/trained_models/{}/deployment/_update"

# Versions that differ in the §4 table, oldest first.
VERSIONS = ["8.6.0", "8.8.0", "8.11.0", "8.15.0", "8.15.2", "8.16.0", "9.2.0", "9.3.0", "9.4.0"]


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

    def put_model(self, model_id: str = "tiny", *, broken: bool = False) -> None:
        """Upload the shipped tiny model (§5.3 steps 2-4); ``broken`` uploads its non-TorchScript bytes."""
        model = tiny_model()
        part = model.broken_definition_part() if broken else model.definition_part()
        assert self.client.put(f"/_ml/trained_models/{model_id}", json=model.config).status_code == 200
        assert (
            self.client.put(
                f"/_ml/trained_models/{model_id}/vocabulary", json={"vocabulary": model.vocabulary}
            ).status_code
            == 200
        )
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

    def deployment_stats(self, deployment_id: str) -> dict[str, Any]:
        """The ``deployment_stats`` of the one deployment ``deployment_id``."""
        return self.stats(deployment_id)["trained_model_stats"][0]["deployment_stats"]


def make_es(config: ServerConfig = ServerConfig(), clock: Any = None) -> Es:
    cluster = Cluster(config, clock=clock) if clock is not None else Cluster(config)
    return Es(TestClient(create_app(config, cluster=cluster)), cluster)


@pytest.fixture
def es() -> Iterator[Es]:
    yield make_es()


@pytest.fixture
def deployed(es: Es) -> Es:
    """The default server with the tiny model started as deployment ``dep``."""
    es.deploy(deployment_id="dep")
    return es


def config(**changes: Any) -> ServerConfig:
    return replace(ServerConfig(), **changes)


def deployed_on(version: str, **start: Any) -> Es:
    """A server emulating ``version`` with deployment ``dep`` started (before 8.8 the
    deployment id is the model id, §1.2)."""
    es = make_es(config(es_version=version))
    params = {"deployment_id": "dep"} if at_least(version, "8.8") else {}
    es.deploy("tiny" if at_least(version, "8.8") else "dep", **params, **start)
    return es


def error_of(response) -> tuple[int, str, str]:
    body = response.json()
    return response.status_code, body["error"]["type"], body["error"]["reason"]


def at_least(version: str, first: str) -> bool:
    return Version.parse(version) >= Version.parse(first)
