"""Hypothesis strategies for ``_update`` requests, sized by what the target can hold.

Counts are drawn around the discovered capacity (``Context.total_processors``, from the
target's own node attributes, §3.2), so the same strategies probe a laptop emulator and
a large cluster near their limits: below, at and just beyond capacity (§1.6 C.8).
Invalid requests come from the shared table ``INVALID_CASES`` so that every invalid
request the generators send has a rule that knows its expected error.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import parse_qsl

from hypothesis import strategies as st

from conformance.context import Context, Feature
from conformance.exchange import Exchange, IntentKind
from conformance.oracle import allocatable, merge_adaptive
from conformance.rules.base import CATALOGUE
from conformance.rules.errors import INVALID_CASES, InvalidCase
from conformance.suite.runner import MISSING, Run
from conformance.update_request import ABSENT

JSON_HEADERS: Mapping[str, str] = {"Content-Type": "application/json"}


@dataclass(frozen=True)
class UpdateRequest:
    """One ``_update`` request as the generators describe it before it is sent.

    ``body`` is JSON-encodable; ``has_body=False`` sends no body at all (the runner's
    ``MISSING``), and ``content`` replaces ``body`` when a case needs exact bytes.
    """

    body: Any = None
    has_body: bool = True
    params: Mapping[str, str] = field(default_factory=dict)
    content: bytes | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    kind: IntentKind = IntentKind.UPDATE
    detail: str = ""
    case: str | None = None  # the invalid case it is (``Intent.case``)

    def send_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``Run.update``."""
        body = self.body if self.has_body and self.content is None else MISSING
        return {
            "body": body,
            "params": dict(self.params) or None,
            "content": self.content,
            "headers": dict(self.headers) or None,
            "kind": self.kind,
            "detail": self.detail,
            "case": self.case,
        }


def capacity(ctx: Context) -> int:
    """Processors for normal-priority allocations of a one-thread deployment (§3.2, §10.6)."""
    return max(ctx.total_processors, 1)


def allocation_counts(ctx: Context) -> st.SearchStrategy[int]:
    """Valid counts from 1 to a little beyond capacity, plus a far over-ask (PyTorchModelIT's 257, §5.2);
    up to capacity only where an over-ask would scale the cluster up (:attr:`Context.holds_back_scaling`)."""
    if ctx.holds_back_scaling:
        return st.integers(min_value=1, max_value=capacity(ctx))
    return st.one_of(st.integers(min_value=1, max_value=capacity(ctx) + 2), st.just(257))


def count_encodings(count: int) -> st.SearchStrategy[Any]:
    """Spellings of one count the parser must accept: int, integral float, numeric string (§1.4)."""
    return st.sampled_from([count, float(count), str(count)])


def adaptive_settings(ctx: Context) -> st.SearchStrategy[Mapping[str, Any] | None]:
    """Valid ``adaptive_allocations`` values: null (reset), or any subset of the three keys (§1.4).

    ``enabled`` is optional in code although the specification marks it required (§1.4,
    §2.7); ``min <= max`` when both are set, so A.3 holds for the request itself.
    """
    top = capacity(ctx) if ctx.holds_back_scaling else capacity(ctx) + 1  # an enabled min above capacity scales up
    bound = st.one_of(st.none(), st.integers(min_value=1, max_value=top))
    settings = st.fixed_dictionaries(
        {},
        optional={
            "enabled": st.booleans(),
            "min_number_of_allocations": st.one_of(st.none(), st.integers(min_value=0, max_value=top)),
            "max_number_of_allocations": bound,
        },
    ).filter(lambda drawn: not min_above_max(drawn))
    return st.one_of(st.none(), settings)


def min_above_max(adaptive: Mapping[str, Any]) -> bool:
    """Both bounds are set and cross: the invalid case ``adaptive-min-above-max`` (§1.6 A.3, C.4)."""
    low, high = adaptive.get("min_number_of_allocations"), adaptive.get("max_number_of_allocations")
    return isinstance(low, int) and isinstance(high, int) and low > high


def valid_updates(ctx: Context) -> st.SearchStrategy[UpdateRequest]:
    """Well-formed updates of a deployment whose adaptive allocations are off (§1.4, §1.6).

    A count is never combined with ``enabled: true`` (that is the invalid case
    ``adaptive-with-allocations``, §1.6 A.2); the query form is drawn only where the
    profile has it (§1.3).
    """
    by_body = (
        allocation_counts(ctx)
        .flatmap(count_encodings)
        .map(lambda value: UpdateRequest(body={"number_of_allocations": value}))
    )
    choices = [by_body]
    if ctx.has(Feature.QUERY_NUMBER_OF_ALLOCATIONS):
        choices.append(
            allocation_counts(ctx).map(
                lambda count: UpdateRequest(has_body=False, params={"number_of_allocations": str(count)})
            )
        )
    if ctx.has(Feature.ADAPTIVE_ALLOCATIONS):
        choices.append(adaptive_settings(ctx).map(lambda a: UpdateRequest(body={"adaptive_allocations": a})))
        choices.append(
            st.tuples(allocation_counts(ctx), adaptive_settings(ctx).filter(_not_enabled)).map(
                lambda pair: UpdateRequest(body={"number_of_allocations": pair[0], "adaptive_allocations": pair[1]})
            )
        )
    return st.one_of(choices)


def _not_enabled(settings: Mapping[str, Any] | None) -> bool:
    return settings is None or settings.get("enabled") is not True


