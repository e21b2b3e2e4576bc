"""What a run tells the person watching it, while it runs.

The suite emits plain, immutable events; a listener (the console, a test, a bench
script) decides how to show them. Keeping them apart from any rendering means the run
never depends on a terminal, and the console never reaches into the run.

Phases, in order: ``discovery``, ``provisioning``, ``traffic`` (with one
:class:`TestFinished` per traffic test and :class:`Judged` as exchanges are judged),
``cleanup``, ``reports``.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass


class TestOutcome(enum.StrEnum):
    """How one traffic test ended, in pytest's words (a test, not a rule: see ``Outcome``)."""

    __test__ = False  # its name is no test class to pytest

    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"
    ERROR = "error"  # what the session records for a failed test too: a traffic test holds no checks


@dataclass(frozen=True)
class PhaseStarted:
    """A phase of the run begins (``detail``: e.g. the target, or the run id)."""

    phase: str
    detail: str = ""


@dataclass(frozen=True)
class Judged:
    """``total`` exchanges have been judged so far; ``family`` is the traffic family
    (``schemathesis``, ``properties``, ``stateful``, ``scenarios``, ``concurrency``)."""

    family: str
    total: int
    failures: int  # rules failed so far (any level)


@dataclass(frozen=True)
class TestFinished:
    """One traffic test ended, and how."""

    test: str
    family: str
    outcome: TestOutcome
    reason: str = ""


@dataclass(frozen=True)
class Notice:
    """Something the user should read now (a warning, a leftover, a scale-up refused)."""

    text: str


Event = PhaseStarted | Judged | TestFinished | Notice
Listener = Callable[[Event], None]


def ignore(event: Event) -> None:
    """The listener of a run nobody watches."""
