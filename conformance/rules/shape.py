"""Shape rules: every answer has the form Elasticsearch gives it (§2, §1.5, §10.4).

Schema validation itself lives in :mod:`conformance.schemas`; these rules only choose
which document to validate against which schema of the target's profile, and add the
protocol facts a schema cannot express (headers, envelope status).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from conformance.context import Context
from conformance.exchange import AnsweredExchange, Exchange, IntentKind
from conformance.rules.base import Level, rule, update_answer
from conformance.rules.reading import error_in
from conformance.schemas import Profile, profile_named

JSON_MEDIA_TYPES = ("application/json", "application/vnd.elasticsearch+json")
SIMPLE_ERROR_STATUSES = frozenset({405, 406})  # RestController's {"error": "<text>", "status": N} (§1.1, §1.5)


def _profile(ctx: Context) -> Profile:
    return profile_named(ctx.profile)


def _has_body(ex: Exchange, ctx: Context) -> bool:
    return ex.response is not None and bool(ex.response.body.strip())


@rule(
    "shape.assignment-schema",
    level=Level.MUST,
    source="§2.2",
    applies=update_answer(lambda status: status == 200),
)
def assignment_schema(ex: AnsweredExchange, ctx: Context) -> Iterator[str]:
    """A 200 from _update is {"assignment": ...} valid against the profile's assignment schema."""
    response = ex.response
    doc = response.json()
    if doc is None:
        yield 'expected a JSON body {"assignment": {...}}, got no JSON'
        return
    for problem in _profile(ctx).validate_assignment_response(doc):
        yield f"assignment response: {problem}"


class _Fractional(str):
    """A JSON number literal written with a fraction or an exponent (``2.0``, ``2e0``)."""


def _fractional_numbers(node: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(node, _Fractional):
        yield path, str(node)
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from _fractional_numbers(value, f"{path}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _fractional_numbers(value, f"{path}[{index}]")


@rule(
    "shape.integers-written-as-integers",
    level=Level.MUST,
    source="§2.3",
    applies=update_answer(lambda status: status == 200),
)
def integers_written_as_integers(ex: AnsweredExchange, ctx: Context) -> Iterator[str]:
    """Every number of an assignment is an int or long written as one (`2`, never `2.0`, §2.3, §2.4).

    JSON Schema 2020-12 counts `2.0` as an integer, so the schema cannot see this; clients
    that decode into integer types (Go, Java) reject it.
    """
    response = ex.response
    try:
        doc = json.loads(response.body, parse_float=_Fractional)
    except ValueError:
        return  # not JSON: shape.json-content-type and shape.assignment-schema say so
    for path, literal in _fractional_numbers(doc, "$"):
        yield f"{path}: written as {literal}; Elasticsearch writes an integer here"


@rule(
    "shape.error-envelope",
    level=Level.MUST,
    source="§1.5",
    applies=update_answer(lambda status: status >= 400),
)
def error_envelope(ex: AnsweredExchange, ctx: Context) -> Iterator[str]:
    """Errors use Elasticsearch's envelope {"error": {"root_cause", "type", "reason"}, "status"}."""
    response = ex.response
    doc = response.json()
    if not isinstance(doc, dict):
        yield f"expected a JSON error object for HTTP {response.status}, got {response.body[:200]!r}"
        return
    if response.status in SIMPLE_ERROR_STATUSES and isinstance(doc.get("error"), str):
        return  # the RestController's simple form is what Elasticsearch sends here
    for problem in _profile(ctx).validate_error_response(doc):
        yield f"error response: {problem}"


@rule(
    "shape.error-status-matches-http",
    level=Level.MUST,
    source="§1.5",
    applies=update_answer(lambda status: status >= 400),
)
def error_status_matches(ex: AnsweredExchange, ctx: Context) -> Iterator[str]:
    """The error body's "status" equals the HTTP status."""
    response = ex.response
    error = error_in(response)
    status = error.status if error else None
    if status != response.status:
        yield f"$.status: expected {response.status} (the HTTP status), got {status!r}"


@rule("shape.json-content-type", level=Level.MUST, source="§10.4", applies=_has_body)
def json_content_type(ex: AnsweredExchange, ctx: Context) -> Iterator[str]:
    """Every response body is JSON: Content-Type application/json or application/vnd.elasticsearch+json."""
    response = ex.response
    content_type = (response.header("content-type") or "").split(";", 1)[0].strip().lower()
    if content_type not in JSON_MEDIA_TYPES:
        yield f"Content-Type: expected one of {', '.join(JSON_MEDIA_TYPES)}, got {content_type or 'none'!r}"


@rule(
    "shape.product-header",
    level=Level.MUST,
    source="§10.4",
    applies=lambda ex, ctx: ex.response is not None,
)
def product_header(ex: AnsweredExchange, ctx: Context) -> Iterator[str]:
    """Every response carries X-Elastic-Product: Elasticsearch (official clients refuse a 2xx without it)."""
    response = ex.response
    value = response.header("x-elastic-product")
    if value != "Elasticsearch":
        yield f"X-Elastic-Product: expected 'Elasticsearch', got {value!r}"


@rule(
    "shape.stats-schema",
    level=Level.MUST,
    source="§7",
    applies=lambda ex, ctx: (
        ex.response is not None
        and ex.response.status == 200
        and ex.intent.kind in {IntentKind.READ_STATS, IntentKind.CONVERGED, IntentKind.BURST_FINAL}
        and isinstance(ex.response.json(), dict)
        and "trained_model_stats" in ex.response.json()
    ),
)
def stats_schema(ex: AnsweredExchange, ctx: Context) -> Iterator[str]:
    """A GET _ml/trained_models/_stats answer validates against the profile's stats schema."""
    response = ex.response
    for problem in _profile(ctx).validate_stats_response(response.json()):
        yield f"stats response: {problem}"
