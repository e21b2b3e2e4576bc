"""Adaptive-allocations rules (§1.4, §1.6 A.3, §1.6 C.3; feature ``adaptive_allocations``, 8.16+).

The settings in an update merge into the stored ones field by field; ``null`` removes
them; leaving the field out keeps them. The expected result comes from the oracle's
:func:`~conformance.oracle.merge_adaptive`, the suite's one model of that merge.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from conformance.context import Context, Feature
from conformance.exchange import AnsweredExchange, Exchange, IntentKind
from conformance.oracle import merge_adaptive, output_form
from conformance.rules.base import Level, rule
from conformance.rules.invalid_cases import ADAPTIVE_CONFLICT
from conformance.rules.reading import (
    ABSENT,
    adaptive_enabled,
    adaptive_settings,
    assignment_in,
    assignment_of,
    body_field,
    error_in,
    last_assignment,
    matches,
    requested_allocations,
    stats_entries,
)

FEATURE = [Feature.ADAPTIVE_ALLOCATIONS]
SOURCE = "§1.4"


def _stored(ex: Exchange) -> Mapping[str, Any] | None:
    settings = adaptive_settings(last_assignment(ex))
    return output_form(settings) if isinstance(settings, Mapping) else None


def _sent(ex: Exchange) -> Any:
    return body_field(ex.request, "adaptive_allocations")


def _update_200_after(ex: Exchange, ctx: Context) -> bool:
    last = last_assignment(ex)
    return (
        ex.intent.kind == IntentKind.UPDATE
        and assignment_in(ex.response) is not None
        and last is not None
        and "adaptive_allocations" in last
    )


@rule(
    "adaptive.merge",
    reads_answer=True,
    level=Level.MUST,
    source=SOURCE,
    requires=FEATURE,
    applies=lambda ex, ctx: _update_200_after(ex, ctx) and _sent(ex) is not ABSENT,
)
def merge(ex: AnsweredExchange, ctx: Context) -> Iterator[str]:
    """Sent settings merge field by field into the stored ones; null resets them to null."""
    expected = merge_adaptive(_stored(ex), _sent(ex))
    got = assignment_of(ex).get("adaptive_allocations", ABSENT)
    if got is ABSENT or got != expected:
        yield (
            f"$.assignment.adaptive_allocations: expected {expected!r} (stored {_stored(ex)!r} merged with the "
            f"request), got {'absent' if got is ABSENT else repr(got)}"
        )


@rule(
    "adaptive.absent-keeps",
    reads_answer=True,
    level=Level.MUST,
    source=SOURCE,
    requires=FEATURE,
    applies=lambda ex, ctx: _update_200_after(ex, ctx) and _sent(ex) is ABSENT,
)
def absent_keeps(ex: AnsweredExchange, ctx: Context) -> Iterator[str]:
    """An update without adaptive_allocations keeps the stored settings."""
    got = assignment_of(ex).get("adaptive_allocations", ABSENT)
    if got is ABSENT or got != _stored(ex):
        yield (
            f"$.assignment.adaptive_allocations: expected {_stored(ex)!r} (unchanged), got "
            f"{'absent' if got is ABSENT else repr(got)}"
        )


def _returned_settings(ex: Exchange) -> Iterator[tuple[str, Any]]:
    assignment = assignment_in(ex.response)
    if assignment is not None and isinstance(assignment.get("adaptive_allocations"), dict):
        yield "$.assignment.adaptive_allocations", assignment["adaptive_allocations"]
    doc = ex.response.json() if ex.response is not None and ex.response.status == 200 else None
    for path, stats in stats_entries(doc):
        if isinstance(stats.get("adaptive_allocations"), dict):
            yield f"{path}.adaptive_allocations", stats["adaptive_allocations"]


def _returns_settings(ex: Exchange, ctx: Context) -> bool:
    return next(_returned_settings(ex), None) is not None


@rule("adaptive.output-form", level=Level.MUST, source=SOURCE, requires=FEATURE, applies=_returns_settings)
def output_form_rule(ex: AnsweredExchange, ctx: Context) -> Iterator[str]:
    """Returned settings always have a boolean `enabled`; min/max appear only when set, as integers."""
    for path, settings in _returned_settings(ex):
        if not isinstance(settings.get("enabled"), bool):
            yield f"{path}.enabled: expected a boolean (always written), got {settings.get('enabled', 'nothing')!r}"
        for key in ("min_number_of_allocations", "max_number_of_allocations"):
            if key in settings and (not isinstance(settings[key], int) or isinstance(settings[key], bool)):
                yield f"{path}.{key}: expected an integer or no field (written only when set), got {settings[key]!r}"


@rule("adaptive.bounds", level=Level.MUST, source="§1.6 A.3", requires=FEATURE, applies=_returns_settings)
def bounds(ex: AnsweredExchange, ctx: Context) -> Iterator[str]:
    """Returned settings respect min >= 0, max >= 1 and min <= max."""
    for path, settings in _returned_settings(ex):
        low, high = settings.get("min_number_of_allocations"), settings.get("max_number_of_allocations")
        if isinstance(low, int) and low < 0:
            yield f"{path}.min_number_of_allocations: expected >= 0, got {low}"
        if isinstance(high, int) and high < 1:
            yield f"{path}.max_number_of_allocations: expected >= 1, got {high}"
        if isinstance(low, int) and isinstance(high, int) and low > high:
            yield f"{path}: expected min_number_of_allocations {low} <= max_number_of_allocations {high}"


def _count_while_enabled(ex: Exchange, ctx: Context) -> bool:
    """A count sent while the merged settings are enabled, by the last answer or by the state
    read just before: on a correct server the two agree; where they do not, the server's own
    read paths disagree, and either being enabled makes the count one to refuse (§1.6 C.3)."""
    if ex.intent.kind != IntentKind.UPDATE or last_assignment(ex) is None or requested_allocations(ex.request) is None:
        return False
    return any(adaptive_enabled(merge_adaptive(stored, _sent(ex))) for stored in (_stored(ex), _stored_before(ex)))


def _stored_before(ex: Exchange) -> Mapping[str, Any] | None:
    deployment = ex.intent.deployment
    observed = ex.before.get(deployment.deployment_id) if ex.before is not None and deployment is not None else None
    settings = observed.adaptive_allocations if observed is not None else None
    return output_form(settings) if isinstance(settings, Mapping) else None


@rule(
    "adaptive.count-rejected-while-enabled",
    level=Level.MUST,
    source="§1.6 C.3",
    requires=FEATURE,
    applies=_count_while_enabled,
)
def count_rejected_while_enabled(ex: AnsweredExchange, ctx: Context) -> Iterator[str]:
    """number_of_allocations while (merged) adaptive allocations are enabled gets 400."""
    response = ex.response
    if response.status != 400:
        yield (
            "HTTP status: expected 400 (adaptive allocations are enabled, the count is the scaler's), got "
            f"{response.status}"
        )
        return
    error = error_in(response)
    if not matches(ADAPTIVE_CONFLICT, (error.reason if error else None) or ""):
        yield (
            "$.error.reason: expected '[number_of_allocations] cannot be set if adaptive allocations is enabled', got "
            f"{error.reason if error else None!r}"
        )
