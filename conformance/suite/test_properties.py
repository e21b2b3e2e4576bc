"""Hypothesis properties over single updates of the primary deployment.

Each example starts from the same state (1 allocation, adaptive allocations off), sends
one update and lets the rules judge it; a failed verdict fails the example, so
Hypothesis shrinks it to the smallest request that still breaks a rule. The run's seed
and example budget drive Hypothesis, so a run can be repeated exactly.
"""

from __future__ import annotations

from typing import Callable

from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from conformance.suite.runner import Run
from conformance.suite.strategies import UpdateRequest, invalid_updates, send, valid_updates


def _property(run: Run, requests: st.SearchStrategy[UpdateRequest]) -> Callable[[], None]:
    """A Hypothesis test that restores the primary, sends one drawn request and asserts conformance."""

    @seed(run.seed)
    @settings(
        max_examples=run.max_examples,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(request=requests)
    def one_update(request: UpdateRequest) -> None:
        run.restore(run.primary, 1)
        send(run, run.primary, request)

    return one_update


def test_valid_updates_conform(run: Run) -> None:
    """Counts below, at and beyond capacity, in every accepted spelling; adaptive settings (§1.4, §1.6 C)."""
    _property(run, valid_updates(run.ctx))()


def test_invalid_updates_get_their_errors(run: Run) -> None:
    """Every stateless invalid case of the profile gets its error and changes nothing (§1.5, §1.6 A)."""
    _property(run, invalid_updates(run.ctx))()
