"""Schemathesis cases for ``_update``, from the strict OpenAPI 3.1 document of the run's profile.

Schemathesis generates the requests (positive cases that the schema allows, negative
cases that break it); the run sends them, so each one is judged by the rules and
recorded like any other exchange. Schemathesis' own response checks then run on the
same answer, with one difference from a plain Schemathesis run: Elasticsearch is
deliberately more lenient than the strict schema (§1.4: ``"3"`` and ``2.7`` are coerced,
``model_threads`` is an alias), so a negative case that such leniency makes acceptable
is not a failure when it gets a 200.

The schema states what JSON Schema can state. Cross-field rules that it cannot (body
``model_id`` equal to the path id, body together with ``?number_of_allocations``,
``min <= max``) can still be broken by a positive case; those requests are sent as the
invalid case they are, so the rule that knows their error judges them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
import schemathesis
from hypothesis import reject
from schemathesis.checks import not_a_server_error
from schemathesis.generation.case import Case
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from conformance.exchange import IntentKind
from conformance.rules.openapi import OpenApiCase
from conformance.rules.reading import coerced_int
from conformance.schemas import Profile, profile_named
from conformance.suite.runner import MISSING, Run
from conformance.suite.strategies import min_above_max, withheld

OPERATION = "POST /_ml/trained_models/{model_id}/deployment/_update"
RESPONSE_CHECKS = (not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance)
ADAPTIVE_COUNTS = ("min_number_of_allocations", "max_number_of_allocations")


@pytest.fixture(scope="session")
def update_schema(dc_run: Run) -> schemathesis.schemas.BaseSchema:
    """The profile's OpenAPI document, with the path pinned to the run's primary deployment."""
    config = schemathesis.Config.from_dict(
        {
            "seed": dc_run.seed,
            "generation": {"max-examples": dc_run.max_examples, "mode": "all", "deterministic": True},
            "parameters": {"path.model_id": dc_run.primary},
            "phases": {"coverage": {"enabled": False}, "stateful": {"enabled": False}},
        }
    )
    return schemathesis.openapi.from_dict(profile_named(dc_run.ctx.profile).openapi(), config=config)


schema = schemathesis.pytest.from_fixture("update_schema")


@schema.include(name=OPERATION).parametrize()
def test_update_operation(case: Case[Any], dc_run: Run) -> None:
    """Each case is sent, judged by every rule (Schemathesis' response checks among them,
    ``shape.openapi-response``) and recorded; a failure does not stop the other cases."""
    dc_run.restore(dc_run.primary, 1)
    body = case.body if isinstance(case.body, Mapping) else {}
    count = body.get("number_of_allocations", (case.query or {}).get("number_of_allocations"))
    if withheld(dc_run, dc_run.primary, count, body.get("adaptive_allocations")):
        reject()  # it would scale the cluster up (strategies.withheld): not sent, not an example
    negative = case.meta is not None and case.meta.generation.mode.is_negative
    kind, named, detail = _intent_of(case, dc_run.primary, negative)
    checks = list(RESPONSE_CHECKS)
    if negative and not _accepted_by_leniency(case, profile_named(dc_run.ctx.profile)):
        checks.append(negative_data_rejection)
    dc_run.update(
        dc_run.primary,
        kind=kind,
        detail=detail,
        case=named,
        expected=OpenApiCase(case, tuple(checks)),
        **_request_of(case),
    )


def _request_of(case: Case[Any]) -> dict[str, Any]:
    """The case as ``Run.update`` keywords: serialised like Schemathesis would send it."""
    sent = case.as_transport_kwargs(base_url="http://target")
    prepared = requests.Request("POST", sent["url"], params=sent.get("params")).prepare()
    params: dict[str, list[str]] = {}
    for key, value in parse_qsl(urlsplit(prepared.url or "").query, keep_blank_values=True):
        params.setdefault(key, []).append(value)
    headers = {k: v for k, v in (sent.get("headers") or {}).items() if k.lower() == "content-type"}
    request: dict[str, Any] = {"params": params or None, "headers": headers or None}
    if "json" in sent:
        request["body"] = sent["json"]
    elif sent.get("data") is not None:
        data = sent["data"]
        request["content"] = data if isinstance(data, bytes) else str(data).encode()
    else:
        request["body"] = MISSING
    return request


def _intent_of(case: Case[Any], path_id: str, negative: bool) -> tuple[IntentKind, str | None, str]:
    """The intent's kind, case and detail: ``update`` for a valid request; ``update-invalid``
    with the invalid case it is when that is known, without one for other negative cases."""
    body = case.body if isinstance(case.body, Mapping) else None
    has_body = case.body is not None and not _is_not_set(case.body)
    if "number_of_allocations" in (case.query or {}) and has_body and not negative:
        return _invalid("query-and-body")  # §1.5: the body is never parsed
    if body is not None and not negative:
        if "model_id" in body and body["model_id"] != path_id:
            return _invalid("inconsistent-model-id")  # §1.4
        adaptive = body.get("adaptive_allocations")
        if isinstance(adaptive, Mapping) and min_above_max(adaptive):
            return _invalid("adaptive-min-above-max")  # §1.6 A.3
    if negative:
        return IntentKind.UPDATE_INVALID, None, f"schemathesis negative case: {_mutation_of(case)}"
    return IntentKind.UPDATE, None, "schemathesis positive case"


def _invalid(name: str) -> tuple[IntentKind, str | None, str]:
    return IntentKind.UPDATE_INVALID, name, name


def _mutation_of(case: Case[Any]) -> str:
    description = case.meta.phase.data.description if case.meta is not None else None
    return description or "schema-invalid data"


def _is_not_set(value: Any) -> bool:
    return type(value).__name__ == "NotSet"


def _accepted_by_leniency(case: Case[Any], profile: Profile) -> bool:
    """A negative body that is valid once Elasticsearch's coercions are applied (§1.4, §1.5).

    The strict schema rejects ``"3"``, ``2.7`` and ``model_threads``; Elasticsearch reads
    them as the counts 3 and 2 and as an alias, so a 200 for them is right.
    """
    if not isinstance(case.body, Mapping):
        return False
    normalised = dict(case.body)
    if "model_threads" in normalised and "number_of_allocations" not in normalised:
        normalised["number_of_allocations"] = normalised.pop("model_threads")
    if "number_of_allocations" in normalised:
        normalised["number_of_allocations"] = coerced_int(normalised["number_of_allocations"])
    adaptive = normalised.get("adaptive_allocations")
    if isinstance(adaptive, Mapping):
        normalised["adaptive_allocations"] = {
            key: coerced_int(value) if key in ADAPTIVE_COUNTS and value is not None else value
            for key, value in adaptive.items()
        }
    return normalised != case.body and not profile.validate_update_request(normalised)
