"""Parsing of the deployment request bodies and parameters (§1.3-§1.5, §1.7).

Turns bytes and query parameters into :class:`UpdateRequest` / :class:`StartRequest`,
raising the exact Elasticsearch parse errors. Semantic validation lives in the cluster.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any, TypeVar

from conformance.reference import errors
from conformance.reference.errors import EsError
from conformance.reference.model import ABSENT, Absent, StartRequest, UpdateRequest
from conformance.reference.objectparser import FieldSpec, ObjectSpec, Parsed, parse_object, parse_plain, time_value
from conformance.reference.protocol import param_as_int
from conformance.reference.timevalue import parse_byte_size, parse_time_value
from conformance.reference.versions import Behaviour
from conformance.reference.xcontent import JsonSyntaxError, PullParser

UPDATE_PARSER = "cluster:admin/xpack/ml/trained_models/deployment/update"
START_PARSER = "cluster:admin/xpack/ml/trained_models/deployment/start"
STOP_PARSER = "cluster:admin/xpack/ml/trained_models/deployment/stop"

STOP_BODY = ObjectSpec(
    STOP_PARSER,
    (
        FieldSpec("id", "string"),
        FieldSpec("allow_no_match", "boolean"),
        FieldSpec("force", "boolean"),
    ),
)
"""``StopTrainedModelDeploymentAction.Request`` body fields: the optional body the official
clients send from SPEC #5752 (elasticsearch-py 9.5, §11.2); the same names as the parameters."""

_T = TypeVar("_T")


AUTOSCALING_SETTINGS = ObjectSpec(
    "autoscaling_settings",
    (
        FieldSpec("enabled", "boolean"),
        FieldSpec("min_number_of_allocations", "int_or_null"),
        FieldSpec("max_number_of_allocations", "int_or_null"),
    ),
)


@dataclass
class Call:
    """One REST request as a handler sees it. ``body_consumed`` mirrors ES's content tracking."""

    method: str
    path: str
    uri: str
    params: dict[str, str]
    path_params: dict[str, str]
    body: bytes
    behaviour: Behaviour
    body_consumed: bool = False
    warnings: list[str] = field(default_factory=list)

    @property
    def has_body(self) -> bool:
        return len(self.body) > 0

    def parse_body(self, spec: ObjectSpec) -> dict[str, Any]:
        """``restRequest.contentParser()`` + ``ObjectParser``: 400 ``request body is required`` when empty."""
        if self.has_body:
            plain = parse_plain(spec, self.body)
            if plain is not None:
                self.body_consumed = True
                return plain
        parsed = Parsed(warnings=self.warnings)  # deprecation warnings land in the call's own list
        return self._read_body(lambda parser: parse_object(spec, parser, parser.next_token(), parsed)).values

    def json_body(self) -> dict[str, Any]:
        """A required body read as a plain JSON object (for the set-up endpoints)."""
        return self._read_body(_plain_object)

    def _read_body(self, read: Callable[[PullParser], _T]) -> _T:
        """What every body reader shares: the body is required, counts as read, and Jackson's
        syntax errors become Elasticsearch's (§1.5); ``read`` does the rest."""
        if not self.has_body:
            raise errors.parse_exception("request body is required")
        self.body_consumed = True
        try:
            return read(PullParser(self.body))
        except JsonSyntaxError as error:
            raise syntax_error(error, self.behaviour) from None


def _plain_object(parser: PullParser) -> dict[str, Any]:
    """The whole body as a dict; a body that is not an object fails with ``Expected START_OBJECT``."""
    first = parser.next_token()
    if first is None or first.kind != "START_OBJECT":
        raise errors.x_content_parse(f"{first.location if first else '[1:1]'} Expected START_OBJECT")
    document: dict[str, Any] = parser.read_value(first)
    return document


def syntax_error(error: JsonSyntaxError, behaviour: Behaviour) -> EsError:
    """§1.5: Jackson errors wrapped in ``x_content_parse_exception``; truncation per version (§10.2)."""
    where = f"[{error.line}:{error.col}] "
    if error.eof:
        status = 400 if behaviour.truncated_json_is_400 else 500
        return EsError(
            status,
            "x_content_e_o_f_exception",
            where + error.message,
            EsError(status, "json_e_o_f_exception", error.message),
        )
    return errors.x_content_parse(where + error.message, EsError(400, error.cause_type, error.message))


@cache
def update_parser(behaviour: Behaviour) -> ObjectSpec:
    """§1.4: ``adaptive_allocations`` only from 8.16 (before, an unknown field).

    Cached: the spec depends only on the frozen behaviour, so it is built once per version.
    """
    fields = [
        FieldSpec("model_id", "string"),
        FieldSpec("number_of_allocations", "int", deprecated_names=("model_threads",)),
        FieldSpec("timeout", "string", convert=time_value("timeout")),
    ]
    if behaviour.adaptive_allocations:
        fields.append(FieldSpec("adaptive_allocations", "object_or_null", sub_object=AUTOSCALING_SETTINGS))
    return ObjectSpec(UPDATE_PARSER, tuple(fields))


def update_params(behaviour: Behaviour) -> frozenset[str]:
    """§1.3: `number_of_allocations` is a query parameter only from 8.15."""
    params = {"model_id", "timeout", "master_timeout"}
    if behaviour.allocations_query_param:
        params.add("number_of_allocations")
    return frozenset(params)


