"""What a person watching ``deployment-conformance`` sees: live progress and a summary.

On a terminal a ``rich`` progress display shows the phase the run is in and, during the
traffic, each family with its count of judged exchanges. When the output is not a
terminal or ``CI`` is set, the same events become a few plain lines (one per phase and
traffic family, and every notice), so a CI log stays short and greppable. Either way the
run ends with :func:`summary`, which fits one screen.

Everything written passes the run's redactor, and a closed pipe (``| head``) silences
the output instead of ending the run with a traceback: the run still cleans up.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
from typing import IO, Any, Iterator

__all__ = ["PipeSafe", "quiet_on_closed_pipe"]


class PipeSafe(io.TextIOBase):
    """A text stream that turns ``BrokenPipeError`` into silence.

    When the reader of a pipe goes away, the file descriptor is pointed at ``/dev/null``
    so that later writes (and the interpreter's final flush) succeed quietly.
    """

    def __init__(self, stream: IO[str]) -> None:
        super().__init__()
        self._stream = stream
        self.pipe_closed = False

    def write(self, text: str) -> int:
        if not self.pipe_closed:
            try:
                self._stream.write(text)
            except BrokenPipeError:
                self.silence()
        return len(text)

    def flush(self) -> None:
        if not self.pipe_closed:
            try:
                self._stream.flush()
            except BrokenPipeError:
                self.silence()

    def silence(self) -> None:
        """Send everything from now on (buffered text included) to ``/dev/null``."""
        self.pipe_closed = True
        with contextlib.suppress(OSError, ValueError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._stream.fileno())
            os.close(devnull)

    def fileno(self) -> int:
        return self._stream.fileno()

    def isatty(self) -> bool:
        return self._stream.isatty()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self._stream, "encoding", "utf-8")

    @property
    def errors(self) -> str | None:  # type: ignore[override]
        return getattr(self._stream, "errors", None)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


@contextlib.contextmanager
def quiet_on_closed_pipe() -> Iterator[None]:
    """Run the command with ``sys.stdout`` and ``sys.stderr`` safe against a closed pipe."""
    original = sys.stdout, sys.stderr
    out, err = PipeSafe(sys.stdout), PipeSafe(sys.stderr)
    sys.stdout, sys.stderr = out, err  # type: ignore[assignment]
    try:
        yield
    except BrokenPipeError:
        out.silence()
    finally:
        for safe in (out, err):
            safe.flush()
            if safe.pipe_closed:
                safe.silence()  # pytest may have restored the closed descriptor meanwhile
        sys.stdout, sys.stderr = original

