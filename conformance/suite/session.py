"""The suite's pytest session: one object that owns what a run knows while pytest runs it.

:func:`conformance.suite.run_suite` hands a :class:`SuiteSession` to ``pytest.main`` as a
live plugin object; ``pytest --pyargs conformance.suite --dc-target URL`` gets one from
the entry-point plugin; a pytest-xdist worker builds one from what the controller sent
it. Nowhere else does the suite act: a pytest session without one is left alone.

What it collects is what the verdict needs, and more than verdicts:

- the tally of verdicts (workers ship theirs in ``report.user_properties``, so one code
  path serves one process and many);
- how every traffic test ended (passed, skipped and why, errored and with what), and
  which rules a test is meant to reach (``dc_reaches`` marker), so that a rule left
  unjudged says why;
- why the run could not judge or is incomplete (set-up failed, budget spent, a test
  errored), and what clean-up could not remove.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest

from conformance.budget import Budget, BudgetSpent, RunStopped
from conformance.context import Context
from conformance.discovery import context_from_dict, context_to_dict
from conformance.events import Judged, Listener, TestFinished, TestOutcome, ignore
from conformance.results import Tally
from conformance.suite.runner import Run, RunSettings, SetupError, StateUnavailable, open_run
from conformance.target import TargetConfig

TALLY_KEY = "dc-tally"
CONTEXT_KEY = "dc-context"
REACHES_KEY = "dc-reaches"
FAILED_RULES_KEY = "dc-failed-rules"
FIRST_FAILURE_KEY = "dc-first-failure"
STOPPED_KEY = "dc-stopped"
SETUP_FAILED_KEY = "dc-setup-failed"
SESSION_KEY = pytest.StashKey["SuiteSession"]()
T = TypeVar("T")
FAMILIES = {
    "test_schemathesis": "schemathesis",
    "test_properties": "properties",
    "test_stateful": "stateful",
    "test_scenarios": "scenarios",
    "test_concurrency": "concurrency",
    "test_native_clamp": "native",
}


@dataclass(frozen=True)
class TestRecord:
    """How one traffic test ended, and the rules it is meant to reach."""

    test: str
    family: str
    outcome: TestOutcome
    reason: str = ""
    reaches: tuple[str, ...] = ()


def family_of(nodeid: str) -> str:
    module = nodeid.split("::", 1)[0].rsplit("/", 1)[-1].removesuffix(".py")
    return FAMILIES.get(module, module)


def settings_to_dict(settings: RunSettings) -> dict[str, Any]:
    """``settings`` as plain values for an xdist worker (sent over its channel, never argv)."""
    data = {f.name: getattr(settings, f.name) for f in dataclasses.fields(settings)}
    data["target"] = dataclasses.asdict(settings.target)
    data["context"] = context_to_dict(settings.context) if settings.context is not None else None
    return data


def settings_from_dict(data: Mapping[str, Any]) -> RunSettings:
    values = dict(data)
    values["target"] = TargetConfig(**values["target"])
    values["context"] = context_from_dict(values["context"]) if values.get("context") else None
    return RunSettings(**values)


class SuiteSession:
    """The plugin object of one suite session (controller, single process or worker)."""

    def __init__(
        self,
        settings: RunSettings,
        *,
        budget: Budget | None = None,
        listener: Listener = ignore,
        run: Run | None = None,
        worker_id: str | None = None,
    ) -> None:
        self.settings = settings
        self.budget = budget or Budget()
        self.listener = listener
        self.worker_id = worker_id
        self.run: Run | None = run
        self.ctx: Context | None = run.ctx if run is not None else settings.context
        self.tally = Tally()
        self.tests: list[TestRecord] = []
        self.incomplete: list[str] = []
        self.unjudged: str | None = None
        self.cleanup_problems: list[str] = []
        self.failed_rules: set[str] = set()
        self.first_failure_at: float | None = None  # time.time()
        self.current_test = ""
        self._setup_error: SetupError | None = None
        self._context_shipped = False
        self._failures_seen = 0

    # -- the run of this process --------------------------------------------------------

    def ensure_run(self) -> Run:
        """The run of this process, opened on first use; a set-up failure is kept."""
        if self.run is not None:
            return self.run
        if self._setup_error is not None:
            raise self._setup_error
        settings = self.settings
        if self.worker_id is not None:
            settings = dataclasses.replace(settings, run_id=f"{settings.run_id}-{self.worker_id}")
        try:
            self.run = open_run(settings, self.budget)
        except SetupError as exc:
            self._setup_error = exc
            raise
        self.run.current_test = self.current_test
        self.ctx = self.run.ctx
        return self.run

    def close_run(self, allowance: float) -> None:
        """Clean up (once) under a budget of its own; keep what could not be removed."""
        run_, self.run = self.run, None
        if run_ is None:
            return
        self._collect(run_)
        run_.target.budget = Budget.of(allowance)
        run_.target.unanswered_in_a_row.clear()  # clean-up tries the target again, whatever stopped the traffic
        try:
            self.cleanup_problems += run_.close()
        except BudgetSpent:
            self.cleanup_problems.append(f"clean-up took longer than its {allowance:g}s allowance")
        except RunStopped as stopped:
            self.cleanup_problems.append(f"clean-up could not finish: {stopped}")

    def _collect(self, run_: Run) -> None:
        self.tally.merge(run_.take_tally())
        self.failed_rules |= run_.failed_rules
        if run_.first_failure_at is not None:
            self._note_first_failure(time.time() - (time.monotonic() - run_.first_failure_at))

    def _note_first_failure(self, wall: float) -> None:
        if self.first_failure_at is None or wall < self.first_failure_at:
            self.first_failure_at = wall

    # -- the suite's fixtures (they exist only in a session that has a SuiteSession) -----

    @pytest.fixture(scope="session")
    def dc_run(self, request: pytest.FixtureRequest) -> Run:
        """The run of this process (opened on first use)."""
        return self._in_fixture(request, self.ensure_run)

    @pytest.fixture(scope="session")
    def dc_ctx(self, dc_run: Run) -> Context:
        return dc_run.ctx

    @pytest.fixture
    def dc_primary(self, request: pytest.FixtureRequest, dc_run: Run) -> str:
        """The primary deployment, back to 1 allocation and adaptive allocations off."""
        self._in_fixture(request, lambda: dc_run.restore(dc_run.primary, 1))
        return dc_run.primary

    def _in_fixture(self, request: pytest.FixtureRequest, step: Callable[[], T]) -> T:
        """Run a fixture's step; what stops the traffic becomes pytest's own failure there
        (pytest's fixture machinery only copes with ``Exception`` and its outcomes)."""
        try:
            return step()
        except RunStopped as stopped:
            request.session.shouldstop = str(stopped)
            self._note_incomplete(f"the traffic stopped: {stopped}")
            pytest.fail(str(stopped), pytrace=False)
        except StateUnavailable as unavailable:
            pytest.fail(f"StateUnavailable: {unavailable}", pytrace=False)

    # -- pytest hooks --------------------------------------------------------------------

    def pytest_configure(self, config: pytest.Config) -> None:
        config.stash[SESSION_KEY] = self

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        """xdist controller: every worker gets the settings and the wall-clock deadline."""
        node.workerinput["dc_settings"] = json.dumps(settings_to_dict(self.settings))
        ends = self.budget.remaining()
        node.workerinput["dc_deadline_wall"] = None if ends is None else time.time() + ends

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        output = getattr(node, "workeroutput", None) or {}
        if output.get(TALLY_KEY):
            self.tally.merge(Tally.from_json(output[TALLY_KEY]))
        self.cleanup_problems += output.get("dc-cleanup", [])
        self.failed_rules |= set(output.get(FAILED_RULES_KEY, []))
        if output.get(FIRST_FAILURE_KEY):
            self._note_first_failure(output[FIRST_FAILURE_KEY])
        if error:
            self.incomplete.append(f"a worker of the run crashed: {str(error).splitlines()[0][:200]}")

    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        self.current_test = item.nodeid
        if self.run is not None:
            self.run.current_test = item.nodeid
        if self.budget.spent:
            item.session.shouldstop = "time budget spent"
            pytest.skip("time budget spent")
        if self._setup_error is not None:
            pytest.skip(f"set-up failed: {self._setup_error}")
        markers = list(item.iter_markers("dc_requires"))
        if not markers:
            return
        run_ = self.ensure_run()
        missing = sorted({f for m in markers for f in m.args} - run_.ctx.features)
        if missing:
            pytest.skip(f"target profile {run_.ctx.profile} lacks {', '.join(missing)}")

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
        report = yield
        reaches = [glob for marker in item.iter_markers("dc_reaches") for glob in marker.args]
        if reaches:
            report.user_properties.append((REACHES_KEY, json.dumps(reaches)))
        if self.run is not None:
            taken = self.run.take_tally()
            if taken:
                report.user_properties.append((TALLY_KEY, taken.to_json()))
            if not self._context_shipped:
                report.user_properties.append((CONTEXT_KEY, json.dumps(context_to_dict(self.run.ctx))))
                self._context_shipped = True
            if self.run.failed_rules:
                report.user_properties.append((FAILED_RULES_KEY, json.dumps(sorted(self.run.failed_rules))))
            if self.run.first_failure_at is not None:
                wall = time.time() - (time.monotonic() - self.run.first_failure_at)
                report.user_properties.append((FIRST_FAILURE_KEY, json.dumps(wall)))
        if call.excinfo is not None:
            if call.excinfo.errisinstance(SetupError):
                item.session.shouldstop = f"set-up failed: {call.excinfo.value}"
                report.user_properties.append((SETUP_FAILED_KEY, str(call.excinfo.value)))
            elif call.excinfo.errisinstance(RunStopped):
                item.session.shouldstop = str(call.excinfo.value)
                report.user_properties.append((STOPPED_KEY, str(call.excinfo.value)))
        return report

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if self.worker_id is not None:
            return  # the controller aggregates what workers report
        for key, value in report.user_properties:
            if key == TALLY_KEY:
                self.tally.merge(Tally.from_json(str(value)))
            elif key == CONTEXT_KEY and self.ctx is None:
                self.ctx = context_from_dict(json.loads(str(value)))
            elif key == FAILED_RULES_KEY:
                self.failed_rules |= set(json.loads(str(value)))
            elif key == FIRST_FAILURE_KEY:
                self._note_first_failure(json.loads(str(value)))
        record = self._record_of(report)
        if record is not None:
            self.tests.append(record)
            self.listener(TestFinished(record.test, record.family, record.outcome, record.reason))
        if len(self.failed_rules) != self._failures_seen or report.when == "call":
            self._failures_seen = len(self.failed_rules)
            self.listener(Judged(family_of(report.nodeid), self.tally.exchanges, len(self.failed_rules)))

    def _record_of(self, report: pytest.TestReport) -> TestRecord | None:
        """One record per test: its call (or the phase that kept the call from running)."""
        reaches = tuple(
            glob for key, value in report.user_properties if key == REACHES_KEY for glob in json.loads(str(value))
        )
        family = family_of(report.nodeid)
        if report.skipped and report.when in ("setup", "call"):
            reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
            return TestRecord(report.nodeid, family, TestOutcome.SKIPPED, reason.removeprefix("Skipped: "), reaches)
        stopped = next((value for key, value in report.user_properties if key == STOPPED_KEY), None)
        setup_failed = next((value for key, value in report.user_properties if key == SETUP_FAILED_KEY), None)
        if report.failed:
            reason = _first_line(report)
            if stopped is not None:
                self._note_incomplete(f"the traffic stopped: {stopped}")
            elif setup_failed is not None:
                if self.unjudged is None:
                    self.unjudged = str(setup_failed)
            else:
                phase = "" if report.when == "call" else f" in {report.when}"
                self._note_incomplete(f"{report.nodeid} errored{phase}: {reason}")
            return TestRecord(report.nodeid, family, TestOutcome.ERROR, reason, reaches)
        if report.passed and report.when == "call":
            return TestRecord(report.nodeid, family, TestOutcome.PASSED, "", reaches)
        return None

    def _note_incomplete(self, reason: str) -> None:
        if reason not in self.incomplete:
            self.incomplete.append(reason)

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        """Workers and plain pytest sessions clean up here; ``run_suite`` cleans up itself."""
        if self.worker_id is None:
            return
        from conformance.budget import CLEANUP_ALLOWANCE

        self.close_run(CLEANUP_ALLOWANCE)
        # pytest-xdist sets workeroutput on a worker's config; pytest's Config does not declare it.
        output = session.config.workeroutput  # type: ignore[attr-defined]
        output[TALLY_KEY] = self.tally.to_json() if self.tally else ""
        output["dc-cleanup"] = self.cleanup_problems
        output[FAILED_RULES_KEY] = sorted(self.failed_rules)
        output[FIRST_FAILURE_KEY] = self.first_failure_at


def _first_line(report: pytest.TestReport) -> str:
    """The exception line of a failed report: ``Type: message``, one line, short."""
    crash = getattr(report.longrepr, "reprcrash", None)
    if crash is not None and getattr(crash, "message", None):
        text = str(crash.message)
    else:
        text = str(report.longrepr).strip().splitlines()[-1] if report.longrepr else "failed"
    line = " ".join(text.split())
    return line[:300]
