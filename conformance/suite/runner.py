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

import enum
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Final

from conformance.budget import Budget
from conformance.context import Context
from conformance.discovery import discover
from conformance.exchange import DeploymentInfo, Exchange, Expectation, Intent, IntentKind, Snapshot
from conformance.provisioning import STATS_PATH, update_path
from conformance.results import Tally
from conformance.rules.base import CATALOGUE, Rule, Verdict
from conformance.suite.deployments import Deployments
from conformance.suite.judging import ConformanceFailure, Judge, select_rules
from conformance.suite.settling import Settling, StateUnavailable, Waits
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
    "select_rules",
    "update_path",
]


class Missing(enum.Enum):
    """The one value of "send no body", distinct from a JSON ``null`` body."""

    MISSING = "MISSING"


MISSING: Final = Missing.MISSING


DEFAULT_CONVERGENCE_TIMEOUT = 30.0
DEFAULT_SHRINK_SECONDS = 10.0


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


class Run:
    """One conformance run against one target, as its traffic modules see it.

    The work is done by three parts with one concern each, which the run composes: its
    :class:`~conformance.suite.deployments.Deployments` (provisioning and clean-up), its
    :class:`~conformance.suite.settling.Settling` (reading the state, waiting for it) and
    its :class:`~conformance.suite.judging.Judge` (rules, verdicts, failures). What is
    left here is what a request needs of all three: send it, learn from it, judge it.
    """

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
        self.seed = settings.seed
        self.max_examples = settings.max_examples
        self.settings = settings
        self.deployments = Deployments(target, settings.run_id, ctx.version)
        self.model_id = self.deployments.model_id
        self.settling = Settling(target, ctx, self.deployments, Waits(settings.convergence_timeout))
        self.judging = Judge(rules, ctx, seed=settings.seed, shrink_seconds=settings.shrink_seconds)
        self.primary = ""

    # -- what the session reads and resets between tests ---------------------------------

    def take_tally(self) -> Tally:
        """The verdicts recorded since the last call (they go to the session), and a fresh tally."""
        taken, self.judging.tally = self.judging.tally, Tally()
        return taken

    @property
    def current_test(self) -> str:
        return self.judging.current_test

    @current_test.setter
    def current_test(self, test: str) -> None:
        self.judging.current_test = test

    @property
    def failed_rules(self) -> set[str]:
        """Every rule that failed in this process, at any level."""
        return self.judging.failed_rules

    @property
    def first_failure_at(self) -> float | None:
        """``time.monotonic()`` of the first failed verdict."""
        return self.judging.first_failure_at

    # -- knowledge and state -------------------------------------------------------------

    def deployment(self, deployment_id: str) -> DeploymentInfo:
        """The newest knowledge of one of the run's deployments (``KeyError`` if unknown)."""
        return self.deployments.deployment(deployment_id)

    def snapshot(self) -> Snapshot:
        """Every deployment as ``GET _ml/trained_models/_stats`` reports it, normalised."""
        return self.settling.snapshot()

    # -- provisioning ---------------------------------------------------------------------

    def start_inference_endpoint(self, name: str = "endpoint") -> DeploymentInfo:
        """A deployment of the run's model created by an inference endpoint (§1.6 B)."""
        return self.deployments.start_inference_endpoint(name)

    def remove_inference_endpoint(self, inference_id: str) -> None:
        self.deployments.remove_inference_endpoint(inference_id)

    def stop_deployment(self, deployment_id: str) -> None:
        self.deployments.stop(deployment_id)

    def adopt(self, deployment_id: str) -> DeploymentInfo:
        """Borrow an existing deployment (``--deployment-id``); its settings are restored at close."""
        return self.deployments.adopt(deployment_id)

    def close(self) -> list[str]:
        """Remove everything the run created and restore what it borrowed; return problems."""
        try:
            return self.deployments.cleanup()
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
        info = self.deployments.get(deployment_id)
        intent = Intent(kind, deployment=info, detail=detail, expected=expected, case=case)
        if (isinstance(body, Mapping) and "adaptive_allocations" in body) or (content and b"adaptive" in content):
            self.settling.touched_adaptive(deployment_id)
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
        self.deployments.learn(deployment_id, exchange)
        return exchange

    def await_convergence(self, deployment_id: str) -> Exchange:
        """Poll ``_stats`` until the last assignment's promise is met (:meth:`Settling.converge`),
        and judge the state read last."""
        exchange = self.settling.converge(deployment_id)
        self.judge(exchange)
        return exchange

    def restore(self, deployment_id: str, number_of_allocations: int = 1) -> None:
        """Back to a known state without judging (:meth:`Settling.restore`)."""
        self.settling.restore(deployment_id, number_of_allocations)

    def sent_adaptive(self, deployment_id: str) -> None:
        """Adaptive settings went to ``deployment_id`` by another way than :meth:`update` (a
        burst): the next restore clears them, or it waits for a state they keep from coming."""
        self.settling.touched_adaptive(deployment_id)

    # -- judging --------------------------------------------------------------------------

    def judge(self, exchange: Exchange) -> list[Verdict]:
        """Evaluate every selected rule on ``exchange`` and record the verdicts."""
        return self.judging.judge(exchange)

    def verdicts_on(self, exchange: Exchange) -> list[Verdict]:
        """The verdicts on ``exchange`` without recording it again in the tally."""
        return self.judging.verdicts_on(exchange)

    def assert_conforms(self, verdicts: list[Verdict]) -> None:
        """Inside :meth:`explore`, raise :class:`ConformanceFailure` for rules not seen failing yet."""
        self.judging.assert_conforms(verdicts)

    def explore(self, make_test: Callable[[int], Callable[[], None]]) -> None:
        """Run a generated test to its end, whatever it finds (:meth:`Judge.explore`)."""
        self.judging.explore(make_test)


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
            run.primary = run.deployments.start(deployment_id=f"{settings.run_id}-primary").deployment_id
        run.await_convergence(run.primary)  # the first lesson of how long this target takes
    except BaseException:
        run.close()
        raise
    return run
