"""The ``Run`` API: the contract between the suite's runtime and its traffic modules.

Traffic modules never build HTTP clients, never clean up and never judge by hand: they
ask a :class:`Run` to start deployments, send requests and judge the exchanges. That
keeps every request recorded, every verdict reported and every created object removed.

Two facts of the API shape this module (DESIGN principles):

- 429 is an answer: nothing here retries an update, and a timeout yields an exchange
  without a response, which rules judge as indeterminate.
- Allocations converge after the answer (§3.5 P13): :meth:`Run.await_convergence` polls
  ``_stats`` with a growing back-off until the promised routing is reached or a deadline.
"""

from __future__ import annotations

import contextlib
import enum
import fnmatch
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any, Final

import pytest

from conformance.budget import Budget
from conformance.context import Context
from conformance.convergence import has_converged, promise_of
from conformance.discovery import discover
from conformance.exchange import (
    DeploymentInfo,
    DeploymentObservation,
    Exchange,
    Expectation,
    Intent,
    IntentKind,
    NodeAllocation,
    Snapshot,
)
from conformance.provisioning import ADAPTIVE_SINCE, STATS_PATH, Provisioner, update_path
from conformance.results import Tally
from conformance.rules.base import CATALOGUE, Outcome, Rule, Verdict, evaluate
from conformance.rules.reading import assignment_in
from conformance.target import SetupError, Target, TargetConfig

__all__ = [
    "MISSING",
    "STATS_PATH",
    "ConformanceFailure",
    "Run",
    "RunSettings",
    "SetupError",
    "StateUnavailable",
    "open_run",
    "parse_stats",
    "select_rules",
    "update_path",
]


class Missing(enum.Enum):
    """The one value of "send no body", distinct from a JSON ``null`` body."""

    MISSING = "MISSING"


MISSING: Final = Missing.MISSING
SETUP = Intent(IntentKind.OTHER, detail="run set-up")
FIRST_POLL_DELAY, MAX_POLL_DELAY = 0.02, 0.5
MAX_UNREADABLE_POLLS = 3  # _stats answers in a row that are no readable state end a wait


DEFAULT_CONVERGENCE_TIMEOUT = 30.0
DEFAULT_SHRINK_SECONDS = 10.0
MAX_RESTARTS = 4  # explorations restarted after a failure, per generated test


@dataclass(frozen=True)
class RunSettings:
    """Everything a run is configured with (from the CLI, ``run_suite`` or pytest options)."""

    target: TargetConfig
    run_id: str
    profile: str = "auto"
    seed: int = 0
    max_examples: int = 25
    select: str | None = None
    deployment_id: str | None = None
    context: Context | None = None  # already discovered (the CLI's preflight): not read again
    workers: int = 1
    time_budget: float | None = None  # seconds for the whole run, wall clock
    convergence_timeout: float = DEFAULT_CONVERGENCE_TIMEOUT  # the most any one wait may take
    shrink_seconds: float = DEFAULT_SHRINK_SECONDS  # Hypothesis' shrinking of one failure


class ConformanceFailure(AssertionError):
    """Rules failed on an exchange, and the exploration that sent it has not seen them fail yet.

    Raised only inside :meth:`Run.explore`, so that Hypothesis shrinks the example; the
    verdicts themselves were recorded before the raise, and the exploration goes on.
    """

    def __init__(self, rule_ids: frozenset[str], text: str) -> None:
        super().__init__(text)
        self.rule_ids = rule_ids


class StateUnavailable(BaseException):
    """The target would not take a deployment to the state a test needs (a valid restore
    was refused): that test cannot go on. Not an ``Exception``, so that Hypothesis does
    not shrink it as if it were a failure of the request under test."""


class Waits:
    """How long to wait for the target to converge, learned from what it did in this run.

    No wait trusts a promise blindly: until the target has converged once, a wait may take
    the ceiling; after that, four times the slowest convergence seen (at least
    ``floor``). A deployment that once failed to converge is waited for ``floor`` only.
    """

    def __init__(self, ceiling: float, floor: float = 1.0) -> None:
        self.ceiling = ceiling
        self.floor = min(floor, ceiling)
        self.slowest: float | None = None
        self.unconverged: set[str] = set()

    def limit(self, deployment_id: str) -> float:
        if deployment_id in self.unconverged:
            return self.floor
        if self.slowest is None:
            return self.ceiling
        return min(self.ceiling, max(self.floor, 4 * self.slowest + 0.5))

    def record(self, deployment_id: str, seconds: float, converged: bool) -> None:
        if converged:
            self.slowest = seconds if self.slowest is None else max(self.slowest, seconds)
            self.unconverged.discard(deployment_id)
        else:
            self.unconverged.add(deployment_id)


