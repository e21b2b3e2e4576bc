"""Error-contract rules (§1.1, §1.5, §1.6, §3.5-15): each bad request gets its exact error.

The vocabulary of invalid requests lives in :mod:`conformance.rules.invalid_cases`
and is re-exported here, because traffic generators import it from this module. Every
case there becomes its own rule ``errors.invalid-<name>``, so a report names the
validation rule a server got wrong. Reasons are matched by their stable core (§10.3).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from conformance.context import Context, Feature
from conformance.exchange import AnsweredExchange, Exchange, IntentKind
from conformance.rules.base import Level, intent_is, rule
from conformance.rules.invalid_cases import INVALID_CASES, TRUNCATED_JSON, InvalidCase
from conformance.rules.reading import (
    error_in,
    last_assignment,
    matches,
    path_id,
    requested_allocations,
    stored_count,
)

__all__ = ["INVALID_CASES", "TRUNCATED_JSON", "InvalidCase"]

NOT_FOUND = "No known model deployment with id [{id}]"
NOT_STARTED = "cannot update deployment that is not in [started] state"


def expect_error(ex: AnsweredExchange, statuses: frozenset[int], error_type: str | None, reason: str) -> Iterator[str]:
    """Messages for each way the answer differs from the expected status, type and reason core."""
    response = ex.response
    status = response.status
    if status not in statuses:
        wanted = "4xx" if len(statuses) > 2 else " or ".join(str(s) for s in sorted(statuses))
        yield f"HTTP status: expected {wanted}, got {status}"
        return
    error = error_in(response)
    if error is None:
        yield f"$.error: expected an error body, got {response.body[:200]!r}"
        return
    if error_type is not None and error.type != error_type:
        yield f"$.error.type: expected {error_type!r}, got {error.type!r}"
    if not any(matches(reason, text) for text in (error.reason or "", *error.causes)):
        yield f"$.error.reason (or a cause): expected to match /{reason}/, got {error.reason!r}"


def _case_rule(case: InvalidCase) -> None:
    def check(ex: AnsweredExchange, ctx: Context) -> Iterator[str]:
        yield from expect_error(ex, case.statuses, case.error_type, case.reason)

    check.__doc__ = f"{case.what}: {_describe(case)}."
    rule(
        f"errors.invalid-{case.name}",
        level=Level.MUST,
        source=case.source,
        since=case.since,
        until=case.until,
        requires=case.requires,
        applies=lambda ex, ctx: ex.intent.kind == IntentKind.UPDATE_INVALID and ex.intent.case == case.name,
    )(check)


def _describe(case: InvalidCase) -> str:
    statuses = "4xx" if len(case.statuses) > 2 else "/".join(str(s) for s in sorted(case.statuses))
    return f"{statuses} {case.error_type or 'error'} matching /{case.reason}/"


for _case in INVALID_CASES.values():
    _case_rule(_case)


@rule("errors.invalid-never-5xx", level=Level.MUST, source="§3.5-15", applies=intent_is(IntentKind.UPDATE_INVALID))
def invalid_never_5xx(ex: AnsweredExchange, ctx: Context) -> Iterator[str]:
    """A request that breaks a validation rule never gets a 5xx (bad input is the client's error)."""
    response = ex.response
    if response.status >= 500:
        yield (
            f"HTTP status: expected a 4xx for invalid input ({ex.intent.detail or 'unnamed case'}), got "
            f"{response.status}"
        )


VALID_UPDATE_KINDS = frozenset(
    {
        IntentKind.UPDATE,
        IntentKind.UPDATE_NOT_STARTED,
        IntentKind.UPDATE_UNKNOWN_DEPLOYMENT,
        IntentKind.UPDATE_BY_MODEL_ID,
        IntentKind.UPDATE_NOT_DEPLOYED_MODEL,
        IntentKind.BURST_UPDATE,
    }
)
"""Well-formed ``_update`` requests, alone or in a concurrent burst: whatever the state, their
answer is a 2xx or one of the client errors of §3.5-15 (404, 409, 429, 400)."""


@rule("errors.valid-never-5xx", level=Level.MUST, source="§3.5-15", applies=intent_is(*VALID_UPDATE_KINDS))
def valid_never_5xx(ex: AnsweredExchange, ctx: Context) -> Iterator[str]:
    """A well-formed update, alone or in a concurrent burst, never gets a 5xx (ES#121165 was such a bug).

    Judged apart from the oracle, which judges only what it can predict with certainty
    (nothing else moved, every fact known), and for every burst request, which the oracle
    never sees: a 5xx is wrong whatever state the deployment was in.
    """
    response = ex.response
    if response.status >= 500:
        yield (
            f"HTTP status: a valid update ({ex.intent.detail or ex.intent.kind}) never gets a server error; "
            f"expected 200, 404, 409, 429 or 400 by §3.5-15, got {response.status}"
        )


@rule(
    "errors.unknown-deployment-404",
    level=Level.MUST,
    source="§1.6 C.1",
    applies=intent_is(IntentKind.UPDATE_UNKNOWN_DEPLOYMENT),
)
def unknown_deployment_404(ex: AnsweredExchange, ctx: Context) -> Iterator[str]:
    """An id that names no deployment gets 404 resource_not_found_exception No known model deployment with id [<id>]."""
    yield from _not_found(ex)


@rule(
    "errors.not-deployed-model-404",
    level=Level.MUST,
    source="§1.6 C.1",
    applies=intent_is(IntentKind.UPDATE_NOT_DEPLOYED_MODEL),
)
def not_deployed_model_404(ex: AnsweredExchange, ctx: Context) -> Iterator[str]:
    """A model that exists but is not deployed gets the same 404 as an unknown id."""
    yield from _not_found(ex)


@rule(
    "errors.model-id-of-other-deployment-404",
    level=Level.MUST,
    source="§1.2",
    since="8.8",
    applies=intent_is(IntentKind.UPDATE_BY_MODEL_ID),
)
def model_id_of_other_deployment_404(ex: AnsweredExchange, ctx: Context) -> Iterator[str]:
    """The model id of a deployment with another deployment id gets 404: the path is a deployment id."""
    yield from _not_found(ex)


def _not_found(ex: AnsweredExchange) -> Iterator[str]:
    reason = re.escape(NOT_FOUND.format(id=path_id(ex.request) or ""))
    yield from expect_error(ex, frozenset({404}), "resource_not_found_exception", reason)


@rule(
    "errors.not-started-409",
    level=Level.MUST,
    source="§1.6 C.6",
    applies=lambda ex, ctx: ex.intent.kind == IntentKind.UPDATE_NOT_STARTED and _changes_count(ex),
)
def not_started_409(ex: AnsweredExchange, ctx: Context) -> Iterator[str]:
    """A state-changing update of a deployment that is not started gets 409 status_exception."""
    yield from expect_error(ex, frozenset({409}), "status_exception", re.escape(NOT_STARTED))


def _changes_count(ex: Exchange) -> bool:
    """True when the request surely asks for another count than the stored one (not a no-op)."""
    stored = stored_count(last_assignment(ex))
    requested = requested_allocations(ex.request)
    return stored is not None and requested is not None and requested >= 1 and requested != stored


@rule("errors.wrong-method-405", level=Level.MUST, source="§1.1", applies=intent_is(IntentKind.UPDATE_WRONG_METHOD))
def wrong_method_405(ex: AnsweredExchange, ctx: Context) -> Iterator[str]:
    """Another HTTP method gets 405 with an Allow: POST header."""
    response = ex.response
    if response.status != 405:
        yield f"HTTP status: expected 405 for {ex.request.method}, got {response.status}"
        return
    allow = response.header("allow") or ""
    if "POST" not in [method.strip().upper() for method in allow.split(",")]:
        yield f"Allow header: expected 'POST', got {allow or None!r}"
    error = error_in(response)
    if ex.request.method != "HEAD" and not matches(
        r"Incorrect HTTP method for uri \[", (error.reason if error else "") or ""
    ):
        yield (
            "$.error: expected 'Incorrect HTTP method for uri [...] and method [...], allowed: [POST]', got "
            f"{error.reason if error else None!r}"
        )


@rule(
    "errors.wrong-content-type-406",
    level=Level.MUST,
    source="§1.5",
    applies=intent_is(IntentKind.UPDATE_WRONG_CONTENT_TYPE),
)
def wrong_content_type_406(ex: AnsweredExchange, ctx: Context) -> Iterator[str]:
    """A body with a non-JSON Content-Type gets 406 Content-Type header [...] is not supported."""
    yield from expect_error(ex, frozenset({406}), None, r"Content-Type header (\[.*\] is not supported|is missing)")


@rule(
    "errors.malformed-json-400",
    level=Level.MUST,
    source="§1.5",
    applies=lambda ex, ctx: ex.intent.kind == IntentKind.UPDATE_MALFORMED_JSON and ex.intent.case != TRUNCATED_JSON,
)
def malformed_json_400(ex: AnsweredExchange, ctx: Context) -> Iterator[str]:
    """A body that is not JSON gets 400 x_content_parse_exception, never a 500."""
    yield from expect_error(ex, frozenset({400}), "x_content_parse_exception", r".")


@rule(
    "errors.truncated-json-400",
    level=Level.MUST,
    source="§10.2",
    requires=[Feature.TRUNCATED_JSON_400],
    applies=lambda ex, ctx: ex.intent.kind == IntentKind.UPDATE_MALFORMED_JSON and ex.intent.case == TRUNCATED_JSON,
)
def truncated_json_400(ex: AnsweredExchange, ctx: Context) -> Iterator[str]:
    """A truncated body (e.g. `{`) gets 400 from 8.16 (older versions answered 500)."""
    response = ex.response
    if response.status != 400:
        yield f"HTTP status: expected 400 for a truncated body, got {response.status}"
