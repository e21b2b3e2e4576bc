"""Concurrency defects: what only shows when requests overlap (§1.6 C.9).

Elasticsearch serialises every change through cluster-state updates; the reference
server runs requests on a thread pool and holds its cluster lock across each change.
These two break that locking rule itself: each overrides one step of the update and lets
the lock go inside it (:func:`_unlocked`), as an implementation would that does not hold one
lock across its change. ``LostUpdate`` reads the deployment, calls its planner *outside* the
lock, then writes the whole record back: the classic read-modify-write race. The planner
takes longer when the count changes than when only settings change, so in a burst the count
writes land last and carry the settings they read before any concurrent settings change:
that change is lost every time the burst overlaps. ``FailsWhenOverlapping`` answers a
request that meets another one with a server error instead.
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from conformance.mutants.base import mutant
from conformance.reference.cluster import Cluster
from conformance.reference.config import ServerConfig
from conformance.reference.errors import EsError
from conformance.reference.model import Deployment, UpdateRequest

SETTINGS_PLANNER_SECONDS = 0.05
COUNT_PLANNER_SECONDS = 0.1


@contextmanager
def _unlocked(cluster: Cluster) -> Iterator[None]:
    """The cluster's lock released for a while, inside a step (that is, held once by this thread)."""
    cluster.lock.release()
    try:
        yield
    finally:
        cluster.lock.acquire()


@mutant(family="concurrency", expects="concurrency.no-lost-update")
class LostUpdate(Cluster):
    """Update reads the deployment, plans outside the lock, then writes the whole stale record back (§1.6 C.9)."""

    def apply_update(self, deployment: Deployment, request: UpdateRequest, merged: dict[str, Any] | None) -> None:
        read = copy.deepcopy(deployment)  # with ``merged``, computed from the settings read
        changes_count = request.number_of_allocations is not None
        with _unlocked(self):
            time.sleep(COUNT_PLANNER_SECONDS if changes_count else SETTINGS_PLANNER_SECONDS)  # the planner call
        vars(deployment).update(vars(read))  # the write-back of what was read
        super().apply_update(deployment, request, merged)


PLANNER_SECONDS = 0.01


@mutant(family="concurrency", expects="errors.valid-never-5xx")
class FailsWhenOverlapping(Cluster):
    """An update that arrives while another is being applied fails with a 500 and changes nothing (ES#121165, §3.5-15).

    Elasticsearch once let a racing cluster-state update escape as ``IllegalStateException:
    cluster state update executor did not preserve version numbers`` (fixed by ES#128667).
    Updates one at a time are answered correctly, so only requests that overlap show it.
    """

    def __init__(self, config: ServerConfig = ServerConfig(), clock: Callable[[], float] = time.time) -> None:
        super().__init__(config, clock)
        self.in_flight = 0
        self.counting = threading.Lock()

    def validate_update_request(self, request: UpdateRequest) -> UpdateRequest:
        """The first step of every update, before anything is read or changed."""
        with self.counting:
            self.in_flight += 1
            overlapping = self.in_flight > 1
        try:
            if overlapping:
                raise EsError(
                    500,
                    "illegal_state_exception",
                    "cluster state update executor did not preserve version numbers: [update model deployment]",
                )
            with _unlocked(self):
                time.sleep(PLANNER_SECONDS)  # the cluster-state task takes a moment; requests meeting it overlap
            return super().validate_update_request(request)
        finally:
            with self.counting:
                self.in_flight -= 1
