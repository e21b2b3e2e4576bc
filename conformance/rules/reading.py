"""Small, forgiving readers for the JSON the rules judge.

Rules must report a broken document as a violation, not crash on it, so every reader
here returns ``None`` (or an empty mapping) when the document does not have the
expected shape; the shape rules are the ones that name the defect.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from conformance.exchange import AnsweredExchange, Exchange, Request, Response
from conformance.update_request import (  # re-exported: the rules read requests through here
    ABSENT as ABSENT,
    Absent as Absent,
    body_field as body_field,
    coerced_int as coerced_int,
    path_id as path_id,
    requested_allocations as requested_allocations,
)


def matches(pattern: str | re.Pattern[str], text: str) -> bool:
    """Whether ``pattern`` occurs in ``text``, reading ``text`` as one whole value.

    Values the suite sends (a generated ``model_id``, a deployment id) may hold line
    breaks, and Elasticsearch echoes them into reasons; ``.`` must cross them, so every
    rule pattern is searched with ``re.DOTALL``.
    """
    return re.search(pattern, text, re.DOTALL) is not None


def is_update_call(request: Request) -> bool:
    return path_id(request) is not None


def assignment_of(exchange: AnsweredExchange) -> Mapping[str, Any]:
    """The assignment of the 200 a check judges, for the rules whose ``applies`` guarantees one
    (:func:`conformance.rules.base.answered_200` selects only answers that have it)."""
    assignment = assignment_in(exchange.response)
    if assignment is None:
        raise ValueError("the check judges a 200 with an assignment; its applies() must select only those")
    return assignment


def last_assignment(exchange: Exchange) -> Mapping[str, Any] | None:
    """The newest assignment the target returned for the addressed deployment before the call."""
    deployment = exchange.intent.deployment
    return deployment.last_assignment if deployment is not None else None


def assignment_in(response: Response | None) -> Mapping[str, Any] | None:
    """The ``assignment`` object of a 200 update response (§2.1).

    An assignment sent without its ``{"assignment": ...}`` envelope is read as one too:
    ``shape.assignment-schema`` fails the missing envelope, and every other rule still
    judges what the assignment says (one broken rule never hides another).
    """
    if response is None or response.status != 200:
        return None
    doc = response.json()
    if not isinstance(doc, dict):
        return None
    assignment = doc.get("assignment")
    if isinstance(assignment, dict):
        return assignment
    return doc if isinstance(doc.get("task_parameters"), dict) else None


def adaptive_settings(assignment: Mapping[str, Any] | None) -> Any:
    """An assignment's ``adaptive_allocations`` (``None`` when unset or no assignment)."""
    return assignment.get("adaptive_allocations") if assignment else None


def adaptive_enabled(settings: Any) -> bool:
    """True when adaptive-allocations settings (stored, returned or merged) are enabled."""
    return isinstance(settings, Mapping) and settings.get("enabled") is True


def task_parameter(assignment: Mapping[str, Any] | None, name: str) -> Any | Absent:
    if not assignment:
        return ABSENT
    params = assignment.get("task_parameters")
    if isinstance(params, dict) and name in params:
        return params[name]
    return ABSENT


def stored_count(assignment: Mapping[str, Any] | None) -> int | None:
    """``task_parameters.number_of_allocations`` as the count it says, however it is spelled.

    The shape rules judge the spelling (``"2"``, ``2.0``); the rules that need the count to
    know what a call was (an increase, a no-op) read it through here, so a wrong spelling
    fails its own rule and hides no other.
    """
    value = task_parameter(assignment, "number_of_allocations")
    if value is ABSENT or isinstance(value, bool):
        return None
    count = coerced_int(value)
    return count if count is not None and str(count) == str(value).strip().removesuffix(".0") else None


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


def _cause_reasons(error: dict[str, Any]) -> tuple[str, ...]:
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


def stats_entries(doc: Any) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """Each ``deployment_stats`` object of a stats document, with its JSON path (§7)."""
    entries = doc.get("trained_model_stats") if isinstance(doc, dict) else None
    for index, entry in enumerate(entries if isinstance(entries, list) else []):
        stats = entry.get("deployment_stats") if isinstance(entry, dict) else None
        if isinstance(stats, dict):
            yield f"$.trained_model_stats[{index}].deployment_stats", stats


@dataclass(frozen=True)
class StatsDeployment:
    """One deployment as a ``GET _ml/trained_models/_stats`` document reports it."""

    deployment_id: str
    number_of_allocations: Any
    allocations_by_node: Mapping[str, Any]
    target_allocation_count: Any
    adaptive_allocations: Any | Absent  # absent from the document: ABSENT


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
        allocation_status = stats.get("allocation_status")
        status = allocation_status if isinstance(allocation_status, dict) else {}
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
