"""What a person watching ``deployment-conformance`` sees: live progress and a summary.

On a terminal a ``rich`` progress display shows the phase the run is in and, during the
traffic, each family with its count of judged exchanges. When the output is not a
terminal or ``CI`` is set, the same events become a few plain lines (one per phase and
traffic family, and every notice), so a CI log stays short and greppable. Either way the
run ends with :func:`summary`, which fits one screen; pytest's own output and tracebacks
go to a log file (:func:`pytest_output`), shown on the console only when asked for.

Everything written passes the run's redactor, and a closed pipe (``| head``) silences
the output instead of ending the run with a traceback: the run still cleans up.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import IO, Any

from conformance.events import Event, Judged, Notice, PhaseStarted, TestFinished, TestOutcome
from conformance.redaction import RedactingStream
from conformance.report.facts import duration_s, replay_command, rerun_command, verdict_line, warnings_of
from conformance.results import NOT_EXERCISED, Results

__all__ = ["Console", "PipeSafe", "is_plain", "pytest_output", "quiet_on_closed_pipe", "summary"]

PROG = "deployment-conformance"
HOLES_SHOWN = 4  # the verdict line gives the first reason a verdict is incomplete; these follow it
FAILED_SHOWN = 8  # failed rules listed (three lines each) before "and N more": one screen in all
LINE_WIDTH = 200  # a reason longer than this is cut (the report has it whole)
Redact = Callable[[str], str]


def is_plain(stream: IO[str], environ: Any = None) -> bool:
    """Plain lines when the output is no terminal or ``CI`` is set (to anything but empty)."""
    environ = os.environ if environ is None else environ
    return bool(environ.get("CI")) or not stream.isatty()


class Console:
    """A run's listener (``conformance.events.Listener``): live on a terminal, plain lines otherwise."""

    def __init__(self, stream: IO[str], redact: Redact = str, *, plain: bool | None = None) -> None:
        self._stream = stream
        self._redact = redact
        self.plain = is_plain(stream) if plain is None else plain
        self._family: str | None = None
        self._judged: dict[str, int] = {}  # exchanges judged per traffic family
        self._total = 0  # Judged.total last seen (the events count over every family)
        self._failing = 0
        self._live: Any = None  # rich.progress.Progress, started on the first event
        self._own: IO[str] | None = None  # the live display's own descriptor
        self._tasks: dict[str, Any] = {}

    def __call__(self, event: Event) -> None:
        if self.plain and isinstance(event, Judged) and event.family != self._family:
            self._end_family()  # with the counts as they stood when that family ended
            self._family = event.family
        if isinstance(event, Judged):
            self._judged[event.family] = self._judged.get(event.family, 0) + max(event.total - self._total, 0)
            self._total, self._failing = event.total, event.failures
        if self.plain:
            self._plain(event)
        else:
            self._rich(event)

    def print(self, text: str) -> None:
        """A line above the progress display (or a plain line)."""
        text = self._redact(text)
        if self._live is not None:
            self._live.console.print(text, markup=False, highlight=False, soft_wrap=True)
        else:
            self._stream.write(text + "\n")
            self._stream.flush()

    def close(self) -> None:
        """End the live display (keeping its last frame) and any family line still open."""
        if self.plain:
            self._end_family()
        elif self._live is not None:
            self._live.stop()
            self._live = None
            if self._own is not None:
                with contextlib.suppress(OSError):
                    self._own.close()
                self._own = None

    # -- plain ----------------------------------------------------------------------------

    def _plain(self, event: Event) -> None:
        if isinstance(event, PhaseStarted):
            self._end_family()
            self.print(f"{PROG}: {event.phase}" + (f": {event.detail}" if event.detail else ""))
        elif isinstance(event, Notice):
            self.print(f"{PROG}: {event.text}")

    def _end_family(self) -> None:
        if self._family is not None:
            self.print(
                f"  {self._family}: {self._judged.get(self._family, 0)} exchanges judged "
                f"({self._total} in all, {self._failing} rule(s) failing)"
            )
        self._family = None

    # -- rich -----------------------------------------------------------------------------

    def _rich(self, event: Event) -> None:
        from rich.console import Console as RichConsole
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        if self._live is None:
            # Its own descriptor: pytest points fd 1 at a capture file while a test runs,
            # and the display refreshes (the spinner, the clock) during long tests too.
            self._own = _own_descriptor(self._stream)
            # PipeSafe forwards what Rich writes to a text stream; it is not an IO[str] subclass.
            file: IO[str] = PipeSafe(self._own) if self._own is not None else self._stream  # type: ignore[assignment]
            console = RichConsole(file=file, highlight=False, force_terminal=self._own is not None or None)
            self._live = Progress(
                SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console, transient=False
            )
            self._live.start()
            self._tasks["phase"] = self._live.add_task("starting", total=None)
        if isinstance(event, PhaseStarted):
            detail = f": {event.detail}" if event.detail else ""
            self._live.update(self._tasks["phase"], description=self._redact(f"{event.phase}{detail}"))
        elif isinstance(event, Judged):
            task = self._tasks.get(f"family:{event.family}")
            text = (
                f"  {event.family}: {self._judged[event.family]} exchanges judged "
                f"({event.total} in all, {event.failures} rule(s) failing)"
            )
            if task is None:
                self._tasks[f"family:{event.family}"] = self._live.add_task(text, total=None)
            else:
                self._live.update(task, description=text)
        elif isinstance(event, TestFinished) and event.outcome in (TestOutcome.FAILED, TestOutcome.ERROR):
            self.print(f"  {event.outcome.upper()} {event.test}" + (f": {event.reason}" if event.reason else ""))
        elif isinstance(event, Notice):
            self.print(event.text)