def case_applies(case: InvalidCase, ctx: Context) -> bool:
    """Whether the target's profile knows the rule ``case`` breaks: the rule decides (versions, features)."""
    return CATALOGUE[f"errors.invalid-{case.name}"].skip_reason(ctx) is None


def stateless_invalid_cases(ctx: Context) -> list[InvalidCase]:
    """Cases that break a rule on any started normal-priority deployment without adaptive settings."""
    return [
        case
        for case in INVALID_CASES.values()
        if case_applies(case, ctx)
        and not (case.needs_adaptive_enabled or case.needs_low_priority or case.needs_inference_endpoint)
    ]


def invalid_request(case: InvalidCase) -> UpdateRequest:
    """The canonical request of ``case``, sent as an ``update-invalid`` exchange named after it."""
    return UpdateRequest(
        has_body=False,
        params=dict(parse_qsl(case.query, keep_blank_values=True)),
        content=case.body,
        headers=JSON_HEADERS if case.body is not None else {},
        kind=IntentKind.UPDATE_INVALID,
        detail=case.name,
        case=case.name,
    )


def invalid_updates(ctx: Context) -> st.SearchStrategy[UpdateRequest]:
    """Any stateless invalid case of the profile (an empty profile draws nothing)."""
    cases = stateless_invalid_cases(ctx)
    if not cases:
        return st.nothing()
    return st.sampled_from(cases).map(invalid_request)


def in_context_of(request: UpdateRequest, last_assignment: Mapping[str, Any] | None) -> UpdateRequest:
    """``request`` as the invalid case it is once merged with the stored adaptive settings.

    A count is valid on its own but not while the merged settings are enabled (§1.6 C.3),
    and min/max may each be valid but cross the stored other bound (§1.6 C.4). A state
    machine only knows this from the deployment's last assignment, so it asks here.
    """
    if request.kind != IntentKind.UPDATE:
        return request
    body = request.body if request.has_body and isinstance(request.body, Mapping) else {}
    stored = (last_assignment or {}).get("adaptive_allocations")
    merged = merge_adaptive(stored if isinstance(stored, Mapping) else None, body.get("adaptive_allocations", ABSENT))
    if not merged:
        return request
    sends_count = "number_of_allocations" in body or "number_of_allocations" in request.params
    if sends_count and merged.get("enabled"):
        return _named(request, "allocations-while-adaptive-enabled")
    if min_above_max(merged):
        return _named(request, "adaptive-min-above-max")
    return request


def _named(request: UpdateRequest, case: str) -> UpdateRequest:
    """``request`` sent as the ``update-invalid`` exchange of ``case``."""
    return replace(request, kind=IntentKind.UPDATE_INVALID, detail=case, case=case)


def examples(run: Run, attempt: int) -> int:
    """Examples of a generated test: the full budget first, a third of it for each restart
    after a failure (``Run.explore``)."""
    return run.max_examples if attempt == 0 else max(2, run.max_examples // 3)


def assert_conforms(run: Run, exchange: Exchange) -> Exchange:
    """Inside an exploration, raise for a rule that newly failed on ``exchange`` (so that
    Hypothesis shrinks it); elsewhere the recorded verdicts are enough.

    ``exchange`` was judged and recorded already (``Run.update``/``Run.send``), so its
    kept verdicts are asked for: judging it again would count it twice in the tally.
    """
    run.assert_conforms(run.verdicts_on(exchange))
    return exchange


def send(run: Run, deployment_id: str, request: UpdateRequest) -> Exchange | None:
    """Send ``request`` through ``Run.update`` (judged and recorded) and assert it conformed;
    ``None`` when it is withheld because it would scale the cluster up (:func:`withheld`)."""
    body = request.body if request.has_body and isinstance(request.body, Mapping) else {}
    count = body.get("number_of_allocations", request.params.get("number_of_allocations"))
    if withheld(run, deployment_id, count, body.get("adaptive_allocations")):
        return None
    return assert_conforms(run, run.update(deployment_id, **request.send_kwargs()))


def scaling_limit(run: Run, deployment_id: str) -> int | None:
    """The most allocations ``deployment_id`` may ask for without scaling the cluster up, where
    that must not happen (:attr:`Context.holds_back_scaling`); ``None`` when anything goes."""
    if not run.ctx.holds_back_scaling:
        return None
    try:
        threads = run.deployment(deployment_id).threads_per_allocation
    except KeyError:  # an id the run never started: the update is a 404, not a scale-up
        return None
    snapshot = run.snapshot()
    if run.ctx.capacity_unknown:  # no nodes to count (Serverless): any increase may scale up
        observed = snapshot.get(deployment_id)
        return observed.number_of_allocations or 1 if observed is not None else 1
    return allocatable(run.ctx, snapshot, deployment_id, threads)


def withheld(run: Run, deployment_id: str, count: Any, adaptive: Any = None) -> bool:
    """Whether an update must not be sent: it asks for more allocations than fit (a count, or
    an adaptive minimum the scaler would go to) on a target that would scale up for it."""
    minimum = adaptive.get("min_number_of_allocations") if isinstance(adaptive, Mapping) else None
    asked = [value for value in (_as_count(count), _as_count(minimum)) if value is not None]
    if not asked or not run.ctx.holds_back_scaling:
        return False
    limit = scaling_limit(run, deployment_id)
    return limit is not None and max(asked) > limit


def _as_count(value: Any) -> int | None:
    try:
        return int(float(value)) if value is not None and not isinstance(value, bool) else None
    except (TypeError, ValueError):
        return None
