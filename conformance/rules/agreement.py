"""Oracle rules: the answer agrees with the suite's independent model (:mod:`conformance.oracle`).

The oracle predicts, from the state observed before the call, which statuses are
acceptable and what the call leaves stored. When another deployment changed during the
call (a shared cluster), or the oracle lacks facts, the prediction is uncertain and
these rules do not fail.
"""

from __future__ import annotations

from collections.abc import Iterator

from conformance.context import Context, Feature
from conformance.exchange import AnsweredExchange, Exchange, IntentKind
from conformance.oracle import UNKNOWN, Prediction, others_changed, output_form, predict_update
from conformance.rules.base import Level, rule
from conformance.rules.reading import addressed_deployment, is_update_call

JUDGED_KINDS = frozenset(
    {
        IntentKind.UPDATE,
        IntentKind.UPDATE_UNKNOWN_DEPLOYMENT,
        IntentKind.UPDATE_BY_MODEL_ID,
        IntentKind.UPDATE_NOT_DEPLOYED_MODEL,
        IntentKind.UPDATE_NOT_STARTED,
        IntentKind.UPDATE_INVALID,
        IntentKind.UPDATE_WRONG_METHOD,
        IntentKind.UPDATE_WRONG_CONTENT_TYPE,
        IntentKind.UPDATE_MALFORMED_JSON,
    }
)


_last_call: tuple[Exchange, Context, Prediction | None] | None = None


def prediction(ex: Exchange, ctx: Context) -> Prediction | None:
    """The oracle's prediction for the exchange, or ``None`` when it cannot be trusted.

    The three oracle rules judge the same exchange one after the other, so the last
    answer is kept (by identity of exchange and context): the prediction is pure.
    """
    global _last_call
    last = _last_call
    if last is not None and last[0] is ex and last[1] is ctx:
        return last[2]
    predicted: Prediction | None = None
    if not others_changed(ex.before, ex.after, addressed_deployment(ex)):
        found = predict_update(ex.request, ex.intent.deployment, ex.before, ctx)
        predicted = found if found.certain else None
    _last_call = (ex, ctx, predicted)
    return predicted


def _judged(ex: Exchange, ctx: Context) -> bool:
    return ex.intent.kind in JUDGED_KINDS and ex.before is not None and is_update_call(ex.request)


def _shown(predicted: Prediction) -> str:
    return " or ".join(str(status) for status in sorted(predicted.statuses)) + f" ({predicted.why})"


@rule("oracle.agrees", level=Level.MUST, source="§1.6", applies=_judged)
def agrees(ex: AnsweredExchange, ctx: Context) -> Iterator[str]:
    """The status class (2xx/4xx/5xx) is the one the oracle predicts from the state before the call."""
    response = ex.response
    predicted = prediction(ex, ctx)
    if predicted is None:
        return
    if response.status // 100 not in {status // 100 for status in predicted.statuses}:
        yield f"HTTP status: expected {_shown(predicted)}, got {response.status}"


@rule("oracle.status", level=Level.MUST, source="§1.6", applies=_judged)
def status(ex: AnsweredExchange, ctx: Context) -> Iterator[str]:
    """The exact status is one the oracle accepts (e.g. 429 vs 409 vs 400 vs 404)."""
    response = ex.response
    predicted = prediction(ex, ctx)
    if predicted is None or response.status // 100 not in {s // 100 for s in predicted.statuses}:
        return  # a wrong class is oracle.agrees' failure; do not report it twice
    if response.status not in predicted.statuses:
        yield f"HTTP status: expected {_shown(predicted)}, got {response.status}"


@rule(
    "oracle.resulting-state",
    level=Level.MUST,
    source="§3.5-1",
    applies=lambda ex, ctx: _judged(ex, ctx) and ex.after is not None,
)
def resulting_state(ex: AnsweredExchange, ctx: Context) -> Iterator[str]:
    """The stored count and adaptive settings after the call are the ones the oracle predicts."""
    response = ex.response
    predicted = prediction(ex, ctx)
    assert ex.after is not None, "applies() selects exchanges with a snapshot after the call"
    observed = ex.after.get(addressed_deployment(ex) or "")
    if predicted is None or observed is None or response.status not in predicted.statuses:
        return
    if (
        predicted.number_of_allocations is not None
        and observed.number_of_allocations != predicted.number_of_allocations
    ):
        yield (
            f"deployment_stats.number_of_allocations after the call: expected {predicted.number_of_allocations} "
            f"({predicted.why}), got {observed.number_of_allocations}"
        )
    settled = predicted.adaptive_allocations
    if settled is UNKNOWN or not ctx.has(Feature.ADAPTIVE_ALLOCATIONS):
        return
    # Stats leave unset settings out: an absent field is "none", so lost settings and an
    # ignored null reset show (as concurrency.final_values reads it).
    got = output_form(observed.adaptive_allocations) if observed.adaptive_allocations is not None else None
    if got != settled:
        yield f"deployment_stats.adaptive_allocations after the call: expected {settled}, got {got}"
