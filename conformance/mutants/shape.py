"""Response-shape defects: the answer to ``_update`` is not the §2.2 assignment document.

Each mutant post-processes :meth:`Cluster.assignment_json`, the one place the reference
server turns a deployment into its JSON form, so only the rendering is wrong.
"""

from __future__ import annotations

from typing import Any

from conformance.mutants.base import mutant
from conformance.reference.cluster import Cluster
from conformance.reference.model import Deployment


@mutant(family="shape", expects="shape.assignment-schema")
class MissingStartTime(Cluster):
    """The assignment omits ``start_time`` (§2.2 always writes it)."""

    def assignment_json(self, deployment: Deployment) -> dict[str, Any]:
        body = super().assignment_json(deployment)
        del body["start_time"]
        return body


@mutant(family="shape", expects="shape.assignment-schema")
class ExtraAssignmentField(Cluster):
    """The assignment carries a field Elasticsearch never writes (``node_count``, §2.2)."""

    def assignment_json(self, deployment: Deployment) -> dict[str, Any]:
        body = super().assignment_json(deployment)
        body["node_count"] = len(deployment.routes)
        return body


@mutant(family="shape", expects="shape.assignment-schema")
class AllocationsAsString(Cluster):
    """``task_parameters.number_of_allocations`` is written as a string (``"2"``), not an integer (§2.3)."""

    def assignment_json(self, deployment: Deployment) -> dict[str, Any]:
        body = super().assignment_json(deployment)
        parameters = body["task_parameters"]
        parameters["number_of_allocations"] = str(parameters["number_of_allocations"])
        return body


@mutant(family="shape", expects="shape.assignment-schema")
class AveragedAllocations(Cluster):
    """A route's ``current_allocations`` is the mean of current and target while it converges (``1.5``), not an integer (§2.4)."""

    def assignment_json(self, deployment: Deployment) -> dict[str, Any]:
        body = super().assignment_json(deployment)
        for route in body["routing_table"].values():
            route["current_allocations"] = (route["current_allocations"] + route["target_allocations"]) / 2
        return body


@mutant(family="shape", expects="shape.integers-written-as-integers")
class IntegralFloats(Cluster):
    """Allocation counts are written as integral floats (``2.0``): valid JSON Schema integers, but not what §2.3/§2.4 emit."""

    def assignment_json(self, deployment: Deployment) -> dict[str, Any]:
        body = super().assignment_json(deployment)
        body["task_parameters"]["number_of_allocations"] = float(body["task_parameters"]["number_of_allocations"])
        for route in body["routing_table"].values():
            route["target_allocations"] = float(route["target_allocations"])
        return body


@mutant(family="shape", expects="shape.assignment-schema")
class EpochStartTime(Cluster):
    """``start_time`` is written as epoch milliseconds (the stats form) instead of an ISO-8601 instant (§2.2)."""

    def assignment_json(self, deployment: Deployment) -> dict[str, Any]:
        body = super().assignment_json(deployment)
        body["start_time"] = deployment.start_time_ns // 1_000_000
        return body


@mutant(family="shape", expects="shape.assignment-schema")
class ZonelessStartTime(Cluster):
    """``start_time`` is an ISO-8601 local time without the ``Z`` zone designator (§2.2)."""

    def assignment_json(self, deployment: Deployment) -> dict[str, Any]:
        body = super().assignment_json(deployment)
        body["start_time"] = body["start_time"].removesuffix("Z").replace("T", " ")
        return body
