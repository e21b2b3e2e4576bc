"""Results: one verdict per rule in the catalogue, and the exit code they lead to.

Verdicts are produced one exchange at a time, possibly in several pytest-xdist worker
processes. A :class:`Tally` keeps them compact (counts per rule and outcome, the evidence
of the first few non-passing exchanges, the time spent per rule, and a bounded timeline
of each addressed deployment's allocations) so that workers can ship it to the
controller as plain JSON, where tallies merge and become :class:`Results`.

Exit codes (DESIGN "Command-line contract"): 0 every MUST rule that applies to the target
was judged and held; 1 at least one MUST rule failed (also when the run could not go on
afterwards: the verdict then says it is incomplete); 3 the run could not judge, or its
verdict has holes (a traffic test errored, a MUST rule was left indeterminate or never
exercised, the budget ran out, a signal came, clean-up left something behind). SHOULD
failures are reported but never fail a run.
"""

from __future__ import annotations

import enum
import fnmatch
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Final, TypeAlias

from conformance.context import Context
from conformance.events import TestOutcome
from conformance.exchange import DeploymentInfo, Exchange, Request, Response, Snapshot, redacted_headers
from conformance.rules.base import Level, Outcome, Rule, Verdict


class NotExercised(enum.StrEnum):
    """A rule's result over a run when no exchange reached it (never a verdict on one exchange)."""

    NOT_EXERCISED = "not exercised"


NOT_EXERCISED: Final = NotExercised.NOT_EXERCISED
RuleOutcome: TypeAlias = Outcome | NotExercised  # a rule's result over a whole run


def rule_outcome(text: str) -> RuleOutcome:
    """The outcome a report wrote (``ValueError`` for any other text)."""
    return NOT_EXERCISED if text == NOT_EXERCISED else Outcome(text)


EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_UNJUDGED = 0, 1, 2, 3
BODY_LIMIT = 4000  # characters of a body kept as evidence
EVIDENCE_LIMIT = 5  # evidence records kept per rule and outcome (report.html shows them all)
TIMELINE_LIMIT = 400  # points kept per deployment for the report's timeline
SCHEMA_VERSION = 1  # of results.json (schemas/results.schema.json); raised on incompatible change

# When several outcomes were seen for one rule, the rule's verdict is the worst one.
SEVERITY = (Outcome.FAIL, Outcome.ERROR, Outcome.INDETERMINATE, Outcome.PASS)


def evidence_of(verdict: Verdict, *, test: str, seed: int | None) -> dict[str, Any]:
    """What a reader needs to reproduce one verdict: request, response, curl, messages."""
    exchange = verdict.exchange
    record: dict[str, Any] = {
        "outcome": verdict.outcome.value,
        "messages": list(verdict.messages),
        "test": test,
        "seed": seed,
    }
    if exchange is not None:
        record.update(_exchange_evidence(exchange))
    return record


def _exchange_evidence(exchange: Exchange) -> dict[str, Any]:
    deployment = exchange.intent.deployment
    return {
        "intent": {
            "kind": exchange.intent.kind,
            "detail": exchange.intent.detail,
            "case": exchange.intent.case,
            "deployment": _deployment_evidence(deployment) if deployment is not None else None,
        },
        "request": _request_evidence(exchange.request),
        "response": _response_evidence(exchange.response),
        "error": exchange.error,
        "duration_s": round(exchange.duration, 4),
        "curl": exchange.request.as_curl(),
        "before": snapshot_evidence(exchange.before),
        "after": snapshot_evidence(exchange.after),
    }


def _deployment_evidence(info: DeploymentInfo) -> dict[str, Any]:
    """What replay needs to set up the addressed deployment again."""
    return {
        "deployment_id": info.deployment_id,
        "model_id": info.model_id,
        "threads_per_allocation": info.threads_per_allocation,
        "priority": info.priority,
        "queue_capacity": info.queue_capacity,
        "created_by_inference_endpoint": info.created_by_inference_endpoint,
    }


