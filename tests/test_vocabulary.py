"""The typed vocabulary between traffic and rules stays one vocabulary.

Profile features are named twice, in ``schemas/profiles.json`` (when each starts, and why)
and in :class:`conformance.context.Feature` (what the code asks for): a feature added to
one and not the other would be a rule that can never apply, or a profile fact no code reads.
Intent kinds are named in :class:`conformance.exchange.IntentKind` and in the published
schema of ``results.json``, which a reader of the reports relies on.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from rules.factories import context, stub_rule

from conformance.context import Feature
from conformance.exchange import AnsweredExchange, Exchange, Intent, IntentKind, Request, Response
from conformance.rules.base import Outcome, evaluate
from conformance.schemas import feature_table, profile_named

ROOT = Path(__file__).resolve().parents[1]


def test_features_are_the_features_of_profiles_json() -> None:
    on_disk = json.loads((ROOT / "schemas" / "profiles.json").read_text(encoding="utf-8"))["features"]
    assert {feature.value for feature in Feature} == set(on_disk) == set(feature_table())


def test_the_results_schema_names_every_intent_kind() -> None:
    schema = json.loads((ROOT / "schemas" / "results.schema.json").read_text(encoding="utf-8"))
    assert schema["$defs"]["intentKind"]["enum"] == [kind.value for kind in IntentKind]


def test_profiles_hold_features_as_members() -> None:
    features = profile_named("9.3").features
    assert Feature.ADAPTIVE_ALLOCATIONS in features
    assert all(isinstance(feature, Feature) for feature in features)


def test_a_kind_given_by_its_value_is_the_member_and_an_unknown_one_is_refused() -> None:
    assert Intent("read-stats").kind is IntentKind.READ_STATS  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown intent kind 'read-stat'"):
        Intent("read-stat")  # type: ignore[arg-type]


def test_a_check_sees_an_answered_exchange_and_an_unanswered_one_stays_indeterminate() -> None:
    seen: list[Exchange] = []

    def check(ex: AnsweredExchange, ctx: object) -> list[str]:
        seen.append(ex)
        return [] if ex.response.status == 200 else ["not 200"]

    rule = stub_rule("shape.probe", check=check)
    request = Request("GET", "http://target/_ml/trained_models/_stats")
    answered = Exchange(request, Response(500), 0.0, Intent(IntentKind.READ_STATS))
    unanswered = Exchange(request, None, 0.0, Intent(IntentKind.READ_STATS), error="timed out")
    assert evaluate(rule, answered, context()).outcome is Outcome.FAIL
    assert isinstance(seen[0], AnsweredExchange) and seen[0].response is answered.response
    verdict = evaluate(rule, unanswered, context())
    assert verdict.outcome is Outcome.INDETERMINATE and verdict.messages == ("timed out",)
    assert len(seen) == 1 and verdict.exchange is unanswered


def test_no_sentinel_is_a_bare_object() -> None:
    """Sentinels are single-member enums (``X: Final = Kind.X``), which a type checker narrows with ``is``."""
    bare = re.compile(r"=\s*object\(\)")
    found = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in sorted((ROOT / "conformance").rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if bare.search(line)
    ]
    assert found == []
