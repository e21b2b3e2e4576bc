"""Judging: every exchange the run records goes past the selected rules, and failures are kept.

Traffic modules never judge by hand: the run hands each exchange here, where every
selected rule is evaluated, the verdicts go into the tally, and a failure is noted (the
first failure's time, the last failing verdict of each rule). Inside a generated test
(:meth:`Judge.explore`) a failure is also raised, so that Hypothesis shrinks the example;
the shrunk example then becomes the rule's evidence, and the test goes on without
raising for that rule again, so that one failure does not hide the others.
"""

from __future__ import annotations

import contextlib
import fnmatch
import time
from collections.abc import Callable, Iterable, Iterator

from conformance.context import Context
from conformance.exchange import Exchange
from conformance.results import Tally
from conformance.rules.base import Outcome, Rule, Verdict, evaluate

MAX_RESTARTS = 4  # explorations restarted after a failure, per generated test


class ConformanceFailure(AssertionError):
    """Rules failed on an exchange, and the exploration that sent it has not seen them fail yet.

    Raised only inside :meth:`Judge.explore`, so that Hypothesis shrinks the example; the
    verdicts themselves were recorded before the raise, and the exploration goes on.
    """

    def __init__(self, rule_ids: frozenset[str], text: str) -> None:
        super().__init__(text)
        self.rule_ids = rule_ids


class Judge:
    """The selected rules of one run, the tally of their verdicts, and what failed."""

    def __init__(self, rules: Iterable[Rule], ctx: Context, *, seed: int, shrink_seconds: float) -> None:
        self.rules: tuple[Rule, ...] = tuple(rules)
        self.ctx = ctx
        self.seed = seed
        self.shrink_seconds = shrink_seconds
        self.tally = Tally()
        self.current_test = ""
        self.failed_rules: set[str] = set()  # every rule that failed in this process, at any level
        self.first_failure_at: float | None = None  # time.monotonic() of the first failed verdict
        self._exploring: set[str] | None = None  # rules an exploration has raised for (None: not exploring)
        self._last_failed: dict[str, Verdict] = {}
        self._last_judged: tuple[Exchange, list[Verdict]] | None = None

    def judge(self, exchange: Exchange) -> list[Verdict]:
        """Evaluate every selected rule on ``exchange`` and record the verdicts.

        The verdicts are kept with the exchange, so that :meth:`verdicts_on` right after
        need not evaluate every rule a second time.
        """
        verdicts = self._evaluate(exchange)
        self.tally.add(verdicts, test=self.current_test, seed=self.seed)
        self._note_failures(verdicts)
        self._last_judged = (exchange, verdicts)
        return verdicts

    def verdicts_on(self, exchange: Exchange) -> list[Verdict]:
        """The verdicts on ``exchange`` without recording it again in the tally.

        ``send``/``update``/``await_convergence`` judge before they return, so these are
        normally the kept ones; any other exchange is evaluated afresh (rules are pure).
        """
        if self._last_judged is not None and self._last_judged[0] is exchange:
            return self._last_judged[1]
        return self._evaluate(exchange)

    def assert_conforms(self, verdicts: list[Verdict]) -> None:
        """Inside an exploration, raise :class:`ConformanceFailure` for rules it has not
        seen fail yet (so that Hypothesis shrinks to the smallest such request); elsewhere
        do nothing: the verdicts are recorded, and the traffic goes on."""
        if self._exploring is None:
            return
        failed = [v for v in verdicts if v.outcome is Outcome.FAIL and v.rule_id not in self._exploring]
        if not failed:
            return
        lines = []
        for verdict in failed:
            lines.append(f"{verdict.rule_id}: " + "; ".join(verdict.messages))
            if verdict.exchange is not None:
                lines.append(f"  reproduce: {verdict.exchange.request.as_curl()}")
        raise ConformanceFailure(frozenset(v.rule_id for v in failed), "conformance failure\n" + "\n".join(lines))

    def explore(self, make_test: Callable[[int], Callable[[], None]]) -> None:
        """Run a generated test to its end, whatever it finds.

        ``make_test(attempt)`` builds the Hypothesis test (seeded with ``seed + attempt``).
        When it fails, Hypothesis has shrunk the failure (for at most ``shrink_seconds``):
        the minimal example becomes the rule's evidence, and the test starts again with
        those rules no longer raising, so the rest of its traffic still runs and every
        other rule is still judged.
        """
        known: set[str] = set()
        with _shrinking_bounded(self.shrink_seconds):
            for attempt in range(MAX_RESTARTS + 1):
                self._exploring = known
                try:
                    make_test(attempt)()
                    return
                except ConformanceFailure as failure:
                    self._keep_shrunk(failure.rule_ids)
                    known |= failure.rule_ids
                except BaseExceptionGroup as group:  # Hypothesis' flaky or multiple failures
                    rest = group.split(ConformanceFailure)[1]
                    if rest is not None:
                        raise
                    found = {rid for f in _leaves(group) for rid in f.rule_ids}
                    self._keep_shrunk(found)
                    known |= found
                finally:
                    self._exploring = None

    def _evaluate(self, exchange: Exchange) -> list[Verdict]:
        return [v for rule_ in self.rules if (v := evaluate(rule_, exchange, self.ctx)) is not None]

    def _note_failures(self, verdicts: Iterable[Verdict]) -> None:
        for verdict in verdicts:
            if verdict.outcome is Outcome.FAIL:
                self.failed_rules.add(verdict.rule_id)
                self._last_failed[verdict.rule_id] = verdict
                if self.first_failure_at is None:
                    self.first_failure_at = time.monotonic()

    def _keep_shrunk(self, rule_ids: Iterable[str]) -> None:
        """Hypothesis replays the minimal failing example last: keep it as the evidence."""
        for rule_id in rule_ids:
            verdict = self._last_failed.get(rule_id)
            if verdict is not None:
                self.tally.keep_evidence(verdict, test=self.current_test, seed=self.seed, note="shrunk example")


def _leaves(group: BaseExceptionGroup) -> Iterator[ConformanceFailure]:
    for exc in group.exceptions:
        if isinstance(exc, BaseExceptionGroup):
            yield from _leaves(exc)
        elif isinstance(exc, ConformanceFailure):
            yield exc


@contextlib.contextmanager
def _shrinking_bounded(seconds: float) -> Iterator[None]:
    """Bound Hypothesis' shrinking of one failure in time (its engine documents
    ``MAX_SHRINKING_SECONDS`` as the knob; 300 s by default, the whole CI budget)."""
    from hypothesis.internal.conjecture import engine

    previous = engine.MAX_SHRINKING_SECONDS
    # typed int in Hypothesis, but only ever added to a time.perf_counter(): a fraction of a second works
    engine.MAX_SHRINKING_SECONDS = seconds  # type: ignore[assignment]
    try:
        yield
    finally:
        engine.MAX_SHRINKING_SECONDS = previous


def select_rules(rules: Iterable[Rule], expression: str | None) -> tuple[Rule, ...]:
    """Rules whose id or family matches one of the comma-separated glob patterns."""
    rules = tuple(rules)
    if not expression:
        return rules
    patterns = [p.strip() for p in expression.split(",") if p.strip()]
    return tuple(
        r for r in rules if any(fnmatch.fnmatchcase(r.id, p) or fnmatch.fnmatchcase(r.family, p) for p in patterns)
    )
