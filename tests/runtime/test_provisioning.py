"""Provisioning through the API: everything prefixed is removed, adopted deployments restored."""

from __future__ import annotations

import httpx
import pytest
from runtime_helpers import run_prefixed_objects

from conformance.context import Version
from conformance.exchange import Intent
from conformance.observations import parse_stats
from conformance.provisioning import Provisioner
from conformance.reference.config import ServerConfig
from conformance.reference.server import running_server
from conformance.suite.runner import RunSettings, open_run
from conformance.target import Target, TargetConfig


@pytest.mark.slow
@pytest.mark.parametrize("es_version", ["8.7.1", "9.3.0"])
def test_close_removes_every_model_and_deployment_of_the_run(es_version: str) -> None:
    with running_server(ServerConfig(es_version=es_version)) as url:
        run = open_run(RunSettings(target=TargetConfig(url=url), run_id="dc-prov1"))
        second = run.deployments.start(number_of_allocations=2)
        broken = run.deployments.start(broken=True, wait_for="starting")
        assert second.deployment_id.startswith("dc-prov1") and broken.deployment_id.startswith("dc-prov1")
        assert run.primary in run.snapshot().deployments
        if Version.parse(es_version) < Version(8, 8):
            assert second.model_id == second.deployment_id  # §1.2: one model per deployment before 8.8
        assert len(run_prefixed_objects(url, "dc-prov1")) >= 3
        assert run.close() == []
        assert run_prefixed_objects(url, "dc-prov1") == []
        models = httpx.get(url + "/_ml/trained_models").json().get("trained_model_configs", [])
        assert not [m for m in models if m["model_id"].startswith("dc-prov1")]


def test_adopted_deployment_is_restored_not_removed() -> None:
    with running_server(ServerConfig(es_version="9.3.0")) as url:
        owner = Provisioner(Target(TargetConfig(url=url)), "user", Version(9, 3))
        owner.upload_model("user-model")
        owner.start(
            "user-model",
            deployment_id="user-dep",
            threads_per_allocation=1,
            number_of_allocations=2,
            priority="normal",
            adaptive_allocations=None,
            wait_for="started",
        )
        run = open_run(RunSettings(target=TargetConfig(url=url), run_id="dc-adopt", deployment_id="user-dep"))
        assert run.primary == "user-dep"
        run.restore("user-dep", 1)
        assert run.snapshot().get("user-dep").number_of_allocations == 1
        assert run.close() == []
        with Target(TargetConfig(url=url)) as target:
            stats = target.request("GET", "/_ml/trained_models/user-dep/_stats", intent=Intent("other"))
        assert parse_stats(stats.response.json(), taken_at=0.0).get("user-dep").number_of_allocations == 2
