"""Capacity defects: the planner over-commits processors or answers capacity wrongly (§3.2, §1.6 C.8)."""

from __future__ import annotations

from conformance.mutants.base import mutant
from conformance.reference.cluster import Cluster
from conformance.reference.config import NodeSpec, ServerConfig
from conformance.reference.errors import EsError
from conformance.reference.model import Deployment
from conformance.reference.planner import Placement


@mutant(family="capacity", expects="capacity.over-capacity-answer")
class HyperthreadOvercommit(Cluster):
    """The planner counts every processor twice (hyper-threads), so increases past the node's processors get 200 (§3.2)."""  # noqa: E501 - the first line is the mutant's defect

    def node_capacity(self, node: NodeSpec) -> int:
        return 2 * super().node_capacity(node)


@mutant(family="capacity", expects="capacity.429-leaves-state-unchanged")
class CountKeptOn429(Cluster):
    """An increase that gets 429 has already stored the new ``number_of_allocations`` (§1.6 C.8: nothing changes)."""

    def increase(self, deployment: Deployment, wanted: int) -> None:
        try:
            super().increase(deployment, wanted)
        except EsError as error:
            if error.status == 429:
                deployment.number_of_allocations = wanted
            raise


@mutant(family="capacity", expects="capacity.over-capacity-answer", config=ServerConfig(scaling_possible=True))
class PartialWithoutReason(Cluster):
    """When the cluster could scale, a partial assignment is answered without its ``reason`` (§1.6 C.8, §2.2)."""

    def increase(self, deployment: Deployment, wanted: int) -> None:
        super().increase(deployment, wanted)
        deployment.reason = None


@mutant(family="capacity", expects="capacity.targets-within-requested")
class RoundedUpPlacement(Cluster):
    """An increase places one allocation more than asked when a node has room (the planner rounds up, §3.5-10)."""

    def plan_increase(self, deployment: Deployment, wanted_total: int) -> Placement:
        if wanted_total <= deployment.number_of_allocations:
            return super().plan_increase(deployment, wanted_total)
        return super().plan_increase(deployment, wanted_total + 1)


@mutant(family="capacity", expects="capacity.node-processors-not-exceeded")
class ThreadsIgnoredByPlanner(Cluster):
    """The planner charges one processor per allocation whatever its ``threads_per_allocation`` (§3.2)."""

    def plan_increase(self, deployment: Deployment, wanted_total: int) -> Placement:
        threads = deployment.threads_per_allocation
        deployment.threads_per_allocation = 1
        try:
            return super().plan_increase(deployment, wanted_total)
        finally:
            deployment.threads_per_allocation = threads


MEMORY_BOUND = ServerConfig(nodes=(NodeSpec("ml-0", 4, 2 * 2**30), NodeSpec("ml-1", 4, 2 * 2**30)))
"""Two 4-processor nodes with 2 GB each: 30% for ML less 30 MB code leaves room for two deployments
of the tiny model."""


@mutant(family="capacity", expects="capacity.node-memory-not-exceeded", config=MEMORY_BOUND)
class MemoryIgnoredByPlanner(Cluster):
    """The planner counts processors only: a node without memory for a deployment still takes its allocations (§3.2)."""

    def deployment_memory(self, deployment: Deployment) -> int:
        return 0


@mutant(family="capacity", expects="capacity.fitting-increase-planned-in-full")
class FittingIncreasePlannedPartially(Cluster):
    """An increase that fits gets one allocation more and a memory reason, with 200 (ES#156638, §3.2).

    The planner's top-up pass took an allocation count for free memory."""

    def increase(self, deployment: Deployment, wanted: int) -> None:
        if wanted - deployment.total_target <= 1:
            super().increase(deployment, wanted)
            return
        self.add_routes(deployment, self.plan_increase(deployment, deployment.total_target + 1), failure=None)
        deployment.number_of_allocations = wanted
        deployment.reason = "|".join(
            f"Could not assign (more) allocations on node [{node.id}]. Reason: This node has insufficient available "
            "memory."
            for node in self.nodes
        )
