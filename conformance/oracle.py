"""An independent model of what an ``_update`` call must answer (§1.3-§1.6, §3.2).

The suite never imports the reference server: a bug shared by both would hide itself.
This module is the second, deliberately simple opinion. From what was observed before
the call (a :class:`~conformance.exchange.Snapshot`), the discovered capacity and the
profile's features it predicts the status (or the set of acceptable statuses) and the
state the call leaves, following Elasticsearch's order of checks:

1. transport: method (405, §1.1) and content type (406, §1.5);
2. REST parsing: query parameters (§1.3), body (§1.4, §1.5), unrecognised parameters,
   a body next to ``?number_of_allocations`` (§1.5);
3. request validation (§1.6 A), the low-priority rejection (§1.6 D);
4. cluster service (§1.6 C): 404, adaptive merge and checks, no-op 200, 409, then
   increase (capacity: 429 or partial 200) or decrease (200).

Capacity is processors and memory, as the planner counts them (§3.2): a deployment
reserves its memory estimate (240 MB + 2 x model bytes for the tiny model) on every node
it runs on, so a node without that much free memory takes no allocation of a deployment
it does not host yet, whatever its free processors. Small nodes (a 2-4 GB container, a
trial deployment) run out of memory long before processors.
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from conformance.context import Context, Feature, MlNode
from conformance.exchange import DeploymentInfo, Request, Snapshot
from conformance.update_request import (
    ABSENT,
    Absent,
    body_field,
    int_field,
    path_id,
    query_value,
    requested_allocations,
)

ADAPTIVE_KEYS = ("enabled", "min_number_of_allocations", "max_number_of_allocations")
BODY_FIELDS = frozenset({"model_id", "number_of_allocations", "model_threads", "adaptive_allocations", "timeout"})
ALWAYS_ALLOWED_PARAMS = frozenset(
    {"timeout", "master_timeout", "pretty", "human", "error_trace", "filter_path", "format"}
)
JSON_MEDIA_TYPES = frozenset({"application/json", "application/vnd.elasticsearch+json", "application/x-ndjson"})
OTHER_XCONTENT_TYPES = frozenset(
    {
        "application/yaml",
        "application/cbor",
        "application/smile",
        "application/vnd.elasticsearch+yaml",
        "application/vnd.elasticsearch+cbor",
        "application/vnd.elasticsearch+smile",
    }
)
TIME_VALUE = re.compile(r"-1|0|\d+(nanos|micros|ms|s|m|h|d)")
FRACTIONAL_TIME_VALUE = re.compile(r"\d+\.\d+(nanos|micros|ms|s|m|h|d)")


class Unknown(enum.Enum):
    """The one value of settings after a call whose answer (200 or 429) the oracle cannot tell."""

    UNKNOWN = "unknown"


UNKNOWN: Final = Unknown.UNKNOWN


@dataclass(frozen=True)
class Prediction:
    """What an update must answer.

    ``statuses`` are the acceptable HTTP statuses (several when Elasticsearch versions or
    unknown settings allow more than one). ``number_of_allocations`` and
    ``adaptive_allocations`` are the stored values after the call (``None`` for the
    count when it cannot be known; adaptive settings in their output form, ``None``
    when unset, :data:`UNKNOWN` when they cannot be known). ``certain`` is ``False``
    when the model lacks facts to judge by.
    """

    statuses: frozenset[int]
    number_of_allocations: int | None
    adaptive_allocations: Mapping[str, Any] | Unknown | None
    changes_state: bool
    certain: bool
    why: str
    error_type: str | None = None


@dataclass(frozen=True)
class _Stored:
    """The deployment as it was before the call."""

    exists: bool
    number_of_allocations: int | None
    state: str | None
    priority: str
    threads_per_allocation: int
    adaptive_allocations: Mapping[str, Any] | None


def predict_update(
    request: Request,
    deployment: DeploymentInfo | None,
    before: Snapshot | None,
    ctx: Context,
) -> Prediction:
    """Predict the answer to ``request`` (an ``_update`` call) from the state before it.

    ``deployment`` is what the suite knows of the addressed deployment (``None`` for an
    id it never created); ``before`` is every deployment on the target just before the
    call. Without ``before`` the existence, state and stored count come from
    ``deployment.last_assignment`` and the prediction is marked uncertain.
    """
    target_id = path_id(request) or ""
    stored = _stored(target_id, deployment, before)
    rejected = _transport(request) or _parse(request, target_id, ctx)
    if rejected is not None:
        statuses, error_type, why = rejected
        return _unchanged(stored, statuses, error_type, why, certain=bool(statuses))
    sent = _sent(request)
    rejected = _validate(sent, stored, ctx)
    if rejected is not None:
        return _unchanged(stored, *rejected)
    if (
        ctx.has(Feature.INFERENCE_ENDPOINT_CONFLICT)
        and deployment is not None
        and deployment.created_by_inference_endpoint
    ):
        return _unchanged(
            stored,
            frozenset({409}),
            "status_exception",
            "§1.6 B: the deployment belongs to an inference endpoint (checked before existence)",
        )
    return _cluster_service(sent, stored, target_id, before, ctx)


@dataclass(frozen=True)
class _Sent:
    number_of_allocations: int | None
    adaptive_allocations: Any | Absent  # None (reset) or the raw object


def _stored(target_id: str, deployment: DeploymentInfo | None, before: Snapshot | None) -> _Stored:
    last = deployment.last_assignment if deployment else None
    params = (last or {}).get("task_parameters") or {}
    observed = before.get(target_id) if before is not None else None
    # Stats leave unset settings out, so an observed deployment without them has none.
    adaptive = observed.adaptive_allocations if observed is not None else (last or {}).get("adaptive_allocations")
    return _Stored(
        exists=observed is not None if before is not None else deployment is not None,
        number_of_allocations=(
            observed.number_of_allocations
            if observed and observed.number_of_allocations is not None
            else params.get("number_of_allocations")
        ),
        state=observed.state if observed and observed.state else (last or {}).get("assignment_state"),
        priority=(observed.priority if observed and observed.priority else None)
        or (deployment.priority if deployment else "normal"),
        threads_per_allocation=(
            observed.threads_per_allocation
            if observed and observed.threads_per_allocation
            else deployment.threads_per_allocation
            if deployment
            else 1
        ),
        adaptive_allocations=output_form(adaptive) if isinstance(adaptive, Mapping) else None,
    )


def _unchanged(
    stored: _Stored, statuses: frozenset[int], error_type: str | None, why: str, certain: bool = True
) -> Prediction:
    return Prediction(
        statuses, stored.number_of_allocations, stored.adaptive_allocations, False, certain, why, error_type
    )


_Rejection = tuple[frozenset[int], str | None, str]


def _reject(status: int | frozenset[int], error_type: str | None, why: str) -> _Rejection:
    return (frozenset({status}) if isinstance(status, int) else status), error_type, why


def _transport(request: Request) -> _Rejection | None:
    if request.method.upper() != "POST":
        return _reject(405, None, f"§1.1: only POST is routed, got {request.method}")
    if not request.body:
        return None
    media_type = (request.header("content-type") or "").split(";", 1)[0].strip().lower()
    if not media_type:
        return _reject(406, None, "§1.5: a body without Content-Type is refused")
    if media_type in OTHER_XCONTENT_TYPES:
        return _reject(frozenset(), None, f"{media_type} bodies are not modelled")
    if media_type not in JSON_MEDIA_TYPES:
        return _reject(406, None, f"§1.5: Content-Type {media_type} is not supported")
    return None


def _parse(request: Request, target_id: str, ctx: Context) -> _Rejection | None:
    """REST-layer errors in the order BaseRestHandler meets them (§1.3, §1.5)."""
    for name, value in request.query:
        if name in ("timeout", "master_timeout"):
            if FRACTIONAL_TIME_VALUE.fullmatch(value):
                return _reject(frozenset(), None, f"fractional time value {name}={value} is not modelled")
            if not TIME_VALUE.fullmatch(value):
                return _reject(400, None, f"§1.5: {name}={value!r} is no time value")
    query_allowed = ctx.has(Feature.QUERY_NUMBER_OF_ALLOCATIONS)
    query_count = query_value(request, "number_of_allocations") if query_allowed else None
    if query_count is not None:
        if requested_allocations(request) is None:
            return _reject(400, "illegal_argument_exception", "§1.3: the query count is no int")
    else:
        body_error = _parse_body(request, target_id, ctx)
        if body_error is not None:
            return body_error
    allowed = ALWAYS_ALLOWED_PARAMS | ({"number_of_allocations"} if query_allowed else frozenset())
    unknown = [name for name, _ in request.query if name not in allowed]
    if unknown:
        return _reject(400, "illegal_argument_exception", f"§1.3: unrecognized parameter [{unknown[0]}]")
    if query_count is not None and request.body:
        return _reject(400, "illegal_argument_exception", "§1.5: the query count and a body cannot be combined")
    return None


def _parse_body(request: Request, target_id: str, ctx: Context) -> _Rejection | None:
    if not request.body:
        return _reject(400, "parse_exception", "§1.5: request body is required")
    text = request.body.decode("utf-8", "replace")
    try:
        doc = json.loads(text)
    except ValueError as exc:
        truncated = getattr(exc, "pos", 0) >= len(text.rstrip())
        if truncated and not ctx.has(Feature.TRUNCATED_JSON_400):
            return _reject(frozenset({400, 500}), None, "§10.2: truncated JSON gave 500 before 8.16")
        return _reject(400, "x_content_parse_exception", "§1.5: the body is not JSON")
    if not isinstance(doc, dict):
        return _reject(400, "x_content_parse_exception", "§1.5: the body is no JSON object")
    fields = BODY_FIELDS if ctx.has(Feature.ADAPTIVE_ALLOCATIONS) else BODY_FIELDS - {"adaptive_allocations"}
    unknown = [name for name in doc if name not in fields]
    if unknown:
        return _reject(400, "x_content_parse_exception", f"§1.4: unknown field [{unknown[0]}]")
    for name in ("number_of_allocations", "model_threads"):
        if name in doc and int_field(doc[name]) is None:
            return _reject(400, "x_content_parse_exception", f"§1.5: {name} {doc[name]!r} is no int")
    adaptive = doc.get("adaptive_allocations", ABSENT)
    if adaptive is not ABSENT and adaptive is not None:
        problem = _adaptive_parse_problem(adaptive)
        if problem:
            return _reject(400, "x_content_parse_exception", f"§1.4: {problem}")
    if "timeout" in doc:
        timeout = doc["timeout"]
        if isinstance(timeout, str) and FRACTIONAL_TIME_VALUE.fullmatch(timeout):
            return _reject(frozenset(), None, f"fractional time value timeout={timeout} is not modelled")
        if not isinstance(timeout, str) or not TIME_VALUE.fullmatch(timeout):
            return _reject(400, None, f"§1.4, §1.5: body timeout {timeout!r} is no time value")
    if "model_id" in doc and doc["model_id"] != target_id:
        return _reject(400, "status_exception", "§1.4: body model_id differs from the path")
    return None


def _adaptive_parse_problem(adaptive: Any) -> str | None:
    if not isinstance(adaptive, dict):
        return "adaptive_allocations is neither an object nor null"
    for key, value in adaptive.items():
        if key not in ADAPTIVE_KEYS:
            return f"[autoscaling_settings] unknown field [{key}]"
        if key == "enabled" and value is not None and not isinstance(value, bool):
            return "adaptive_allocations.enabled is no boolean"
        if key != "enabled" and value is not None and int_field(value) is None:
            return f"adaptive_allocations.{key} is no int"
    return None


def _sent(request: Request) -> _Sent:
    """What a request that passed parsing asks for (a query count comes without a body)."""
    return _Sent(requested_allocations(request), body_field(request, "adaptive_allocations"))


def _validate(sent: _Sent, stored: _Stored, ctx: Context) -> _Rejection | None:
    """``Request.validate()`` (§1.6 A) and the low-priority rejection (§1.6 D)."""
    problems = "action_request_validation_exception"
    count = sent.number_of_allocations
    if count is None and not ctx.has(Feature.EMPTY_BODY_NOOP):
        return _reject(400, problems, "§1.6 A.1: before 8.15 an absent count is 0")
    if count is not None and count < 1:
        return _reject(400, problems, "§1.6 A.1: the count must be a positive integer")
    adaptive = sent.adaptive_allocations if isinstance(sent.adaptive_allocations, dict) else {}
    if count is not None and adaptive.get("enabled") is True:
        return _reject(400, problems, "§1.6 A.2: a count with adaptive allocations enabled")
    bounds_problem = _bounds_problem(adaptive)
    if bounds_problem:
        return _reject(400, problems, f"§1.6 A.3: {bounds_problem}")
    if stored.priority == "low" and ctx.has(Feature.LOW_PRIORITY_UPDATE_REJECTED):
        maximum = _bound(adaptive, "max_number_of_allocations")
        if (count is not None and count > 1) or (maximum is not None and maximum > 1):
            return _reject(frozenset(range(400, 500)), None, "§1.6 D: low priority allows one allocation")
    return None


def _bound(settings: Mapping[str, Any], key: str) -> int | None:
    """A min/max bound, ``None`` when unset (JSON null and -1 both mean unset, §1.4)."""
    value = int_field(settings.get(key))
    return None if value is None or value == -1 else value


def _bounds_problem(settings: Mapping[str, Any]) -> str | None:
    low, high = _bound(settings, "min_number_of_allocations"), _bound(settings, "max_number_of_allocations")
    if low is not None and low < 0:
        return "min below 0"
    if high is not None and high < 1:
        return "max below 1"
    if low is not None and high is not None and low > high:
        return "min above max"
    return None


def merge_adaptive(stored: Mapping[str, Any] | None, sent: Any | Absent) -> Mapping[str, Any] | None:
    """Adaptive settings after an update (§1.4): absent keeps, null resets, objects merge by field."""
    if sent is ABSENT:
        return stored
    if sent is None:
        return None
    merged = dict(stored or {})
    for key in ADAPTIVE_KEYS:
        if key not in sent:
            continue
        if key == "enabled":
            if sent[key] is not None:
                merged[key] = sent[key]
        elif _bound(sent, key) is None:
            merged.pop(key, None)
        else:
            merged[key] = _bound(sent, key)
    return output_form(merged)


def output_form(settings: Mapping[str, Any]) -> Mapping[str, Any]:
    """Settings as Elasticsearch writes them: ``enabled`` always, min/max only when set (§1.4)."""
    shown: dict[str, Any] = {"enabled": settings.get("enabled") is True}
    for key in ADAPTIVE_KEYS[1:]:
        value = _bound(settings, key)
        if value is not None:
            shown[key] = value
    return shown


def _cluster_service(sent: _Sent, stored: _Stored, target_id: str, before: Snapshot | None, ctx: Context) -> Prediction:
    """``TrainedModelAssignmentClusterService.updateDeployment`` in its order (§1.6 C)."""
    certain = before is not None
    if not stored.exists:
        return _unchanged(
            stored, *_reject(404, "resource_not_found_exception", "§1.6 C.1: no such deployment"), certain=certain
        )
    merged = merge_adaptive(stored.adaptive_allocations, sent.adaptive_allocations)
    count = sent.number_of_allocations
    if merged is not None and merged.get("enabled") and count is not None:
        return _unchanged(
            stored, *_reject(400, "validation_exception", "§1.6 C.3: adaptive allocations are enabled"), certain=certain
        )
    bounds_problem = _bounds_problem(merged or {})
    if bounds_problem:
        return _unchanged(
            stored,
            *_reject(400, "action_request_validation_exception", f"§1.6 C.4: merged {bounds_problem}"),
            certain=certain,
        )
    count_changes = count is not None and count != stored.number_of_allocations
    if not count_changes and merged == stored.adaptive_allocations:
        return _unchanged(stored, frozenset({200}), None, "§1.6 C.5: nothing to update (no-op)", certain=certain)
    if stored.state != "started":
        return _unchanged(
            stored, *_reject(409, "status_exception", f"§1.6 C.6: state is {stored.state}"), certain=certain
        )
    if count is None or not count_changes or count < (stored.number_of_allocations or 0):
        return Prediction(
            frozenset({200}),
            count if count_changes else stored.number_of_allocations,
            merged,
            True,
            certain,
            "§1.6 C.7: a decrease or a settings change always applies",
        )
    low = stored.priority == "low"
    capacity = (
        None
        if before is None or ctx.capacity_unknown
        else (
            low_priority_allocatable(ctx, before, target_id, stored.threads_per_allocation)
            if low
            else allocatable(ctx, before, target_id, stored.threads_per_allocation)
        )
    )
    if capacity is None or count <= capacity:
        return Prediction(
            frozenset({200}),
            count,
            merged,
            True,
            capacity is not None and certain,
            f"§1.6 C.7: an increase to {count} fits {capacity} allocatable allocations",
        )
    why = f"§1.6 C.8: {count} requested, only {capacity} allocatable"
    if ctx.scaling_possible is False:
        return _unchanged(stored, frozenset({429}), "status_exception", why + " and scaling is not possible")
    if ctx.scaling_possible is True:
        return Prediction(frozenset({200}), count, merged, True, certain, why + "; scaling is possible: partial 200")
    settings = merged if merged == stored.adaptive_allocations else UNKNOWN  # a 429 keeps the stored ones
    return Prediction(frozenset({200, 429}), None, settings, True, certain, why + "; scaling possibility unknown")


def allocatable(ctx: Context, before: Snapshot, deployment_id: str, threads_per_allocation: int) -> int:
    """Allocations the planner can give one normal-priority deployment (§3.2, §3.5-11, §10.6).

    Per node with memory for it (:func:`has_memory_for`): floor(free processors / threads),
    where free = the node's processor capacity minus what OTHER normal-priority deployments
    use there (allocations x threads). Low-priority deployments use no processors.
    """
    threads = max(threads_per_allocation, 1)
    total = 0
    for node in ctx.nodes:
        if not has_memory_for(node, before, deployment_id):
            continue
        used = used_processors(before, node.id, excluding=deployment_id)
        total += max(node.processor_capacity - used, 0) // threads
    return total


def free_memory(node: MlNode, snapshot: Snapshot, *, excluding: str | None = None) -> int | None:
    """The node's planner memory less the estimates of the deployments it hosts (all but
    ``excluding``, any priority); ``None`` when the node's memory or an estimate is unknown."""
    free = node.planner_memory_bytes
    for deployment_id, observed in snapshot.deployments.items():
        if free is None or deployment_id == excluding or node.id not in observed.nodes:
            continue
        free = None if observed.required_native_memory_bytes is None else free - observed.required_native_memory_bytes
    return free


