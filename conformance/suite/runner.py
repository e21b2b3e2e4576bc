"""The ``Run`` API: the contract between the suite's runtime and its traffic modules.

Traffic modules never build HTTP clients, never clean up and never judge by hand: they
ask a :class:`Run` to start deployments, send requests and judge the exchanges. That
keeps every request recorded, every verdict reported and every created object removed.
"""

from __future__ import annotations

from typing import Any

from conformance.context import Context
from conformance.exchange import DeploymentInfo, Exchange, Intent, Snapshot
from conformance.rules.base import Verdict
from conformance.target import Target


class SetupError(Exception):
    """The run cannot judge the target (unreachable, provisioning failed): exit code 3."""


MISSING: Any = object()  # "no body" marker, distinct from a JSON null body


class Run:
    """One conformance run against one target: discovery, provisioning, judging, recording."""

    ctx: Context
    target: Target
    run_id: str
    model_id: str
    primary: str
    seed: int
    max_examples: int

    def deployment(self, deployment_id: str) -> DeploymentInfo:
        raise NotImplementedError

    def snapshot(self) -> Snapshot:
        raise NotImplementedError

    def start_deployment(
        self,
        *,
        deployment_id: str | None = None,
        threads_per_allocation: int = 1,
        number_of_allocations: int = 1,
        priority: str = "normal",
        adaptive_allocations: dict | None = None,
        broken: bool = False,
        wait_for: str = "started",
    ) -> DeploymentInfo:
        raise NotImplementedError

    def stop_deployment(self, deployment_id: str) -> None:
        raise NotImplementedError

    def send(
        self,
        method: str,
        path: str,
        *,
        intent: Intent,
        params: dict | None = None,
        json: Any = MISSING,
        content: bytes | None = None,
        headers: dict | None = None,
        snapshots: bool = False,
    ) -> Exchange:
        raise NotImplementedError

    def update(
        self,
        deployment_id: str,
        *,
        body: Any = MISSING,
        params: dict | None = None,
        content: bytes | None = None,
        headers: dict | None = None,
        method: str = "POST",
        kind: str = "update",
        detail: str = "",
        expected: dict | None = None,
    ) -> Exchange:
        raise NotImplementedError

    def await_convergence(self, deployment_id: str, *, timeout: float = 15.0) -> Exchange:
        raise NotImplementedError

    def restore(self, deployment_id: str, number_of_allocations: int = 1) -> None:
        raise NotImplementedError

    def judge(self, exchange: Exchange) -> list[Verdict]:
        raise NotImplementedError

    def assert_conforms(self, verdicts: list[Verdict]) -> None:
        raise NotImplementedError
