"""Pure placement logic: where allocations go on an increase, what goes on a decrease.

No state, no locks: the cluster passes in each node's load and gets back a plan, so the
rules of §3.2 (processors, memory, low priority) and §1.6 C.7 (the reducer) can be read
and tested on their own.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

MB = 2**20
BASE_DEPLOYMENT_MEMORY = 240 * MB  # §3.2: 240MB + 2 x model_bytes per deployment per node
NATIVE_EXECUTABLE_CODE_OVERHEAD = 30 * MB  # ES MachineLearning.NATIVE_EXECUTABLE_CODE_OVERHEAD, once per node
OS_OVERHEAD = 200 * MB  # ES NativeMemoryCalculator.OS_OVERHEAD (auto sizing)
# §3.2: low priority is planned apart, against a fixed 100 "cores" per node, so it never
# takes processors from normal-priority deployments (nor they from it).
MAX_LOW_PRIORITY_MODELS_PER_NODE = 100


@dataclass(frozen=True)
class NodeLoad:
    """One ML node as the planner sees it, without the deployment being planned."""

    node_id: str
    processors: int  # ceil(allocated processors), §3.2 / §10.6
    used_processors: int  # Σ allocations x threads of normal-priority deployments
    memory_bytes: int
    used_memory_bytes: int  # Σ memory of every deployment that has a route here
    used_low_priority_cores: int  # Σ allocations x threads of low-priority deployments


@dataclass(frozen=True)
class Demand:
    """What is being placed: ``count`` more allocations of one deployment."""

    count: int
    threads_per_allocation: int
    low_priority: bool
    memory_bytes: int  # per node hosting the deployment


@dataclass(frozen=True)
class Placement:
    added: dict[str, int]  # node id -> allocations added (nodes absent get none)
    reasons: tuple[str, ...]  # one per node that could not take (more); empty when satisfied

    @property
    def total(self) -> int:
        return sum(self.added.values())


def memory_estimate(model_bytes: int, cache_size_bytes: int | None) -> int:
    """§3.2 ``estimateMemoryUsageBytes`` for a model without per-deployment metadata."""
    estimate = BASE_DEPLOYMENT_MEMORY + 2 * model_bytes
    if cache_size_bytes is not None and cache_size_bytes > model_bytes:
        estimate += cache_size_bytes - model_bytes
    return estimate


def allowed_bytes_for_ml(
    machine_memory: int, jvm_bytes: int | None, max_machine_memory_percent: int, use_auto: bool
) -> int:
    """ES ``NativeMemoryCalculator.allowedBytesForMl``: the node's memory for ML processes.

    With ``xpack.ml.use_auto_machine_memory_percent`` (Elastic Cloud) what the JVM and the
    OS leave, at most 90%; otherwise ``xpack.ml.max_machine_memory_percent`` (default 30).
    """
    if use_auto and jvm_bytes is not None:
        if machine_memory - jvm_bytes <= OS_OVERHEAD or machine_memory == 0:
            return machine_memory // 100
        proportion = min(0.90, (machine_memory - jvm_bytes - OS_OVERHEAD) / machine_memory)
        return round(machine_memory * proportion)
    return int(machine_memory * (max_machine_memory_percent / 100.0))


def planner_memory(allowed_bytes: int) -> int:
    """What the planner may place deployments in: ES ``NodeLoad.getFreeMemoryExcludingPerNodeOverhead``
    without anomaly-detection jobs, i.e. the allowed bytes less the native code overhead."""
    return max(allowed_bytes - NATIVE_EXECUTABLE_CODE_OVERHEAD, 0)


def node_processors(allocated_processors: float) -> int:
    """Processors the planner may use: the attribute rounded up; 0 when missing (§3.2)."""
    return math.ceil(allocated_processors) if allocated_processors > 0 else 0


def place(demand: Demand, nodes: list[NodeLoad], hosting: set[str]) -> Placement:
    """Place up to ``demand.count`` allocations, one at a time, on the least loaded node that fits.

    ``hosting`` are the nodes already holding a route of this deployment: they need no more
    memory. Every allocation needs ``threads_per_allocation`` free cores: processors for
    normal priority, the node's fixed low-priority pool for low priority (§3.2). That is why,
    before §1.6 D's fix, a low-priority deployment could be updated to many allocations.
    """
    free = {node.node_id: node.processors - node.used_processors for node in nodes}
    free_memory = {node.node_id: node.memory_bytes - node.used_memory_bytes for node in nodes}
    low_slots = {node.node_id: MAX_LOW_PRIORITY_MODELS_PER_NODE - node.used_low_priority_cores for node in nodes}
    hosts = set(hosting)
    added: dict[str, int] = {}
    for _ in range(demand.count):
        candidates = [node for node in nodes if _fits(node.node_id, demand, free, free_memory, low_slots, hosts)]
        if not candidates:
            break
        chosen = max(candidates, key=lambda node: (free[node.node_id], node.node_id in hosts, -nodes.index(node)))
        _take(chosen.node_id, demand, free, free_memory, low_slots, hosts)
        added[chosen.node_id] = added.get(chosen.node_id, 0) + 1
    if sum(added.values()) >= demand.count:
        return Placement(added, ())
    return Placement(
        added,
        tuple(_reason(node, demand, free, free_memory, hosts) for node in nodes)
        or ("No ML nodes exist in the cluster",),
    )


def _fits(
    node_id: str,
    demand: Demand,
    free: dict[str, int],
    free_memory: dict[str, int],
    low_slots: dict[str, int],
    hosts: set[str],
) -> bool:
    if node_id not in hosts and free_memory[node_id] < demand.memory_bytes:
        return False
    pool = low_slots if demand.low_priority else free
    return pool[node_id] >= demand.threads_per_allocation


def _take(
    node_id: str,
    demand: Demand,
    free: dict[str, int],
    free_memory: dict[str, int],
    low_slots: dict[str, int],
    hosts: set[str],
) -> None:
    if node_id not in hosts:
        free_memory[node_id] -= demand.memory_bytes
        hosts.add(node_id)
    pool = low_slots if demand.low_priority else free
    pool[node_id] -= demand.threads_per_allocation


def _reason(node: NodeLoad, demand: Demand, free: dict[str, int], free_memory: dict[str, int], hosts: set[str]) -> str:
    """The §2.2 per-node reason text."""
    prefix = f"Could not assign (more) allocations on node [{node.node_id}]. Reason: "
    if node.node_id not in hosts and free_memory[node.node_id] < demand.memory_bytes:
        return prefix + (
            f"This node has insufficient available memory. Available memory for ML "
            f"[{node.memory_bytes} ({human_bytes(node.memory_bytes)})], free memory "
            f"[{max(free_memory[node.node_id], 0)} ({human_bytes(max(free_memory[node.node_id], 0))})], "
            f"estimated memory required for this model [{demand.memory_bytes} ({human_bytes(demand.memory_bytes)})]."
        )
    return prefix + (
        f"This node has insufficient allocated processors. Available processors [{node.processors}], "
        f"free processors [{max(free[node.node_id], 0)}], processors required for each allocation of this "
        f"model [{demand.threads_per_allocation}]"
    )


def reduce_to(routes: dict[str, int], wanted: int) -> dict[str, int]:
    """§1.6 C.7 reducer: lower the total target to ``wanted``, freeing whole nodes when possible.

    Routes whose whole target fits into what must go are removed (largest first), then the
    remainder is taken from the smallest remaining route. Removed nodes disappear.
    """
    targets = dict(routes)
    excess = sum(targets.values()) - max(wanted, 0)
    while excess > 0 and targets:
        whole = [node for node, count in targets.items() if count <= excess]
        if whole:  # never empties the table: what stays is at least ``wanted``
            node = max(whole, key=lambda n: targets[n])  # ties: the first node in cluster order
            excess -= targets.pop(node)
        else:  # every route is larger than the excess: trim the smallest
            node = min(targets, key=lambda n: (targets[n], n))
            targets[node] -= excess
            excess = 0
    return targets


def human_bytes(amount: int) -> str:
    """``ByteSizeValue.toString()``: the largest unit, one decimal truncated (``240mb``, ``1.5kb``, §5.3)."""
    for unit, size in (("pb", 2**50), ("tb", 2**40), ("gb", 2**30), ("mb", 2**20), ("kb", 2**10)):
        if amount >= size:
            tenths = amount * 10 // size
            return (f"{tenths // 10}" if tenths % 10 == 0 else f"{tenths // 10}.{tenths % 10}") + unit
    return f"{amount}b"