def has_memory_for(node: MlNode, snapshot: Snapshot, deployment_id: str) -> bool:
    """Whether memory lets ``deployment_id`` get (more) allocations on ``node`` (§3.2): it is
    there already (its memory is reserved once per node), or its estimate fits what is free.
    When the target does not say, memory is taken not to limit."""
    own = snapshot.get(deployment_id)
    if own is None or node.id in own.nodes or own.required_native_memory_bytes is None:
        return True
    free = free_memory(node, snapshot, excluding=deployment_id)
    return free is None or free >= own.required_native_memory_bytes


LOW_PRIORITY_CORES_PER_NODE = 100  # §3.2 MAX_LOW_PRIORITY_MODELS_PER_NODE


def low_priority_allocatable(ctx: Context, before: Snapshot, deployment_id: str, threads_per_allocation: int) -> int:
    """Allocations a low-priority deployment can get (§3.2): low priority is planned apart,
    against a fixed 100 "cores" per node shared by the low-priority deployments there, so
    it never competes with normal-priority processors (hence §1.6 D's 200 before the fix);
    memory it needs like any other deployment."""
    threads = max(threads_per_allocation, 1)
    total = 0
    for node in ctx.nodes:
        if not has_memory_for(node, before, deployment_id):
            continue
        used = 0
        for other_id, observed in before.deployments.items():
            placed = observed.nodes.get(node.id)
            if other_id != deployment_id and observed.priority == "low" and placed is not None:
                used += max(placed.allocations, 0) * max(placed.threads_per_allocation, 1)
        total += max(LOW_PRIORITY_CORES_PER_NODE - used, 0) // threads
    return total


def used_processors(snapshot: Snapshot, node_id: str, *, excluding: str | None = None) -> int:
    """Processors normal-priority deployments (all but ``excluding``) use on a node."""
    used = 0
    for deployment_id, observed in snapshot.deployments.items():
        if deployment_id == excluding or observed.priority == "low":
            continue
        placed = observed.nodes.get(node_id)
        if placed is not None:
            used += max(placed.allocations, 0) * max(placed.threads_per_allocation, 1)
    return used


def others_changed(before: Snapshot | None, after: Snapshot | None, deployment_id: str | None) -> bool:
    """True when a deployment other than ``deployment_id`` changed between two snapshots.

    On a shared cluster someone else's deployment may start, stop or rebalance during a
    call; capacity judgements are then uncertain, not failures.
    """
    if before is None or after is None:
        return False
    others = (set(before.deployments) | set(after.deployments)) - {deployment_id}
    for other in others:
        old, new = before.get(other), after.get(other)
        if old is None or new is None:
            return True
        if (old.number_of_allocations, old.state, dict(old.nodes)) != (
            new.number_of_allocations,
            new.state,
            dict(new.nodes),
        ):
            return True
    return False
