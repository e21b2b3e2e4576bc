"""Memory in the oracle (§3.2): a node without memory for a deployment it does not host takes
none of its allocations, so the 200-or-429 prediction holds on small nodes."""

from __future__ import annotations

from dataclasses import replace

from rules.factories import NODE, NODE_B, assignment, context, info, observation, request, snapshot

from conformance.context import MlNode
from conformance.discovery import MemorySettings, discover, ml_nodes
from conformance.oracle import allocatable, free_memory, predict_update
from conformance.reference.config import NodeSpec, ServerConfig
from conformance.reference.server import running_server
from conformance.target import Target, TargetConfig

MB = 2**20
DEPLOYMENT = 250 * MB
CTX = replace(
    context(nodes={NODE: 4, NODE_B: 4}),
    nodes=(MlNode(NODE, "ml-0", 4, ml_memory_bytes=530 * MB), MlNode(NODE_B, "ml-1", 4, ml_memory_bytes=530 * MB)),
)


def _before(memory_on_b: int | None) -> object:
    """The deployment on NODE; a low-priority one (memory, no processors) of ``memory_on_b`` on NODE_B."""
    return snapshot(
        replace(observation(1), required_native_memory_bytes=DEPLOYMENT),
        replace(
            observation(1, {NODE_B: 1}, deployment_id="other", priority="low"), required_native_memory_bytes=memory_on_b
        ),
    )


def test_a_node_without_memory_adds_no_allocations() -> None:
    assert allocatable(CTX, _before(300 * MB), "dep", 1) == 4  # NODE_B: 500 - 300 < 250
    assert allocatable(CTX, _before(200 * MB), "dep", 1) == 8
    assert free_memory(CTX.nodes[1], _before(300 * MB)) == 200 * MB


def test_memory_decides_between_200_and_429() -> None:
    update = request({"number_of_allocations": 5})
    full = predict_update(update, info(assignment(1)), _before(300 * MB), CTX)
    roomy = predict_update(update, info(assignment(1)), _before(200 * MB), CTX)
    assert full.statuses == {429} and roomy.statuses == {200}


def test_unknown_memory_does_not_limit() -> None:
    assert allocatable(CTX, _before(None), "dep", 1) == 8
    unknown = replace(CTX, nodes=tuple(replace(node, ml_memory_bytes=None) for node in CTX.nodes))
    assert allocatable(unknown, _before(300 * MB), "dep", 1) == 8


def test_a_hosting_node_needs_no_more_memory() -> None:
    before = snapshot(
        replace(observation(2, {NODE: 1, NODE_B: 1}), required_native_memory_bytes=DEPLOYMENT),
        replace(
            observation(1, {NODE_B: 1}, deployment_id="other", priority="low"), required_native_memory_bytes=300 * MB
        ),
    )
    assert allocatable(CTX, before, "dep", 1) == 8


def test_discovery_sizes_ml_memory_like_elasticsearch() -> None:
    nodes = (NodeSpec("ml-0", 4, 2 * 2**30), NodeSpec("ml-1", 4, 2 * 2**30))
    with running_server(ServerConfig(nodes=nodes)) as url, Target(TargetConfig(url=url)) as target:
        found = discover(target).nodes
    assert [node.ml_memory_bytes for node in found] == [int(2 * 2**30 * 0.3)] * 2
    assert found[0].planner_memory_bytes == int(2 * 2**30 * 0.3) - 30 * MB


def test_auto_sizing_and_a_percentage_from_the_cluster_settings() -> None:
    body = {
        "nodes": {
            "n": {"roles": ["ml"], "attributes": {"ml.machine_memory": str(2**32), "ml.max_jvm_size": str(2**30)}}
        }
    }
    settings = {
        "persistent": {"xpack.ml.use_auto_machine_memory_percent": "true"},
        "defaults": {"xpack.ml.max_machine_memory_percent": "30"},
    }
    auto = ml_nodes(body, MemorySettings.of(settings))[0].ml_memory_bytes
    assert auto == round(2**32 * (2**32 - 2**30 - 200 * MB) / 2**32)
    assert (
        ml_nodes(body, MemorySettings.of({"transient": {"xpack.ml.max_machine_memory_percent": "50"}}))[
            0
        ].ml_memory_bytes
        == 2**31
    )
    assert ml_nodes({"nodes": {"n": {"roles": ["ml"], "attributes": {}}}})[0].ml_memory_bytes is None
