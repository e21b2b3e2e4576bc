"""The one ``_stats`` reader: what it reads, what it passes over, and that it stays the only one.

Why: the run's waits, the adoption's read-back, clean-up and the burst test all see the
target's state through :func:`conformance.observations.parse_stats`. A reader that
raised on a bad answer would end a wait instead of letting the rules judge the answer; one
that misread a field would make every wait and every restore check the wrong thing.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest

from conformance.exchange import NodeAllocation
from conformance.observations import parse_stats

PACKAGE = Path(__file__).resolve().parents[1] / "conformance"
STATS_KEYS = frozenset({"trained_model_stats", "deployment_stats"})
# Who may walk a stats document itself: the reader; the rules, which judge the raw document's
# shape (JSON paths, types, absent against null); the reference, which writes the document;
# the mutants, which rewrite it.
WALKERS = ("observations.py", "rules/", "reference/", "mutants/")


def _deployment(**fields: Any) -> dict[str, Any]:
    return {
        "deployment_id": "dep",
        "model_id": "model",
        "state": "started",
        "number_of_allocations": 2,
        "threads_per_allocation": 1,
        "priority": "normal",
        "queue_capacity": 1024,
        "cache_size": "10mb",
        "start_time": 1700000000000,
        "allocation_status": {"allocation_count": 2, "target_allocation_count": 2, "state": "fully_allocated"},
        "nodes": [
            {
                "node": {"ml-0": {"name": "ml-0"}},
                "routing_state": {"routing_state": "started"},
                "number_of_allocations": 2,
                "threads_per_allocation": 1,
            }
        ],
        **fields,
    }


def _document(*entries: Any) -> dict[str, Any]:
    return {"count": len(entries), "trained_model_stats": list(entries)}


def test_a_deployment_reads_into_its_observation() -> None:
    entry = {
        "model_id": "model",
        "model_size_stats": {"required_native_memory_bytes": 123},
        "deployment_stats": _deployment(adaptive_allocations={"enabled": False}),
    }
    snapshot = parse_stats(_document(entry), taken_at=7.5)
    assert snapshot.taken_at == 7.5 and list(snapshot.deployments) == ["dep"]
    seen = snapshot.get("dep")
    assert seen is not None
    assert (seen.model_id, seen.state, seen.number_of_allocations, seen.threads_per_allocation) == (
        "model",
        "started",
        2,
        1,
    )
    assert (seen.priority, seen.queue_capacity, seen.cache_size, seen.start_time_ms) == (
        "normal",
        1024,
        "10mb",
        1700000000000,
    )
    assert (seen.allocation_count, seen.target_allocation_count) == (2, 2)
    assert seen.nodes == {"ml-0": NodeAllocation(routing_state="started", allocations=2, threads_per_allocation=1)}
    assert seen.adaptive_allocations == {"enabled": False}
    assert seen.required_native_memory_bytes == 123


@pytest.mark.parametrize(
    "body",
    [None, [], "stats", 3, {}, {"trained_model_stats": None}, {"trained_model_stats": {"dep": {}}}],
    ids=["null", "list", "string", "number", "no-entries", "null-entries", "entries-not-a-list"],
)
def test_a_body_that_is_no_stats_document_reads_as_no_deployments(body: Any) -> None:
    snapshot = parse_stats(body, taken_at=1.0)
    assert snapshot.deployments == {} and snapshot.taken_at == 1.0


def test_entries_without_a_deployment_object_are_passed_over() -> None:
    good = {"model_id": "model", "deployment_stats": _deployment()}
    document = _document(
        None,
        "entry",
        7,
        ["deployment_stats"],
        {"model_id": "not-deployed"},  # a model without a deployment has no deployment_stats
        {"model_id": "m2", "deployment_stats": None},
        {"model_id": "m3", "deployment_stats": ["dep"]},
        {"model_id": "m4", "deployment_stats": "started"},
        good,
    )
    assert list(parse_stats(document, taken_at=0.0).deployments) == ["dep"]


def test_missing_fields_read_as_none_and_the_id_falls_back_to_the_model_id() -> None:
    """Before 8.8 ``deployment_stats`` has no ``deployment_id``: the model id is the deployment's (§1.2)."""
    own = {"model_id": "entry-model", "deployment_stats": {"model_id": "stats-model"}}
    bare = {"model_id": "bare", "deployment_stats": {}}
    snapshot = parse_stats(_document(own, bare), taken_at=0.0)
    assert sorted(snapshot.deployments) == ["bare", "stats-model"]
    seen = snapshot.get("stats-model")
    assert seen is not None and seen.model_id == "stats-model"
    for field in (
        "state",
        "number_of_allocations",
        "threads_per_allocation",
        "priority",
        "queue_capacity",
        "cache_size",
        "allocation_count",
        "target_allocation_count",
        "start_time_ms",
        "adaptive_allocations",
        "required_native_memory_bytes",
    ):
        assert getattr(seen, field) is None, field
    assert seen.nodes == {}