class Run:
    """One conformance run against one target: discovery, provisioning, judging, recording."""

    ctx: Context
    target: Target
    run_id: str
    model_id: str
    primary: str
    seed: int
    max_examples: int

    def __init__(self, target: Target, ctx: Context, settings: RunSettings, rules: Iterable[Rule]) -> None:
        self.target = target
        self.ctx = ctx
        self.run_id = settings.run_id
        self.model_id = f"{settings.run_id}-model"
        self.seed = settings.seed
        self.max_examples = settings.max_examples
        self.rules: tuple[Rule, ...] = tuple(rules)
        self.settings = settings
        self.tally = Tally()
        self.current_test = ""
        self.waits = Waits(settings.convergence_timeout)
        self.failed_rules: set[str] = set()  # every rule that failed in this process, at any level
        self.first_failure_at: float | None = None  # time.monotonic() of the first failed verdict
        self._exploring: set[str] | None = None  # rules an exploration has raised for (None: not exploring)
        self._last_failed: dict[str, Verdict] = {}
        self._adaptive_touched: set[str] = set()  # deployments sent adaptive settings since their restore
        self._provisioner = Provisioner(target, settings.run_id, ctx.version)
        self._known: dict[str, DeploymentInfo] = {}
        self._uploaded: set[str] = set()
        self._started = 0
        self._last_judged: tuple[Exchange, list[Verdict]] | None = None
        self.primary = ""

    # -- knowledge and state -------------------------------------------------------------

    def deployment(self, deployment_id: str) -> DeploymentInfo:
        """The newest knowledge of one of the run's deployments (``KeyError`` if unknown)."""
        return self._known[deployment_id]

    def snapshot(self) -> Snapshot:
        """Every deployment as ``GET _ml/trained_models/_stats`` reports it, normalised."""
        exchange = self.target.request("GET", STATS_PATH, intent=SETUP)
        if exchange.response is None or exchange.response.status != 200:
            status = exchange.error if exchange.response is None else f"HTTP {exchange.response.status}"
            raise SetupError(f"GET {STATS_PATH} failed: {status}")
        return parse_stats(exchange.response.json(), time.monotonic())

    # -- provisioning ---------------------------------------------------------------------

    def start_deployment(
        self,
        *,
        deployment_id: str | None = None,
        threads_per_allocation: int = 1,
        number_of_allocations: int = 1,
        priority: str = "normal",
        adaptive_allocations: dict[str, Any] | None = None,
        broken: bool = False,
        wait_for: str = "started",
    ) -> DeploymentInfo:
        """Start a deployment of the run's model (``broken``: of a model whose route fails).

        Before 8.8 a deployment's id is its model's id (§1.2), so there every deployment
        gets a model of its own.
        """
        self._started += 1
        name = deployment_id or f"d{self._started}"
        deployment_id = name if name.startswith(self.run_id) else f"{self.run_id}-{name}"
        if not self._provisioner.has_deployment_ids:
            model_id = deployment_id
        else:
            model_id = f"{self.run_id}-broken" if broken else self.model_id
        self._ensure_model(model_id, broken=broken)
        assignment = self._provisioner.start(
            model_id,
            deployment_id=deployment_id,
            threads_per_allocation=threads_per_allocation,
            number_of_allocations=number_of_allocations,
            priority=priority,
            adaptive_allocations=adaptive_allocations,
            wait_for=wait_for,
        )
        parameters = assignment.get("task_parameters") or {}
        info = DeploymentInfo(
            deployment_id=deployment_id,
            model_id=model_id,
            threads_per_allocation=int(parameters.get("threads_per_allocation", threads_per_allocation)),
            priority=str(parameters.get("priority", priority)),
            queue_capacity=parameters.get("queue_capacity"),
            last_assignment=assignment,
        )
        self._known[deployment_id] = info
        return info

    def start_inference_endpoint(self, name: str = "endpoint") -> DeploymentInfo:
        """A deployment of the run's model created by an inference endpoint (§1.6 B).

        Its deployment id is the endpoint's id; clean-up deletes the endpoint first.
        """
        inference_id = f"{self.run_id}-{name}"
        self._ensure_model(self.model_id)
        self._provisioner.create_inference_endpoint(inference_id, self.model_id)
        info = DeploymentInfo(
            deployment_id=inference_id,
            model_id=self.model_id,
            threads_per_allocation=1,
            created_by_inference_endpoint=True,
        )
        self._known[inference_id] = info
        return info

    def remove_inference_endpoint(self, inference_id: str) -> None:
        self._provisioner.delete_inference_endpoint(inference_id)
        self._known.pop(inference_id, None)

    def stop_deployment(self, deployment_id: str) -> None:
        self._provisioner.stop(deployment_id)
        self._known.pop(deployment_id, None)

    def adopt(self, deployment_id: str) -> DeploymentInfo:
        """Borrow an existing deployment (``--deployment-id``); its settings are restored at close."""
        adopted = self._provisioner.adopt(deployment_id)
        info = DeploymentInfo(
            deployment_id=deployment_id,
            model_id=adopted.model_id,
            threads_per_allocation=adopted.threads_per_allocation,
            priority=adopted.priority,
            queue_capacity=adopted.queue_capacity,
        )
        self._known[deployment_id] = info
        return info

    def close(self) -> list[str]:
        """Remove everything the run created and restore what it borrowed; return problems."""
        try:
            return self._provisioner.cleanup()
        finally:
            self.target.close()

    # -- traffic --------------------------------------------------------------------------

    def send(
        self,
        method: str,
        path: str,
        *,
        intent: Intent,
        params: dict[str, Any] | None = None,
        json: Any | Missing = MISSING,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
        snapshots: bool = False,
    ) -> Exchange:
        """One request, judged and recorded; ``snapshots`` reads the state before and after."""
        before = self.snapshot() if snapshots else None
        exchange = self.target.request(
            method,
            path,
            intent=intent,
            params=params,
            json=None if json is MISSING else json,
            content=content,
            headers=headers,
            send_json=json is not MISSING,
        )
        if snapshots:
            exchange = replace(exchange, before=before, after=self.snapshot())
        self.judge(exchange)
        return exchange

    def update(
        self,
        deployment_id: str,
        *,
        body: Any | Missing = MISSING,
        params: dict[str, Any] | None = None,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
        method: str = "POST",
        kind: IntentKind = IntentKind.UPDATE,
        detail: str = "",
        case: str | None = None,
        expected: Expectation | None = None,
    ) -> Exchange:
        """``_update`` with before/after snapshots; never retried (429 is an answer)."""
        info = self._known.get(deployment_id)
        intent = Intent(kind, deployment=info, detail=detail, expected=expected, case=case)
        if (isinstance(body, Mapping) and "adaptive_allocations" in body) or (content and b"adaptive" in content):
            self._adaptive_touched.add(deployment_id)
        exchange = self.send(
            method,
            update_path(deployment_id),
            intent=intent,
            params=params,
            json=body,
            content=content,
            headers=headers,
            snapshots=True,
        )
        self._learn(deployment_id, exchange)
        return exchange

    def await_convergence(self, deployment_id: str) -> Exchange:
        """Poll ``_stats`` until the last assignment's promise is met, for as long as the
        target has shown it needs (:class:`Waits`), and judge the state read last.

        The promise (``intent.expected``, a ``ConvergencePromise``): ``target_allocations`` per
        node from the routing table, their ``total``, and the ``number_of_allocations`` asked for.
        """
        info = self._known[deployment_id]
        promise = promise_of(info.last_assignment or {}, self.ctx.nodes)
        limit = self.waits.limit(deployment_id)
        exchange, converged, took = self._poll(deployment_id, lambda seen: has_converged(seen, promise), limit)
        self.waits.record(deployment_id, took, converged)
        intent = Intent(
            IntentKind.CONVERGED,
            deployment=info,
            expected=promise,
            detail=f"state read after waiting up to {limit:g}s for convergence",
        )
        exchange = replace(exchange, intent=intent)
        self.judge(exchange)
        return exchange

    def restore(self, deployment_id: str, number_of_allocations: int = 1) -> None:
        """Back to a known state without judging: adaptive allocations off, ``n`` allocations.

        What the suite asked for is what it waits for (the stored count, and as many
        allocations running), never what an answer promised; a target that does not get
        there in time is not waited for longer, since the next exchange reads the state
        before it anyway. A 429 skips the test (no room for ``n`` allocations beside the
        run's other deployments); any other refusal raises :class:`StateUnavailable`.
        """
        path = update_path(deployment_id)
        if self.ctx.version >= ADAPTIVE_SINCE and self._may_have_adaptive(deployment_id):
            self._quiet_update(deployment_id, path, {"adaptive_allocations": None})
        self._adaptive_touched.discard(deployment_id)
        self._quiet_update(deployment_id, path, {"number_of_allocations": number_of_allocations})

        def settled(seen: DeploymentObservation | None) -> bool:
            return (
                seen is not None
                and seen.number_of_allocations == number_of_allocations
                and sum(r.allocations for r in seen.nodes.values()) <= number_of_allocations
                and not seen.adaptive_allocations
            )

        _, done, took = self._poll(deployment_id, settled, self.waits.limit(deployment_id))
        self.waits.record(deployment_id, took, done)

    # -- judging --------------------------------------------------------------------------

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
        with _shrinking_bounded(self.settings.shrink_seconds):
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

    # -- internals ------------------------------------------------------------------------

    def _evaluate(self, exchange: Exchange) -> list[Verdict]:
        return [v for rule_ in self.rules if (v := evaluate(rule_, exchange, self.ctx)) is not None]

    def _ensure_model(self, model_id: str, *, broken: bool = False) -> None:
        """Upload ``model_id`` unless the run already did (deployments of a model share it)."""
        if model_id not in self._uploaded:
            self._provisioner.upload_model(model_id, broken=broken)
            self._uploaded.add(model_id)

    def _learn(self, deployment_id: str, exchange: Exchange) -> None:
        info = self._known.get(deployment_id)
        if info is None or exchange.response is None or exchange.response.status != 200:
            return
        assignment = assignment_in(exchange.response)  # also one sent without its envelope
        if isinstance(assignment, Mapping):
            self._known[deployment_id] = replace(info, last_assignment=assignment)

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

    def _may_have_adaptive(self, deployment_id: str) -> bool:
        """Whether adaptive settings may be stored: sent since the last restore, or last seen.

        The suite's own requests are trusted over ``_stats``, which a caching gateway may
        serve stale (a stale read must not make the restore send a count that the stored
        adaptive settings refuse)."""
        if deployment_id in self._adaptive_touched:
            return True
        last = (self._known.get(deployment_id) or DeploymentInfo(deployment_id, "", 1)).last_assignment or {}
        return bool((last.get("task_parameters") or {}).get("adaptive_allocations") or last.get("adaptive_allocations"))

    def _quiet_update(self, deployment_id: str, path: str, body: Mapping[str, Any]) -> None:
        """An unjudged update; retries (with back-off, within the run's waits) while the
        deployment is not ``started`` (409)."""
        deadline = time.monotonic() + self.waits.limit(deployment_id)
        delay = FIRST_POLL_DELAY
        while True:
            exchange = self.target.request("POST", path, intent=SETUP, json=body, send_json=True)
            status = exchange.response.status if exchange.response is not None else None
            if status == 200:
                self._learn(deployment_id, exchange)
                return
            if status == 429:
                pytest.skip(
                    f"the target has no room for {body} on {deployment_id} beside the run's other deployments (429)"
                )
            if status != 409 or time.monotonic() + delay > deadline:
                reason = f"HTTP {status}: {_reason(exchange)}" if status is not None else exchange.error
                raise StateUnavailable(f"restoring {deployment_id} with {dict(body)} failed: {reason}")
            time.sleep(delay)
            delay = min(delay * 2, MAX_POLL_DELAY)

    def _poll(
        self, deployment_id: str, done: Callable[[DeploymentObservation | None], bool], timeout: float
    ) -> tuple[Exchange, bool, float]:
        """Read ``_stats`` with back-off until ``done`` holds for the deployment or ``timeout``
        passes: the last read, whether it held, and how long it took."""
        started = time.monotonic()
        deadline = started + timeout
        delay = FIRST_POLL_DELAY
        unreadable = 0
        while True:
            exchange = self.target.request("GET", STATS_PATH, intent=SETUP)
            body = exchange.response.json() if exchange.response is not None else None
            if exchange.response is not None and exchange.response.status == 200 and isinstance(body, Mapping):
                unreadable = 0
                snapshot = parse_stats(body, time.monotonic())
                exchange = replace(exchange, after=snapshot)
                if done(snapshot.get(deployment_id)):
                    return exchange, True, time.monotonic() - started
            else:
                unreadable += 1  # a state that cannot be read will not converge by waiting
            if time.monotonic() + delay > deadline or unreadable >= MAX_UNREADABLE_POLLS:
                return exchange, False, time.monotonic() - started
            time.sleep(delay)
            delay = min(delay * 2, MAX_POLL_DELAY)


