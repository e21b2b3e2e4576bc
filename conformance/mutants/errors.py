"""Error-contract defects: bad requests accepted, or answered with the wrong error (§1.1-§1.6)."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qs

from conformance.mutants.base import Answer, Asked, Rewrite, mutant
from conformance.reference.cluster import Cluster
from conformance.reference.config import ServerConfig
from conformance.reference.errors import EsError
from conformance.reference.model import Deployment, UpdateRequest
from conformance.reference.parsing import start_parser, update_parser
from conformance.reference.versions import behaviour_for

# The body fields the reference parsers know, deprecated aliases included, read from their
# specs so that a lenient mutant drops exactly the unknown ones. The rewriting mutants below
# are served with the default configuration, hence its version.
_SERVED = behaviour_for(ServerConfig().es_version)
UPDATABLE_FIELDS = frozenset(update_parser(_SERVED).all_names)
START_ONLY_FIELDS = frozenset(start_parser(_SERVED).all_names) - UPDATABLE_FIELDS


def _json_object(body: bytes) -> dict[str, Any] | None:
    try:
        document = json.loads(body)
    except ValueError:
        return None
    return document if isinstance(document, dict) else None


@mutant(family="errors", expects="errors.unknown-deployment-404")
class UnknownDeployment400(Cluster):
    """An unknown deployment id is answered 400 instead of 404 (§1.6 C.1)."""

    def find_deployment(self, deployment_id: str) -> Deployment:
        try:
            return super().find_deployment(deployment_id)
        except EsError as error:
            raise EsError(400, error.type, error.reason) from None


@mutant(family="errors", expects="errors.not-started-409")
class NotStartedAccepted(Cluster):
    """An update of a deployment that is still ``starting`` is applied instead of getting 409 (§1.6 C.6)."""

    def check_started(self, deployment: Deployment) -> None:
        pass


@mutant(family="errors", expects="errors.invalid-zero")
class ZeroMeansUnset(Cluster):
    """``number_of_allocations: 0`` is taken as "not sent" (a zero-value default), so it is a 200 no-op (§1.6 A.1)."""

    def validate_update_request(self, request: UpdateRequest) -> UpdateRequest:
        if request.number_of_allocations == 0:
            request = replace(request, number_of_allocations=None)
        return super().validate_update_request(request)


@mutant(family="errors", expects="errors.invalid-negative")
class NegativeClampedToOne(Cluster):
    """A negative ``number_of_allocations`` is clamped to 1 and accepted instead of rejected (§1.6 A.1)."""

    def validate_update_request(self, request: UpdateRequest) -> UpdateRequest:
        allocations = request.number_of_allocations
        if allocations is not None and allocations < 0:
            request = replace(request, number_of_allocations=1)
        return super().validate_update_request(request)


@mutant(family="errors", expects="errors.invalid-unknown-field")
class UnknownFieldIgnored(Rewrite):
    """A lenient parser drops body fields it does not know instead of failing with ``unknown field`` (§1.5)."""

    def request(self, asked: Asked) -> bytes | None:
        document = _json_object(asked.body) if asked.is_update else None
        if document is None:
            return None
        return json.dumps({k: v for k, v in document.items() if k in UPDATABLE_FIELDS | START_ONLY_FIELDS}).encode()


@mutant(family="errors", expects="errors.invalid-non-updatable-field")
class NonUpdatableFieldIgnored(Rewrite):
    """Start-only fields (``threads_per_allocation``, ``priority``, ...) in an update body are silently ignored (§1.4)."""  # noqa: E501 - the first line is the mutant's defect

    def request(self, asked: Asked) -> bytes | None:
        document = _json_object(asked.body) if asked.is_update else None
        if document is None:
            return None
        return json.dumps({k: v for k, v in document.items() if k not in START_ONLY_FIELDS}).encode()


@mutant(family="errors", expects="errors.invalid-query-and-body")
class QueryWinsOverBody(Rewrite):
    """With ``?number_of_allocations`` the body is ignored instead of rejected (§1.5)."""

    def request(self, asked: Asked) -> bytes | None:
        if asked.is_update and asked.body and "number_of_allocations" in parse_qs(asked.query, keep_blank_values=True):
            return b""
        return None


@mutant(family="errors", expects="errors.malformed-json-400")
class MalformedJson500(Rewrite):
    """A body that is not JSON escapes as an unhandled parse exception: 500 instead of 400 (§1.5)."""

    def request(self, asked: Asked) -> Answer | None:
        if not asked.is_update or not asked.body.strip():
            return None
        try:
            json.loads(asked.body)
        except ValueError as error:
            failure = EsError(500, "json_parse_exception", str(error))
            return Answer(
                500,
                (("content-type", "application/json"), ("x-elastic-product", "Elasticsearch")),
                json.dumps(failure.to_json()).encode(),
            )
        return None


@mutant(family="errors", expects="shape.error-envelope")
class ErrorWithoutRootCause(Rewrite):
    """Error answers of ``_update`` lack ``error.root_cause`` (§1.5 envelope)."""

    def answer(self, asked: Asked, answer: Answer) -> Answer:
        document = answer.json()
        if not asked.is_update or answer.status < 400 or not isinstance(document, dict):
            return answer
        if isinstance(document.get("error"), dict):
            document["error"].pop("root_cause", None)
        return answer.with_json(document)


@mutant(family="errors", expects="shape.error-status-matches-http")
class ErrorBodyStatus400(Rewrite):
    """Every error body of ``_update`` says ``"status": 400``, whatever the HTTP status (§1.5)."""

    def answer(self, asked: Asked, answer: Answer) -> Answer:
        document = answer.json()
        if not asked.is_update or answer.status < 400 or not isinstance(document, dict):
            return answer
        return answer.with_json({**document, "status": 400})


@mutant(family="errors", expects="errors.wrong-method-405")
class MissingAllowHeader(Rewrite):
    """A 405 for a wrong method on ``_update`` carries no ``Allow`` header (§1.1)."""

    def answer(self, asked: Asked, answer: Answer) -> Answer:
        return answer.with_header("Allow", None) if answer.status == 405 else answer
