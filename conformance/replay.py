"""``deployment-conformance replay REPORT_DIR --rule ID``: one recorded failure, again.

A curl command from a report cannot run after the run: clean-up deleted the deployment
it addressed (and an embedded server's port is gone). Replay rebuilds what the exchange
needed on a live target (the model, and every deployment of the run in the state read
before the exchange: count, threads, priority, adaptive settings, under fresh ids), sends
the recorded request with those ids, judges the answer with the same rule, and removes
everything it created, also when it fails. Only exchanges that stand alone can be
replayed; a verdict on a sequence (a burst, a convergence poll) needs the rerun command.

Exit code 1 when the rule fails again (reproduced), 0 when it now passes, 3 when the
exchange could not be set up or sent.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from conformance.exchange import TRANSPORT_HEADERS, DeploymentInfo, Intent, IntentKind
from conformance.results import EXIT_FAILED, EXIT_OK, evidence_of
from conformance.rules.base import CATALOGUE, Outcome, Verdict
from conformance.target import SetupError, Target, TargetConfig

# Kinds whose verdict rests on one request and the state around it.
REPLAYABLE = frozenset(
    {
        IntentKind.UPDATE,
        IntentKind.UPDATE_INVALID,
        IntentKind.UPDATE_WRONG_METHOD,
        IntentKind.UPDATE_WRONG_CONTENT_TYPE,
        IntentKind.UPDATE_MALFORMED_JSON,
        IntentKind.UPDATE_UNKNOWN_DEPLOYMENT,
        IntentKind.UPDATE_NOT_DEPLOYED_MODEL,
        IntentKind.UPDATE_BY_MODEL_ID,
        IntentKind.READ_STATS,
    }
)
CASE_IN_DETAIL = frozenset({IntentKind.UPDATE_INVALID, IntentKind.UPDATE_MALFORMED_JSON})
"""Kinds whose rule-selecting case reports of version 0.1.0 kept in ``detail`` (no ``case`` field)."""
DROPPED_HEADERS = TRANSPORT_HEADERS | {"authorization"}  # the replaying client sends its own credentials


class ReplayError(ValueError):
    """The report cannot be replayed as asked (one line; exit code 2)."""


@dataclass(frozen=True)
class Recorded:
    """The exchange to replay, as the report kept it."""

    rule_id: str
    number: int  # 1-based among the rule's kept exchanges
    kept: int
    evidence: Mapping[str, Any]
    run_id: str  # of the recorded run: the prefix of every id it created
    profile: str


@dataclass(frozen=True)
class Replayed:
    recorded: Recorded
    verdict: Verdict | None  # None: the rule did not judge the replayed exchange
    record: Mapping[str, Any]  # the new exchange as evidence (for replay-<rule>.json)

    @property
    def reproduced(self) -> bool:
        return self.verdict is not None and self.verdict.outcome is Outcome.FAIL

    @property
    def exit_code(self) -> int:
        return EXIT_FAILED if self.reproduced else EXIT_OK

    def describe(self) -> str:
        found = self.recorded
        head = f"replay of {found.rule_id} (exchange {found.number} of {found.kept} kept)"
        if self.verdict is None:
            return f"{head}: not reproduced: the rule did not judge the replayed exchange"
        outcome = self.verdict.outcome.value
        lines = [f"{head}: {'reproduced' if self.reproduced else 'not reproduced'}: {outcome}"]
        lines += [f"  {message}" for message in self.verdict.messages]
        return "\n".join(lines)


def load(report_dir: str, rule_id: str, number: int = 1) -> Recorded:
    """The ``number``-th kept exchange of ``rule_id`` in ``report_dir/results.json``."""
    path = os.path.join(report_dir, "results.json")
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError) as exc:
        raise ReplayError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from None
    rule = next((r for r in data.get("rules", []) if r.get("id") == rule_id), None)
    if rule is None:
        raise ReplayError(f"{path} has no rule {rule_id!r}")
    kept = ([rule["evidence"]] if rule.get("evidence") else []) + list(rule.get("more_evidence") or [])
    if not kept:
        raise ReplayError(f"{rule_id} kept no exchange to replay (its outcome was {rule.get('outcome')})")
    if not 1 <= number <= len(kept):
        raise ReplayError(f"--exchange must be between 1 and {len(kept)} for {rule_id}")
    evidence = kept[number - 1]
    kind = (evidence.get("intent") or {}).get("kind")
    if kind not in REPLAYABLE or not evidence.get("request"):
        raise ReplayError(
            f"{rule_id} was judged on a {kind} exchange, part of a sequence that replay cannot "
            "rebuild: use the rerun command of the report"
        )
    run = data.get("run") or {}
    return Recorded(rule_id, number, len(kept), evidence, str(run.get("run_id") or ""), _profile_of(run))


def replay(recorded: Recorded, config: TargetConfig) -> Replayed:
    """Set up, send, judge, clean up (always). ``SetupError`` when the target refuses the set-up."""
    from conformance.discovery import discover
    from conformance.suite.runner import Run, RunSettings

    rule = next(r for r in CATALOGUE if r.id == recorded.rule_id)
    run_id = f"dc-replay-{secrets.token_hex(2)}"
    target = Target(config)
    try:
        ctx = discover(target, recorded.profile)
    except BaseException:
        target.close()
        raise
    run = Run(target, ctx, RunSettings(target=config, run_id=run_id, profile=recorded.profile), [rule])
    try:
        renamed = _set_up(run, recorded)
        exchange = _send(run, recorded.evidence, renamed)
        verdict = next((v for v in run.verdicts_on(exchange) if v.rule_id == rule.id), None)
        record = evidence_of(verdict, test="replay", seed=None) if verdict is not None else {}
        return Replayed(recorded, verdict, record)
    finally:
        problems = run.close()
        if problems:
            raise SetupError("replay clean-up left something behind: " + "; ".join(problems))


def _set_up(run: Any, recorded: Recorded) -> Callable[[str], str]:
    """Start the run's deployments as they were before the exchange; return the id renamer."""
    evidence = recorded.evidence
    intent = evidence.get("intent") or {}
    addressed = intent.get("deployment") or {}
    before = evidence.get("before") or {}
    old_prefix = recorded.run_id
    ours = {d: state for d, state in before.items() if old_prefix and d.startswith(old_prefix)}
    if addressed.get("deployment_id") and addressed["deployment_id"] not in ours:
        ours[addressed["deployment_id"]] = {"number_of_allocations": 1}
    names: dict[str, str] = {}
    for old_id, state in sorted(ours.items()):
        suffix = old_id[len(old_prefix) :].lstrip("-") if old_prefix else old_id
        threads = (
            state.get("threads_per_allocation")
            or (addressed.get("threads_per_allocation") if old_id == addressed.get("deployment_id") else 1)
            or 1
        )
        if old_id == addressed.get("deployment_id") and addressed.get("created_by_inference_endpoint"):
            info = run.start_inference_endpoint(suffix)
        else:
            info = run.deployments.start(
                deployment_id=suffix,
                threads_per_allocation=int(threads),
                number_of_allocations=int(state.get("number_of_allocations") or 1),
                priority=str(state.get("priority") or addressed.get("priority") or "normal"),
                adaptive_allocations=state.get("adaptive_allocations") or None,
            )
        names[old_id] = info.deployment_id
    if addressed.get("model_id"):
        names.setdefault(addressed["model_id"], run.model_id)
    if old_prefix:
        names.setdefault(old_prefix, run.run_id)  # ids the run named but never created (unknown deployments)
    ordered = sorted(names.items(), key=lambda item: len(item[0]), reverse=True)

    def rename(text: str) -> str:
        for old, new in ordered:
            text = text.replace(old, new)
        return text

    return rename


