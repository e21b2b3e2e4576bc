"""A Hypothesis state machine over sequences of updates of the primary deployment.

Single updates from a fixed state cannot show what depends on history: a no-op after an
increase, a count sent while stored adaptive allocations are enabled (§1.6 C.3), min/max
merged with stored settings (§1.6 C.4), ``max_assigned_allocations`` that must never
drop (§3.5-5), convergence after a sequence (§3.5 P13). The machine explores such
sequences; every step is an exchange the rules judge, and after every step the state is
re-read as a ``read-stats`` exchange so the read path is judged against the same history.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, seed, settings
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from conformance.context import Feature
from conformance.exchange import Intent, IntentKind
from conformance.suite.runner import STATS_PATH, Run
from conformance.suite.strategies import (
    UpdateRequest,
    adaptive_settings,
    allocation_counts,
    assert_conforms,
    examples,
    in_context_of,
    invalid_updates,
    send,
    stateless_invalid_cases,
    valid_updates,
)


def _machine(run: Run) -> type[RuleBasedStateMachine]:
    """The machine class for ``run``: its strategies need the run's context, known only at run time."""
    ctx = run.ctx
    has_adaptive = ctx.has(Feature.ADAPTIVE_ALLOCATIONS)
    has_invalid = bool(stateless_invalid_cases(ctx))

    class UpdateSequences(RuleBasedStateMachine):
        @initialize()
        def known_state(self) -> None:
            """Every sequence starts from 1 allocation and no adaptive settings (Hypothesis replays need it)."""
            run.restore(run.primary, 1)

        def send_in_context(self, request: UpdateRequest) -> None:
            """Send ``request`` named as the invalid case the stored settings make it, if any."""
            send(run, run.primary, in_context_of(request, run.deployment(run.primary).last_assignment))

        @rule(request=valid_updates(ctx))
        def update(self, request: UpdateRequest) -> None:
            self.send_in_context(request)

        @rule(count=allocation_counts(ctx))
        def set_count(self, count: int) -> None:
            """Increase, decrease, same value or over capacity, depending on the history."""
            self.send_in_context(UpdateRequest(body={"number_of_allocations": count}))

        @rule()
        def repeat_last_count(self) -> None:
            """The count the last assignment already holds: a no-op (§1.6 C.5)."""
            last = run.deployment(run.primary).last_assignment or {}
            count = (last.get("task_parameters") or {}).get("number_of_allocations", 1)
            self.send_in_context(UpdateRequest(body={"number_of_allocations": count}))

        @precondition(lambda self: has_adaptive)
        @rule(settings_=adaptive_settings(ctx))
        def adaptive(self, settings_: dict[str, Any] | None) -> None:
            """On, off, partial (merged with the stored settings) or null (reset) (§1.4)."""
            self.send_in_context(UpdateRequest(body={"adaptive_allocations": settings_}))

        @precondition(lambda self: has_invalid)
        @rule(request=invalid_updates(ctx))
        def invalid(self, request: UpdateRequest) -> None:
            send(run, run.primary, request)

        @rule()
        def converge(self) -> None:
            assert_conforms(run, run.await_convergence(run.primary))

        @invariant()
        def read_path_agrees(self) -> None:
            intent = Intent(IntentKind.READ_STATS, deployment=run.deployment(run.primary))
            assert_conforms(run, run.send("GET", STATS_PATH, intent=intent))

    return UpdateSequences


def test_update_sequences_conform(dc_run: Run) -> None:
    machine = _machine(dc_run)

    def make(attempt: int) -> Callable[[], None]:
        def sequences() -> None:
            run_state_machine_as_test(
                seed(dc_run.seed + attempt)(machine),
                settings=settings(
                    max_examples=max(1, examples(dc_run, attempt) // 5),
                    stateful_step_count=8,
                    deadline=None,
                    database=None,
                    report_multiple_bugs=False,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
                ),
            )

        return sequences

    dc_run.explore(make)
