"""Enum defects: a state or priority spelled differently from Elasticsearch (§2.5)."""

from __future__ import annotations

from typing import Any

from conformance.mutants.base import STATS_PATH, Answer, Asked, Rewrite, each_deployment_stats, mutant
from conformance.reference.cluster import Cluster
from conformance.reference.model import Deployment


@mutant(family="enums", expects="enums.assignment-state")
class UppercaseAssignmentState(Cluster):
    """``assignment_state`` is written in upper case (``STARTED``), the Java constant name (§2.5)."""

    def assignment_json(self, deployment: Deployment) -> dict[str, Any]:
        body = super().assignment_json(deployment)
        body["assignment_state"] = body["assignment_state"].upper()
        return body


@mutant(family="enums", expects="enums.routing-state")
class RunningRoutingState(Cluster):
    """A settled route reports ``routing_state: running``, a value Elasticsearch does not have (§2.5)."""

    def assignment_json(self, deployment: Deployment) -> dict[str, Any]:
        body = super().assignment_json(deployment)
        for route in body["routing_table"].values():
            if route["routing_state"] == "started":
                route["routing_state"] = "running"
        return body


@mutant(family="enums", expects="enums.priority")
class DefaultPriority(Cluster):
    """Normal priority is written as ``default`` (there is no such priority, §2.5)."""

    def assignment_json(self, deployment: Deployment) -> dict[str, Any]:
        body = super().assignment_json(deployment)
        if body["task_parameters"]["priority"] == "normal":
            body["task_parameters"]["priority"] = "default"
        return body


@mutant(family="enums", expects="enums.allocation-status-state")
class FullyStartedAllocationStatus(Rewrite):
    """Stats report ``allocation_status.state: fully_started`` instead of ``fully_allocated`` (§2.5)."""

    def answer(self, asked: Asked, answer: Answer) -> Answer:
        if asked.method != "GET" or not STATS_PATH.match(asked.path) or answer.status != 200:
            return answer
        document = answer.json()
        for stats in each_deployment_stats(document):
            status = stats.get("allocation_status") or {}
            if status.get("state") == "fully_allocated":
                status["state"] = "fully_started"
        return answer.with_json(document)
