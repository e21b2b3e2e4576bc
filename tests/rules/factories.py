"""Hand-made exchanges for rule tests, shaped like real Elasticsearch answers (§2, §7).

Every helper takes only what a test varies; the defaults are a started, normal-priority
deployment ``dep`` of model ``tiny`` with one allocation of one thread on one node
with 4 processors, on a 9.3 profile.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from typing import Any

from conformance.context import Context, MlNode
from conformance.exchange import (
    DeploymentInfo,
    DeploymentObservation,
    Exchange,
    Expectation,
    Intent,
    IntentKind,
    NodeAllocation,
    Request,
    Response,
    Snapshot,
)
from conformance.rules.base import Check, Level, Rule
from conformance.schemas import profile_named

NODE = "uckeG3R8TLe2MMNBQ6AGrw"
NODE_B = "Xy7pQ2mRSeqzS0lVb9nTcw"
DEPLOYMENT = "dep"
MODEL = "tiny"
BASE = "http://127.0.0.1:9200"
ES_HEADERS = (("content-type", "application/json"), ("x-elastic-product", "Elasticsearch"))
UNSET: Any = object()


def context(
    profile: str = "9.3", nodes: Mapping[str, float] | None = None, scaling_possible: bool | None = False
) -> Context:
    found = profile_named(profile)
    chosen = nodes if nodes is not None else {NODE: 4}
    return Context(
        version=found.version,
        flavor="default",
        profile=profile,
        features=found.features,
        nodes=tuple(
            MlNode(node_id, f"ml-{index}", processors) for index, (node_id, processors) in enumerate(chosen.items())
        ),
        scaling_possible=scaling_possible,
    )


def assignment(
    n: int = 1,
    targets: Mapping[str, int] | None = None,
    current: Mapping[str, int] | None = None,
    *,
    state: str = "started",
    threads: int = 1,
    priority: str = "normal",
    adaptive: Any = None,
    max_assigned: int | None = None,
    deployment_id: str = DEPLOYMENT,
    reason: str | None = None,
) -> dict[str, Any]:
    """A TrainedModelAssignment as 8.16+ writes it (§2.2, §2.3, §2.4)."""
    targets = dict(targets) if targets is not None else {NODE: n}
    current = dict(current) if current is not None else dict(targets)
    doc: dict[str, Any] = {
        "task_parameters": {
            "model_id": MODEL,
            "deployment_id": deployment_id,
            "model_bytes": 1630,
            "threads_per_allocation": threads,
            "number_of_allocations": n,
            "queue_capacity": 1024,
            "priority": priority,
            "per_deployment_memory_bytes": 0,
            "per_allocation_memory_bytes": 0,
        },
        "routing_table": {
            node: {
                "current_allocations": current.get(node, 0),
                "target_allocations": target,
                "routing_state": "started",
                "reason": "",
            }
            for node, target in targets.items()
        },
        "assignment_state": state,
        "start_time": "2022-11-02T11:50:34.766591Z",
        "max_assigned_allocations": max_assigned if max_assigned is not None else max(sum(current.values()), n),
        "adaptive_allocations": adaptive,
    }
    if reason is not None:
        doc["reason"] = reason
    return doc


def changed(doc: Mapping[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A deep copy of ``doc`` with the dotted ``path`` set to ``value`` (UNSET removes it)."""
    result = copy.deepcopy(dict(doc))
    *parents, last = path.split(".")
    node = result
    for key in parents:
        node = node[key]
    if value is UNSET:
        node.pop(last, None)
    else:
        node[last] = value
    return result


def response(status: int, doc: Any, headers: tuple[tuple[str, str], ...] = ES_HEADERS) -> Response:
    return Response(status, headers, json.dumps(doc).encode())


def ok(doc: Mapping[str, Any]) -> Response:
    return response(200, {"assignment": doc})


def error(status: int, error_type: str, reason: str, headers: tuple[tuple[str, str], ...] = ES_HEADERS) -> Response:
    cause = {"type": error_type, "reason": reason}
    return response(status, {"error": {"root_cause": [cause], **cause}, "status": status}, headers)


def request(
    body: Any = UNSET,
    *,
    query: str = "",
    deployment_id: str = DEPLOYMENT,
    method: str = "POST",
    raw: bytes | None = None,
    content_type: str = "application/json",
) -> Request:
    url = f"{BASE}/_ml/trained_models/{deployment_id}/deployment/_update" + (f"?{query}" if query else "")
    payload = raw if raw is not None else (None if body is UNSET else json.dumps(body).encode())
    headers = (("content-type", content_type),) if payload else ()
    return Request(method, url, headers, payload)