def snapshot_evidence(snapshot: Snapshot | None) -> dict[str, Any] | None:
    """Every deployment of a state read, as plain JSON (the report's before/after and node pictures)."""
    if snapshot is None:
        return None
    return {
        deployment_id: {
            "model_id": d.model_id,
            "state": d.state,
            "number_of_allocations": d.number_of_allocations,
            "threads_per_allocation": d.threads_per_allocation,
            "priority": d.priority,
            "allocation_count": d.allocation_count,
            "target_allocation_count": d.target_allocation_count,
            "adaptive_allocations": d.adaptive_allocations,
            "nodes": {
                node: {
                    "routing_state": n.routing_state,
                    "allocations": n.allocations,
                    "threads_per_allocation": n.threads_per_allocation,
                }
                for node, n in d.nodes.items()
            },
        }
        for deployment_id, d in sorted(snapshot.deployments.items())
    }


def timeline_point(exchange: Exchange, failed: list[str]) -> tuple[str, dict[str, Any]] | None:
    """One point of the addressed deployment's timeline: the count asked for, the
    allocations the routing table planned and those running, as read after the exchange."""
    info = exchange.intent.deployment
    observed = exchange.after.get(info.deployment_id) if info is not None and exchange.after is not None else None
    if info is None or observed is None or exchange.after is None:
        return None
    return info.deployment_id, {
        "t": round(exchange.after.taken_at, 4),
        "kind": exchange.intent.kind,
        "status": exchange.response.status if exchange.response is not None else None,
        "requested": observed.number_of_allocations,
        "planned": observed.target_allocation_count,
        "current": observed.allocation_count,
        "failed": failed,
    }


def _request_evidence(request: Request) -> dict[str, Any]:
    return {
        "method": request.method,
        "url": request.url,
        "headers": [list(h) for h in redacted_headers(request.headers)],
        "body": _text(request.body),
    }


def _response_evidence(response: Response | None) -> dict[str, Any] | None:
    if response is None:
        return None
    return {
        "status": response.status,
        "headers": [list(h) for h in redacted_headers(response.headers)],
        "body": _text(response.body),
    }


def _text(body: bytes | None) -> str | None:
    if body is None:
        return None
    text = body.decode("utf-8", "replace")
    if len(text) > BODY_LIMIT:
        return f"{text[:BODY_LIMIT]}... [{len(text) - BODY_LIMIT} more characters]"
    return text


