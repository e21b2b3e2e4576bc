"""Preflight: each missing prerequisite is one line naming the fix, exit 3, before anything is created."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from runtime_helpers import run_prefixed_objects

from conformance import preflight
from conformance.cli import main
from conformance.discovery import discover
from conformance.reference.app import create_app
from conformance.reference.cluster import Cluster
from conformance.reference.config import ServerConfig
from conformance.reference.errors import EsError
from conformance.reference.server import running_server
from conformance.target import Target, TargetConfig

EVERYTHING = frozenset({"manage_ml", "monitor", "manage_inference"})


def _run(url: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    code = main(["run", "--target", url])
    return code, capsys.readouterr().err.splitlines()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("config", "needle", "fix"),
    [
        (ServerConfig(nodes=()), "no ML node", "node.roles: [ml"),
        (ServerConfig(license_type="basic"), "the licence is basic", "POST _license/start_trial?acknowledge=true"),
        (
            ServerConfig(privileges=frozenset({"monitor", "manage_inference"})),
            "lacks the cluster privilege manage_ml",
            "PUT _security/role/",
        ),
        (
            ServerConfig(privileges=frozenset({"manage_ml", "manage_inference"})),
            "lacks the cluster privilege monitor",
            "PUT _security/role/",
        ),
    ],
    ids=["no-ml-node", "basic-licence", "no-manage_ml", "no-monitor"],
)
def test_each_missing_prerequisite_is_one_line_naming_the_fix(
    config: ServerConfig, needle: str, fix: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with running_server(config) as url:
        code, lines = _run(url, capsys)
        assert code == 3
        assert len(lines) == 1 and lines[0].startswith("deployment-conformance: cannot judge the target: ")
        assert needle in lines[0] and fix in lines[0]
        assert run_prefixed_objects(url) == []  # nothing was provisioned


def test_several_missing_prerequisites_are_one_line_each(capsys: pytest.CaptureFixture[str]) -> None:
    config = ServerConfig(license_type="basic", privileges=frozenset({"monitor", "manage_inference"}))
    with running_server(config) as url:
        code, lines = _run(url, capsys)
    assert code == 3
    assert "2 prerequisites are missing" in lines[0]
    assert [line.strip().split(":")[0] for line in lines[1:]] == [
        "the licence is basic",
        "user elastic lacks the cluster privilege manage_ml",
    ]


def test_a_ready_target_passes_and_the_probe_model_is_gone() -> None:
    with running_server(ServerConfig(privileges=EVERYTHING)) as url:
        with Target(TargetConfig(url=url)) as target:
            assert preflight.check(target, discover(target)) == []
        assert run_prefixed_objects(url) == []
        assert httpx.get(url + "/_ml/trained_models").json()["count"] == 0


def test_without_the_licence_the_reference_refuses_the_start_as_elasticsearch_does() -> None:
    """What preflight saves the user from: the server's own words, at provisioning."""
    with running_server(ServerConfig(license_type="basic")) as url:
        answer = httpx.put(
            url + "/_ml/trained_models/m", json={"model_type": "pytorch", "inference_config": {"pass_through": {}}}
        )
        assert answer.status_code == 200
        start = httpx.post(url + "/_ml/trained_models/m/deployment/_start")
    assert start.status_code == 403
    assert start.json()["error"]["reason"] == "current license is non-compliant for [ml]"


class _ModelsRefused(Cluster):
    def put_model(self, model_id: str, config: dict[str, Any]) -> Any:
        raise EsError(
            403,
            "cluster_block_exception",
            "index [.ml-inference-native-000002] blocked by: "
            "[TOO_MANY_REQUESTS/12/disk usage exceeded flood-stage watermark]",
        )


def test_a_model_that_cannot_be_uploaded_is_named(capsys: pytest.CaptureFixture[str]) -> None:
    config = ServerConfig()
    with running_server(config, app=create_app(config, _ModelsRefused(config))) as url:
        code, lines = _run(url, capsys)
    assert code == 3 and len(lines) == 1
    assert "cannot upload the model" in lines[0] and "HTTP 403" in lines[0] and "disk watermarks" in lines[0]


def test_security_off_is_answered_as_elasticsearch_does() -> None:
    with running_server(ServerConfig(license_type="basic")) as url:
        answer = httpx.post(url + "/_security/user/_has_privileges", json={"cluster": ["manage_ml"]})
    assert answer.status_code == 500
    assert answer.json()["error"]["reason"].startswith(
        "Security must be explicitly enabled when using a [basic] license."
    )


@pytest.mark.slow
@pytest.mark.parametrize("served", [("--license", "basic")], indirect=True)
def test_serve_takes_the_licence_as_a_flag(served: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert httpx.get(served + "/_license").json()["license"]["type"] == "basic"
    code, lines = _run(served, capsys)
    assert code == 3 and "the licence is basic" in lines[0]
