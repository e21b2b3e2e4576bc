"""The pytest plugin of the suite: options, the ``run``/``ctx``/``primary`` fixtures,
the ``requires`` marker, and verdict collection that survives pytest-xdist.

It is registered as a ``pytest11`` entry point, so it is loaded into every pytest
session on the machine: it must stay inert there. Nothing happens until a test asks
for a fixture of the suite (or carries the ``requires`` marker).

Verdicts travel as compact JSON in ``report.user_properties``; xdist ships those to the
controller, which merges them in ``pytest_runtest_logreport`` and writes the results
file at the end. The same path is taken without xdist, so there is one code path.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from dataclasses import asdict
from typing import Any, Iterator

import pytest

from conformance.context import Context
from conformance.discovery import CONTEXT_ENV, context_from_dict, context_to_dict
from conformance.results import Tally, build_results
from conformance.rules.base import CATALOGUE
from conformance.suite.runner import Run, RunSettings, SetupError, open_run, select_rules
from conformance.target import ConfigError, TargetConfig, flags_of

TALLY_KEY = "dc-tally"
CONTEXT_KEY = "dc-context"
UNJUDGED_KEY = "dc-unjudged"
DEFAULT_MAX_EXAMPLES = 25


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("deployment-conformance", "deployment-conformance suite")
    group.addoption("--target", help="base URL of the server under test (env DC_TARGET)")
    group.addoption("--api-key", help="API key (env DC_API_KEY)")
    group.addoption("--user", help="basic-auth user (env DC_USER)")
    group.addoption("--password", help="basic-auth password (env DC_PASSWORD)")
    group.addoption("--bearer-token", help="bearer token (env DC_BEARER_TOKEN)")
    group.addoption("--ca-cert", help="CA certificate file (env DC_CA_CERT)")
    group.addoption("--insecure", action="store_true", default=None, help="do not verify TLS certificates")
    group.addoption("--profile", default="auto", help="behaviour profile: auto (from the version) or a version")
    group.addoption("--seed", type=int, default=None, help="Hypothesis/Schemathesis seed")
    group.addoption("--max-examples", type=int, default=DEFAULT_MAX_EXAMPLES, help="examples per property")
    group.addoption("--select", default=None, help="comma-separated globs on rule ids or families")
    group.addoption("--deployment-id", default=None, help="adopt this existing deployment as the primary")
    group.addoption("--results-file", default=None, help="write the aggregated results (JSON) here")
    group.addoption("--request-timeout", type=float, default=None, help="read timeout per request, seconds")
    group.addoption("--time-budget", type=float, default=None, help="stop judging after this many seconds")
    group.addoption("--run-id", default=None, help="prefix of every id the run creates (default: random)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "requires(*features): skip unless the target's profile has every named feature"
    )
    config.stash[_STATE] = _SessionState(config)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist controller: give every worker the same base run id and time budget."""
    state = node.config.stash[_STATE]
    node.workerinput["dc_run_id"] = state.base_run_id
    node.workerinput["dc_deadline_wall"] = state.deadline_wall


# -- fixtures ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def run(request: pytest.FixtureRequest) -> Iterator[Run]:
    state = request.config.stash[_STATE]
    yield state.ensure_run()
    state.close_run()


@pytest.fixture(scope="session")
def ctx(run: Run) -> Context:
    return run.ctx


@pytest.fixture
def primary(run: Run) -> str:
    """The primary deployment, back to 1 allocation and adaptive allocations off."""
    run.restore(run.primary, 1)
    return run.primary


# -- per-test hooks ---------------------------------------------------------------------


def pytest_runtest_setup(item: pytest.Item) -> None:
    state = item.config.stash[_STATE]
    state.current_test = item.nodeid
    if state.budget_spent():
        item.session.shouldstop = "time budget spent"
        pytest.skip("time budget spent")
    markers = list(item.iter_markers("requires"))
    if not markers:
        return
    run_ = state.ensure_run()
    missing = sorted({f for m in markers for f in m.args} - run_.ctx.features)
    if missing:
        pytest.skip(f"target profile {run_.ctx.profile} lacks {', '.join(missing)}")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    state = item.config.stash[_STATE]
    if state.run is not None:
        state.run.current_test = item.nodeid
        if state.run.tally:
            report.user_properties.append((TALLY_KEY, state.run.tally.to_json()))
            state.run.tally = Tally()
        if not state.context_shipped:
            report.user_properties.append((CONTEXT_KEY, json.dumps(context_to_dict(state.run.ctx))))
            state.context_shipped = True
    if call.excinfo is not None and call.excinfo.errisinstance(SetupError):
        report.user_properties.append((UNJUDGED_KEY, str(call.excinfo.value)))
        item.session.shouldstop = f"set-up failed: {call.excinfo.value}"
    if state.budget_spent():
        report.user_properties.append((UNJUDGED_KEY, f"time budget of {state.budget:g}s spent"))
    return report


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    state = _ACTIVE.get("state")
    if state is None:
        return
    for key, value in report.user_properties:
        if key == TALLY_KEY:
            state.tally.merge(Tally.from_json(value))
        elif key == CONTEXT_KEY and state.ctx is None:
            state.ctx = context_from_dict(json.loads(value))
        elif key == UNJUDGED_KEY and state.unjudged is None:
            state.unjudged = value


