"""Update-semantics defects: a 200 that does not do what §1.6 C and §3.5 say it does."""

from __future__ import annotations

import time
from typing import Any

from conformance.mutants.base import mutant
from conformance.reference.cluster import Cluster
from conformance.reference.model import Deployment, UpdateRequest


@mutant(family="update", expects="update.number-of-allocations-applied")
class IgnoredCount(Cluster):
    """A new ``number_of_allocations`` is acknowledged with 200 but never applied (§3.5-1)."""

    def apply_update(self, deployment: Deployment, request: UpdateRequest, merged: dict[str, Any] | None) -> None:
        deployment.adaptive_allocations = merged


@mutant(family="update", expects="update.number-of-allocations-applied")
class OffByOneIncrease(Cluster):
    """An increase stores and plans one allocation fewer than asked (a ``range`` end off by one, §3.5-1)."""

    def increase(self, deployment: Deployment, wanted: int) -> None:
        super().increase(deployment, max(wanted - 1, deployment.number_of_allocations))


@mutant(family="update", expects="update.number-of-allocations-applied")
class StaleAnswer(Cluster):
    """The 200 to an increase carries the assignment read *before* the planner added allocations (§3.5-1)."""

    read_before_increase: dict[str, Any] | None = None

    def increase(self, deployment: Deployment, wanted: int) -> None:
        read = self.assignment_json(deployment)
        super().increase(deployment, wanted)
        self.read_before_increase = read  # only once applied: a 429 is answered as it should be

    def update_answer(self, deployment: Deployment) -> dict[str, Any]:
        read, self.read_before_increase = self.read_before_increase, None
        return read or super().update_answer(deployment)


@mutant(family="update", expects="update.immutable-fields-unchanged")
class ThreadsFollowAllocations(Cluster):
    """The assignment reports ``threads_per_allocation`` re-derived from the node size and the count (§3.5-2: immutable)."""  # noqa: E501 - the first line is the mutant's defect

    def assignment_json(self, deployment: Deployment) -> dict[str, Any]:
        body = super().assignment_json(deployment)
        largest = max(self.node_capacity(node) for node in self.nodes)
        body["task_parameters"]["threads_per_allocation"] = max(1, largest // max(deployment.number_of_allocations, 1))
        return body


@mutant(family="update", expects="update.immutable-fields-unchanged")
class RestartedStartTime(Cluster):
    """An update that changes something resets ``start_time`` to now, as if the deployment restarted (§3.5-2)."""

    def apply_update(self, deployment: Deployment, request: UpdateRequest, merged: dict[str, Any] | None) -> None:
        super().apply_update(deployment, request, merged)
        deployment.start_time_ns = time.time_ns()


@mutant(family="update", expects="update.max-assigned-never-decreases")
class MaxAssignedFollowsCurrent(Cluster):
    """``max_assigned_allocations`` is recomputed from the current routes, so it drops after a decrease (§3.5-5)."""

    def settle(self, deployment: Deployment) -> None:
        super().settle(deployment)
        deployment.max_assigned_allocations = deployment.total_current


@mutant(family="update", expects="update.number-of-allocations-applied")
class PreUpdateAssignment(Cluster):
    """Every 200 carries the assignment as it was read before the update applied, whatever the change (§3.5-1).

    Broader than ``stale-answer`` (increases only): decreases and settings changes are
    answered with the old assignment too, so the suite's knowledge of the deployment and
    the convergence promise it waits for are always one update behind.
    """

    read_before_update: dict[str, Any] | None = None

    def apply_update(self, deployment: Deployment, request: UpdateRequest, merged: dict[str, Any] | None) -> None:
        read = self.assignment_json(deployment)
        super().apply_update(deployment, request, merged)
        self.read_before_update = read  # only once applied: a 429 is answered as it should be

    def update_answer(self, deployment: Deployment) -> dict[str, Any]:
        read, self.read_before_update = self.read_before_update, None
        return read or super().update_answer(deployment)


@mutant(family="update", expects="update.routes-on-ml-nodes")
class RoutesByEphemeralId(Cluster):
    """The routing table is keyed by each node's ephemeral id, which names no node of the cluster (§2.4: node ids)."""

    def assignment_json(self, deployment: Deployment) -> dict[str, Any]:
        body = super().assignment_json(deployment)
        body["routing_table"] = {f"{node}-ephemeral": route for node, route in body["routing_table"].items()}
        return body
