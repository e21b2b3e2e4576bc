"""Node shutdown records: how ``PUT /_nodes/{node_id}/shutdown`` is read, and how a record reads back.

Elasticsearch's shutdown plug-in (``x-pack/plugin/shutdown``) keeps one record per node
that is about to leave or restart; ML treats every node with a record, of any type, as
shutting down (§11.5 B). This module holds only the records and their JSON: what the
cluster does with them (no new placement, routes moved off, ES#146910) is in
:class:`conformance.reference.cluster.Cluster`, which asks :func:`shutting_down`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from conformance.reference import errors
from conformance.reference.errors import EsError
from conformance.reference.objectparser import FieldSpec, ObjectSpec
from conformance.reference.timevalue import parse_time_value

TYPES = ("remove", "restart", "replace", "sigterm")
"""``SingleNodeShutdownMetadata.Type``, matched without regard to case (§11.5 A)."""

REQUEST = ObjectSpec(
    "put_node_shutdown_request",
    (
        FieldSpec("type", "string"),
        FieldSpec("reason", "string"),
        FieldSpec("allocation_delay", "string"),
        FieldSpec("target_node_name", "string"),
        FieldSpec("grace_period", "string"),
    ),
)
"""``PutShutdownNodeAction.Request.PARSER``: a strict ``ConstructingObjectParser`` (§11.5 A)."""

SHUTTING_DOWN_ROUTE_REASON = "node is shutting down"
"""The reason a route to a shutting-down node carries while it drains (§11.5 B; text not verified)."""


@dataclass(frozen=True)
class NodeShutdown:
    """One node's shutdown record (``SingleNodeShutdownMetadata``)."""

    node_id: str
    type: str  # upper case, as the record and its status write it
    reason: str
    started_ms: int
    allocation_delay: str | None = None
    target_node_name: str | None = None
    grace_period: str | None = None


def parse_request(node_id: str, values: dict[str, Any], started_ms: int) -> NodeShutdown:
    """The record a parsed body asks for, or Elasticsearch's error (§11.5 A).

    ``type`` and ``reason`` are required constructor arguments: without them the parser
    fails (``Required [...]``) before ``validate()`` runs. The type and the time values are
    read when the object is built, so a bad one fails as the build does. ``validate()``
    collects the cross-field errors into one ``Validation Failed``.
    """
    missing = [name for name in ("type", "reason") if values.get(name) is None]
    if missing:
        raise errors.illegal_argument(f"Required [{', '.join(missing)}]")
    kind = str(values["type"]).lower()
    if kind not in TYPES:
        raise _build_failure(errors.illegal_argument(f"unknown shutdown type: {values['type']}"))
    for name in ("allocation_delay", "grace_period"):
        if values.get(name) is not None:
            try:
                parse_time_value(values[name], name)  # ES names the setting after its factory: not reproduced
            except EsError as cause:
                raise _build_failure(cause) from None
    record = NodeShutdown(
        node_id=node_id,
        type=kind.upper(),
        reason=values["reason"],
        started_ms=started_ms,
        allocation_delay=values.get("allocation_delay"),
        target_node_name=values.get("target_node_name"),
        grace_period=values.get("grace_period"),
    )
    messages = _validation_messages(record)
    if messages:
        raise errors.validation_failed(messages)
    return record


def _build_failure(cause: EsError) -> EsError:
    """``ConstructingObjectParser`` wraps an exception of the object's constructor."""
    return errors.x_content_parse(f"Failed to build [{REQUEST.name}] after last required field arrived", cause)


def _validation_messages(record: NodeShutdown) -> list[str]:
    """``PutShutdownNodeAction.Request.validate()`` for what can still be wrong once parsed.

    Its reason check tests the node id (always present in the path), so an empty reason
    passes, as it does in Elasticsearch."""
    messages = []
    if record.allocation_delay is not None and record.type != "RESTART":
        messages.append("allocation_delay is only allowed for RESTART-type shutdown requests")
    if record.target_node_name is not None and record.type != "REPLACE":
        messages.append(
            "target node name is only valid for REPLACE type shutdowns, but was given type "
            f"[{record.type}] and target node name [{record.target_node_name}]"
        )
    elif record.target_node_name is None and record.type == "REPLACE":
        messages.append("target node name is required for REPLACE type shutdowns")
    if record.type == "SIGTERM" and record.grace_period is None:
        messages.append("grace period is required for SIGTERM shutdowns")
    elif record.type != "SIGTERM" and record.grace_period is not None:
        messages.append(  # sic: Elasticsearch names the target node here
            "grace period is only valid for SIGTERM type shutdowns, but was given type "
            f"[{record.type}] and target node name [{record.target_node_name or 'null'}]"  # Java prints null
        )
    return messages


def status_json(record: NodeShutdown, plugins_complete: bool) -> dict[str, Any]:
    """One entry of ``GET _nodes/shutdown`` (SPEC ``NodeShutdownStatus``, §11.5 A).

    The reference's nodes hold no shards and no persistent tasks, so only the plug-ins part
    can be in progress: ML's while routes of the node still drain (§11.5 B)."""
    part = "COMPLETE" if plugins_complete else "IN_PROGRESS"
    return {
        "node_id": record.node_id,
        "type": record.type,
        "reason": record.reason,
        "shutdown_startedmillis": record.started_ms,
        "status": part,
        "shard_migration": {"status": "COMPLETE", "shard_migrations_remaining": 0},
        "persistent_tasks": {"status": "COMPLETE"},
        "plugins": {"status": part},
    }


def not_shutting_down(node_id: str) -> EsError:
    """``DELETE`` of a node without a record (``TransportDeleteShutdownNodeAction``)."""
    return errors.not_found(f"node [{node_id}] is not currently shutting down")
