"""Elasticsearch exceptions as Python exceptions, and their JSON error envelope.

Handlers raise these; one exception handler in the app renders them. The type names and
statuses are those of ES core listed at the top of ``elasticsearch-behaviour.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class EsError(Exception):
    """An Elasticsearch exception: rendered as the full ``{"error": {...}, "status": N}`` envelope."""

    def __init__(
        self,
        status: int,
        type: str,
        reason: str,
        caused_by: EsError | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(reason)
        self.status = status
        self.type = type
        self.reason = reason
        self.caused_by = caused_by
        self.headers = headers or {}

    def cause_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"type": self.type, "reason": self.reason}
        if self.caused_by is not None:
            body["caused_by"] = self.caused_by.cause_json()
        return body

    def to_json(self) -> dict[str, Any]:
        error: dict[str, Any] = {"root_cause": [{"type": self.type, "reason": self.reason}]}
        error.update(self.cause_json())
        return {"error": error, "status": self.status}


@dataclass
class SimpleError(Exception):
    """The plain ``{"error": "<text>", "status": N}`` form used by the REST layer (§1.1, §1.5)."""

    status: int
    message: str
    headers: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"error": self.message, "status": self.status}


def status_exception(status: int, reason: str) -> EsError:
    return EsError(status, "status_exception", reason)


def not_found(reason: str) -> EsError:
    return EsError(404, "resource_not_found_exception", reason)


def illegal_argument(reason: str, caused_by: EsError | None = None) -> EsError:
    return EsError(400, "illegal_argument_exception", reason, caused_by)


def parse_exception(reason: str) -> EsError:
    return EsError(400, "parse_exception", reason)


def x_content_parse(reason: str, caused_by: EsError | None = None) -> EsError:
    return EsError(400, "x_content_parse_exception", reason, caused_by)


def validation_failed(messages: list[str], type: str = "action_request_validation_exception") -> EsError:
    """``Validation Failed: 1: a;2: b;`` — errors accumulated in one response (§1.6 A)."""
    numbered = "".join(f"{index}: {message};" for index, message in enumerate(messages, start=1))
    return EsError(400, type, f"Validation Failed: {numbered}")


def missing_deployment(deployment_id: str) -> EsError:
    """ExceptionsHelper.missingModelDeployment (§1.6 C.1)."""
    return not_found(f"No known model deployment with id [{deployment_id}]")


def missing_model(model_id: str) -> EsError:
    return not_found(f"No known trained model with model_id [{model_id}]")
