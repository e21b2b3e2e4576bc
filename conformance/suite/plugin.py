"""The suite's pytest entry point: inert unless a session asks for the suite.

It is registered as a ``pytest11`` entry point, so it is loaded into every pytest
session of an environment that has the package. There it only adds options, all
prefixed ``--dc-`` (so they clash with no other plugin's ``--profile`` or ``--target``),
and the ``dc_requires`` / ``dc_reaches`` markers. It installs no signal handler, opens
no connection and provisions nothing unless the session asks for the suite:

- ``deployment-conformance run`` (:func:`conformance.suite.run_suite`) passes a live
  :class:`~conformance.suite.session.SuiteSession`, and this module does nothing more;
- a pytest-xdist worker of such a run gets its settings from the controller;
- ``pytest --pyargs conformance.suite --dc-target URL`` (or with ``DC_TARGET`` set) builds
  a session from the options.
"""

from __future__ import annotations

import json
import os
import secrets

import pytest

from conformance.budget import Budget
from conformance.suite.runner import RunSettings
from conformance.suite.session import SuiteSession, settings_from_dict
from conformance.target import ConfigError, TargetConfig

DEFAULT_MAX_EXAMPLES = 25
SUITE_PACKAGE = "conformance.suite"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup(
        "deployment-conformance", "deployment-conformance suite (only with --pyargs conformance.suite)"
    )
    group.addoption("--dc-target", help="base URL of the server under test (env DC_TARGET)")
    group.addoption("--dc-api-key", help="API key (env DC_API_KEY)")
    group.addoption("--dc-user", help="basic-auth user (env DC_USER)")
    group.addoption("--dc-password", help="basic-auth password (env DC_PASSWORD)")
    group.addoption("--dc-bearer-token", help="bearer token (env DC_BEARER_TOKEN)")
    group.addoption("--dc-ca-cert", help="CA certificate file (env DC_CA_CERT)")
    group.addoption("--dc-insecure", action="store_true", default=None, help="do not verify TLS certificates")
    group.addoption("--dc-profile", default="auto", help="behaviour profile: auto (from the version) or a version")
    group.addoption("--dc-seed", type=int, default=0, help="Hypothesis/Schemathesis seed (default: 0)")
    group.addoption("--dc-max-examples", type=int, default=DEFAULT_MAX_EXAMPLES, help="examples per property")
    group.addoption("--dc-select", default=None, help="comma-separated globs on rule ids or families")
    group.addoption("--dc-deployment-id", default=None, help="adopt this existing deployment as the primary")
    group.addoption("--dc-results-file", default=None, help="write the aggregated results (JSON) here")
    group.addoption("--dc-request-timeout", type=float, default=None, help="seconds a whole request may take")
    group.addoption("--dc-time-budget", type=float, default=None, help="seconds the whole run may take")
    group.addoption("--dc-run-id", default=None, help="prefix of every id the run creates (default: random)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "dc_requires(*features): the suite skips it unless the target has them")
    config.addinivalue_line("markers", "dc_reaches(*rules): rule-id globs a suite test is meant to exercise")
    if any(isinstance(plugin, SuiteSession) for plugin in config.pluginmanager.get_plugins()):
        return  # run_suite handed its session in
    worker = getattr(config, "workerinput", None)
    if worker is not None and "dc_settings" in worker:
        settings = settings_from_dict(json.loads(worker["dc_settings"]))
        session = SuiteSession(
            settings, budget=Budget.until_wall(worker["dc_deadline_wall"]), worker_id=worker["workerid"]
        )
        config.pluginmanager.register(session, "dc-session")
    elif _asks_for_suite(config):
        config.pluginmanager.register(_PlainSession(config), "dc-session")


def _asks_for_suite(config: pytest.Config) -> bool:
    if config.option.dc_target:
        return True
    return bool(config.option.pyargs) and any(arg.split("::")[0].startswith(SUITE_PACKAGE) for arg in config.args)


class _PlainSession(SuiteSession):
    """``pytest --pyargs conformance.suite``: settings from options; cleans up and writes
    the results file at the end of the session itself."""

    def __init__(self, config: pytest.Config) -> None:
        option = config.option
        flags = {
            "url": option.dc_target,
            "api_key": option.dc_api_key,
            "user": option.dc_user,
            "password": option.dc_password,
            "bearer_token": option.dc_bearer_token,
            "ca_cert": option.dc_ca_cert,
            "insecure": option.dc_insecure,
            "read_timeout": option.dc_request_timeout,
        }
        try:
            target = TargetConfig.from_sources(flags)
        except ConfigError as exc:
            raise pytest.UsageError(str(exc)) from None
        if option.dc_max_examples < 1:
            raise pytest.UsageError("--dc-max-examples must be a positive integer")
        run_id = option.dc_run_id or os.environ.get("DC_RUN_ID") or f"dc-{secrets.token_hex(3)}"
        settings = RunSettings(
            target=target,
            run_id=run_id,
            profile=option.dc_profile,
            seed=option.dc_seed,
            max_examples=option.dc_max_examples,
            select=option.dc_select,
            deployment_id=option.dc_deployment_id,
            time_budget=option.dc_time_budget,
        )
        super().__init__(settings, budget=Budget.of(option.dc_time_budget))
        self.results_file: str | None = option.dc_results_file

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        from conformance.budget import CLEANUP_ALLOWANCE
        from conformance.suite.api import results_of

        self.close_run(CLEANUP_ALLOWANCE)
        if self.results_file:
            results = results_of(self, int(exitstatus))
            directory = os.path.dirname(os.path.abspath(self.results_file))
            os.makedirs(directory, exist_ok=True)
            with open(self.results_file, "w", encoding="utf-8") as handle:
                json.dump(results.to_dict(), handle, indent=2)
