"""Adopting a deployment (``--deployment-id``): whatever the run did, the settings it had are
back at the end, read back through ``_stats``; a restore that fails or differs is a problem."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from conformance.cli import main
from conformance.context import Version
from conformance.exchange import Intent
from conformance.provisioning import Provisioner
from conformance.reference.app import create_app
from conformance.reference.cluster import Cluster
from conformance.reference.config import ServerConfig
from conformance.reference.server import running_server
from conformance.suite.runner import RunSettings, open_run
from conformance.target import Target, TargetConfig

OWNED = "user-dep"


def _own_deployment(url: str, count: int, adaptive: Mapping[str, Any] | None) -> None:
    """A deployment the user made, outside the run."""
    owner = Provisioner(Target(TargetConfig(url=url)), "user", Version(9, 3))
    owner.upload_model("user-model")
    owner.start(
        "user-model",
        deployment_id=OWNED,
        threads_per_allocation=1,
        number_of_allocations=count,
        priority="normal",
        adaptive_allocations=adaptive,
        wait_for="started",
    )


def _stats_of(url: str) -> Mapping[str, Any]:
    with Target(TargetConfig(url=url)) as target:
        answer = target.request("GET", f"/_ml/trained_models/{OWNED}/_stats", intent=Intent("other"))
    return answer.response.json()["trained_model_stats"][0]["deployment_stats"]


def _disturb(run: Any) -> None:
    """What a run does to the adopted deployment: new counts, adaptive settings on, off, reset."""
    run.update(OWNED, body={"adaptive_allocations": None})
    run.update(OWNED, body={"number_of_allocations": 1})
    run.update(OWNED, body={"adaptive_allocations": {"enabled": True, "min_number_of_allocations": 2}})
    run.update(OWNED, body={"adaptive_allocations": {"enabled": False, "max_number_of_allocations": 7}})
    run.update(OWNED, body={"number_of_allocations": 5})


@pytest.mark.slow
@pytest.mark.parametrize(
    ("count", "adaptive"),
    [
        (3, None),  # count only
        (2, {"enabled": True, "min_number_of_allocations": 2, "max_number_of_allocations": 4}),  # starts at min
        (3, {"enabled": False, "max_number_of_allocations": 6}),  # present but disabled
        (2, {"enabled": False}),
    ],
    ids=["count-only", "adaptive-enabled", "adaptive-disabled", "adaptive-disabled-unbounded"],
)
def test_adopted_settings_are_restored_exactly(count: int, adaptive: dict[str, Any] | None) -> None:
    with running_server(ServerConfig()) as url:
        _own_deployment(url, count, adaptive)
        before = _stats_of(url)
        run = open_run(RunSettings(target=TargetConfig(url=url), run_id="dc-adopt", deployment_id=OWNED))
        assert OWNED not in run.settling.waits.unconverged  # the first wait ended on a settled deployment
        _disturb(run)
        assert (
            _stats_of(url)["number_of_allocations"] != count or _stats_of(url).get("adaptive_allocations") != adaptive
        )
        assert run.close() == []
        after = _stats_of(url)
        assert after["number_of_allocations"] == before["number_of_allocations"] == count
        assert after.get("adaptive_allocations") == before.get("adaptive_allocations")
        assert after.get("adaptive_allocations") == adaptive


def test_adopted_count_is_restored_before_adaptive_allocations_exist() -> None:
    with running_server(ServerConfig(es_version="8.15.2")) as url:
        owner = Provisioner(Target(TargetConfig(url=url)), "user", Version(8, 15, 2))
        owner.upload_model("user-model")
        owner.start(
            "user-model",
            deployment_id=OWNED,
            threads_per_allocation=1,
            number_of_allocations=3,
            priority="normal",
            adaptive_allocations=None,
            wait_for="started",
        )
        run = open_run(RunSettings(target=TargetConfig(url=url), run_id="dc-adopt", deployment_id=OWNED))
        run.update(OWNED, body={"number_of_allocations": 1})
        assert run.close() == []
        assert _stats_of(url)["number_of_allocations"] == 3


class _NullResetIgnored(Cluster):
    """A server that acknowledges ``adaptive_allocations: null`` but keeps the settings."""

    def merge_adaptive(self, existing: dict[str, Any] | None, update: Any) -> dict[str, Any] | None:
        return existing if update is None else super().merge_adaptive(existing, update)


def test_a_restore_that_reads_back_differently_is_a_problem() -> None:
    config = ServerConfig()
    with running_server(config, app=create_app(config, _NullResetIgnored(config))) as url:
        _own_deployment(url, 2, None)
        run = open_run(RunSettings(target=TargetConfig(url=url), run_id="dc-adopt", deployment_id=OWNED))
        run.update(OWNED, body={"adaptive_allocations": {"enabled": False, "max_number_of_allocations": 4}})
        problems = run.close()
        assert len(problems) == 1 and "restored wrongly" in problems[0] and OWNED in problems[0]
        assert "'max_number_of_allocations': 4" in problems[0]


def test_a_restore_the_target_refuses_is_a_problem() -> None:
    with running_server(ServerConfig()) as url:
        _own_deployment(url, 2, None)
        run = open_run(RunSettings(target=TargetConfig(url=url), run_id="dc-adopt", deployment_id=OWNED))
        with Target(TargetConfig(url=url)) as other_client:  # someone stops it during the run
            other_client.request("POST", f"/_ml/trained_models/{OWNED}/deployment/_stop", intent=Intent("other"))
        problems = run.close()
        assert len(problems) == 1 and "not restored" in problems[0] and "HTTP 404" in problems[0]


def test_adoption_with_several_workers_is_refused(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DC_TARGET", raising=False)
    assert main(["run", "--deployment-id", OWNED, "--workers", "2"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--deployment-id needs --workers 1" in err
