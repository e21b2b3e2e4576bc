"""Response-shape defects: the answer to ``_update`` is not the §2.2 assignment document.

Most mutants post-process :meth:`Cluster.assignment_json`, the one place the reference
server turns a deployment into its JSON form, so only the rendering is wrong; the last two
are gateways (:class:`Rewrite`) that change the ``_update`` answer on its way out.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from conformance.mutants.base import Answer, Asked, Rewrite, mutant
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
    """A route's ``current_allocations`` is the mean of current and target while it converges (``1.5``), not an integer (§2.4)."""  # noqa: E501 - the first line is the mutant's defect

    def assignment_json(self, deployment: Deployment) -> dict[str, Any]:
        body = super().assignment_json(deployment)
        for route in body["routing_table"].values():
            route["current_allocations"] = (route["current_allocations"] + route["target_allocations"]) / 2
        return body


@mutant(family="shape", expects="shape.integers-written-as-integers")
class IntegralFloats(Cluster):
    """Allocation counts are written as integral floats (``2.0``): valid JSON Schema integers, but not what §2.3/§2.4 emit."""  # noqa: E501 - the first line is the mutant's defect

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


@mutant(family="shape", expects="shape.assignment-schema")
class MissingRoutingTable(Cluster):
    """The assignment omits ``routing_table`` (§2.2 always writes it, ``{}`` when there is no route)."""

    def assignment_json(self, deployment: Deployment) -> dict[str, Any]:
        body = super().assignment_json(deployment)
        del body["routing_table"]
        return body


@mutant(family="shape", expects="shape.assignment-schema")
class BareAssignment(Rewrite):
    """A 200 from ``_update`` is the assignment itself, without its ``{"assignment": ...}`` envelope (§2.1)."""

    def answer(self, asked: Asked, answer: Answer) -> Answer:
        document = answer.json()
        if asked.is_update and answer.status == 200 and isinstance(document, dict) and "assignment" in document:
            return answer.with_json(document["assignment"])
        return answer


CUT_OFF_BYTES = 256


@mutant(family="shape", expects="shape.assignment-schema")
class CutOffBody(Rewrite):
    """A gateway with a fixed buffer forwards at most 256 bytes of each ``_update`` answer: longer bodies end mid-JSON (§2.1, §10.4).

    The ``Content-Length`` is that of the bytes sent, so every answer arrives whole as
    HTTP; only its JSON is cut off.
    """  # noqa: E501 - the first line is the mutant's defect

    def answer(self, asked: Asked, answer: Answer) -> Answer:
        return replace(answer, body=answer.body[:CUT_OFF_BYTES]) if asked.is_update else answer
