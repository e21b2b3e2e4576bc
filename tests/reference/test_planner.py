"""§3.2 placement and §1.6 C.7 reduction, as pure functions and through the API."""

from __future__ import annotations

import pytest

from conformance.reference.config import NodeSpec
from conformance.reference.planner import (
    BASE_DEPLOYMENT_MEMORY,
    Demand,
    NodeLoad,
    human_bytes,
    memory_estimate,
    place,
    reduce_to,
)
from reference.conftest import config, error_of, make_es


def load(
    node_id: str, processors: int, used: int = 0, memory: int = 16 * 2**30, used_memory: int = 0, low: int = 0
) -> NodeLoad:
    return NodeLoad(node_id, processors, used, memory, used_memory, low)


def test_s3_2_allocations_times_threads_fit_processors() -> None:
    placement = place(Demand(5, 2, False, BASE_DEPLOYMENT_MEMORY), [load("a", 4), load("b", 4, used=2)], set())
    assert placement.added == {"a": 2, "b": 1}
    assert "free processors [0]" in placement.reasons[0]


def test_s3_2_memory_is_needed_once_per_node() -> None:
    memory = memory_estimate(1630, None)
    assert memory == 240 * 2**20 + 2 * 1630
    placement = place(
        Demand(4, 1, False, memory), [load("a", 8, memory=memory + 1), load("b", 8, memory=memory - 1)], set()
    )
    assert placement.added == {"a": 4}
    assert placement.reasons == ()


def test_s3_2_memory_shortage_reason() -> None:
    placement = place(Demand(1, 1, False, 2**30), [load("a", 8, memory=2**29)], set())
    assert placement.total == 0
    assert placement.reasons[0].startswith(
        "Could not assign (more) allocations on node [a]. Reason: This node has "
        "insufficient available memory. Available memory for ML [536870912 (512mb)]"
    )


def test_s3_2_no_nodes() -> None:
    assert place(Demand(1, 1, False, 1), [], set()).reasons == ("No ML nodes exist in the cluster",)


def test_s3_2_low_priority_does_not_consume_processors() -> None:
    placement = place(Demand(1, 1, True, BASE_DEPLOYMENT_MEMORY), [load("a", 1, used=1)], set())
    assert placement.added == {"a": 1}


def test_s3_2_cache_size_above_model_size_adds_memory() -> None:
    assert memory_estimate(100, 1100) == BASE_DEPLOYMENT_MEMORY + 200 + 1000


def test_s1_6_c7_reducer_prefers_removing_whole_nodes() -> None:
    assert reduce_to({"a": 3, "b": 1}, 3) == {"a": 3}
    assert reduce_to({"a": 2, "b": 2}, 2) == {"b": 2}
    assert reduce_to({"a": 4}, 1) == {"a": 1}
    assert sum(reduce_to({"a": 3, "b": 3, "c": 2}, 5).values()) == 5


def test_s5_3_human_bytes_like_elasticsearch() -> None:
    assert human_bytes(1630) == "1.5kb"
    assert human_bytes(240 * 2**20 + 3260) == "240mb"
    assert human_bytes(16 * 2**30) == "16gb"


def test_s10_6_fractional_processors_round_up() -> None:
    es = make_es(config(nodes=(NodeSpec("a", 1.5),)))
    es.deploy(deployment_id="dep")
    assert es.update("dep", {"number_of_allocations": 2}).status_code == 200
    assert error_of(es.update("dep", {"number_of_allocations": 3}))[0] == 429


def test_s3_2_other_deployments_share_processors() -> None:
    es = make_es(config(nodes=(NodeSpec("a", 4),)))
    es.deploy(deployment_id="one", threads_per_allocation="2")
    es.start("tiny", deployment_id="two", threads_per_allocation="1")
    assert error_of(es.update("two", {"number_of_allocations": 3}))[0] == 429
    assert es.update("two", {"number_of_allocations": 2}).status_code == 200


def test_s3_2_low_priority_deployments_fit_on_a_full_node() -> None:
    es = make_es(config(nodes=(NodeSpec("a", 1),)))
    es.deploy(deployment_id="normal")
    es.start("tiny", deployment_id="low", priority="low")
    assert es.deployment_stats("low")["priority"] == "low"


@pytest.mark.parametrize(("version", "status"), [("9.2.0", 200), ("9.3.0", 400)])
def test_s1_6_d_low_priority_increase_before_and_after_the_fix(version: str, status: int) -> None:
    """§3.2: low priority draws on a fixed pool of 100 cores per node, so before §1.6 D's fix a
    low-priority deployment on a one-processor node could be updated to many allocations (200);
    from the fix on the update is refused for its priority."""
    es = make_es(config(es_version=version, nodes=(NodeSpec("a", 1),)))
    es.deploy(deployment_id="normal")
    es.start("tiny", deployment_id="low", priority="low")
    answer = es.update("low", {"number_of_allocations": 5})
    assert answer.status_code == status
    if status == 200:
        routes = answer.json()["assignment"]["routing_table"]
        assert routes["a"]["target_allocations"] == 5
