"""``run_suite``: one typed entry point to a whole conformance run.

The CLI, ``selftest``, the benchmarks and the project's tests all run the suite through
:func:`run_suite`, which drives pytest in this process with explicit objects, isolated
from wherever it was started:

- pytest reads an empty configuration file of its own (``-c``), with its own rootdir,
  no ``conftest.py`` (``--noconftest``), no plugins auto-loaded from the environment
  (only the few the suite needs, named), and without ``PYTEST_ADDOPTS``: the user's
  ``pytest.ini`` (``addopts = -x --cov``, ``timeout = 2``), a ``conftest.py`` that raises,
  or an installed plugin that claims ``--profile`` change nothing;
- Hypothesis keeps its files in a temporary folder: nothing is written into the current
  folder; pytest's own output goes to ``log_file`` (the report folder's log).

The run's budget, signals and clean-up are handled here, outside pytest, so that no
timing of a signal and no crash inside pytest can leave objects on the target or make
the run read green (see :mod:`conformance.interrupts`).
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator
from typing import Any

import pytest

from conformance.budget import CLEANUP_ALLOWANCE, Budget, RunStopped
from conformance.events import Listener, Notice, PhaseStarted, ignore
from conformance.interrupts import INTERRUPTS
from conformance.results import Results, build_results
from conformance.rules.base import CATALOGUE
from conformance.suite.runner import RunSettings, SetupError, open_run, select_rules
from conformance.suite.session import SuiteSession

SUITE_PLUGINS = ("_hypothesis_pytestplugin", "schemathesis.pytest.plugin", "conformance.suite.plugin")
ISOLATING_ENV = {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", "PYTEST_ADDOPTS": None, "PYTEST_PLUGINS": None}


def run_suite(
    settings: RunSettings,
    listener: Listener = ignore,
    *,
    log_file: str | None = None,
    verbose: bool = False,
    budget: Budget | None = None,
) -> Results:
    """Run the suite against ``settings.target`` and return the verdict on every rule.

    Never raises for what the target does: an unreachable target, a failed set-up, a
    spent budget or a signal all end in :class:`Results` that say so (and an exit code
    that is not 0). ``settings.context`` should hold what discovery learned; without it
    the run discovers the target itself. ``budget`` is the run's deadline when it started
    earlier (the CLI's discovery counts against ``--time-budget`` too).
    """
    installed_here = not INTERRUPTS.installed  # the CLI installs them before discovery
    if installed_here:
        INTERRUPTS.reset()
    INTERRUPTS.install()
    budget = budget or Budget.of(settings.time_budget)
    session = SuiteSession(settings, budget=budget, listener=listener)
    status: int = pytest.ExitCode.OK
    try:
        if settings.workers == 1:
            listener(PhaseStarted("provisioning", settings.run_id))
            session.run = open_run(settings, budget)
            session.ctx = session.run.ctx
        listener(PhaseStarted("traffic"))
        status = _pytest(settings, session, log_file, verbose)
    except SetupError as exc:
        session.unjudged = str(exc)
    except RunStopped as stopped:
        session.incomplete.append(f"the traffic stopped: {stopped}")
    except KeyboardInterrupt:
        pass  # noted by INTERRUPTS; clean-up and the verdict follow
    finally:
        _clean_up(session, listener)
        if installed_here:
            INTERRUPTS.uninstall()
    for problem in session.cleanup_problems:
        listener(Notice(f"clean-up: {problem}"))
    return results_of(session, int(status), budget_spent=budget.spent and settings.time_budget is not None)


def _clean_up(session: SuiteSession, listener: Listener) -> None:
    """Clean up under protection from signals; a first signal that lands before the
    protection is in place only means trying again inside it."""
    while True:
        try:
            with INTERRUPTS.protected():
                listener(PhaseStarted("cleanup"))
                session.close_run(CLEANUP_ALLOWANCE)
            return
        except KeyboardInterrupt:
            continue


def results_of(session: SuiteSession, exitstatus: int, *, budget_spent: bool = False) -> Results:
    """The verdict of a finished session: every rule, and everything that kept it from being complete."""
    settings = session.settings
    incomplete = list(session.incomplete)
    if budget_spent and not any("budget" in reason for reason in incomplete):
        incomplete.append(f"time budget of {settings.time_budget:g}s spent")
    if INTERRUPTS.interrupted:
        incomplete.append("the run was interrupted")
    elif exitstatus in (pytest.ExitCode.INTERNAL_ERROR, pytest.ExitCode.USAGE_ERROR, pytest.ExitCode.INTERRUPTED):
        incomplete.append(f"pytest ended with {pytest.ExitCode(exitstatus).name} (see the log)")
    incomplete += [f"clean-up: {problem}" for problem in session.cleanup_problems]
    ctx = session.ctx
    selected = frozenset(r.id for r in select_rules(CATALOGUE, settings.select)) if settings.select else None
    return build_results(
        CATALOGUE,
        ctx,
        session.tally,
        selected=selected,
        unjudged=session.unjudged,
        incomplete=tuple(incomplete),
        tests=tuple(session.tests),
        run={
            "run_id": settings.run_id,
            "target": settings.target.url,
            "version": str(ctx.reported_version or ctx.version) if ctx else None,
            "judged_as": str(ctx.version) if ctx else None,
            "flavor": ctx.flavor if ctx else None,
            "profile": ctx.profile if ctx else settings.profile,
            "seed": settings.seed,
            "max_examples": settings.max_examples,
            "select": settings.select,
            "judged_exchanges": session.tally.exchanges,
            "first_failure_at": session.first_failure_at,
            "pytest_exit_status": int(exitstatus),
            "cleanup_problems": list(session.cleanup_problems),
            "tests": [
                {"test": t.test, "family": t.family, "outcome": t.outcome, "reason": t.reason} for t in session.tests
            ],
            "context": _context_dict(session),
        },
    )


def _context_dict(session: SuiteSession) -> dict[str, Any] | None:
    from conformance.discovery import context_to_dict

    return context_to_dict(session.ctx) if session.ctx else None


def _pytest(settings: RunSettings, session: SuiteSession, log_file: str | None, verbose: bool) -> int:
    with tempfile.TemporaryDirectory(prefix="dc-pytest-") as scratch, _isolated_environment(scratch):
        ini = os.path.join(scratch, "pytest.ini")
        with open(ini, "w", encoding="utf-8") as handle:
            handle.write("[pytest]\n")
        args = [
            "--pyargs",
            "conformance.suite",
            "-c",
            ini,
            "--rootdir",
            scratch,
            "--noconftest",
            "-p",
            "no:cacheprovider",
            "--capture=no",
            "--color=no",
            # The CLI has imported anyio (uvicorn) before pytest starts: harmless, but noisy.
            "-W",
            "ignore::pytest.PytestAssertRewriteWarning",
            "-v" if verbose else "-q",
        ]
        for plugin in SUITE_PLUGINS:
            args += ["-p", plugin]
        if settings.workers > 1:
            args += ["-p", "xdist.plugin", "-n", str(settings.workers)]
        with _output_to(log_file):
            return int(pytest.main(args, plugins=[session]))


@contextlib.contextmanager
def _isolated_environment(scratch: str) -> Iterator[None]:
    """The environment pytest and Hypothesis see: no user options or auto-loaded plugins."""
    values = {**ISOLATING_ENV, "HYPOTHESIS_STORAGE_DIRECTORY": os.path.join(scratch, "hypothesis")}
    previous = {name: os.environ.get(name) for name in values}
    for name, value in values.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextlib.contextmanager
def _output_to(log_file: str | None) -> Iterator[None]:
    """pytest's own output (and tracebacks) into ``log_file``; where the caller sends
    ``sys.stdout`` when there is none (the CLI's redacting log)."""
    if log_file is None:
        yield
        return
    os.makedirs(os.path.dirname(os.path.abspath(log_file)), exist_ok=True)
    with (
        open(log_file, "w", encoding="utf-8") as handle,
        contextlib.redirect_stdout(handle),
        contextlib.redirect_stderr(handle),
    ):
        yield
        sys.stdout.flush()