def _send(run: Any, evidence: Mapping[str, Any], rename: Callable[[str], str]) -> Any:
    request = evidence["request"]
    intent = evidence.get("intent") or {}
    parts = urlsplit(request["url"])
    path = rename(parts.path)
    params = [(k, rename(v)) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    body = request.get("body")
    content = rename(body).encode() if body is not None else None
    headers = {name: value for name, value in request.get("headers") or [] if name.lower() not in DROPPED_HEADERS}
    addressed = (intent.get("deployment") or {}).get("deployment_id")
    info: DeploymentInfo | None = None
    if addressed:
        try:
            info = run.deployment(rename(addressed))
        except KeyError:
            info = None
    kind = IntentKind(str(intent.get("kind")))
    case = intent.get("case")
    if "case" not in intent and kind in CASE_IN_DETAIL:
        case = intent.get("detail")  # a report written before intents had a case named it here
    replayed = Intent(
        kind, deployment=info, detail=str(intent.get("detail") or ""), case=str(case) if case is not None else None
    )
    return run.send(
        request["method"],
        path,
        intent=replayed,
        params=dict(params) or None,
        content=content,
        headers=headers,
        snapshots=kind.startswith("update"),
    )


def _profile_of(run: Mapping[str, Any]) -> str:
    """The profile the recorded run was judged by, when it was forced; else ``auto``."""
    args = [str(a) for a in run.get("rerun_args") or ()]
    if "--profile" in args and args.index("--profile") + 1 < len(args):
        return args[args.index("--profile") + 1]
    return "auto"