def _reason(exchange: Exchange) -> str:
    body = exchange.response.json() if exchange.response is not None else None
    error = body.get("error") if isinstance(body, Mapping) else None
    reason = error.get("reason") if isinstance(error, Mapping) else None
    return str(reason)[:200] if reason else "no reason given"


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


def parse_stats(body: Any, taken_at: float) -> Snapshot:
    """Normalise ``GET _ml/trained_models/_stats`` into a :class:`Snapshot` (tolerant of gaps)."""
    deployments: dict[str, DeploymentObservation] = {}
    entries = body.get("trained_model_stats") if isinstance(body, Mapping) else None
    for entry in entries if isinstance(entries, list) else ():
        stats = entry.get("deployment_stats") if isinstance(entry, Mapping) else None
        if not isinstance(stats, Mapping):
            continue
        observation = _observation(entry, stats)
        deployments[observation.deployment_id] = observation
    return Snapshot(deployments=deployments, taken_at=taken_at)


def _observation(entry: Mapping[str, Any], stats: Mapping[str, Any]) -> DeploymentObservation:
    status = stats.get("allocation_status") or {}
    model_id = str(stats.get("model_id", entry.get("model_id", "")))
    return DeploymentObservation(
        deployment_id=str(stats.get("deployment_id", model_id)),
        model_id=model_id,
        state=stats.get("state"),
        number_of_allocations=stats.get("number_of_allocations"),
        threads_per_allocation=stats.get("threads_per_allocation"),
        priority=stats.get("priority"),
        queue_capacity=stats.get("queue_capacity"),
        cache_size=stats.get("cache_size"),
        allocation_count=status.get("allocation_count"),
        target_allocation_count=status.get("target_allocation_count"),
        start_time_ms=stats.get("start_time"),
        nodes=dict(_node_allocations(stats.get("nodes") or ())),
        adaptive_allocations=stats.get("adaptive_allocations"),
        required_native_memory_bytes=(entry.get("model_size_stats") or {}).get("required_native_memory_bytes"),
    )


