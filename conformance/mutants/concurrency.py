"""Concurrency defects: a lost update under parallel requests (§1.6 C.9).

Elasticsearch serialises every change through cluster-state updates; the reference
server runs requests on a thread pool and holds its cluster lock across each change.
This mutant reads the deployment, calls its planner *outside* the lock, then writes the
whole record back: the classic read-modify-write race. The planner takes longer when
the count changes than when only settings change, so in a burst the count writes land
last and carry the settings they read before any concurrent settings change: that
change is lost every time the burst overlaps.
"""

from __future__ import annotations

import copy
import time
from typing import Any

from conformance.mutants.base import mutant
from conformance.reference.cluster import Cluster
from conformance.reference.model import UpdateRequest

SETTINGS_PLANNER_SECONDS = 0.05
COUNT_PLANNER_SECONDS = 0.1


@mutant(family="concurrency", expects="concurrency.no-lost-update")
class LostUpdate(Cluster):
    """Update reads the deployment, plans outside the lock, then writes the whole stale record back (§1.6 C.9)."""

    def update_deployment(self, deployment_id: str, request: UpdateRequest) -> dict[str, Any]:
        self.validate_update_request(request)
        with self.lock:
            read = copy.deepcopy(self.find_deployment(deployment_id))
        changes_count = request.number_of_allocations is not None
        time.sleep(COUNT_PLANNER_SECONDS if changes_count else SETTINGS_PLANNER_SECONDS)  # the planner call
        with self.lock:
            if deployment_id in self.deployments:
                self.deployments[deployment_id] = read  # the write-back of what was read
            return super().update_deployment(deployment_id, request)
