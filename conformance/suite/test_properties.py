"""Hypothesis properties over single updates of the primary deployment.

Each example starts from the same state (1 allocation, adaptive allocations off), sends
one update and lets the rules judge it. The first failure of a rule makes Hypothesis
shrink it to the smallest request that still breaks that rule (the evidence the report
shows); the property then goes on with the rest of its examples (``Run.explore``), so
one broken rule never hides another. The run's seed and example budget drive
Hypothesis, so a run can be repeated exactly.
"""

from __future__ import annotations

from collections.abc import Callable

from hypothesis import HealthCheck, given, seed, settings, strategies as st

from conformance.suite.runner import Run
from conformance.suite.strategies import UpdateRequest, examples, invalid_updates, send, valid_updates


def _property(run: Run, requests: st.SearchStrategy[UpdateRequest]) -> Callable[[int], Callable[[], None]]:
    """Hypothesis tests that restore the primary, send one drawn request and let the rules judge it."""

    def make(attempt: int) -> Callable[[], None]:
        @seed(run.seed + attempt)
        @settings(
            max_examples=examples(run, attempt),
            deadline=None,
            database=None,
            report_multiple_bugs=False,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        )
        @given(request=requests)
        def one_update(request: UpdateRequest) -> None:
            run.restore(run.primary, 1)
            send(run, run.primary, request)

        return one_update

    return make


def test_valid_updates_conform(dc_run: Run) -> None:
    """Counts below, at and beyond capacity, in every accepted spelling; adaptive settings (§1.4, §1.6 C)."""
    dc_run.explore(_property(dc_run, valid_updates(dc_run.ctx)))


def test_invalid_updates_get_their_errors(dc_run: Run) -> None:
    """Every stateless invalid case of the profile gets its error and changes nothing (§1.5, §1.6 A)."""
    dc_run.explore(_property(dc_run, invalid_updates(dc_run.ctx)))
