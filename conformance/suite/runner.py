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

import fnmatch
import time
from dataclasses import dataclass, replace
from typing import Any, Iterable, Mapping

from conformance.context import Context
from conformance.convergence import has_converged, promise_of
from conformance.discovery import discover
from conformance.exchange import (
    DeploymentInfo,
    DeploymentObservation,
    Exchange,
    Intent,
    NodeAllocation,
    Snapshot,
)
from conformance.provisioning import ADAPTIVE_SINCE, STATS_PATH, Provisioner, update_path
from conformance.results import Tally
from conformance.rules.base import CATALOGUE, Outcome, Rule, Verdict, evaluate
from conformance.target import SetupError, Target, TargetConfig

__all__ = ["MISSING", "STATS_PATH", "Run", "RunSettings", "SetupError", "open_run", "parse_stats", "select_rules",
           "update_path"]

MISSING: Any = object()  # "no body" marker, distinct from a JSON null body
SETUP = Intent("other", detail="run set-up")
FIRST_POLL_DELAY, MAX_POLL_DELAY = 0.02, 0.5


@dataclass(frozen=True)
class RunSettings:
    """Everything a run is configured with (from pytest options or the CLI)."""

    target: TargetConfig
    run_id: str
    profile: str = "auto"
    seed: int = 0
    max_examples: int = 25
    select: str | None = None
    deployment_id: str | None = None
    context: Context | None = None  # already discovered (the CLI's preflight): not read again


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
        self.tally = Tally()
        self.current_test = ""
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
        adaptive_allocations: dict | None = None,
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
        info = DeploymentInfo(deployment_id=inference_id, model_id=self.model_id, threads_per_allocation=1,
                              created_by_inference_endpoint=True)
        self._known[inference_id] = info
        return info

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
        params: dict | None = None,
        json: Any = MISSING,
        content: bytes | None = None,
        headers: dict | None = None,
        snapshots: bool = False,
    ) -> Exchange:
        """One request, judged and recorded; ``snapshots`` reads the state before and after."""
        before = self.snapshot() if snapshots else None
        exchange = self.target.request(
            method, path, intent=intent, params=params, json=None if json is MISSING else json,
            content=content, headers=headers, send_json=json is not MISSING,
        )
        if snapshots:
            exchange = replace(exchange, before=before, after=self.snapshot())
        self.judge(exchange)
        return exchange

    def update(
        self,
        deployment_id: str,
        *,
        body: Any = MISSING,
        params: dict | None = None,
        content: bytes | None = None,
        headers: dict | None = None,
        method: str = "POST",
        kind: str = "update",
        detail: str = "",
        expected: dict | None = None,
    ) -> Exchange:
        """``_update`` with before/after snapshots; never retried (429 is an answer)."""
        info = self._known.get(deployment_id)
        intent = Intent(kind, deployment=info, detail=detail, expected=expected or {})
        exchange = self.send(
            method, update_path(deployment_id), intent=intent, params=params, json=body,
            content=content, headers=headers, snapshots=True,
        )
        self._learn(deployment_id, exchange)
        return exchange

    def await_convergence(self, deployment_id: str, *, timeout: float = 15.0) -> Exchange:
        """Poll ``_stats`` until the last assignment's promise is met or ``timeout`` passes.

        The promise (``intent.expected``): ``target_allocations`` per node from the
        routing table, their ``total``, and the ``number_of_allocations`` asked for.
        """
        info = self._known[deployment_id]
        promise = promise_of(info.last_assignment or {}, self.ctx.nodes)
        exchange = self._poll(deployment_id, promise, timeout)
        intent = Intent("converged", deployment=info, expected=promise,
                        detail=f"state read after waiting up to {timeout:g}s for convergence")
        exchange = replace(exchange, intent=intent)
        self.judge(exchange)
        return exchange

    def restore(self, deployment_id: str, number_of_allocations: int = 1) -> None:
        """Back to a known state without judging: adaptive allocations off, ``n`` allocations."""
        path = update_path(deployment_id)
        if self.ctx.version >= ADAPTIVE_SINCE:
            observed = self.snapshot().get(deployment_id)
            if observed is not None and observed.adaptive_allocations:
                self._quiet_update(deployment_id, path, {"adaptive_allocations": None})
        self._quiet_update(deployment_id, path, {"number_of_allocations": number_of_allocations})
        promise = promise_of(self._known[deployment_id].last_assignment or {}, self.ctx.nodes) if deployment_id in self._known else {}
        if promise:
            self._poll(deployment_id, promise, 15.0)

    # -- judging --------------------------------------------------------------------------

    def judge(self, exchange: Exchange) -> list[Verdict]:
        """Evaluate every selected rule on ``exchange`` and record the verdicts.

        The verdicts are kept with the exchange, so that :meth:`verdicts_on` right after
        need not evaluate every rule a second time.
        """
        verdicts = self._evaluate(exchange)
        self.tally.add(verdicts, test=self.current_test, seed=self.seed)
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
        """Fail the current test (and let Hypothesis shrink) when a verdict failed."""
        failed = [v for v in verdicts if v.outcome is Outcome.FAIL]
        if not failed:
            return
        lines = []
        for verdict in failed:
            lines.append(f"{verdict.rule_id}: " + "; ".join(verdict.messages))
            if verdict.exchange is not None:
                lines.append(f"  reproduce: {verdict.exchange.request.as_curl()}")
        raise AssertionError("conformance failure\n" + "\n".join(lines))

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
        body = exchange.response.json()
        assignment = body.get("assignment") if isinstance(body, Mapping) else None
        if isinstance(assignment, Mapping):
            self._known[deployment_id] = replace(info, last_assignment=assignment)

    def _quiet_update(self, deployment_id: str, path: str, body: Mapping[str, Any]) -> None:
        """An unjudged update; waits (with back-off) while the deployment is not ``started``."""
        deadline = time.monotonic() + 15.0
        delay = FIRST_POLL_DELAY
        while True:
            exchange = self.target.request("POST", path, intent=SETUP, json=body, send_json=True)
            status = exchange.response.status if exchange.response is not None else None
            if status == 200:
                self._learn(deployment_id, exchange)
                return
            if status != 409 or time.monotonic() > deadline:
                raise SetupError(f"restoring {deployment_id} with {body} failed: {status or exchange.error}")
            time.sleep(delay)
            delay = min(delay * 2, MAX_POLL_DELAY)

    def _poll(self, deployment_id: str, promise: Mapping[str, Any], timeout: float) -> Exchange:
        deadline = time.monotonic() + timeout
        delay = FIRST_POLL_DELAY
        while True:
            exchange = self.target.request("GET", STATS_PATH, intent=SETUP)
            body = exchange.response.json() if exchange.response is not None else None
            if exchange.response is not None and exchange.response.status == 200 and isinstance(body, Mapping):
                snapshot = parse_stats(body, time.monotonic())
                exchange = replace(exchange, after=snapshot)
                if has_converged(snapshot.get(deployment_id), promise):
                    return exchange
            if time.monotonic() + delay > deadline:
                return exchange
            time.sleep(delay)
            delay = min(delay * 2, MAX_POLL_DELAY)


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
    )


