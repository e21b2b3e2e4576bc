"""JSON renderings of cluster records, in Elasticsearch's field order (§2.2-§2.4, §5, §7)."""

from __future__ import annotations

import datetime
import math
from functools import lru_cache
from typing import Any

from conformance.reference.config import NodeSpec
from conformance.reference.model import Deployment, TrainedModel
from conformance.reference.planner import MB, memory_estimate
from conformance.reference.versions import Behaviour

ML_ROLES = ["ml", "remote_cluster_client"]
_LOOPBACK = "127.0.0.1"


@lru_cache(maxsize=1024)
def iso_instant(epoch_ns: int) -> str:
    """``strict_date_optional_time_nanos`` in UTC: 3-9 fraction digits and ``Z`` (§2.2).
    Cached: a deployment's start time is written on every answer about it."""
    seconds, nanos = divmod(epoch_ns, 1_000_000_000)
    stamp = datetime.datetime.fromtimestamp(seconds, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S")
    fraction = f"{nanos:09d}".rstrip("0").ljust(3, "0")
    return f"{stamp}.{fraction}Z"


def task_parameters_json(deployment: Deployment, behaviour: Behaviour) -> dict[str, Any]:
    """§2.3 emitted order; ``deployment_id`` from 8.8, memory fields from 8.11 (§2.6)."""
    params: dict[str, Any] = {"model_id": deployment.model_id}
    if behaviour.deployment_ids:
        params["deployment_id"] = deployment.deployment_id
    params["model_bytes"] = deployment.model_bytes
    params["threads_per_allocation"] = deployment.threads_per_allocation
    params["number_of_allocations"] = deployment.number_of_allocations
    params["queue_capacity"] = deployment.queue_capacity
    if deployment.cache_size is not None:
        params["cache_size"] = deployment.cache_size
    params["priority"] = deployment.priority
    if behaviour.memory_fields:
        params["per_deployment_memory_bytes"] = deployment.per_deployment_memory_bytes
        params["per_allocation_memory_bytes"] = deployment.per_allocation_memory_bytes
    return params


def adaptive_json(settings: dict[str, Any] | None) -> dict[str, Any] | None:
    """§1.4 ``toXContent``: ``enabled`` always (false when null), bounds only when set."""
    if settings is None:
        return None
    body: dict[str, Any] = {"enabled": bool(settings.get("enabled"))}
    for key in ("min_number_of_allocations", "max_number_of_allocations"):
        if settings.get(key) is not None:
            body[key] = settings[key]
    return body


def assignment_json(deployment: Deployment, behaviour: Behaviour) -> dict[str, Any]:
    """§2.2 ``TrainedModelAssignment.toXContent`` field order."""
    routing_table = {}
    for node_id, route in deployment.routes.items():
        entry: dict[str, Any] = {
            "current_allocations": route.current,
            "target_allocations": route.target,
            "routing_state": route.state,
        }
        if route.reason is not None:
            entry["reason"] = route.reason
        routing_table[node_id] = entry
    body: dict[str, Any] = {
        "task_parameters": task_parameters_json(deployment, behaviour),
        "routing_table": routing_table,
        "assignment_state": deployment.state,
    }
    if deployment.reason is not None:
        body["reason"] = deployment.reason
    body["start_time"] = iso_instant(deployment.start_time_ns)
    body["max_assigned_allocations"] = deployment.max_assigned_allocations
    if behaviour.adaptive_allocations:
        body["adaptive_allocations"] = adaptive_json(deployment.adaptive_allocations)
    return body


def node_attributes(node: NodeSpec) -> dict[str, str]:
    """``GET _nodes`` attributes are strings, as in Elasticsearch (§3.2, §10.6)."""
    return {
        "ml.allocated_processors_double": repr(float(node.allocated_processors)),
        "ml.allocated_processors": str(math.ceil(node.allocated_processors)),
        "ml.machine_memory": str(node.memory_bytes),
        "ml.max_jvm_size": str(node.max_jvm_bytes),
        "xpack.installed": "true",
    }


def _node_identity(node: NodeSpec) -> dict[str, str]:
    """The fields every rendering of a node starts with."""
    return {"name": node.id, "ephemeral_id": f"{node.id}-ephemeral", "transport_address": f"{_LOOPBACK}:9300"}


def node_json(node: NodeSpec, behaviour: Behaviour) -> dict[str, Any]:
    """A node of ``GET _nodes``."""
    return {
        **_node_identity(node),
        "host": _LOOPBACK,
        "ip": _LOOPBACK,
        "version": str(behaviour.version),
        "build_flavor": "default",
        "build_type": "docker",
        "roles": list(ML_ROLES),
        "attributes": node_attributes(node),
        "os": os_json(node),
    }


def os_json(node: NodeSpec) -> dict[str, Any]:
    """``OsInfo.toXContent`` (ES ``server/.../monitor/os/OsInfo.java``): ``available_processors`` is the
    JVM's ``Runtime.availableProcessors()`` (``OsProbe.osInfo``), here the node's hardware threads;
    ``allocated_processors`` is ``node.processors`` rounded up (``EsExecutors.allocatedProcessors``)."""
    return {
        "refresh_interval_in_millis": 1000,
        "name": "Linux",
        "pretty_name": "Linux",
        "arch": "amd64",
        "version": "6.1.0",
        "available_processors": node.threads,
        "allocated_processors": math.ceil(node.allocated_processors),
    }


def _stats_node(node: NodeSpec) -> dict[str, Any]:
    """A node as ``_stats`` lists it per route: :func:`node_json` without host, ip, version and build."""
    return {**_node_identity(node), "roles": list(ML_ROLES), "attributes": node_attributes(node)}


def deployment_stats_json(deployment: Deployment, nodes: dict[str, NodeSpec], behaviour: Behaviour) -> dict[str, Any]:
    """``deployment_stats`` of ``GET _stats``: start_time in epoch millis (§2.2, §10.5)."""
    allocation_count = allocation_count_of(deployment)
    target = deployment.number_of_allocations
    body: dict[str, Any] = {}
    if behaviour.deployment_ids:
        body["deployment_id"] = deployment.deployment_id
    body["model_id"] = deployment.model_id
    body["threads_per_allocation"] = deployment.threads_per_allocation
    body["number_of_allocations"] = deployment.number_of_allocations
    if behaviour.adaptive_allocations and deployment.adaptive_allocations is not None:
        body["adaptive_allocations"] = adaptive_json(deployment.adaptive_allocations)
    body["queue_capacity"] = deployment.queue_capacity
    if deployment.cache_size is not None:
        body["cache_size"] = deployment.cache_size
    body["priority"] = deployment.priority
    body["start_time"] = deployment.start_time_ns // 1_000_000
    body["state"] = deployment.state
    if deployment.reason is not None:
        body["reason"] = deployment.reason
    body["allocation_status"] = {
        "allocation_count": allocation_count,
        "target_allocation_count": target,
        "state": _allocation_state(allocation_count, target),
    }
    routes = deployment.routes.values()
    body.update(
        {
            "error_count": 0,
            "inference_count": sum(r.inference_count for r in routes),
            "rejected_execution_count": 0,
            "timeout_count": sum(r.timeout_count for r in routes),
            "peak_throughput_per_minute": 0,
            "throughput_last_minute": 0,
        }
    )
    body["nodes"] = [
        _node_stats(node_id, route, deployment, nodes[node_id], behaviour)  # routes on known nodes only
        for node_id, route in deployment.routes.items()
    ]
    return body


def allocation_count_of(deployment: Deployment) -> int:
    """``allocation_status.allocation_count``: current allocations of ``started`` routes."""
    return sum(r.current for r in deployment.routes.values() if r.state == "started" and r.current > 0)


def _allocation_state(count: int, target: int) -> str:
    """``AllocationStatus.calculateState`` (§2.5)."""
    if count == 0 and target > 0:
        return "starting"
    return "started" if count < target else "fully_allocated"


def _node_stats(
    node_id: str, route: Any, deployment: Deployment, node: NodeSpec, behaviour: Behaviour
) -> dict[str, Any]:
    routing_state: dict[str, Any] = {"routing_state": route.state}
    if route.reason:
        routing_state["reason"] = route.reason
    entry: dict[str, Any] = {
        "node": {node_id: _stats_node(node)},
        "routing_state": routing_state,
        "inference_count": route.inference_count,
        "error_count": 0,
        "rejected_execution_count": 0,
        "timeout_count": route.timeout_count,
        "peak_throughput_per_minute": 0,
        "throughput_last_minute": 0,
        "number_of_pending_requests": 0,
    }
    if route.state == "started" and route.process is not None:  # what the process reports once running (§3.4)
        entry["inference_cache_hit_count"] = route.cache_hits
        if behaviour.inference_rss_stats:  # the reference's process "uses" what the planner reserved for it
            entry["average_inference_process_memory_rss_bytes"] = memory_estimate(
                deployment.model_bytes, deployment.cache_size_bytes
            )
        if route.last_access_ms is not None:
            entry["last_access"] = route.last_access_ms
        entry["number_of_allocations"] = route.process.allocations
        entry["threads_per_allocation"] = route.process.threads_per_allocation
        entry["start_time"] = deployment.start_time_ns // 1_000_000
    return entry


def model_config_json(model: TrainedModel, behaviour: Behaviour, definition_status: bool = False) -> dict[str, Any]:
    """``TrainedModelConfig.toXContent``; ``fully_defined`` only with ``include=definition_status`` (§11.1)."""
    body: dict[str, Any] = {
        "model_id": model.model_id,
        "model_type": model.config.get("model_type", "pytorch"),
        "created_by": "api_user",
        "version": str(behaviour.version),
        "create_time": model.create_time_ms,
        "model_size_bytes": model.model_bytes,
        "estimated_operations": 0,
        "license_level": "platinum",
    }
    for key in ("description", "tags", "metadata", "input", "inference_config"):
        if key in model.config:
            body[key] = model.config[key]
    body.setdefault("tags", [])
    body.setdefault("input", {"field_names": ["input"]})  # ES TrainedModelType.PYTORCH's default input
    body["location"] = {"index": {"name": ".ml-inference-native-000002"}}
    if "prefix_strings" in model.config:
        body["prefix_strings"] = model.config["prefix_strings"]
    if definition_status:
        body["fully_defined"] = model.fully_defined
    return body


ELSER_MEMORY_BYTES = 2004 * MB
"""``StartTrainedModelDeploymentAction.ELSER_1_OR_2_MEMORY_USAGE``: a flat figure for ELSER (§3.2)."""


def required_native_memory_bytes(model: TrainedModel, deployment: Deployment | None, allocations: int) -> int:
    """``estimateMemoryUsageBytes`` without the cache (§3.2), as ``_stats`` reports it: the per-* memory
    a model declares grows with ``allocations``; ELSER ids get a flat figure."""
    if model.model_id.startswith((".elser_model_1", ".elser_model_2")):
        return ELSER_MEMORY_BYTES
    base = memory_estimate(model.model_bytes, None)
    per_deployment = (
        deployment.per_deployment_memory_bytes if deployment else model.declared_memory("per_deployment_memory_bytes")
    )
    per_allocation = (
        deployment.per_allocation_memory_bytes if deployment else model.declared_memory("per_allocation_memory_bytes")
    )
    if per_deployment == 0 and per_allocation == 0:
        return base
    return max(base, per_deployment + per_allocation * allocations + model.model_bytes)


def model_stats_json(
    model: TrainedModel,
    deployment: Deployment | None,
    nodes: dict[str, NodeSpec],
    behaviour: Behaviour,
    allocations_for_memory: int = 0,
) -> dict[str, Any]:
    """One ``trained_model_stats`` entry; ``allocations_for_memory`` is the count the memory figure
    is computed with (the caller knows whether that is the deployment's own or every deployment's)."""
    body: dict[str, Any] = {
        "model_id": model.model_id,
        "model_size_stats": {
            "model_size_bytes": model.model_bytes,
            "required_native_memory_bytes": required_native_memory_bytes(model, deployment, allocations_for_memory),
        },
        "pipeline_count": 0,
    }
    if deployment is not None:
        body["deployment_stats"] = deployment_stats_json(deployment, nodes, behaviour)
    return body
