"""A signal that stops a burst half-way, while its requests are still being handed to the
pool, ends the burst: no request thread waits at the gate for ones that were never sent.

Why: the threads of a burst are released together by a barrier; before, a ``KeyboardInterrupt``
between two submissions left the submitted ones at the barrier for good, and leaving the pool
joined them, so an interrupted run never ended (seen once in CI as a SIGTERM 1.4 s into a run).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from conformance.exchange import DeploymentInfo
from conformance.suite import bursts
from conformance.suite.bursts import COUNT, BurstRequest, fire
from conformance.target import Target, TargetConfig

SUBMITTED_BEFORE_THE_SIGNAL = 3


@pytest.fixture
def gates(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[threading.Barrier]]:
    """Every barrier a burst makes; any still standing is broken afterwards, so that a
    regression fails this test instead of hanging the whole session at exit."""
    made: list[threading.Barrier] = []

    class Recorded(threading.Barrier):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(bursts.threading, "Barrier", Recorded)
    yield made
    for gate in made:
        gate.abort()


def test_a_burst_stopped_while_submitting_leaves_no_thread_waiting(
    gates: list[threading.Barrier], monkeypatch: pytest.MonkeyPatch
) -> None:
    submit = ThreadPoolExecutor.submit
    calls = 0

    def interrupted_submit(self: ThreadPoolExecutor, *args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls > SUBMITTED_BEFORE_THE_SIGNAL:
            raise KeyboardInterrupt("signal 15")
        return submit(self, *args, **kwargs)

    monkeypatch.setattr(ThreadPoolExecutor, "submit", interrupted_submit)
    outcome: list[BaseException] = []

    def burst() -> None:
        target = Target(TargetConfig(url="http://127.0.0.1:9"))  # never reached: no request is released
        try:
            fire(target, DeploymentInfo("dep", "model", 1), [BurstRequest(COUNT, n) for n in range(2, 14)], None)
        except BaseException as exc:  # noqa: BLE001 - the interrupt is what this test expects
            outcome.append(exc)
        finally:
            target.close()

    runner = threading.Thread(target=burst, daemon=True)
    runner.start()
    runner.join(timeout=10)
    assert not runner.is_alive(), "the burst still waits for requests that were never submitted"
    assert len(outcome) == 1 and isinstance(outcome[0], KeyboardInterrupt)
    assert len(gates) == 1 and gates[0].broken and gates[0].n_waiting == 0
