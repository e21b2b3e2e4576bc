"""Results: one verdict per rule in the catalogue, and the exit code they lead to.

Verdicts are produced one exchange at a time, possibly in several pytest-xdist worker
processes. A :class:`Tally` keeps them compact (counts per rule and outcome, plus the
evidence of the first non-passing exchange) so that workers can ship it to the
controller as plain JSON, where tallies merge and become :class:`Results`.

Exit codes (DESIGN "Command-line contract"): 0 every MUST rule that applies to the target
was judged and held; 1 at least one MUST rule failed (also when the run could not go on
afterwards: the verdict then says it is incomplete); 3 the run could not judge, or its
verdict has holes (a traffic test errored, a MUST rule was left indeterminate or never
exercised, the budget ran out, a signal came, clean-up left something behind). SHOULD
failures are reported but never fail a run.
"""

from __future__ import annotations

import fnmatch
import json
from dataclasses import dataclass, field, replace
from typing import Any, Iterable, Mapping

from conformance.context import Context
from conformance.exchange import Exchange, Request, Response, redacted_headers
from conformance.rules.base import Level, Outcome, Rule, Verdict

NOT_EXERCISED = "not exercised"
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_UNJUDGED = 0, 1, 2, 3
BODY_LIMIT = 4000  # characters of a body kept as evidence

# When several outcomes were seen for one rule, the rule's verdict is the worst one.
SEVERITY = (Outcome.FAIL, Outcome.ERROR, Outcome.INDETERMINATE, Outcome.PASS)


def evidence_of(verdict: Verdict, *, test: str, seed: int | None) -> dict[str, Any]:
    """What a reader needs to reproduce one verdict: request, response, curl, messages."""
    exchange = verdict.exchange
    record: dict[str, Any] = {"outcome": verdict.outcome.value, "messages": list(verdict.messages),
                              "test": test, "seed": seed}
    if exchange is not None:
        record.update(_exchange_evidence(exchange))
    return record


def _exchange_evidence(exchange: Exchange) -> dict[str, Any]:
    return {
        "intent": {"kind": exchange.intent.kind, "detail": exchange.intent.detail},
        "request": _request_evidence(exchange.request),
        "response": _response_evidence(exchange.response),
        "error": exchange.error,
        "duration_s": round(exchange.duration, 4),
        "curl": exchange.request.as_curl(),
    }


def _request_evidence(request: Request) -> dict[str, Any]:
    return {"method": request.method, "url": request.url,
            "headers": [list(h) for h in redacted_headers(request.headers)], "body": _text(request.body)}


def _response_evidence(response: Response | None) -> dict[str, Any] | None:
    if response is None:
        return None
    return {"status": response.status, "headers": [list(h) for h in redacted_headers(response.headers)],
            "body": _text(response.body)}


def _text(body: bytes | None) -> str | None:
    if body is None:
        return None
    text = body.decode("utf-8", "replace")
    if len(text) > BODY_LIMIT:
        return f"{text[:BODY_LIMIT]}... [{len(text) - BODY_LIMIT} more characters]"
    return text