def parse_update(call: Call, deployment_id: str) -> UpdateRequest:
    """§1.3-§1.5: the query-parameter branch never reads the body; otherwise the body is required."""
    behaviour = call.behaviour
    for name in ("timeout", "master_timeout"):
        if name in call.params:
            parse_time_value(call.params[name], name)
    if behaviour.allocations_query_param and "number_of_allocations" in call.params:
        allocations = param_as_int(call.params, "number_of_allocations")
        return UpdateRequest(number_of_allocations=allocations)
    values = call.parse_body(update_parser(behaviour))
    check_consistent_id(values.get("model_id"), deployment_id)
    allocations = values.get("number_of_allocations")
    if allocations is None and not behaviour.optional_number_of_allocations:
        allocations = 0  # §1.6 A.1: a primitive int before 8.15, so `{}` fails validation
    adaptive: Any | Absent = ABSENT
    if "adaptive_allocations" in values:
        adaptive = None if values["adaptive_allocations"] is None else _request_adaptive(values["adaptive_allocations"])
    return UpdateRequest(number_of_allocations=allocations, adaptive=adaptive)


def _request_adaptive(values: dict[str, Any]) -> dict[str, Any]:
    """JSON null bounds become ``-1`` ("unset this field", §1.4); absent ones stay ``None``."""
    settings: dict[str, Any] = {"enabled": values.get("enabled")}
    for key in ("min_number_of_allocations", "max_number_of_allocations"):
        settings[key] = (-1 if values[key] is None else values[key]) if key in values else None
    return settings


def check_consistent_id(body_id: str | None, path_id: str) -> None:
    """§1.4 ``INCONSISTENT_ID``."""
    if body_id is not None and body_id != path_id:
        raise errors.status_exception(
            400,
            f"Inconsistent model_id; '{body_id}' specified in the body differs from '{path_id}' specified as "
            "a URL argument",
        )


@cache
def start_parser(behaviour: Behaviour) -> ObjectSpec:
    """§1.7 ``_start`` body fields; cached per behaviour like :func:`update_parser`."""
    fields = [
        FieldSpec("model_id", "string"),
        FieldSpec("timeout", "string", convert=time_value("timeout")),
        FieldSpec("wait_for", "string"),
        FieldSpec("number_of_allocations", "int", deprecated_names=("model_threads",)),
        FieldSpec("threads_per_allocation", "int", deprecated_names=("inference_threads",)),
        FieldSpec("queue_capacity", "int"),
        FieldSpec("cache_size", "string_or_number"),
        FieldSpec("priority", "string"),
    ]
    if behaviour.deployment_ids:
        fields.append(FieldSpec("deployment_id", "string"))
    if behaviour.adaptive_allocations:
        fields.append(FieldSpec("adaptive_allocations", "object_or_null", sub_object=AUTOSCALING_SETTINGS))
    return ObjectSpec(START_PARSER, tuple(fields))


def start_params(behaviour: Behaviour) -> frozenset[str]:
    params = {
        "model_id",
        "timeout",
        "wait_for",
        "number_of_allocations",
        "threads_per_allocation",
        "queue_capacity",
        "cache_size",
        "priority",
        "master_timeout",
    }
    if behaviour.deployment_ids:
        params.add("deployment_id")
    return frozenset(params)


@dataclass(frozen=True)
class StartOptions:
    """A parsed ``_start``: the request for the cluster plus how long/for what to wait."""

    request: StartRequest
    wait_for: str
    timeout: float


def parse_start(call: Call, model_id: str) -> StartOptions:
    """Body fields first, then query parameters override them (§5.3 uses query parameters)."""
    behaviour = call.behaviour
    values = call.parse_body(start_parser(behaviour)) if call.has_body else {}
    check_consistent_id(values.get("model_id"), model_id)
    for name in ("number_of_allocations", "threads_per_allocation", "queue_capacity"):
        if name in call.params:
            values[name] = param_as_int(call.params, name)
    for name in ("priority", "cache_size", "wait_for", "deployment_id"):
        if name in call.params and (name != "deployment_id" or behaviour.deployment_ids):
            values[name] = call.params[name]
    timeout = (
        parse_time_value(call.params["timeout"], "timeout") if "timeout" in call.params else values.get("timeout", 30.0)
    )
    if "master_timeout" in call.params:
        parse_time_value(call.params["master_timeout"], "master_timeout")
    cache_size = values.get("cache_size")
    cache_bytes = parse_byte_size(cache_size, "cache_size") if cache_size is not None else None
    priority = values.get("priority", "normal")
    if priority not in ("normal", "low"):
        raise errors.illegal_argument(f"No enum constant for [priority] with value [{priority}]")
    adaptive = values.get("adaptive_allocations")
    request = StartRequest(
        model_id=model_id,
        deployment_id=values.get("deployment_id") or model_id,
        number_of_allocations=values.get("number_of_allocations"),
        threads_per_allocation=values.get("threads_per_allocation", 1),
        queue_capacity=values.get("queue_capacity", 10_000),
        cache_size=cache_size,
        cache_size_bytes=cache_bytes,
        priority=priority,
        adaptive=_request_adaptive(adaptive) if adaptive else None,
    )
    return StartOptions(request, values.get("wait_for", "started"), timeout)
