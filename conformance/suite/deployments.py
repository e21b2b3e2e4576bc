"""The run's deployments: what it started or borrowed, what it knows of each, and their removal.

A traffic module names a deployment and the run knows the rest: its model, its threads,
its newest assignment. That knowledge is kept here, beside the :class:`Provisioner` that
creates and removes the objects, so that what the run believes and what it created are
updated together (a deployment stopped is forgotten; an assignment a 200 returned is
learnt), and clean-up removes exactly what was created.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from conformance.context import Version
from conformance.exchange import DeploymentInfo, Exchange
from conformance.provisioning import Provisioner
from conformance.rules.reading import assignment_in
from conformance.target import Target


class Deployments:
    """The models and deployments of one run (named after ``run_id``) and the newest knowledge of each."""

    def __init__(self, target: Target, run_id: str, version: Version) -> None:
        self.run_id = run_id
        self.model_id = f"{run_id}-model"
        self._provisioner = Provisioner(target, run_id, version)
        self._known: dict[str, DeploymentInfo] = {}
        self._uploaded: set[str] = set()
        self._started = 0

    def deployment(self, deployment_id: str) -> DeploymentInfo:
        """The newest knowledge of one of the run's deployments (``KeyError`` if unknown)."""
        return self._known[deployment_id]

    def get(self, deployment_id: str) -> DeploymentInfo | None:
        """The newest knowledge of a deployment, ``None`` for one the run does not know."""
        return self._known.get(deployment_id)

    def start(
        self,
        *,
        deployment_id: str | None = None,
        threads_per_allocation: int = 1,
        number_of_allocations: int = 1,
        priority: str = "normal",
        adaptive_allocations: dict[str, Any] | None = None,
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
        info = DeploymentInfo(
            deployment_id=inference_id,
            model_id=self.model_id,
            threads_per_allocation=1,
            created_by_inference_endpoint=True,
        )
        self._known[inference_id] = info
        return info

    def remove_inference_endpoint(self, inference_id: str) -> None:
        self._provisioner.delete_inference_endpoint(inference_id)
        self._known.pop(inference_id, None)

    def stop(self, deployment_id: str) -> None:
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

    def learn(self, deployment_id: str, exchange: Exchange) -> None:
        """Keep the assignment a 200 to an update of ``deployment_id`` returned as its newest."""
        info = self._known.get(deployment_id)
        if info is None or exchange.response is None or exchange.response.status != 200:
            return
        assignment = assignment_in(exchange.response)  # also one sent without its envelope
        if isinstance(assignment, Mapping):
            self._known[deployment_id] = replace(info, last_assignment=assignment)

    def cleanup(self) -> list[str]:
        """Remove everything the run created and restore what it borrowed; return problems."""
        return self._provisioner.cleanup()

    def _ensure_model(self, model_id: str, *, broken: bool = False) -> None:
        """Upload ``model_id`` unless the run already did (deployments of a model share it)."""
        if model_id not in self._uploaded:
            self._provisioner.upload_model(model_id, broken=broken)
            self._uploaded.add(model_id)