@dataclass
class Tally:
    """Counts per rule and outcome, the first evidence per rule and non-pass outcome, and
    how many exchanges were judged (one :meth:`add` per exchange)."""

    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    evidence: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    exchanges: int = 0

    def add(self, verdicts: Iterable[Verdict], *, test: str, seed: int | None, exchange: bool = True) -> None:
        """Record the verdicts on one exchange (``exchange=False``: on one already counted)."""
        self.exchanges += int(exchange)
        for verdict in verdicts:
            outcome = verdict.outcome.value
            per_rule = self.counts.setdefault(verdict.rule_id, {})
            per_rule[outcome] = per_rule.get(outcome, 0) + 1
            if verdict.outcome is not Outcome.PASS:
                kept = self.evidence.setdefault(verdict.rule_id, {})
                if outcome not in kept:
                    kept[outcome] = evidence_of(verdict, test=test, seed=seed)

    def keep_evidence(self, verdict: Verdict, *, test: str, seed: int | None, note: str) -> None:
        """Make ``verdict`` the evidence of its rule and outcome (e.g. a shrunk example)."""
        record = evidence_of(verdict, test=test, seed=seed)
        record["note"] = note
        self.evidence.setdefault(verdict.rule_id, {})[verdict.outcome.value] = record

    def merge(self, other: "Tally") -> None:
        self.exchanges += other.exchanges
        for rule_id, per_rule in other.counts.items():
            mine = self.counts.setdefault(rule_id, {})
            for outcome, count in per_rule.items():
                mine[outcome] = mine.get(outcome, 0) + count
        for rule_id, kept in other.evidence.items():
            mine_kept = self.evidence.setdefault(rule_id, {})
            for outcome, record in kept.items():
                mine_kept.setdefault(outcome, record)

    def __bool__(self) -> bool:
        return bool(self.counts) or self.exchanges > 0

    def to_json(self) -> str:
        return json.dumps({"counts": self.counts, "evidence": self.evidence, "exchanges": self.exchanges},
                          separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> "Tally":
        data = json.loads(text)
        return cls(counts=data["counts"], evidence=data["evidence"], exchanges=data["exchanges"])


@dataclass(frozen=True)
class RuleResult:
    """The verdict on one rule over the whole run."""

    id: str
    level: str
    family: str
    source: str
    description: str
    outcome: str  # an Outcome value or NOT_EXERCISED
    counts: Mapping[str, int]
    reason: str | None = None  # why it was skipped
    evidence: Mapping[str, Any] | None = None
    baselined: bool = False  # a known failure listed in --baseline

    @property
    def is_must_failure(self) -> bool:
        return self.outcome == Outcome.FAIL.value and self.level == Level.MUST.value and not self.baselined


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
        unjudged_rules = [r.id for r in self.rules if r.level == Level.MUST.value
                          and r.outcome in (NOT_EXERCISED, Outcome.INDETERMINATE.value, Outcome.ERROR.value)]
        found = list(self.incomplete)
        if unjudged_rules:
            found.append(f"{len(unjudged_rules)} MUST rule(s) not judged: {', '.join(unjudged_rules)}")
        return tuple(found)

    def totals(self) -> dict[str, int]:
        found: dict[str, int] = {}
        for result in self.rules:
            found[result.outcome] = found.get(result.outcome, 0) + 1
        return found

    def failures(self) -> list[RuleResult]:
        return [r for r in self.rules if r.outcome == Outcome.FAIL.value]

    @property
    def exit_code(self) -> int:
        if any(r.is_must_failure for r in self.rules):
            return EXIT_FAILED
        if self.unjudged is not None or self.holes:
            return EXIT_UNJUDGED
        return EXIT_OK

    def to_dict(self) -> dict[str, Any]:
        return {
            "run": dict(self.run),
            "exit_code": self.exit_code,
            "unjudged": self.unjudged,
            "incomplete": list(self.incomplete),
            "holes": list(self.holes),
            "totals": self.totals(),
            "fixed_baseline": list(self.fixed_baseline),
            "rules": [
                {"id": r.id, "level": r.level, "family": r.family, "source": r.source,
                 "description": r.description, "outcome": r.outcome, "counts": dict(r.counts),
                 "reason": r.reason, "baselined": r.baselined, "evidence": r.evidence}
                for r in self.rules
            ],
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
        if selected is not None and rule_.id not in selected:
            outcome, reason = Outcome.SKIP.value, "not selected by --select"
        elif ctx is not None and (why := rule_.skip_reason(ctx)) is not None:
            outcome, reason = Outcome.SKIP.value, why
        else:
            outcome = _worst(counts)
            if outcome == NOT_EXERCISED:
                outcome, reason = _unreached(rule_.id, records, unjudged, incomplete)
        kept = tally.evidence.get(rule_.id, {})
        results.append(
            RuleResult(
                id=rule_.id, level=rule_.level.value, family=rule_.family, source=rule_.source,
                description=rule_.description, outcome=outcome, counts=dict(counts), reason=reason,
                evidence=kept.get(outcome),
            )
        )
    return Results(tuple(results), dict(run or {}), unjudged, incomplete=tuple(incomplete))


def _unreached(rule_id: str, tests: tuple[Any, ...], unjudged: str | None,
               incomplete: tuple[str, ...]) -> tuple[str, str]:
    """Why no exchange reached a rule: its tests were skipped (a skip), or did not run."""
    meant = [t for t in tests if any(fnmatch.fnmatchcase(rule_id, glob) for glob in t.reaches)]
    if meant and all(t.outcome == "skipped" for t in meant):
        return Outcome.SKIP.value, "; ".join(f"{_short(t.test)} skipped: {t.reason}" for t in meant)
    broken = [t for t in meant if t.outcome == "error"]
    if broken:
        return NOT_EXERCISED, "; ".join(f"{_short(t.test)} errored: {t.reason}" for t in broken)
    if unjudged is not None:
        return NOT_EXERCISED, f"the run could not judge: {unjudged}"
    if incomplete:
        return NOT_EXERCISED, f"no exchange reached it (the traffic was incomplete: {incomplete[0]})"
    return NOT_EXERCISED, "no exchange reached it"


def _short(nodeid: str) -> str:
    return nodeid.rsplit("/", 1)[-1]


def _worst(counts: Mapping[str, int]) -> str:
    for outcome in SEVERITY:
        if counts.get(outcome.value):
            return outcome.value
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
            id=r["id"], level=r["level"], family=r["family"], source=r["source"],
            description=r["description"], outcome=r["outcome"], counts=r["counts"],
            reason=r.get("reason"), evidence=r.get("evidence"), baselined=r.get("baselined", False),
        )
        for r in data["rules"]
    )
    return Results(rules, data.get("run", {}), data.get("unjudged"), tuple(data.get("fixed_baseline", ())),
                   tuple(data.get("incomplete", ())))


def apply_baseline(results: Results, baseline: frozenset[str]) -> Results:
    """Mark listed failures as known (they no longer fail the run); list listed rules that pass."""
    rules = tuple(
        replace(r, baselined=r.id in baseline and r.outcome == Outcome.FAIL.value) for r in results.rules
    )
    fixed = tuple(sorted(r.id for r in rules if r.id in baseline and r.outcome == Outcome.PASS.value))
    return Results(rules, results.run, results.unjudged, fixed, results.incomplete)
