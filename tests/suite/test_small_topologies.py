"""A correct server on the smallest topologies gets a clean verdict.

The suite's own set-up must never decide the verdict: on one node with one, two or three
processors, or two one-processor nodes, with or without scaling, a default run against
the reference passes (exit 0). A scenario that does not fit is a skip with its reason,
and the rules only it reaches are skips too, never holes.
"""

from __future__ import annotations

import pytest
from suite.suite_runs import failed, judge

from conformance.reference.config import NodeSpec, ServerConfig
from conformance.results import NOT_EXERCISED

TOPOLOGIES = {
    "one-node-1": (NodeSpec("ml-0", 1),),
    "one-node-2": (NodeSpec("ml-0", 2),),
    "one-node-3": (NodeSpec("ml-0", 3),),
    "two-nodes-1": (NodeSpec("ml-0", 1), NodeSpec("ml-1", 1)),
}


@pytest.mark.slow
@pytest.mark.parametrize("scaling", [False, True], ids=["fixed", "scaling"])
@pytest.mark.parametrize("topology", list(TOPOLOGIES))
def test_default_run_passes_on_small_topologies(topology: str, scaling: bool) -> None:
    results = judge(ServerConfig(nodes=TOPOLOGIES[topology], scaling_possible=scaling))
    assert results.exit_code == 0, (failed(results), results.holes)
    assert not [r.id for r in results.rules if r.outcome == NOT_EXERCISED]
    skipped_for_room = [r for r in results.rules if r.outcome == "skip" and r.reason and "room" in r.reason]
    assert all(r.reason for r in skipped_for_room)