def stats_request() -> Request:
    return Request("GET", f"{BASE}/_ml/trained_models/_stats")


def info(last: Mapping[str, Any] | None = None, *, threads: int = 1, priority: str = "normal") -> DeploymentInfo:
    return DeploymentInfo(DEPLOYMENT, MODEL, threads, priority, 1024, last)


def observation(
    n: int = 1,
    nodes: Mapping[str, int] | None = None,
    *,
    deployment_id: str = DEPLOYMENT,
    threads: int = 1,
    state: str = "started",
    priority: str = "normal",
    target_count: int | None = None,
    adaptive: Mapping[str, Any] | None = None,
    cache_size: str | None = None,
    node_threads: int | None = None,
    memory: int | None = 251661572,
) -> DeploymentObservation:
    """A deployment as stats show it; ``node_threads`` is what its routes' processes report (default ``threads``)."""
    placed = dict(nodes) if nodes is not None else {NODE: n}
    reported = threads if node_threads is None else node_threads
    return DeploymentObservation(
        deployment_id=deployment_id,
        model_id=MODEL,
        state=state,
        number_of_allocations=n,
        threads_per_allocation=threads,
        priority=priority,
        queue_capacity=1024,
        cache_size=cache_size,
        allocation_count=sum(placed.values()),
        target_allocation_count=target_count if target_count is not None else n,
        start_time_ms=1667389834766,
        nodes={node: NodeAllocation("started", count, reported) for node, count in placed.items()},
        adaptive_allocations=adaptive,
        required_native_memory_bytes=memory,
    )


def snapshot(*observations: DeploymentObservation, at: float = 0.0) -> Snapshot:
    return Snapshot({o.deployment_id: o for o in observations}, at)


def stats_doc(
    *deployments: tuple[str, int, Mapping[str, int]],
    target_count: int | None = None,
    adaptive: Any = UNSET,
    state: str = "started",
) -> dict[str, Any]:
    """A GET _ml/trained_models/_stats answer: (deployment id, count, allocations per node)."""
    entries = []
    for deployment_id, n, per_node in deployments:
        stats: dict[str, Any] = {
            "deployment_id": deployment_id,
            "model_id": MODEL,
            "threads_per_allocation": 1,
            "number_of_allocations": n,
            "queue_capacity": 1024,
            "priority": "normal",
            "state": state,
            "start_time": 1667389834766,
            "allocation_status": {
                "allocation_count": sum(per_node.values()),
                "target_allocation_count": target_count if target_count is not None else n,
                "state": "fully_allocated",
            },
            "nodes": [
                {
                    "node": {node: {"name": "ml-0"}},
                    "routing_state": {"routing_state": "started"},
                    "number_of_allocations": count,
                    "threads_per_allocation": 1,
                }
                for node, count in per_node.items()
            ],
            "peak_throughput_per_minute": 0,
        }
        if adaptive is not UNSET:
            stats["adaptive_allocations"] = adaptive
        entries.append(
            {
                "model_id": MODEL,
                "model_size_stats": {"model_size_bytes": 1630, "required_native_memory_bytes": 251661572},
                "pipeline_count": 0,
                "deployment_stats": stats,
            }
        )
    return {"count": len(entries), "trained_model_stats": entries}


def exchange(
    kind: str,
    req: Request,
    resp: Response | None,
    *,
    deployment: DeploymentInfo | None = None,
    detail: str = "",
    case: str | None = None,
    expected: Expectation | None = None,
    before: Snapshot | None = None,
    after: Snapshot | None = None,
) -> Exchange:
    intent = Intent(IntentKind(kind), deployment=deployment, detail=detail, case=case, expected=expected)
    return Exchange(req, resp, 0.01, intent, None if resp else "timed out", before, after)


def stub_rule(
    rule_id: str,
    level: Level = Level.MUST,
    *,
    check: Check = lambda e, c: [],
    source: str = "§1.6",
    description: str | None = None,
    **extra: Any,
) -> Rule:
    """A rule that applies to every exchange and answers ``check`` (no complaint by default);
    its family is the part of ``rule_id`` before the first dot."""
    return Rule(
        rule_id,
        level,
        source,
        f"desc {rule_id}" if description is None else description,
        applies=lambda e, c: True,
        check=check,
        family=rule_id.split(".")[0],
        **extra,
    )