def test_nodes_without_a_node_object_are_passed_over_and_missing_counts_read_as_zero() -> None:
    nodes = [
        "ml-0",
        None,
        {"routing_state": {"routing_state": "started"}, "number_of_allocations": 1},
        {"node": "ml-1", "number_of_allocations": 1},
        {"node": {}, "number_of_allocations": 1},
        {"node": {"ml-2": {}}, "number_of_allocations": None},
        {"node": {"ml-3": {}}, "routing_state": {"routing_state": "starting"}, "number_of_allocations": "2"},
    ]
    entry = {"model_id": "model", "deployment_stats": _deployment(nodes=nodes)}
    seen = parse_stats(_document(entry), taken_at=0.0).get("dep")
    assert seen is not None
    assert seen.nodes == {
        "ml-2": NodeAllocation(routing_state="", allocations=0, threads_per_allocation=0),
        "ml-3": NodeAllocation(routing_state="starting", allocations=2, threads_per_allocation=0),
    }


@pytest.mark.parametrize(
    "fields",
    [
        {"allocation_status": "fully_allocated"},
        {"allocation_status": ["allocation_count"]},
        {"nodes": 5},
        {"nodes": {"ml-0": {}}},
        {"nodes": [{"node": {"ml-0": {}}, "routing_state": "started", "number_of_allocations": 1}]},
        {"nodes": [{"node": {"ml-0": {}}, "number_of_allocations": "two", "threads_per_allocation": [1]}]},
        {"nodes": [{"node": {"ml-0": {}}, "number_of_allocations": float("nan")}]},
        {"nodes": [{"node": {"ml-0": {}}, "number_of_allocations": float("inf")}]},
    ],
    ids=[
        "status-a-string",
        "status-a-list",
        "nodes-a-number",
        "nodes-an-object",
        "routing-state-a-string",
        "counts-not-numbers",
        "count-nan",
        "count-infinite",
    ],
)
def test_a_field_of_the_wrong_type_reads_as_absent_instead_of_raising(fields: dict[str, Any]) -> None:
    """A broken target's answer is the rules' to judge; the reader must not end the wait or the run."""
    entry = {"model_id": "model", "model_size_stats": "big", "deployment_stats": _deployment(**fields)}
    seen = parse_stats(_document(entry), taken_at=0.0).get("dep")
    assert seen is not None and seen.number_of_allocations == 2
    assert seen.required_native_memory_bytes is None
    if "allocation_status" in fields:
        assert (seen.allocation_count, seen.target_allocation_count) == (None, None)
    for node in seen.nodes.values():
        assert isinstance(node.allocations, int) and isinstance(node.threads_per_allocation, int)
        assert isinstance(node.routing_state, str)


def test_a_null_deployment_id_is_no_id() -> None:
    """The model id stands in for a ``null`` ``deployment_id`` as for a missing one (§1.2)."""
    entry = {"model_id": "model", "deployment_stats": _deployment(deployment_id=None, model_id=None)}
    assert list(parse_stats(_document(entry), taken_at=0.0).deployments) == ["model"]


def _walks_stats(path: Path) -> list[str]:
    """Where ``path`` looks a stats key up itself (``x.get("deployment_stats")``, ``x["trained_model_stats"]``)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        keys: list[ast.expr] = []
        if isinstance(node, ast.Subscript):
            keys = [node.slice]
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", None) in ("get", "pop", "setdefault"):
            keys = node.args[:1]
        found += [
            f"{path.relative_to(PACKAGE)}:{node.lineno}"
            for key in keys
            if isinstance(key, ast.Constant) and key.value in STATS_KEYS
        ]
    return found


def test_no_module_but_the_reader_walks_a_stats_document_itself() -> None:
    walkers = [
        place
        for path in sorted(PACKAGE.rglob("*.py"))
        if not str(path.relative_to(PACKAGE)).startswith(WALKERS)
        for place in _walks_stats(path)
    ]
    assert walkers == []
    assert _walks_stats(PACKAGE / "observations.py"), "the scan no longer sees the reader's own look-ups"