def _own_descriptor(stream: IO[str]) -> IO[str] | None:
    """A stream on a duplicate of ``stream``'s file descriptor; ``None`` when it has none."""
    try:
        stream.flush()
        duplicate = os.dup(stream.fileno())
    except (OSError, ValueError, io.UnsupportedOperation):
        return None
    return os.fdopen(duplicate, "w", encoding=getattr(stream, "encoding", None) or "utf-8", errors="replace")


def summary(results: Results, report_dir: str, *, log_file: str | None = None) -> str:
    """The end of a run on one screen: verdict and exit code, what was judged and how,
    the outcomes, and each failed rule with its reason and the commands that reproduce it."""
    run = {**results.run, "report_dir": report_dir}
    results = replace(results, run=run)
    seconds = duration_s(results)
    took = f" in {seconds:.1f}s" if seconds is not None else ""
    reported = f" (reports Elasticsearch {run.get('version')})" if run.get("version") else ""
    totals = ", ".join(f"{count} {outcome}" for outcome, count in sorted(results.totals().items()))
    lines = [
        f"{PROG}: {'PASS' if results.exit_code == 0 else 'FAIL' if results.exit_code == 1 else 'NOT JUDGED'}, "
        f"{verdict_line(results)}",
        f"  target {run.get('target')}{reported}, judged by profile {run.get('profile')}",
        f"  seed {run.get('seed')}, run id {run.get('run_id')}, "
        f"{run.get('judged_exchanges') or 0} exchanges judged{took}",
        f"  rules: {totals}",
    ]
    lines += [f"  warning: {_cut(w)}" for w in warnings_of(results)]
    failed = results.failures()
    if failed:
        lines.append(f"failed rules ({len(failed)}):")
    for result in failed[:FAILED_SHOWN]:
        messages = (result.evidence or {}).get("messages") or ["failed"]
        known = ", known (baseline)" if result.baselined else ""
        lines += [
            f"  [{result.level}{known}] {result.id}: {_cut(messages[0])}",
            f"    rerun:  {rerun_command(results, result.id)}",
            f"    replay: {replay_command(results, result.id)}",
        ]
    if len(failed) > FAILED_SHOWN:
        lines.append(f"  ... and {len(failed) - FAILED_SHOWN} more: see report.html")
    if results.fixed_baseline:
        lines.append("  now passing (remove from the baseline): " + ", ".join(results.fixed_baseline))
    never = sum(1 for r in results.rules if r.outcome == NOT_EXERCISED)
    if never:
        lines.append(f"  {never} rule(s) not exercised (see report.html)")
    lines += [f"  incomplete: {_cut(hole)}" for hole in results.holes[1:HOLES_SHOWN]]
    log = f"; pytest's output: {log_file}" if log_file else ""
    lines.append(f"report: {os.path.join(report_dir, 'report.html')} (exit code {results.exit_code}){log}")
    return "\n".join(lines)


def _cut(text: str) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= LINE_WIDTH else flat[:LINE_WIDTH] + "..."


@contextlib.contextmanager
def pytest_output(log_path: str, redact: Redact, *, echo: IO[str] | None = None) -> Iterator[None]:
    """Send pytest's own output (progress, tracebacks, warnings) to ``log_path``, redacted;
    with ``echo`` (``-v``) to that stream as well."""
    with open(log_path, "w", encoding="utf-8") as log:
        # _Tee writes to two text streams; it is not an IO[str] subclass.
        sink: IO[str] = log if echo is None else _Tee(log, echo)  # type: ignore[assignment]
        stream = RedactingStream(sink, redact)
        saved = sys.stdout, sys.stderr
        sys.stdout = sys.stderr = stream
        try:
            yield
        finally:
            stream.flush()
            sys.stdout, sys.stderr = saved


class _Tee(io.TextIOBase):
    def __init__(self, *targets: IO[str]) -> None:
        super().__init__()
        self._targets = targets

    def write(self, text: str) -> int:
        for target in self._targets:
            target.write(text)
        return len(text)

    def flush(self) -> None:
        for target in self._targets:
            target.flush()


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

    # TextIO declares encoding and errors as attributes; a read-only property serves them here.
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
    sys.stdout, sys.stderr = out, err
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
