"""Native-clamp defects: the hardware-thread clamp of the ML nodes' process done wrong (§3.3, §3.4).

Each runs on one node with 4 allocated processors and 2 hardware threads
(``--nodes ml-0:4:2gb:hw2``), where the planner places 4 one-thread allocations that the
node's process can only run 2 of.
"""

from __future__ import annotations

from typing import Any

from conformance.mutants.base import mutant
from conformance.reference.cluster import Cluster
from conformance.reference.config import NodeSpec, ServerConfig
from conformance.reference.model import Deployment, Route
from conformance.reference.native import ThreadSettings

CLAMPING = ServerConfig(nodes=(NodeSpec("ml-0", 4, 2 * 2**30, hardware_threads=2),))


def _runnable(cluster: Cluster, deployment: Deployment) -> int:
    """What the nodes' processes could run of this deployment, all nodes together."""
    threads = deployment.threads_per_allocation
    return sum(max(1, cluster.hardware_threads(node) // threads) for node in cluster.nodes)


@mutant(family="native", expects="native.request-never-clamped", config=CLAMPING)
class ClampedStoredCount(Cluster):
    """An increase stores the count the nodes' processes can run instead of the count asked (§3.1: never clamped)."""

    def increase(self, deployment: Deployment, wanted: int) -> None:
        super().increase(deployment, wanted)
        deployment.number_of_allocations = min(wanted, max(_runnable(self, deployment), 1))


@mutant(family="native", expects="native.request-never-clamped", config=CLAMPING)
class ClampedAnswerCount(Cluster):
    """The ``_update`` answer shows the count clamped to what the processes can run; the stored one is right (§3.4)."""

    def update_answer(self, deployment: Deployment) -> dict[str, Any]:
        body = super().update_answer(deployment)
        parameters = body["task_parameters"]
        parameters["number_of_allocations"] = min(parameters["number_of_allocations"], _runnable(self, deployment))
        return body


@mutant(family="native", expects="native.process-within-hardware-threads", config=CLAMPING)
class UnclampedProcessStats(Cluster):
    """``_stats`` reports per node the allocations and threads asked for, not the ones the process runs (§3.4)."""

    def run_process(self, deployment: Deployment, node: NodeSpec, route: Route) -> None:
        super().run_process(deployment, node, route)
        if route.process is not None:
            route.process = ThreadSettings(route.target, deployment.threads_per_allocation)


@mutant(family="native", expects="native.current-follows-process", config=CLAMPING)
class CurrentAboveClamp(Cluster):
    """After a live update the node writes the route's target into ``current_allocations``, not what the process reports (§3.4)."""  # noqa: E501 - the first line is the mutant's defect

    def run_process(self, deployment: Deployment, node: NodeSpec, route: Route) -> None:
        super().run_process(deployment, node, route)
        route.current = route.target


@mutant(family="native", expects="native.process-within-hardware-threads", config=CLAMPING)
class ClampOnAllocatedProcessors(Cluster):
    """The process clamps to the node's allocated processors instead of its hardware threads (§3.3)."""

    def hardware_threads(self, node: NodeSpec) -> int:
        return self.node_capacity(node)