def pytest_sessionstart(session: pytest.Session) -> None:
    _ACTIVE["state"] = session.config.stash[_STATE]


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    state = session.config.stash[_STATE]
    state.close_run()
    if state.results_file and not hasattr(session.config, "workerinput"):
        state.write_results(exitstatus)
    _ACTIVE.pop("state", None)


# -- session state ----------------------------------------------------------------------


class _SessionState:
    """What one pytest process knows about the run: its ``Run`` (lazily) and the tally."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        worker = getattr(config, "workerinput", None)
        option = config.option
        self.results_file: str | None = option.results_file
        self.budget: float | None = option.time_budget
        if worker is not None:
            self.base_run_id = worker["dc_run_id"]
            self.deadline_wall = worker["dc_deadline_wall"]
            self.run_id = f"{self.base_run_id}-{worker['workerid']}"
        else:
            self.base_run_id = option.run_id or os.environ.get("DC_RUN_ID") or f"dc-{secrets.token_hex(3)}"
            self.deadline_wall = time.time() + self.budget if self.budget else None
            self.run_id = self.base_run_id
        self.run: Run | None = None
        self.setup_error: SetupError | None = None
        self.tally = Tally()
        self.ctx: Context | None = None
        self.unjudged: str | None = None
        self.current_test = ""
        self.context_shipped = False
        self.cleanup_problems: list[str] = []

    def budget_spent(self) -> bool:
        return self.deadline_wall is not None and time.time() > self.deadline_wall

    def settings(self) -> RunSettings:
        option = self.config.option
        try:
            target = TargetConfig.from_sources(flags_of(option))
        except ConfigError as exc:
            raise SetupError(str(exc)) from None
        seed = option.seed if option.seed is not None else int(os.environ.get("DC_SEED", "0") or 0)
        if option.max_examples < 1:
            raise SetupError("--max-examples must be a positive integer")
        discovered = os.environ.get(CONTEXT_ENV)  # set by the CLI, which discovered already
        return RunSettings(
            target=target, run_id=self.run_id, profile=option.profile, seed=seed,
            max_examples=option.max_examples, select=option.select, deployment_id=option.deployment_id,
            context=context_from_dict(json.loads(discovered)) if discovered else None,
        )

    def ensure_run(self) -> Run:
        """The run of this process, opened on first use; a set-up failure is cached."""
        if self.run is not None:
            return self.run
        if self.setup_error is not None:
            raise self.setup_error
        from conformance.provisioning import install_interrupt_handlers

        try:
            install_interrupt_handlers()
            self.run = open_run(self.settings())
        except SetupError as exc:
            self.setup_error = exc
            raise
        self.run.current_test = self.current_test
        self.ctx = self.run.ctx
        return self.run

    def close_run(self) -> None:
        if self.run is None:
            return
        run_, self.run = self.run, None
        if run_.tally:
            self.tally.merge(run_.tally)
        self.cleanup_problems += run_.close()

    def write_results(self, exitstatus: int) -> None:
        option = self.config.option
        unjudged = self.unjudged
        if unjudged is None and self.setup_error is not None:
            unjudged = str(self.setup_error)
        if unjudged is None and exitstatus == pytest.ExitCode.INTERRUPTED:
            unjudged = "the run was interrupted"
        selected = frozenset(r.id for r in select_rules(CATALOGUE, option.select)) if option.select else None
        results = build_results(
            CATALOGUE, self.ctx, self.tally, selected=selected, unjudged=unjudged,
            run={
                "run_id": self.base_run_id,
                "target": option.target or os.environ.get("DC_TARGET"),
                "version": str(self.ctx.reported_version or self.ctx.version) if self.ctx else None,
                "judged_as": str(self.ctx.version) if self.ctx else None,
                "flavor": self.ctx.flavor if self.ctx else None,
                "profile": self.ctx.profile if self.ctx else option.profile,
                "seed": option.seed,
                "max_examples": option.max_examples,
                "select": option.select,
                "judged_exchanges": self.tally.exchanges,
                "pytest_exit_status": int(exitstatus),
                "cleanup_problems": self.cleanup_problems,
                "context": context_to_dict(self.ctx) if self.ctx else None,
            },
        )
        directory = os.path.dirname(os.path.abspath(self.results_file))
        os.makedirs(directory, exist_ok=True)
        with open(self.results_file, "w", encoding="utf-8") as handle:
            json.dump(results.to_dict(), handle, indent=2)


_STATE = pytest.StashKey[_SessionState]()
_ACTIVE: dict[str, _SessionState] = {}  # the session whose reports are being aggregated

