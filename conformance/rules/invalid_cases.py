"""The invalid update requests the suite knows, and the error Elasticsearch gives each.

Traffic generators send an exchange of kind ``update-invalid`` and put one of these
names in ``Intent.case``; the error-contract rules (``conformance.rules.errors``) look
the name up here to know which status, error type and reason to expect. Keeping the
vocabulary in one table means a generator cannot ask for a check that no rule makes,
and a reader sees every expected error next to the section of
``elasticsearch-behaviour.md`` it comes from.

``body``/``query`` are a canonical example of each case: a generator may send any
request that breaks the same rule (e.g. ``-7`` instead of ``-1`` for ``negative``).
Cases marked ``needs_adaptive_enabled`` must be sent to a deployment whose *stored*
adaptive allocations are enabled; ``needs_low_priority`` to a low-priority deployment;
``needs_inference_endpoint`` to a deployment created by an inference endpoint.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from conformance.context import Feature


@dataclass(frozen=True)
class InvalidCase:
    """One way to break a validation rule of ``_update`` and the answer it must get.

    ``reason`` is a regular expression for the stable core of the error reason (§10.3):
    it is searched, not matched in full, so ``[line:col]`` prefixes, ``Validation
    Failed: 1:`` numbering and ``did you mean`` suffixes do not matter. ``error_type``
    ``None`` means the type is not known (the status and reason still are).
    """

    name: str
    what: str
    statuses: frozenset[int]
    error_type: str | None
    reason: str
    source: str
    body: bytes | None = None
    query: str = ""
    since: str | None = None
    until: str | None = None
    requires: frozenset[Feature] = frozenset()
    needs_adaptive_enabled: bool = False
    needs_low_priority: bool = False
    needs_inference_endpoint: bool = False


def _case(
    name: str, what: str, status: int | frozenset[int], error_type: str | None, reason: str, source: str, **extra: Any
) -> InvalidCase:
    statuses = frozenset({status}) if isinstance(status, int) else status
    return InvalidCase(name, what, statuses, error_type, reason, source, **extra)


_POSITIVE = r"\[number_of_allocations\] must be a positive integer"
ADAPTIVE_CONFLICT = r"\[number_of_allocations\] cannot be set if adaptive allocations is enabled"
_CLIENT_ERRORS = frozenset(range(400, 500))

_CASES: tuple[InvalidCase, ...] = (
    _case(
        "zero",
        "body number_of_allocations 0 (only the internal scaler may set 0)",
        400,
        "action_request_validation_exception",
        _POSITIVE,
        "§1.6 A.1",
        body=b'{"number_of_allocations": 0}',
    ),
    _case(
        "negative",
        "body number_of_allocations below zero",
        400,
        "action_request_validation_exception",
        _POSITIVE,
        "§1.6 A.1",
        body=b'{"number_of_allocations": -1}',
    ),
    _case(
        "empty-object",
        "body {} before 8.15, where the count defaults to 0",
        400,
        "action_request_validation_exception",
        _POSITIVE,
        "§1.6 A.1",
        body=b"{}",
        until="8.15",
    ),
    _case(
        "non-integer-string",
        "body number_of_allocations a string that is no integer",
        400,
        "x_content_parse_exception",
        r"failed to parse field \[number_of_allocations\]",
        "§1.5",
        body=b'{"number_of_allocations": "abc"}',
    ),
    _case(
        "wrong-type",
        "body number_of_allocations true, null or an object",
        400,
        "x_content_parse_exception",
        r"number_of_allocations doesn't support values of type",
        "§1.5",
        body=b'{"number_of_allocations": true}',
    ),
    _case(
        "unknown-field",
        "a top-level body field the parser does not declare",
        400,
        "x_content_parse_exception",
        r"unknown field \[",
        "§1.5",
        body=b'{"number_of_allocations": 1, "foo": 1}',
    ),
    _case(
        "non-updatable-field",
        "threads_per_allocation, queue_capacity, priority, cache_size or deployment_id in the body",
        400,
        "x_content_parse_exception",
        r"unknown field \[",
        "§1.4",
        body=b'{"threads_per_allocation": 2}',
    ),
    _case(
        "missing-body",
        "no body and no ?number_of_allocations",
        400,
        "parse_exception",
        r"request body is required",
        "§1.5",
        body=None,
    ),
    _case(
        "inconsistent-model-id",
        "body model_id differs from the path id",
        400,
        "status_exception",
        r"Inconsistent model_id; '.*' specified in the body differs from '.*' specified as a URL argument",
        "§1.4",
        body=b'{"model_id": "some-other-id", "number_of_allocations": 1}',
    ),
    _case(
        "unknown-query-param",
        "a query parameter the handler does not declare",
        400,
        "illegal_argument_exception",
        r"contains unrecognized parameter: \[",
        "§1.3",
        body=b'{"number_of_allocations": 1}',
        query="foo=1",
    ),
    _case(
        "query-param-unrecognized",
        "?number_of_allocations before 8.15, where it is no parameter",
        400,
        "illegal_argument_exception",
        r"contains unrecognized parameter: \[number_of_allocations\]",
        "§1.3",
        body=b'{"number_of_allocations": 2}',
        query="number_of_allocations=2",
        until="8.15",
    ),
    _case(
        "query-and-body",
        "?number_of_allocations together with any non-empty body",
        400,
        "illegal_argument_exception",
        r"does not support having a body",
        "§1.5",
        # The count the primary already holds: a server that wrongly applies it changes nothing
        # (and scales nothing up), yet its 200 still breaks the rule.
        body=b'{"number_of_allocations": 1}',
        query="number_of_allocations=1",
        requires=frozenset({Feature.QUERY_NUMBER_OF_ALLOCATIONS}),
    ),
    _case(
        "query-non-integer",
        "?number_of_allocations that is no integer (also empty)",
        400,
        "illegal_argument_exception",
        r"Failed to parse int parameter \[number_of_allocations\] with value",
        "§1.3",
        body=None,
        query="number_of_allocations=abc",
        requires=frozenset({Feature.QUERY_NUMBER_OF_ALLOCATIONS}),
    ),
    _case(
        "query-zero",
        "?number_of_allocations=0",
        400,
        "action_request_validation_exception",
        _POSITIVE,
        "§1.6 A.1",
        body=None,
        query="number_of_allocations=0",
        requires=frozenset({Feature.QUERY_NUMBER_OF_ALLOCATIONS}),
    ),
    _case(
        "adaptive-with-allocations",
        "number_of_allocations and adaptive_allocations.enabled true in one body",
        400,
        "action_request_validation_exception",
        ADAPTIVE_CONFLICT,
        "§1.6 A.2",
        body=b'{"number_of_allocations": 2, "adaptive_allocations": {"enabled": true}}',
        requires=frozenset({Feature.ADAPTIVE_ALLOCATIONS}),
    ),
    _case(
        "allocations-while-adaptive-enabled",
        "number_of_allocations alone while stored adaptive allocations are enabled",
        400,
        "validation_exception",
        ADAPTIVE_CONFLICT,
        "§1.6 C.3",
        body=b'{"number_of_allocations": 2}',
        requires=frozenset({Feature.ADAPTIVE_ALLOCATIONS}),
        needs_adaptive_enabled=True,
    ),
    _case(
        "adaptive-min-negative",
        "adaptive_allocations.min_number_of_allocations below zero",
        400,
        "action_request_validation_exception",
        r"\[min_number_of_allocations\] must be a non-negative integer or null",
        "§1.6 A.3",
        body=b'{"adaptive_allocations": {"enabled": true, "min_number_of_allocations": -2}}',
        requires=frozenset({Feature.ADAPTIVE_ALLOCATIONS}),
    ),
    _case(
        "adaptive-max-below-one",
        "adaptive_allocations.max_number_of_allocations below one",
        400,
        "action_request_validation_exception",
        r"\[max_number_of_allocations\] must be a positive integer or null",
        "§1.6 A.3",
        body=b'{"adaptive_allocations": {"enabled": true, "max_number_of_allocations": 0}}',
        requires=frozenset({Feature.ADAPTIVE_ALLOCATIONS}),
    ),
    _case(
        "adaptive-min-above-max",
        "min above max, in the request or after merging with the stored settings",
        400,
        "action_request_validation_exception",
        r"\[min_number_of_allocations\] must not be larger than \[max_number_of_allocations\]",
        "§1.6 A.3",
        body=b'{"adaptive_allocations": {"enabled": true, "min_number_of_allocations": 3, '
        b'"max_number_of_allocations": 2}}',
        requires=frozenset({Feature.ADAPTIVE_ALLOCATIONS}),
    ),
    _case(
        "adaptive-wrong-type",
        "adaptive_allocations neither an object nor null",
        400,
        "x_content_parse_exception",
        r"adaptive_allocations doesn't support values of type",
        "§1.5",
        body=b'{"adaptive_allocations": 5}',
        requires=frozenset({Feature.ADAPTIVE_ALLOCATIONS}),
    ),
    _case(
        "adaptive-unknown-field",
        "an unknown key inside adaptive_allocations",
        400,
        "x_content_parse_exception",
        r"\[autoscaling_settings\] unknown field \[",
        "§1.4",
        body=b'{"adaptive_allocations": {"enabled": true, "foo": 1}}',
        requires=frozenset({Feature.ADAPTIVE_ALLOCATIONS}),
    ),
    _case(
        "low-priority-above-one",
        "a low-priority deployment updated to more than one allocation",
        _CLIENT_ERRORS,
        None,
        r"(?i)priority|low",
        "§1.6 D",
        body=b'{"number_of_allocations": 2}',
        requires=frozenset({Feature.LOW_PRIORITY_UPDATE_REJECTED}),
        needs_low_priority=True,
    ),
    _case(
        "inference-endpoint-deployment",
        "a deployment created by an inference endpoint",
        409,
        "status_exception",
        r"Cannot update deployment \[.*\] as it was created by inference endpoint \[.*\]",
        "§1.6 B",
        body=b'{"number_of_allocations": 2}',
        requires=frozenset({Feature.INFERENCE_ENDPOINT_CONFLICT}),
        needs_inference_endpoint=True,
    ),
)

INVALID_CASES: Mapping[str, InvalidCase] = {case.name: case for case in _CASES}
"""Every ``Intent.case`` an ``update-invalid`` exchange may carry, by name."""

TRUNCATED_JSON = "truncated"
"""``Intent.case`` of an ``update-malformed-json`` exchange whose body is cut short
(e.g. ``{``): 400 is required only with the profile feature ``truncated_json_400`` (§10.2)."""
