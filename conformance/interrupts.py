"""Ctrl-C and SIGTERM during a run: stop the traffic at once, never cut clean-up short.

Signals belong to the process, so this state is process-wide (:data:`INTERRUPTS`).

- The first SIGINT or SIGTERM raises ``KeyboardInterrupt`` in the main thread, so that
  every ``finally`` runs; later ones are only noted, so a second Ctrl-C 50 ms after the
  first cannot break out of the clean-up the first one started.
- After a signal, every request the suite tries outside clean-up raises
  ``KeyboardInterrupt`` again (:meth:`Interrupts.check`): a library that swallowed the
  first one (a thread pool, a property test runner) cannot keep the traffic going.
- Inside :meth:`Interrupts.protected` (clean-up), signals are noted and nothing raises.

Whether a run was interrupted is read from :attr:`Interrupts.interrupted`, never from
the way pytest happened to end, so no timing of signals can make a run read green.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType
from typing import Any

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupts:
    def __init__(self) -> None:
        self.received: list[int] = []
        self._protected = 0
        self._previous: dict[int, Any] = {}

    @property
    def interrupted(self) -> bool:
        return bool(self.received)

    @property
    def installed(self) -> bool:
        return bool(self._previous)

    def reset(self) -> None:
        """Forget earlier signals (a new run in the same process)."""
        self.received.clear()

    def install(self) -> None:
        """Route SIGINT and SIGTERM to this object (main thread only; elsewhere a no-op)."""
        if threading.current_thread() is not threading.main_thread() or self._previous:
            return
        for sig in SIGNALS:
            self._previous[sig] = signal.signal(sig, self._handle)

    def uninstall(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for sig, previous in self._previous.items():
            signal.signal(sig, previous)
        self._previous.clear()

    def check(self) -> None:
        """Raise ``KeyboardInterrupt`` when a signal came and this is not clean-up."""
        if self.received and not self._protected:
            raise KeyboardInterrupt(f"signal {self.received[0]}")

    @contextlib.contextmanager
    def protected(self) -> Iterator[None]:
        """Run a block (clean-up) that no signal may cut short; signals are only noted."""
        installed_here = False
        if threading.current_thread() is threading.main_thread() and not self._previous:
            self.install()
            installed_here = True
        self._protected += 1
        try:
            yield
        finally:
            self._protected -= 1
            if installed_here:
                self.uninstall()

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        first = not self.received
        self.received.append(signum)
        if first and not self._protected:
            raise KeyboardInterrupt(f"signal {signum}")


INTERRUPTS = Interrupts()
