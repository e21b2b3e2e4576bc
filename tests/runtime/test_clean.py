"""``clean``: a run killed with SIGKILL leaves objects; ``clean`` removes exactly those.

The run is the real command in a subprocess against ``serve`` in another; it is killed at
a moment read from the server (polled, never timed), and a foreign deployment, a foreign
model whose id merely starts with ``dc-`` and a foreign inference endpoint share the server.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from runtime_helpers import PYTHON, cli_env, run_prefixed_objects

from conformance import cleaning
from conformance.cli import main
from conformance.context import Version
from conformance.provisioning import Provisioner
from conformance.reference.app import create_app
from conformance.reference.cluster import Cluster
from conformance.reference.config import ServerConfig
from conformance.reference.errors import EsError
from conformance.reference.server import running_server
from conformance.target import Target, TargetConfig

Moment = Callable[[str], bool]


def _run_objects(url: str) -> list[str]:
    with Target(TargetConfig(url=url)) as target:
        return [str(item) for item in cleaning.find_leftovers(target)]


def _foreign(url: str) -> None:
    """Someone else's objects: a deployment, a model named ``dc-custom-...``, an inference endpoint."""
    owner = Provisioner(Target(TargetConfig(url=url)), "user", Version(9, 3))
    owner.upload_model("user-model")
    owner.upload_model("dc-custom-model")
    owner.start(
        "user-model",
        deployment_id="user-dep",
        threads_per_allocation=1,
        number_of_allocations=2,
        priority="normal",
        adaptive_allocations=None,
        wait_for="started",
    )
    owner.create_inference_endpoint("user-endpoint", "user-model")


def _foreign_intact(url: str) -> None:
    stats = httpx.get(url + "/_ml/trained_models/user-dep/_stats").json()["trained_model_stats"]
    assert stats[0]["deployment_stats"]["number_of_allocations"] == 2
    assert stats[0]["deployment_stats"]["state"] == "started"
    models = {m["model_id"] for m in httpx.get(url + "/_ml/trained_models").json()["trained_model_configs"]}
    assert {"user-model", "dc-custom-model"} <= models
    endpoints = httpx.get(url + "/_inference/_all").json()["endpoints"]
    assert [e["inference_id"] for e in endpoints if not e["inference_id"].startswith("dc-")] == ["user-endpoint"]


def _model_uploaded(url: str) -> bool:
    """The run's own model (not the preflight's probe, which is deleted again at once)."""
    return any(item.startswith("model dc-") and item.endswith("-model") for item in _run_objects(url))


def _primary_started(url: str) -> bool:
    return any(item.startswith("deployment dc-") and item.endswith("-primary") for item in _run_objects(url))


def _several_deployments(url: str) -> bool:
    """The primary runs and a second model (the broken one) is up: its deployment came and went,
    or is there now; the model stays until clean-up, so the moment cannot be missed."""
    objects = _run_objects(url)
    return _primary_started(url) and sum(item.startswith("model dc-") for item in objects) >= 2


def _kill_when(url: str, moment: Moment, tmp_path: Any) -> None:
    """Start ``run`` and SIGKILL it as soon as ``moment`` holds on the server."""
    process = subprocess.Popen(
        [PYTHON, "-m", "conformance", "run", "--target", url, "--seed", "3"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=cli_env(),
    )
    try:
        deadline = time.monotonic() + 120
        while not moment(url):
            assert process.poll() is None, "the run ended before the moment to kill it came"
            assert time.monotonic() < deadline, "the moment to kill the run never came"
            time.sleep(0.005)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        assert process.returncode == -signal.SIGKILL
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)


