"""Small, forgiving readers for the JSON the rules judge.

Rules must report a broken document as a violation, not crash on it, so every reader
here returns ``None`` (or an empty mapping) when the document does not have the
expected shape; the shape rules are the ones that name the defect.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Mapping

from conformance.exchange import Exchange, Request, Response

UPDATE_PATH = re.compile(r"^/_ml/trained_models/(?P<id>[^/]+)/deployment/_update/?$")
ABSENT: Any = object()  # a body field that was not sent (distinct from JSON null)


def path_id(request: Request) -> str | None:
    """The ``{model_id}`` path value of an ``_update`` request (a deployment id since 8.8)."""
    found = UPDATE_PATH.match(request.path)
    return found.group("id") if found else None


def is_update_call(request: Request) -> bool:
    return path_id(request) is not None


def body_field(request: Request, name: str) -> Any:
    """A top-level body field, or :data:`ABSENT` when the body is no object or lacks it."""
    doc = request.json()
    if isinstance(doc, dict) and name in doc:
        return doc[name]
    return ABSENT


def query_value(request: Request, name: str) -> str | None:
    for key, value in request.query:
        if key == name:
            return value
    return None


def coerced_int(value: Any) -> int | None:
    """The int Elasticsearch's coercing ``intValue()`` makes of a JSON value (§1.4, §1.5).

    Numbers are truncated (``2.7`` -> 2), numeric strings are parsed, anything else
    (booleans, null, objects, non-numeric strings) is ``None``: a parse error.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value == value and abs(value) != float("inf"):
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            try:
                number = float(value.strip())
            except ValueError:
                return None
            return int(number) if number == number and abs(number) != float("inf") else None
    return None


def requested_allocations(request: Request) -> int | None:
    """The ``number_of_allocations`` an update asks for, from the query or the body."""
    query = query_value(request, "number_of_allocations")
    if query is not None:
        return int(query) if re.fullmatch(r"-?\d+", query) else None
    value = body_field(request, "number_of_allocations")
    if value is ABSENT:
        value = body_field(request, "model_threads")  # deprecated alias (§1.4)
    return None if value is ABSENT else coerced_int(value)


def assignment_in(response: Response | None) -> Mapping[str, Any] | None:
    """The ``assignment`` object of a 200 update response (§2.1)."""
    if response is None or response.status != 200:
        return None
    doc = response.json()
    if isinstance(doc, dict) and isinstance(doc.get("assignment"), dict):
        return doc["assignment"]
    return None


def task_parameter(assignment: Mapping[str, Any] | None, name: str) -> Any:
    if not assignment:
        return ABSENT
    params = assignment.get("task_parameters")
    if isinstance(params, dict) and name in params:
        return params[name]
    return ABSENT


def routes(assignment: Mapping[str, Any] | None) -> Mapping[str, Mapping[str, Any]]:
    table = assignment.get("routing_table") if assignment else None
    if not isinstance(table, dict):
        return {}
    return {node: route for node, route in table.items() if isinstance(route, dict)}


def route_total(assignment: Mapping[str, Any] | None, field: str, *, skip_stopping: bool = False) -> int:
    """Σ of an integer route field over the routing table (non-integers count as 0)."""
    total = 0
    for route in routes(assignment).values():
        if skip_stopping and route.get("routing_state") == "stopping":
            continue
        value = route.get(field)
        if isinstance(value, int) and not isinstance(value, bool):
            total += value
    return total


@dataclass(frozen=True)
class ErrorBody:
    """The parts of an Elasticsearch error body a rule compares (§1.5 envelope)."""

    type: str | None
    reason: str | None
    status: Any
    causes: tuple[str, ...] = ()  # reasons of root_cause entries and of the caused_by chain


def _cause_reasons(error: dict) -> tuple[str, ...]:
    """Nested parse errors keep the precise reason in ``caused_by``/``root_cause`` (§1.5)."""
    found: list[str] = []
    for cause in error.get("root_cause") or []:
        if isinstance(cause, dict) and isinstance(cause.get("reason"), str):
            found.append(cause["reason"])
    chained = error.get("caused_by")
    while isinstance(chained, dict):
        if isinstance(chained.get("reason"), str):
            found.append(chained["reason"])
        chained = chained.get("caused_by")
    return tuple(found)


def error_in(response: Response | None) -> ErrorBody | None:
    """``error.type``/``error.reason`` of the envelope, or the simple ``{"error": "..."}`` form."""
    if response is None:
        return None
    doc = response.json()
    if not isinstance(doc, dict) or "error" not in doc:
        return None
    error = doc["error"]
    if isinstance(error, str):
        return ErrorBody(None, error, doc.get("status"))
    if isinstance(error, dict):
        kind = error.get("type")
        reason = error.get("reason")
        return ErrorBody(
            kind if isinstance(kind, str) else None,
            reason if isinstance(reason, str) else None,
            doc.get("status"),
            _cause_reasons(error),
        )
    return None


def instant(text: Any) -> tuple[datetime, int] | None:
    """An ISO-8601 UTC timestamp as (second, nanosecond), so 3-9 fraction digits compare equal."""
    if not isinstance(text, str):
        return None
    found = re.fullmatch(r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})", text)
    if not found:
        return None
    seconds = datetime.fromisoformat(found.group(1) + ("+00:00" if found.group(3) == "Z" else found.group(3)))
    nanos = int((found.group(2) or "0").ljust(9, "0"))
    return seconds, nanos


@dataclass(frozen=True)
class StatsDeployment:
    """One deployment as a ``GET _ml/trained_models/_stats`` document reports it."""

    deployment_id: str
    number_of_allocations: Any
    allocations_by_node: Mapping[str, Any]
    target_allocation_count: Any
    adaptive_allocations: Any


def stats_deployments(doc: Any) -> Mapping[str, StatsDeployment]:
    """Deployments of a stats document by deployment id (§7; nodes as ES writes them)."""
    found: dict[str, StatsDeployment] = {}
    if not isinstance(doc, dict) or not isinstance(doc.get("trained_model_stats"), list):
        return found
    for entry in doc["trained_model_stats"]:
        stats = entry.get("deployment_stats") if isinstance(entry, dict) else None
        if not isinstance(stats, dict):
            continue
        deployment_id = stats.get("deployment_id") or stats.get("model_id") or entry.get("model_id")
        by_node: dict[str, Any] = {}
        for node in stats.get("nodes") or []:
            if isinstance(node, dict) and isinstance(node.get("node"), dict) and node["node"]:
                by_node[next(iter(node["node"]))] = node.get("number_of_allocations")
        status = stats.get("allocation_status") if isinstance(stats.get("allocation_status"), dict) else {}
        found[str(deployment_id)] = StatsDeployment(
            deployment_id=str(deployment_id),
            number_of_allocations=stats.get("number_of_allocations"),
            allocations_by_node=by_node,
            target_allocation_count=status.get("target_allocation_count"),
            adaptive_allocations=stats.get("adaptive_allocations", ABSENT),
        )
    return found


def addressed_deployment(exchange: Exchange) -> str | None:
    """The deployment an exchange is about: the intent's, else the update path's."""
    if exchange.intent.deployment is not None:
        return exchange.intent.deployment.deployment_id
    return path_id(exchange.request)
