"""Rule patterns read a value as one whole: `.` crosses line breaks.

Generated values reach the server (a body ``model_id``, a deployment id) and come back
inside reasons. Elasticsearch echoes them byte for byte, line breaks included, so a
pattern whose ``.*`` stops at a newline fails a correct server.
"""

from __future__ import annotations

from conformance.exchange import Intent, IntentKind
from conformance.reference import ServerConfig, running_server
from conformance.rules import CATALOGUE, Outcome, evaluate
from conformance.rules.capacity import reason_problems
from conformance.rules.reading import matches
from conformance.target import Target, TargetConfig
from rules.factories import context, error, exchange, request

NEWLINE_ID = "line one\nline two"


def test_the_reference_echo_of_a_multi_line_model_id_passes_its_rule() -> None:
    """A body model_id with a newline against the reference: its 400 names the id as sent (§1.4)."""
    rule = CATALOGUE["errors.invalid-inconsistent-model-id"]
    with running_server(ServerConfig()) as url, Target(TargetConfig(url=url)) as target:
        ex = target.request(
            "POST",
            "/_ml/trained_models/dep/deployment/_update",
            intent=Intent(IntentKind.UPDATE_INVALID, case="inconsistent-model-id"),
            json={"model_id": NEWLINE_ID, "number_of_allocations": 1},
        )
    assert ex.response is not None and ex.response.status == 400
    assert NEWLINE_ID in (ex.response.json()["error"]["reason"])
    verdict = evaluate(rule, ex, context())
    assert verdict is not None and verdict.outcome is Outcome.PASS, verdict


def test_a_multi_line_reason_still_fails_when_its_core_is_wrong() -> None:
    """Crossing newlines does not make the pattern lenient: another reason still fails."""
    rule = CATALOGUE["errors.invalid-inconsistent-model-id"]
    wrong = error(400, "status_exception", f"model_id '{NEWLINE_ID}' is not allowed here")
    ex = exchange("update-invalid", request({"model_id": NEWLINE_ID}), wrong, case="inconsistent-model-id")
    assert evaluate(rule, ex, context()).outcome is Outcome.FAIL


def test_multi_line_values_match_in_every_pattern_kind() -> None:
    """The shared matcher, the inference-endpoint reason and the §2.2 reason segments."""
    assert matches(
        r"Cannot update deployment \[.*\] as it was created by inference endpoint \[.*\]",
        f"Cannot update deployment [{NEWLINE_ID}] as it was created by inference endpoint [{NEWLINE_ID}]",
    )
    assert reason_problems(f"Could not assign (more) allocations on node [n1]. Reason: {NEWLINE_ID}") == []
    assert reason_problems("Could not assign (more) allocations on node [n1]. Reason: ") != []
