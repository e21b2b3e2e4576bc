"""The run's time budget: one wall-clock deadline that every wait and request honours.

A budget that is only looked at between tests does not bound a run: one request whose
answer drips in a byte a second, or one convergence wait, outlives it. So the deadline
travels with the target: every request is given at most the time that is left, and a
request asked for after the deadline raises :class:`BudgetSpent` at once.

``BudgetSpent`` derives from ``BaseException`` on purpose: Hypothesis and Schemathesis
catch ``Exception`` to shrink a failure, and a spent budget is no failure of the target
to shrink; it must end the test at once and reach the run, which stops the traffic.
Clean-up then runs under a budget of its own (:data:`CLEANUP_ALLOWANCE`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

CLEANUP_ALLOWANCE = 20.0
"""Seconds clean-up may take after the traffic ended, also when the budget is spent."""


class RunStopped(BaseException):
    """The traffic must stop (the message says why): clean up and report what was judged."""


class BudgetSpent(RunStopped):
    """The run's time budget is spent."""


class TargetUnresponsive(RunStopped):
    """The target stopped answering: waiting out every further request would only spend the budget."""


@dataclass(frozen=True)
class Budget:
    """A deadline on the monotonic clock (``None``: unbounded)."""

    ends_at: float | None = None

    @classmethod
    def of(cls, seconds: float | None) -> Budget:
        return cls(None if seconds is None else time.monotonic() + seconds)

    @classmethod
    def until_wall(cls, wall_deadline: float | None) -> Budget:
        """From a ``time.time()`` deadline (what xdist workers are handed)."""
        if wall_deadline is None:
            return cls()
        return cls(time.monotonic() + (wall_deadline - time.time()))

    def remaining(self) -> float | None:
        return None if self.ends_at is None else self.ends_at - time.monotonic()

    @property
    def spent(self) -> bool:
        left = self.remaining()
        return left is not None and left <= 0

    def check(self) -> None:
        """Raise :class:`BudgetSpent` when the deadline has passed."""
        if self.spent:
            raise BudgetSpent("time budget spent")

    def cap(self, seconds: float) -> float:
        """``seconds``, or less when the budget ends sooner (never below a millisecond)."""
        left = self.remaining()
        return seconds if left is None else max(min(seconds, left), 0.001)
