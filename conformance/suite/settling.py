"""Reading the target's state, and waiting until a deployment is where the suite needs it.

Allocations converge after the answer (§3.5 P13), so an update's promise can only be
judged on a later ``_stats`` read, and a test can only start from a known state once the
target has settled there. Both are the same loop: read ``_stats`` with a growing back-off
until a condition holds for the deployment or a deadline passes. How long that deadline
is, :class:`Waits` learns from what the target did in this run. Nothing here judges: the
run judges the state read last.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

import pytest

from conformance.context import Context
from conformance.convergence import has_converged, promise_of
from conformance.exchange import DeploymentInfo, DeploymentObservation, Exchange, Intent, IntentKind, Snapshot
from conformance.observations import parse_stats
from conformance.provisioning import ADAPTIVE_SINCE, STATS_PATH, update_path
from conformance.suite.deployments import Deployments
from conformance.target import SetupError, Target

SETUP = Intent(IntentKind.OTHER, detail="run set-up")
FIRST_POLL_DELAY, MAX_POLL_DELAY = 0.02, 0.5
MAX_UNREADABLE_POLLS = 3  # _stats answers in a row that are no readable state end a wait


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


class Settling:
    """The state of one run's deployments as the target reports it, read once or until it settles."""

    def __init__(self, target: Target, ctx: Context, deployments: Deployments, waits: Waits) -> None:
        self.target = target
        self.ctx = ctx
        self.deployments = deployments
        self.waits = waits
        self._adaptive_touched: set[str] = set()  # deployments sent adaptive settings since their restore

    def snapshot(self) -> Snapshot:
        """Every deployment as ``GET _ml/trained_models/_stats`` reports it, normalised."""
        exchange = self.target.request("GET", STATS_PATH, intent=SETUP)
        if exchange.response is None or exchange.response.status != 200:
            status = exchange.error if exchange.response is None else f"HTTP {exchange.response.status}"
            raise SetupError(f"GET {STATS_PATH} failed: {status}")
        return parse_stats(exchange.response.json(), time.monotonic())

    def touched_adaptive(self, deployment_id: str) -> None:
        """Adaptive settings were sent to ``deployment_id``: its next restore clears them."""
        self._adaptive_touched.add(deployment_id)

    def converge(self, deployment_id: str) -> Exchange:
        """Poll ``_stats`` until the last assignment's promise is met, for as long as the
        target has shown it needs (:class:`Waits`); the state read last, to be judged.

        The promise (``intent.expected``, a ``ConvergencePromise``): ``target_allocations`` per
        node from the routing table, their ``total``, and the ``number_of_allocations`` asked for.
        """
        info = self.deployments.deployment(deployment_id)
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
        return replace(exchange, intent=intent)

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

    def _may_have_adaptive(self, deployment_id: str) -> bool:
        """Whether adaptive settings may be stored: sent since the last restore, or last seen.

        The suite's own requests are trusted over ``_stats``, which a caching gateway may
        serve stale (a stale read must not make the restore send a count that the stored
        adaptive settings refuse)."""
        if deployment_id in self._adaptive_touched:
            return True
        last = (self.deployments.get(deployment_id) or DeploymentInfo(deployment_id, "", 1)).last_assignment or {}
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
                self.deployments.learn(deployment_id, exchange)
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
