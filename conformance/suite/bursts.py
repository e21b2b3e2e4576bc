"""Concurrent bursts of updates: lost updates only show when requests overlap.

A server that reads the stored assignment, changes one field and writes it back without
serialising the write can lose a concurrent change of *another* field. Elasticsearch
serialises every change through the master's cluster-state updates and retries when the
state moved meanwhile (§1.6 C.9), so after a burst each field must hold the value of
one of its successful requests, and no successful request may be silently overwritten
by an older one. A burst records when each request started and ended (monotonic clock)
and what it got, so the burst-final rule can tell overlapping requests from ordered ones.

Each request is also an exchange of its own (kind ``burst-update``): a valid update,
judged as one (never a 5xx, ES#121165; 200, 409 or a 429 only where the count did not
fit). Overlapping requests share no single "state before", so what the rules know of
capacity is what fitted the deployment just before the burst (its ``BurstCapacity``,
unknown when the rest of the cluster moved meanwhile).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

from conformance.context import Context, Feature
from conformance.exchange import DeploymentInfo, Exchange, Intent, IntentKind
from conformance.expectations import BurstCapacity, BurstWrite
from conformance.suite.runner import update_path
from conformance.suite.strategies import capacity
from conformance.target import Target

COUNT, SETTINGS = "number_of_allocations", "adaptive_allocations"  # the body fields a burst request sets


@dataclass(frozen=True)
class BurstRequest:
    """One request of a burst: it sets ``field`` to ``value`` and nothing else."""

    field: str
    value: Any

    @property
    def body(self) -> Mapping[str, Any]:
        return {self.field: self.value}


@dataclass(frozen=True)
class LoggedRequest:
    """One burst request: what it asked for, what it got and when, and its exchange."""

    write: BurstWrite
    exchange: Exchange

    def capacity_unknown(self) -> LoggedRequest:
        """This request as judged when the rest of the cluster moved during the burst."""
        intent = replace(self.exchange.intent, expected=BurstCapacity(allocatable=None))
        return replace(self, exchange=replace(self.exchange, intent=intent))


def plan(ctx: Context, size: int, limit: int | None = None) -> list[BurstRequest]:
    """``size`` requests alternating between the count and, where the profile has them,
    adaptive settings that stay disabled (so they never conflict with a count, §1.6 C.3).

    Counts stay within capacity (§3.2) so that most of them can succeed, and avoid the
    count the deployment starts the burst with (1) where capacity allows, so that a write
    reverted to the old value cannot pass for a new one; min/max differ per request so
    that a lost write is visible.
    """
    top = capacity(ctx) if limit is None else min(capacity(ctx), limit)  # limit: no scale-up (strategies.scaling_limit)
    counts = list(range(2, top + 1)) or [1]
    requests: list[BurstRequest] = []
    for index in range(size):
        if ctx.has(Feature.ADAPTIVE_ALLOCATIONS) and index % 2:
            low = index % 3
            requests.append(
                BurstRequest(
                    SETTINGS,
                    {"enabled": False, "min_number_of_allocations": low, "max_number_of_allocations": low + 1 + index},
                )
            )
        else:
            requests.append(BurstRequest(COUNT, counts[index % len(counts)]))
    return requests


def fire(
    target: Target, deployment: DeploymentInfo, requests: list[BurstRequest], allocatable: int | None
) -> list[LoggedRequest]:
    """Send every request at once (one thread each, released together) and log the answers.

    ``allocatable`` is how many allocations fitted the deployment just before the burst
    (``None`` when unknown); each request's exchange carries it for the rules.
    """
    gate = threading.Barrier(len(requests))
    path = update_path(deployment.deployment_id)

    def send(numbered: tuple[int, BurstRequest]) -> LoggedRequest:
        index, request = numbered
        intent = Intent(
            IntentKind.BURST_UPDATE,
            deployment=deployment,
            expected=BurstCapacity(allocatable),
            detail=f"request {index + 1} of a burst of {len(requests)}: {request.field}",
        )
        gate.wait()
        started = time.monotonic()
        exchange = target.request("POST", path, intent=intent, json=dict(request.body), send_json=True)
        ended = time.monotonic()
        status = exchange.response.status if exchange.response is not None else None
        return LoggedRequest(BurstWrite(request.field, request.value, status, started, ended), exchange)

    with ThreadPoolExecutor(max_workers=len(requests)) as pool:
        try:
            return list(pool.map(send, enumerate(requests)))
        except BaseException:
            # A signal can stop this thread before every request is submitted: the ones at the
            # gate would wait for the rest forever, and leaving the pool joins them.
            gate.abort()
            raise
