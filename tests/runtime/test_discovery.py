"""Discovery against the reference server: version, ML nodes, processors, profile, errors."""

from __future__ import annotations

import subprocess

import pytest
from runtime_helpers import PYTHON, cli_env, free_port

from conformance.context import Version
from conformance.discovery import discover, ml_nodes, scaling_possible
from conformance.reference.config import ServerConfig, parse_nodes
from conformance.reference.server import running_server
from conformance.target import SetupError, Target, TargetConfig


def test_discovers_version_nodes_processors_and_profile() -> None:
    config = ServerConfig(es_version="8.10.2", nodes=parse_nodes("ml-a:2.5,ml-b:8"))
    with running_server(config) as url, Target(TargetConfig(url=url)) as target:
        ctx = discover(target)
    assert ctx.version == Version(8, 10, 2)
    assert ctx.profile == "8.8"
    assert {(n.id, n.allocated_processors, n.processor_capacity) for n in ctx.nodes} == {
        ("ml-a", 2.5, 3),
        ("ml-b", 8.0, 8),
    }
    assert ctx.scaling_possible is False


def test_profile_flag_overrides_the_version() -> None:
    with running_server(ServerConfig(es_version="9.3.0")) as url, Target(TargetConfig(url=url)) as target:
        ctx = discover(target, "8.11")
    assert (ctx.profile, ctx.version) == ("8.11", Version(8, 11))


def test_node_roles_and_processor_attributes() -> None:
    body = {
        "nodes": {
            "n1": {"name": "data", "roles": ["data"], "attributes": {"ml.allocated_processors": "4"}},
            "n2": {
                "name": "ml1",
                "roles": ["ml"],
                "attributes": {"ml.allocated_processors_double": "1.5", "ml.allocated_processors": "2"},
            },
            "n3": {"name": "ml2", "roles": ["ml", "data"], "attributes": {"ml.allocated_processors": "6"}},
        }
    }
    assert [(n.id, n.allocated_processors) for n in ml_nodes(body)] == [("n2", 1.5), ("n3", 6.0)]


def test_scaling_possible_from_max_lazy_ml_nodes() -> None:
    assert scaling_possible({"defaults": {"xpack.ml.max_lazy_ml_nodes": "0"}}, 2) is False
    assert scaling_possible({"persistent": {"xpack.ml.max_lazy_ml_nodes": "5"}}, 2) is True
    assert scaling_possible({"defaults": {}}, 2) is None
    assert scaling_possible(None, 2) is None


def test_closed_port_is_a_setup_error() -> None:
    with (
        Target(TargetConfig(url=f"http://127.0.0.1:{free_port()}")) as target,
        pytest.raises(SetupError, match="cannot reach"),
    ):
        discover(target)


@pytest.mark.slow
def test_cli_exits_3_with_one_line_when_the_target_is_unreachable() -> None:
    done = subprocess.run(
        [PYTHON, "-m", "conformance", "run", "--target", f"http://127.0.0.1:{free_port()}"],
        capture_output=True,
        text=True,
        env=cli_env(),
        timeout=60,
    )
    assert done.returncode == 3
    assert len(done.stderr.strip().splitlines()) == 1 and "cannot reach" in done.stderr
