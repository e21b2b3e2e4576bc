"""The native clamp, scripted: an increase past a node's hardware threads (§3.3, §3.4).

Generated traffic reaches a node's hardware threads only by chance, so where discovery
found a node with fewer hardware threads than processors (the planner places by
processors, the process runs by hardware threads), this script asks the primary for
every processor the cluster has, waits for the nodes to settle, and reads the routing
table back with a no-op update: the answer, the stats after convergence and the
written-back ``current_allocations`` all go through the rules. Elsewhere it is skipped.
"""

from __future__ import annotations

import pytest

from conformance.oracle import allocatable
from conformance.suite.runner import Run
from conformance.suite.strategies import assert_conforms


@pytest.mark.dc_reaches("native.*")
def test_increase_past_hardware_threads(dc_run: Run, dc_primary: str) -> None:
    clamping = [n.id for n in dc_run.ctx.nodes if n.hardware_threads and n.hardware_threads < n.processor_capacity]
    if not clamping:
        pytest.skip("no ML node reports fewer hardware threads than processors")
    info = dc_run.deployment(dc_primary)
    if info.priority == "low" or info.threads_per_allocation != 1:
        pytest.skip("the primary is not a normal-priority one-thread deployment")
    count = allocatable(dc_run.ctx, dc_run.snapshot(), dc_primary, 1)
    if count < 2:
        pytest.skip("no processors free beside the primary's allocation")
    body = {"number_of_allocations": count}
    assert_conforms(dc_run, dc_run.update(dc_primary, body=body))
    assert_conforms(dc_run, dc_run.await_convergence(dc_primary))
    assert_conforms(dc_run, dc_run.update(dc_primary, body=body, detail="no-op: the routing table after convergence"))