def _node_allocations(nodes: Iterable[Any]) -> Iterable[tuple[str, NodeAllocation]]:
    for node in nodes:
        if not isinstance(node, Mapping) or not isinstance(node.get("node"), Mapping) or not node["node"]:
            continue
        node_id = next(iter(node["node"]))
        routing = node.get("routing_state") or {}
        yield node_id, NodeAllocation(
            routing_state=str(routing.get("routing_state", "")),
            allocations=int(node.get("number_of_allocations") or 0),
            threads_per_allocation=int(node.get("threads_per_allocation") or 0),
        )


def select_rules(rules: Iterable[Rule], expression: str | None) -> tuple[Rule, ...]:
    """Rules whose id or family matches one of the comma-separated glob patterns."""
    rules = tuple(rules)
    if not expression:
        return rules
    patterns = [p.strip() for p in expression.split(",") if p.strip()]
    return tuple(r for r in rules if any(fnmatch.fnmatchcase(r.id, p) or fnmatch.fnmatchcase(r.family, p)
                                         for p in patterns))


def open_run(settings: RunSettings) -> Run:
    """Discover the target (unless ``settings.context`` already holds what discovery learned),
    provision the primary deployment (or adopt one) and return the run.

    On failure everything created so far is removed before :class:`SetupError` propagates.
    """
    target = Target(settings.target)
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
    except BaseException:
        run.close()
        raise
    return run