@dataclass
class Tally:
    """Counts per rule and outcome, the first :data:`EVIDENCE_LIMIT` evidence records per
    rule and non-pass outcome, seconds of exchanges judged per rule, a timeline per
    addressed deployment, and how many exchanges were judged (one :meth:`add` per exchange)."""

    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    evidence: dict[str, dict[str, list[dict[str, Any]]]] = field(default_factory=dict)
    exchanges: int = 0
    seconds: dict[str, float] = field(default_factory=dict)
    timeline: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def add(self, verdicts: Iterable[Verdict], *, test: str, seed: int | None) -> None:
        """Record the verdicts on one exchange."""
        verdicts = list(verdicts)
        self.exchanges += 1
        for verdict in verdicts:
            outcome = verdict.outcome.value
            per_rule = self.counts.setdefault(verdict.rule_id, {})
            per_rule[outcome] = per_rule.get(outcome, 0) + 1
            if verdict.exchange is not None:
                self.seconds[verdict.rule_id] = self.seconds.get(verdict.rule_id, 0.0) + verdict.exchange.duration
            if verdict.outcome is not Outcome.PASS:
                kept = self.evidence.setdefault(verdict.rule_id, {}).setdefault(outcome, [])
                if len(kept) < EVIDENCE_LIMIT:
                    kept.append(evidence_of(verdict, test=test, seed=seed))
        exchange = next((v.exchange for v in verdicts if v.exchange is not None), None)
        point = (
            timeline_point(exchange, [v.rule_id for v in verdicts if v.outcome is Outcome.FAIL])
            if exchange is not None
            else None
        )
        if point is not None:
            points = self.timeline.setdefault(point[0], [])
            if len(points) < TIMELINE_LIMIT:
                points.append(point[1])

    def keep_evidence(self, verdict: Verdict, *, test: str, seed: int | None, note: str) -> None:
        """Make ``verdict`` the evidence of its rule and outcome (e.g. a shrunk example)."""
        record = evidence_of(verdict, test=test, seed=seed)
        record["note"] = note
        kept = self.evidence.setdefault(verdict.rule_id, {}).setdefault(verdict.outcome.value, [])
        kept.insert(0, record)
        del kept[EVIDENCE_LIMIT:]

    def merge(self, other: Tally) -> None:
        self.exchanges += other.exchanges
        for rule_id, per_rule in other.counts.items():
            mine = self.counts.setdefault(rule_id, {})
            for outcome, count in per_rule.items():
                mine[outcome] = mine.get(outcome, 0) + count
        for rule_id, kept in other.evidence.items():
            mine_kept = self.evidence.setdefault(rule_id, {})
            for outcome, records in kept.items():
                room = EVIDENCE_LIMIT - len(mine_kept.setdefault(outcome, []))
                mine_kept[outcome] += records[: max(room, 0)]
        for rule_id, seconds in other.seconds.items():
            self.seconds[rule_id] = self.seconds.get(rule_id, 0.0) + seconds
        for deployment_id, points in other.timeline.items():
            mine_points = self.timeline.setdefault(deployment_id, [])
            mine_points += points[: max(TIMELINE_LIMIT - len(mine_points), 0)]

    def __bool__(self) -> bool:
        return bool(self.counts) or self.exchanges > 0

    def to_json(self) -> str:
        return json.dumps(
            {
                "counts": self.counts,
                "evidence": self.evidence,
                "exchanges": self.exchanges,
                "seconds": self.seconds,
                "timeline": self.timeline,
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str) -> Tally:
        data = json.loads(text)
        return cls(
            counts=data["counts"],
            evidence=data["evidence"],
            exchanges=data["exchanges"],
            seconds=data.get("seconds", {}),
            timeline=data.get("timeline", {}),
        )


@dataclass(frozen=True)
class RuleResult:
    """The verdict on one rule over the whole run."""

    id: str
    level: Level
    family: str
    source: str
    description: str
    outcome: RuleOutcome
    counts: Mapping[str, int]
    reason: str | None = None  # why it was skipped
    evidence: Mapping[str, Any] | None = None  # the first exchange with this outcome
    baselined: bool = False  # a known failure listed in --baseline
    more_evidence: tuple[Mapping[str, Any], ...] = ()  # the next ones, up to EVIDENCE_LIMIT in all
    seconds: float = 0.0  # time spent in the exchanges that judged this rule

    @property
    def all_evidence(self) -> tuple[Mapping[str, Any], ...]:
        return ((self.evidence,) if self.evidence else ()) + self.more_evidence

    @property
    def is_must_failure(self) -> bool:
        return self.outcome is Outcome.FAIL and self.level is Level.MUST and not self.baselined


@dataclass(frozen=True)
class Results:
    """Every catalogue rule's result plus facts about the run."""

    rules: tuple[RuleResult, ...]
    run: Mapping[str, Any]
    unjudged: str | None = None  # one line: why the run could not judge (exit code 3)
    fixed_baseline: tuple[str, ...] = ()  # baseline rules that now pass
    incomplete: tuple[str, ...] = ()  # why the verdict has holes (exit code 3 unless a MUST rule failed)

    @property
    def holes(self) -> tuple[str, ...]:
        """Every reason the verdict is not complete: the run's own and MUST rules left unjudged."""
        unjudged_rules = [
            r.id
            for r in self.rules
            if r.level is Level.MUST and r.outcome in (NOT_EXERCISED, Outcome.INDETERMINATE, Outcome.ERROR)
        ]
        found = list(self.incomplete)
        if unjudged_rules:
            found.append(f"{len(unjudged_rules)} MUST rule(s) not judged: {', '.join(unjudged_rules)}")
        return tuple(found)

    timeline: Mapping[str, tuple[Mapping[str, Any], ...]] = field(default_factory=dict)  # per deployment
    started_at: str | None = None  # RFC 3339 UTC times of the run, set by whoever drove it
    ended_at: str | None = None

    def totals(self) -> dict[str, int]:
        found: dict[str, int] = {}
        for result in self.rules:
            found[result.outcome.value] = found.get(result.outcome.value, 0) + 1
        return found

    def failures(self) -> list[RuleResult]:
        return [r for r in self.rules if r.outcome is Outcome.FAIL]

    @property
    def exit_code(self) -> int:
        if any(r.is_must_failure for r in self.rules):
            return EXIT_FAILED
        if self.unjudged is not None or self.holes:
            return EXIT_UNJUDGED
        return EXIT_OK

    def to_dict(self) -> dict[str, Any]:
        from conformance import __version__

        return {
            "schema_version": SCHEMA_VERSION,
            "tool": {"name": "deployment-conformance", "version": __version__},
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "run": dict(self.run),
            "exit_code": self.exit_code,
            "unjudged": self.unjudged,
            "incomplete": list(self.incomplete),
            "holes": list(self.holes),
            "totals": self.totals(),
            "fixed_baseline": list(self.fixed_baseline),
            "rules": [
                {
                    "id": r.id,
                    "level": r.level.value,
                    "family": r.family,
                    "source": r.source,
                    "description": r.description,
                    "outcome": r.outcome.value,
                    "counts": dict(r.counts),
                    "reason": r.reason,
                    "baselined": r.baselined,
                    "seconds": round(r.seconds, 4),
                    "evidence": r.evidence,
                    "more_evidence": list(r.more_evidence),
                }
                for r in self.rules
            ],
            "timeline": {deployment: list(points) for deployment, points in self.timeline.items()},
        }


def build_results(
    rules: Iterable[Rule],
    ctx: Context | None,
    tally: Tally,
    *,
    selected: frozenset[str] | None = None,
    run: Mapping[str, Any] | None = None,
    unjudged: str | None = None,
    incomplete: tuple[str, ...] = (),
    tests: Iterable[Any] = (),
) -> Results:
    """Turn a run's tally into one result per rule (``selected=None``: every rule ran).

    ``tests`` are the traffic tests' records (``test``, ``outcome``, ``reason``,
    ``reaches``): a rule no exchange reached is a skip when every test meant to reach it
    was skipped (for the topology, say), and otherwise says which test did not run.
    """
    records = tuple(tests)
    results = []
    for rule_ in rules:
        counts = tally.counts.get(rule_.id, {})
        reason = None
        outcome: RuleOutcome
        if selected is not None and rule_.id not in selected:
            outcome, reason = Outcome.SKIP, "not selected by --select"
        elif ctx is not None and (why := rule_.skip_reason(ctx)) is not None:
            outcome, reason = Outcome.SKIP, why
        else:
            outcome = _worst(counts)
            if outcome == NOT_EXERCISED:
                outcome, reason = _unreached(rule_.id, records, unjudged, incomplete)
        kept = tally.evidence.get(rule_.id, {}).get(outcome.value) or []
        results.append(
            RuleResult(
                id=rule_.id,
                level=rule_.level,
                family=rule_.family,
                source=rule_.source,
                description=rule_.description,
                outcome=outcome,
                counts=dict(counts),
                reason=reason,
                evidence=kept[0] if kept else None,
                more_evidence=tuple(kept[1:]),
                seconds=tally.seconds.get(rule_.id, 0.0),
            )
        )
    timeline = {
        deployment: tuple(sorted(points, key=lambda p: p["t"])) for deployment, points in tally.timeline.items()
    }
    return Results(tuple(results), dict(run or {}), unjudged, incomplete=tuple(incomplete), timeline=timeline)


def _unreached(
    rule_id: str, tests: tuple[Any, ...], unjudged: str | None, incomplete: tuple[str, ...]
) -> tuple[RuleOutcome, str]:
    """Why no exchange reached a rule: its tests were skipped (a skip), or did not run."""
    meant = [t for t in tests if any(fnmatch.fnmatchcase(rule_id, glob) for glob in t.reaches)]
    if meant and all(t.outcome == TestOutcome.SKIPPED for t in meant):
        return Outcome.SKIP, "; ".join(f"{_short(t.test)} skipped: {t.reason}" for t in meant)
    broken = [t for t in meant if t.outcome == TestOutcome.ERROR]
    if broken:
        return NOT_EXERCISED, "; ".join(f"{_short(t.test)} errored: {t.reason}" for t in broken)
    if unjudged is not None:
        return NOT_EXERCISED, f"the run could not judge: {unjudged}"
    if incomplete:
        return NOT_EXERCISED, f"no exchange reached it (the traffic was incomplete: {incomplete[0]})"
    return NOT_EXERCISED, "no exchange reached it"


def _short(nodeid: str) -> str:
    return nodeid.rsplit("/", 1)[-1]


def _worst(counts: Mapping[str, int]) -> RuleOutcome:
    for outcome in SEVERITY:
        if counts.get(outcome.value):
            return outcome
    return NOT_EXERCISED


def load_baseline(path: str) -> frozenset[str]:
    """A JSON list of rule ids known to fail; ``ValueError`` with one line otherwise."""
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except OSError as exc:
        raise ValueError(f"--baseline file unreadable: {path}: {exc.strerror}") from None
    except ValueError:
        raise ValueError(f"--baseline file is not JSON: {path}") from None
    if not isinstance(data, list) or not all(isinstance(item, str) for item in data):
        raise ValueError(f"--baseline file must hold a JSON list of rule ids: {path}")
    return frozenset(data)


def results_from_dict(data: Mapping[str, Any]) -> Results:
    """Read back what :meth:`Results.to_dict` wrote (the plugin's results file)."""
    rules = tuple(
        RuleResult(
            id=r["id"],
            level=Level(r["level"]),
            family=r["family"],
            source=r["source"],
            description=r["description"],
            outcome=rule_outcome(r["outcome"]),
            counts=r["counts"],
            reason=r.get("reason"),
            evidence=r.get("evidence"),
            baselined=r.get("baselined", False),
            more_evidence=tuple(r.get("more_evidence") or ()),
            seconds=float(r.get("seconds") or 0.0),
        )
        for r in data["rules"]
    )
    timeline = {deployment: tuple(points) for deployment, points in (data.get("timeline") or {}).items()}
    return Results(
        rules,
        data.get("run", {}),
        data.get("unjudged"),
        tuple(data.get("fixed_baseline", ())),
        tuple(data.get("incomplete", ())),
        timeline=timeline,
        started_at=data.get("started_at"),
        ended_at=data.get("ended_at"),
    )


def apply_baseline(results: Results, baseline: frozenset[str]) -> Results:
    """Mark listed failures as known (they no longer fail the run); list listed rules that pass."""
    rules = tuple(replace(r, baselined=r.id in baseline and r.outcome is Outcome.FAIL) for r in results.rules)
    fixed = tuple(sorted(r.id for r in rules if r.id in baseline and r.outcome is Outcome.PASS))
    return replace(results, rules=rules, fixed_baseline=fixed)