def _node_allocations(nodes: Iterable[Any]) -> Iterable[tuple[str, NodeAllocation]]:
    for node in nodes:
        if not isinstance(node, Mapping) or not isinstance(node.get("node"), Mapping) or not node["node"]:
            continue
        node_id = next(iter(node["node"]))
        routing = node.get("routing_state") or {}
        yield (
            node_id,
            NodeAllocation(
                routing_state=str(routing.get("routing_state", "")),
                allocations=int(node.get("number_of_allocations") or 0),
                threads_per_allocation=int(node.get("threads_per_allocation") or 0),
            ),
        )


def select_rules(rules: Iterable[Rule], expression: str | None) -> tuple[Rule, ...]:
    """Rules whose id or family matches one of the comma-separated glob patterns."""
    rules = tuple(rules)
    if not expression:
        return rules
    patterns = [p.strip() for p in expression.split(",") if p.strip()]
    return tuple(
        r for r in rules if any(fnmatch.fnmatchcase(r.id, p) or fnmatch.fnmatchcase(r.family, p) for p in patterns)
    )


def open_run(settings: RunSettings, budget: Budget | None = None) -> Run:
    """Discover the target (unless ``settings.context`` already holds what discovery learned),
    provision the primary deployment (or adopt one) and return the run.

    On failure everything created so far is removed before :class:`SetupError` propagates.
    """
    target = Target(settings.target, budget=budget)
    try:
        ctx = settings.context if settings.context is not None else discover(target, settings.profile)
    except BaseException:
        target.close()
        raise
    run = Run(target, ctx, settings, select_rules(CATALOGUE, settings.select))
    try:
        if settings.deployment_id:
            run.primary = run.adopt(settings.deployment_id).deployment_id
        else:
            run.primary = run.start_deployment(deployment_id=f"{settings.run_id}-primary").deployment_id
        run.await_convergence(run.primary)  # the first lesson of how long this target takes
    except BaseException:
        run.close()
        raise
    return run
