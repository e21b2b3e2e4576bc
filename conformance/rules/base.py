"""Rules as data: an id, a level, the versions and features it needs, a source, a check.

A rule is a pure function. ``applies`` picks the exchanges it judges (usually by
intent kind); ``check`` yields one message per way the exchange breaks the rule, and sees
only exchanges that got an answer (:class:`AnsweredExchange`): one without is
indeterminate (or an error, when the answer was too large to read), never checked.
Nothing here talks to a server, so a rule can be proven on hand-made exchanges.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from conformance.context import Context, Feature, Version
from conformance.exchange import OVERSIZED, AnsweredExchange, Exchange, IntentKind
from conformance.rules.reading import assignment_in, is_update_call


class Level(enum.StrEnum):
    MUST = "MUST"
    SHOULD = "SHOULD"


class Outcome(enum.StrEnum):
    PASS = "pass"
    FAIL = "fail"
    ERROR = "error"  # the rule itself or the suite broke; says nothing about the target
    SKIP = "skip"  # not applicable to this target (version, feature, topology)
    INDETERMINATE = "indeterminate"  # no answer to judge (timeout on a write, ...)


Applies = Callable[[Exchange, Context], bool]
Check = Callable[[AnsweredExchange, Context], Iterable[str]]


@dataclass(frozen=True)
class Rule:
    id: str
    level: Level
    source: str  # section of spec/elasticsearch-behaviour.md, e.g. "§1.6 C.8"
    description: str
    applies: Applies
    check: Check
    since: Version | None = None  # first Elasticsearch version the rule holds for
    until: Version | None = None  # first version it no longer holds for (exclusive)
    requires: frozenset[Feature] = frozenset()  # profile features the rule needs
    family: str = ""
    over_capacity: bool = False  # judges increases beyond capacity, which a scalable target answers by scaling up
    needs_nodes: bool = False  # judged against the discovered ML nodes (processors, memory, §3.2)
    unless: Callable[[Context], str | None] | None = None  # why the target's topology rules it out
    reads_answer: bool = False  # judges the assignment of a 200: indeterminate when that cannot be read

    def skip_reason(self, ctx: Context) -> str | None:
        """Why this rule cannot be judged on this target, or ``None`` when it can."""
        if self.since is not None and ctx.version < self.since:
            return f"applies from Elasticsearch {self.since}; target profile is {ctx.version}"
        if self.until is not None and ctx.version >= self.until:
            return f"applies before Elasticsearch {self.until}; target profile is {ctx.version}"
        missing = sorted(self.requires - ctx.features)
        if missing:
            return f"target profile {ctx.profile} lacks {', '.join(missing)}"
        if self.needs_nodes and ctx.capacity_unknown:
            return f"capacity cannot be discovered: {ctx.capacity_unknown}"
        if self.over_capacity and ctx.holds_back_scaling:
            return (
                "the target can scale: updates beyond capacity would add ML nodes (and cost); --allow-scaling sends "
                "them"
            )
        return self.unless(ctx) if self.unless is not None else None


@dataclass(frozen=True)
class Verdict:
    rule_id: str
    outcome: Outcome
    messages: tuple[str, ...] = ()
    exchange: Exchange | None = None


class Catalogue:
    """The registry of rules, in definition order. Ids are unique."""

    def __init__(self) -> None:
        self._rules: dict[str, Rule] = {}

    def add(self, rule: Rule) -> Rule:
        if rule.id in self._rules:
            raise ValueError(f"duplicate rule id {rule.id!r}")
        self._rules[rule.id] = rule
        return rule

    def __iter__(self) -> Iterator[Rule]:
        return iter(self._rules.values())

    def __len__(self) -> int:
        return len(self._rules)

    def __getitem__(self, rule_id: str) -> Rule:
        return self._rules[rule_id]

    def __contains__(self, rule_id: object) -> bool:
        return rule_id in self._rules


CATALOGUE = Catalogue()


def rule(
    id: str,
    *,
    level: Level,
    source: str,
    applies: Applies,
    description: str = "",
    since: str | None = None,
    until: str | None = None,
    requires: Iterable[Feature] = (),
    family: str = "",
    over_capacity: bool = False,
    needs_nodes: bool = False,
    unless: Callable[[Context], str | None] | None = None,
    reads_answer: bool = False,
) -> Callable[[Check], Check]:
    """Register ``check`` as a rule. The check's docstring is the default description."""

    def register(check: Check) -> Check:
        CATALOGUE.add(
            Rule(
                id=id,
                level=level,
                source=source,
                description=description or (check.__doc__ or "").strip().split("\n")[0],
                applies=applies,
                check=check,
                since=Version.parse(since) if since else None,
                until=Version.parse(until) if until else None,
                requires=frozenset(requires),
                family=family or id.split(".", 1)[0],
                over_capacity=over_capacity,
                needs_nodes=needs_nodes,
                unless=unless,
                reads_answer=reads_answer,
            )
        )
        return check

    return register


def intent_is(*kinds: IntentKind) -> Applies:
    """An ``applies`` that selects exchanges by intent kind."""
    wanted = frozenset(kinds)
    return lambda exchange, ctx: exchange.intent.kind in wanted


def update_answer(status_test: Callable[[int], bool]) -> Applies:
    """An ``applies`` that selects answers to ``_update`` calls (any intent) by status."""
    return lambda ex, ctx: ex.response is not None and is_update_call(ex.request) and status_test(ex.response.status)


# Valid updates of a deployment the suite started.
UPDATE_KINDS = frozenset({IntentKind.UPDATE, IntentKind.UPDATE_NOT_STARTED})


UNREADABLE = "the 200 answer to a valid update holds no readable assignment: nothing to judge"


def unreadable_answer(ex: Exchange) -> bool:
    """A valid update answered 200 whose body is no assignment (cut short, not JSON): the rules
    that judge the assignment cannot, and say so, instead of looking as if nothing reached them."""
    return (
        ex.intent.kind in UPDATE_KINDS
        and ex.response is not None
        and ex.response.status == 200
        and assignment_in(ex.response) is None
    )


def answered_200(ex: Exchange, ctx: Context) -> bool:
    """An ``applies`` for valid updates answered 200 with an assignment to judge."""
    return ex.intent.kind in UPDATE_KINDS and assignment_in(ex.response) is not None


def evaluate(rule_: Rule, exchange: Exchange, ctx: Context) -> Verdict | None:
    """Judge one exchange by one rule; ``None`` when the rule does not look at it."""
    if rule_.skip_reason(ctx) is not None:
        return None
    if rule_.reads_answer and unreadable_answer(exchange):
        return Verdict(rule_.id, Outcome.INDETERMINATE, (UNREADABLE,), exchange)
    try:
        if not rule_.applies(exchange, ctx):
            return None
    except Exception as exc:  # noqa: BLE001 - a broken rule is an error verdict, not a crash
        return Verdict(rule_.id, Outcome.ERROR, (f"applies() raised {exc!r}",), exchange)
    answered = exchange.answered
    if answered is None:
        # An answer too large to read is an error of that exchange; one that never came is indeterminate.
        oversized = (exchange.error or "").startswith(OVERSIZED)
        outcome = Outcome.ERROR if oversized else Outcome.INDETERMINATE
        return Verdict(rule_.id, outcome, (exchange.error or "no response",), exchange)
    try:
        messages = tuple(rule_.check(answered, ctx))
    except Exception as exc:  # noqa: BLE001
        return Verdict(rule_.id, Outcome.ERROR, (f"check raised {exc!r}",), exchange)
    return Verdict(rule_.id, Outcome.FAIL if messages else Outcome.PASS, messages, exchange)