@pytest.mark.slow
@pytest.mark.parametrize("served", [("--es-version", "9.3.0")], indirect=True)
@pytest.mark.parametrize(
    "moment",
    [_model_uploaded, _primary_started, _several_deployments],
    ids=["model-uploaded", "primary-started", "several-deployments"],
)
def test_clean_removes_what_a_killed_run_left_and_nothing_else(
    served: str, moment: Moment, tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    _foreign(served)
    _kill_when(served, moment, tmp_path)
    left = _run_objects(served)
    assert left, "a killed run leaves its objects"
    capsys.readouterr()

    assert main(["clean", "--target", served, "--dry-run"]) == 0
    listed = capsys.readouterr().out
    assert all(f"would remove {item}" in listed for item in left)
    assert _run_objects(served) == left  # a dry run removes nothing

    assert main(["clean", "--target", served]) == 0
    assert f"removed {len(left)} of {len(left)}" in capsys.readouterr().out
    assert _run_objects(served) == [] and run_prefixed_objects(served, "dc-") == ["dc-custom-model"]
    _foreign_intact(served)


def _objects_of(url: str, run_id: str) -> None:
    runner = Provisioner(Target(TargetConfig(url=url)), run_id, Version(9, 3))
    runner.upload_model(f"{run_id}-model")
    runner.start(
        f"{run_id}-model",
        deployment_id=f"{run_id}-primary",
        threads_per_allocation=1,
        number_of_allocations=1,
        priority="normal",
        adaptive_allocations=None,
        wait_for="started",
    )
    runner.create_inference_endpoint(f"{run_id}-endpoint", f"{run_id}-model")


def test_run_id_limits_clean_to_that_run(capsys: pytest.CaptureFixture[str]) -> None:
    with running_server(ServerConfig()) as url:
        _objects_of(url, "dc-aaaaaa")
        _objects_of(url, "dc-bbbbbb")
        assert main(["clean", "--target", url, "--run-id", "dc-aaaaaa"]) == 0
        assert "removed 4 of 4" in capsys.readouterr().out
        assert _run_objects(url) == [
            "inference endpoint dc-bbbbbb-endpoint",
            "deployment dc-bbbbbb-endpoint",
            "deployment dc-bbbbbb-primary",
            "model dc-bbbbbb-model",
        ]
        with Target(TargetConfig(url=url)) as target:
            assert cleaning.leftovers(target) == _run_objects(url)


class _RemovalRefused(Cluster):
    """A server that refuses to stop or delete anything (a missing privilege)."""

    def stop_deployments(self, pattern: str, allow_no_match: bool) -> None:
        raise EsError(
            403, "security_exception", "action [cluster:admin/xpack/ml/trained_models/deployment/stop] is unauthorized"
        )

    def delete_model(self, model_id: str, force: bool) -> None:
        raise EsError(
            403, "security_exception", "action [cluster:admin/xpack/ml/trained_models/delete] is unauthorized"
        )


def test_what_clean_cannot_remove_is_named_with_exit_3(capsys: pytest.CaptureFixture[str]) -> None:
    config = ServerConfig()
    with running_server(config, app=create_app(config, _RemovalRefused(config))) as url:
        _objects_of(url, "dc-cccccc")
        assert main(["clean", "--target", url]) == 3
        out = capsys.readouterr().out
        assert "not removed: deployment dc-cccccc-primary" in out and "HTTP 403" in out
        assert "still present: deployment dc-cccccc-primary" in out


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["clean"], "clean needs --target URL"),
        (["clean", "--target", "http://127.0.0.1:1", "--run-id", "user-dep"], "--run-id must look like dc-1a2b3c"),
    ],
)
def test_clean_refuses_to_guess(
    argv: list[str], needle: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DC_TARGET", raising=False)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and needle in err


def test_the_run_id_pattern_takes_only_run_objects() -> None:
    assert cleaning.is_run_object("dc-1a2b3c-primary")
    assert cleaning.is_run_object("dc-1a2b3c-primary", "dc-1a2b3c")
    assert not cleaning.is_run_object("dc-1a2b3c-primary", "dc-ffffff")
    for foreign in ("dc-custom-model", "dc-1a2b3c", "user-dc-1a2b3c-x", "DC-1A2B3C-x", "dc--x"):
        assert not cleaning.is_run_object(foreign), foreign


def test_run_warns_about_leftovers_and_names_the_command(capsys: pytest.CaptureFixture[str]) -> None:
    config = ServerConfig(privileges=frozenset({"monitor"}))  # the preflight then stops the run before any traffic
    with running_server(config) as url:
        _objects_of(url, "dc-dddddd")
        assert main(["run", "--target", url]) == 3
        out = capsys.readouterr().out  # a notice of the run, beside its progress
    assert "4 object(s) of earlier runs on the target" in out
    assert f"remove them with: deployment-conformance clean --target {url}" in out
