"""The answer to a Schemathesis case passes Schemathesis' own response checks.

The suite's schemas are strict where the official OpenAPI document is loose, so the
checks Schemathesis runs on every answer (not a server error, a documented status, a
JSON content type, a body valid against the response schema, and for a negative case
that Elasticsearch's leniency does not make valid, a rejection) are part of the verdict:
a failure is a verdict of this rule, recorded like any other, never an exception that
ends the test and leaves the rest of its cases unsent.

The case travels in the exchange's intent (``expected``, an :class:`OpenApiCase` with the
checks that apply to it), so the rule stays a pure function of the exchange.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import requests
from schemathesis.checks import CheckFunction
from schemathesis.core.failures import FailureGroup
from schemathesis.core.transport import Response as SchemathesisResponse
from schemathesis.generation.case import Case

from conformance.context import Context
from conformance.exchange import AnsweredExchange, Exchange, Expectation
from conformance.rules.base import Level, rule


@dataclass(frozen=True)
class OpenApiCase(Expectation):
    """The Schemathesis case an ``_update`` request was generated from, and the response checks
    that apply to its answer (a negative case adds ``negative_data_rejection`` unless
    Elasticsearch's leniency makes it valid, §1.4)."""

    case: Case[Any]
    checks: tuple[CheckFunction, ...]


def _has_case(ex: Exchange, ctx: Context) -> bool:
    return ex.intent.expectation(OpenApiCase) is not None


@rule(
    "shape.openapi-response",
    level=Level.MUST,
    source="§2.2",
    applies=_has_case,
)
def openapi_response(ex: AnsweredExchange, ctx: Context) -> Iterator[str]:
    """An answer to a Schemathesis case passes its response checks against the profile's OpenAPI document."""
    expected = ex.intent.expectation(OpenApiCase)
    if expected is None:  # _has_case selects only exchanges with one
        return
    try:
        expected.case.validate_response(as_schemathesis_response(ex), checks=list(expected.checks))
    except FailureGroup as failures:  # a BaseExceptionGroup: ``except Exception`` misses it
        for failure in failures.exceptions:
            yield " ".join(str(failure).split())[:500]


def as_schemathesis_response(exchange: AnsweredExchange) -> SchemathesisResponse:
    """The recorded answer in the form Schemathesis' checks read."""
    sent = exchange.request
    prepared = requests.Request(sent.method, sent.url, headers=dict(sent.headers), data=sent.body).prepare()
    answer = exchange.response
    headers: dict[str, list[str]] = {}
    for name, value in answer.headers:
        headers.setdefault(name.lower(), []).append(value)
    return SchemathesisResponse(
        status_code=answer.status,
        headers=headers,
        content=answer.body,
        request=prepared,
        elapsed=exchange.duration,
        verify=True,
    )
