"""Discovery reads each ML node's hardware threads from ``GET _nodes`` ``os`` (§3.3)."""

from __future__ import annotations

from conformance.discovery import (
    context_from_dict,
    context_to_dict,
    discover,
    hardware_threads,
    ml_nodes,
)
from conformance.reference.config import ServerConfig, parse_nodes
from conformance.reference.server import running_server
from conformance.target import Target, TargetConfig


def test_reads_available_processors_of_each_ml_node() -> None:
    config = ServerConfig(nodes=parse_nodes("ml-0:4:2gb:hw2,ml-1:2.5"))
    with running_server(config) as url, Target(TargetConfig(url=url)) as target:
        ctx = discover(target)
    assert {(n.id, n.processor_capacity, n.hardware_threads) for n in ctx.nodes} == {("ml-0", 4, 2), ("ml-1", 3, 3)}
    assert context_from_dict(context_to_dict(ctx)).nodes == ctx.nodes  # travels to the pytest session


def test_a_target_without_os_info_leaves_hardware_threads_unknown() -> None:
    body = {"nodes": {"n1": {"name": "ml", "roles": ["ml"], "attributes": {"ml.allocated_processors": "4"}}}}
    assert ml_nodes(body)[0].hardware_threads is None
    for broken in (
        None,
        {},
        {"available_processors": "4"},
        {"available_processors": 0},
        {"available_processors": True},
    ):
        assert hardware_threads(broken) is None
    assert hardware_threads({"available_processors": 16, "allocated_processors": 8}) == 16
