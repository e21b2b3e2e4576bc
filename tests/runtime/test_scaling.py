"""No surprise cost: against a target that can scale, a run says so before it starts and sends
no update beyond capacity (each would add ML nodes) unless ``--allow-scaling`` is given.

The server counts the updates it could not place in full: those are the scale-ups."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from runtime_helpers import run_cli

from conformance.reference.app import create_app
from conformance.reference.cluster import Cluster
from conformance.reference.config import ServerConfig
from conformance.reference.model import Deployment
from conformance.reference.server import running_server

SCALABLE = ServerConfig(scaling_possible=True)


class _CountsScaleUps(Cluster):
    """The reference, counting every increase beyond what its nodes hold."""

    def __init__(self, config: ServerConfig) -> None:
        super().__init__(config)
        self.beyond_capacity: list[int] = []

    def increase(self, deployment: Deployment, wanted: int) -> None:
        if deployment.total_target + self.plan_increase(deployment, wanted).total < wanted:
            self.beyond_capacity.append(wanted)
        super().increase(deployment, wanted)


def _run(flags: list[str], tmp_path: Path) -> tuple[subprocess.CompletedProcess[str], list[int], dict[str, Any]]:
    cluster = _CountsScaleUps(SCALABLE)
    with running_server(SCALABLE, app=create_app(SCALABLE, cluster)) as url:
        done, rules = run_cli(url, tmp_path, *flags, seed=5)
    return done, cluster.beyond_capacity, rules


@pytest.mark.slow
def test_a_default_run_sends_nothing_beyond_capacity(tmp_path: Path) -> None:
    done, beyond, rules = _run([], tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert beyond == []
    assert "the target can scale: updates beyond capacity would add ML nodes" in done.stdout
    assert "--allow-scaling sends them" in done.stdout
    for rule_id in ("capacity.over-capacity-answer", "capacity.partial-has-reason"):
        assert rules[rule_id]["outcome"] == "skip", rules[rule_id]
        assert "--allow-scaling" in rules[rule_id]["reason"]


@pytest.mark.slow
def test_allow_scaling_sends_them(tmp_path: Path) -> None:
    done, beyond, rules = _run(["--allow-scaling"], tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert len(beyond) >= 2  # the scripted over-ask and generated ones
    assert "--allow-scaling is given: updates beyond capacity will be sent" in done.stdout
    assert rules["capacity.over-capacity-answer"]["outcome"] == "pass"


def test_ml_nodes_below_max_ml_node_size_mean_scaling_is_possible() -> None:
    """§1.6 C.8: more lazy nodes than ML nodes, or an ML node below ``xpack.ml.max_ml_node_size``."""
    from conformance.discovery import scaling_possible

    settings = {"defaults": {"xpack.ml.max_lazy_ml_nodes": "0", "xpack.ml.max_ml_node_size": "0b"}}
    assert scaling_possible(settings, 2, 2**31) is False
    autoscaled = {"persistent": {"xpack.ml.max_ml_node_size": "64gb"}, **settings}
    assert scaling_possible(autoscaled, 2, 2**31) is True
    assert scaling_possible(autoscaled, 2, 64 * 2**30) is False  # already the largest node size
