"""The ``deployment-conformance`` command: ``run``, ``serve`` and ``selftest``.

``run`` checks its flags, reaches the target (or starts the embedded reference server),
runs the suite with ``pytest.main`` in this process (pytest-xdist for ``--workers``),
writes the reports and maps the results to an exit code (DESIGN "Command-line contract"):
0 every MUST rule held, 1 a conformance failure, 2 a usage or configuration error,
3 the run could not judge. Every error is one line on stderr, never a usage dump.

Secrets reach the pytest session through ``DC_*`` environment variables of this
process, never through its argument list; so does the context the pre-flight discovered.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import secrets
import sys
from importlib.metadata import entry_points
from typing import Any, Iterator, NoReturn, Sequence

from conformance import cleaning
from conformance.results import (
    EXIT_UNJUDGED,
    EXIT_USAGE,
    NOT_EXERCISED,
    Results,
    apply_baseline,
    load_baseline,
)
from conformance.budget import CLEANUP_ALLOWANCE, Budget, RunStopped
from conformance.context import Context
from conformance.events import Event, Listener, Notice, PhaseStarted
from conformance.target import ENV_NAMES, SECRET_FIELDS, ConfigError, SetupError, TargetConfig, flags_of

PROG = "deployment-conformance"
DEFAULT_CONVERGENCE_TIMEOUT = 30.0
SECRET_ENV = {name: ENV_NAMES[name] for name in sorted(SECRET_FIELDS)}


class UsageError(Exception):
    """A bad flag or configuration: one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # argparse says "argument --x: --x must be ..."; keep the one clear half.
        prefix, _, rest = message.partition(": ")
        if prefix.startswith("argument ") and rest.startswith("--"):
            message = rest
        raise UsageError(message)


def main(argv: Sequence[str] | None = None) -> int:
    from conformance.interrupts import INTERRUPTS

    INTERRUPTS.reset()
    # From here on a signal ends the command with one line, not a traceback; the handlers
    # stay until the process ends, so a late second signal cannot kill it mid-exit.
    INTERRUPTS.install()
    return _main(argv)


def _main(argv: Sequence[str] | None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["selftest"]:
        return _selftest(argv[1:])
    try:
        args = build_parser().parse_args(argv)
        if args.command is None:
            raise UsageError("choose a command: run, serve, clean or selftest")
        return args.handler(args)
    except UsageError as exc:
        return _fail(EXIT_USAGE, f"error: {exc}")
    except SetupError as exc:
        return _fail(EXIT_UNJUDGED, f"cannot judge the target: {exc}")
    except KeyboardInterrupt:
        return _fail(EXIT_UNJUDGED, "interrupted")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="Conformance suite for the trained-model deployment _update API.")
    commands = parser.add_subparsers(dest="command", parser_class=_Parser)

    run = commands.add_parser("run", help="run the suite against a target (default: the embedded server)")
    _add_target_flags(run)
    run.add_argument("--profile", default="auto", metavar="auto|VERSION",
                     help="the version whose contract to judge by (default: what GET / reports)")
    run.add_argument("--report-dir", default="reports", metavar="DIR",
                     help="where results.json, junit.xml and report.html go (default: reports)")
    run.add_argument("--seed", type=_natural("--seed", allow_zero=True), default=None, metavar="N",
                     help="seed for generated traffic, to repeat a run (default: random, printed in the report)")
    run.add_argument("--max-examples", type=_natural("--max-examples"), default=25, metavar="N",
                     help="examples per generated test (default: 25)")
    run.add_argument("--deployment-id", metavar="ID",
                     help="adopt this existing deployment instead of creating one; its settings are restored")
    run.add_argument("--select", metavar="EXPR",
                     help="comma-separated globs of rule ids or families, e.g. 'errors.*,capacity'")
    run.add_argument("--workers", type=_natural("--workers"), default=1, metavar="N",
                     help="run the traffic in N pytest-xdist processes (default: 1)")
    run.add_argument("--baseline", metavar="FILE",
                     help="JSON list of rule ids known to fail: they do not fail the run")
    run.add_argument("--request-timeout", type=_seconds("--request-timeout"), default=None, metavar="S",
                     help="a request slower than this is judged indeterminate")
    run.add_argument("--time-budget", type=_seconds("--time-budget"), default=None, metavar="S",
                     help="bound the whole run, wall clock: traffic stops when it is spent, clean-up "
                          f"gets {CLEANUP_ALLOWANCE:g}s more, and the verdict says it is incomplete")
    run.add_argument("--convergence-timeout", type=_seconds("--convergence-timeout"),
                     default=DEFAULT_CONVERGENCE_TIMEOUT, metavar="S",
                     help="the longest any one wait for the target to converge may take; waits are "
                          f"shorter once the target has shown how fast it is (default: {DEFAULT_CONVERGENCE_TIMEOUT:g})")
    run.add_argument("-v", "--verbose", action="store_true",
                     help="show pytest's own output instead of writing it to REPORT_DIR/pytest.log")
    run.add_argument("--allow-scaling", action="store_true",
                     help="send updates beyond capacity to a target that can scale (they may add ML nodes, and cost)")
    _add_server_flags(run, embedded_only=True)
    run.set_defaults(handler=_run)

    serve = commands.add_parser("serve", help="serve the reference server (blocking)")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    serve.add_argument("--port", type=_natural("--port"), default=9200, help="port to bind (default: 9200)")
    _add_server_flags(serve, embedded_only=False)
    serve.set_defaults(handler=_serve)

    commands.add_parser("selftest", help="run the suite against every mutant", add_help=False)
    cleaning.add_command(commands, _add_target_flags)
    return parser


def _add_target_flags(parser: argparse.ArgumentParser) -> None:
    """Where the target is and how to reach it: the same flags for ``run`` and ``clean``."""
    parser.add_argument("--target", metavar="URL",
                        help="the server (default: DC_TARGET; run: else the embedded reference server)")
    auth = parser.add_mutually_exclusive_group()
    auth.add_argument("--api-key", metavar="KEY", help="send Authorization: ApiKey KEY (or DC_API_KEY)")
    auth.add_argument("--user", help="basic auth user, with --password (or DC_USER, DC_PASSWORD)")
    auth.add_argument("--bearer-token", metavar="TOKEN", help="send Authorization: Bearer TOKEN (or DC_BEARER_TOKEN)")
    parser.add_argument("--password", help="basic auth password")
    parser.add_argument("--ca-cert", metavar="FILE", help="trust this CA certificate (PEM)")
    parser.add_argument("--insecure", action="store_true", default=None, help="do not verify TLS certificates")


def _add_server_flags(parser: argparse.ArgumentParser, *, embedded_only: bool) -> None:
    parser.add_argument("--nodes", metavar="ID:PROCS[,...]",
                        help="ML nodes and their allocated processors (default: ml-0:4,ml-1:4)")
    parser.add_argument("--es-version", metavar="VERSION", help="the Elasticsearch version to behave as (default: 9.3.0)")
    parser.add_argument("--scaling-possible", action="store_true", default=None,
                        help="answer an increase beyond capacity with a partial assignment, not 429")
    parser.add_argument("--convergence-delay", type=_seconds("--convergence-delay", allow_zero=True), default=None,
                        metavar="S", help="seconds before routes start and allocations converge (default: 0)")
    parser.add_argument("--license", choices=("basic", "trial", "platinum", "enterprise"), default=None,
                        help="the licence GET _license reports (default: trial)")
    parser.add_argument("--security-privileges", metavar="P[,P...]", default=None,
                        help="turn security on; the user holds these cluster privileges (default: security off)")
    parser.add_argument("--flavor", choices=("default", "serverless"), default=None,
                        help="the build flavour GET / reports; serverless answers GET _nodes with an error (default: default)")
    parser.set_defaults(embedded_only=embedded_only)


def _natural(flag: str, *, allow_zero: bool = False):  # type: ignore[no-untyped-def]
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = -1
        if value < 0 or (value == 0 and not allow_zero):
            kind = "a non-negative" if allow_zero else "a positive"
            raise argparse.ArgumentTypeError(f"{flag} must be {kind} integer")
        return value

    return parse


def _seconds(flag: str, *, allow_zero: bool = False):  # type: ignore[no-untyped-def]
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = -1.0
        if not value >= 0 or (value == 0 and not allow_zero) or value == float("inf"):
            kind = "a non-negative" if allow_zero else "a positive"
            raise argparse.ArgumentTypeError(f"{flag} must be {kind} number of seconds")
        return value

    return parse


# -- run --------------------------------------------------------------------------------


def _run(args: argparse.Namespace) -> int:
    from conformance.report import scrubber, write_reports
    from conformance.suite import RunSettings, run_suite

    config = _target_config(args)
    server_config = _server_config(args) if args.target is None and not os.environ.get("DC_TARGET") else None
    if server_config is None and _server_flags_given(args):
        raise UsageError("--es-version, --nodes, --scaling-possible, --convergence-delay, --license, --security-privileges "
                         "and --flavor need the embedded target (no --target)")
    baseline = _baseline(args.baseline)
    _check_select(args.select)
    _check_profile(args.profile)
    if args.deployment_id is not None and args.workers > 1:
        raise UsageError("--deployment-id needs --workers 1: every worker would drive the one adopted deployment")
    run_id = f"dc-{secrets.token_hex(3)}"
    seed = args.seed if args.seed is not None else secrets.randbelow(2**31)
    scrub = scrubber(config.secrets())
    progress = _Progress(scrub)
    budget = Budget.of(args.time_budget)
    with _target_url(config, server_config) as url:
        config = dataclasses.replace(config, url=url)
        progress(PhaseStarted("discovery", url))
        ctx = _preflight(config, args.profile, budget, progress, allow_scaling=args.allow_scaling)
        settings = RunSettings(
            target=config, run_id=run_id, profile=args.profile, seed=seed, max_examples=args.max_examples,
            select=args.select, deployment_id=args.deployment_id, context=ctx, workers=args.workers,
            time_budget=args.time_budget, convergence_timeout=args.convergence_timeout,
        )
        log_file = None if args.verbose else os.path.join(args.report_dir, "pytest.log")
        results = run_suite(settings, progress, log_file=log_file, verbose=args.verbose, budget=budget)
    results = apply_baseline(results, baseline)
    progress(PhaseStarted("reports", args.report_dir))
    written = write_reports(results, args.report_dir, scrub)
    print(scrub(_summary(results, written["report.html"])))
    return results.exit_code


class _Progress:
    """The run's phases and notices, one line each on stdout (errors alone go to stderr)."""

    def __init__(self, scrub: Any) -> None:
        self.scrub = scrub

    def __call__(self, event: Event) -> None:
        if isinstance(event, PhaseStarted):
            detail = f" {event.detail}" if event.detail else ""
            print(self.scrub(f"{PROG}: {event.phase}{detail}"), flush=True)
        elif isinstance(event, Notice):
            print(self.scrub(f"{PROG}: {event.text}"), flush=True)


def _target_config(args: argparse.Namespace) -> TargetConfig:
    try:
        return TargetConfig.from_sources(flags_of(args))
    except ConfigError as exc:
        raise UsageError(str(exc)) from None


def _server_flags_given(args: argparse.Namespace) -> bool:
    return any(v is not None for v in (args.nodes, args.es_version, args.scaling_possible, args.convergence_delay,
                                        args.license, args.security_privileges, args.flavor))


def _server_config(args: argparse.Namespace) -> Any:
    from conformance.reference.config import ServerConfig, parse_nodes

    values: dict[str, Any] = {}
    if args.nodes is not None:
        try:
            values["nodes"] = parse_nodes(args.nodes)
        except ValueError as exc:
            raise UsageError(f"--nodes: {exc}") from None
    if args.es_version is not None:
        from conformance.context import Version

        try:
            Version.parse(args.es_version)
        except ValueError as exc:
            raise UsageError(f"--es-version: {exc}") from None
        values["es_version"] = args.es_version
    if args.scaling_possible:
        values["scaling_possible"] = True
    if args.convergence_delay is not None:
        values["convergence_delay"] = args.convergence_delay
    if args.license is not None:
        values["license_type"] = args.license
    if args.security_privileges is not None:
        values["privileges"] = frozenset(p.strip() for p in args.security_privileges.split(",") if p.strip())
    if args.flavor is not None:
        values["flavor"] = args.flavor
    return ServerConfig(**values)


def _baseline(path: str | None) -> frozenset[str]:
    if path is None:
        return frozenset()
    try:
        return load_baseline(path)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _check_select(expression: str | None) -> None:
    if expression is None:
        return
    from conformance.rules.base import CATALOGUE
    from conformance.suite.runner import select_rules

    if not [p for p in expression.split(",") if p.strip()]:
        raise UsageError("--select needs at least one pattern")
    if not select_rules(CATALOGUE, expression):
        raise UsageError(f"--select {expression!r} matches no rule id or family")


def _check_profile(profile: str) -> None:
    if profile == "auto":
        return
    from conformance.context import Version
    from conformance.schemas import profile_names

    names = set(profile_names())
    if profile in names:
        return
    try:
        Version.parse(profile)
    except ValueError:
        raise UsageError(f"--profile must be auto, a version or one of: {', '.join(sorted(names))}") from None


@contextlib.contextmanager
def _target_url(config: TargetConfig, server_config: Any) -> Iterator[str]:
    if server_config is None:
        yield config.url
        return
    from conformance.reference.server import running_server

    with running_server(server_config) as url:
        yield url


def _preflight(
    config: TargetConfig, profile: str, budget: Budget, notify: Listener, *, allow_scaling: bool = False
) -> Context:
    """Fail fast, with one line, when the target cannot be read or lacks what a run needs
    (exit 3, one line per missing prerequisite); return what it is."""
    from conformance import preflight
    from conformance.discovery import discover
    from conformance.target import Target

    try:
        with Target(config, budget=budget) as target:
            ctx = discover(target, profile)
            left = cleaning.leftovers(target)
            if left:
                notify(Notice(f"{len(left)} object(s) of earlier runs on the target (e.g. {left[0]}): "
                              f"remove them with: {PROG} clean --target {config.url}"))
            missing = preflight.check(target, ctx)
            if missing:
                raise preflight.PreflightError(missing)
    except RunStopped:
        raise SetupError("the time budget was spent before discovery ended") from None
    ctx = dataclasses.replace(ctx, allow_scaling=allow_scaling)
    notice = preflight.scaling_notice(ctx)
    if notice is not None:
        notify(notice)
    return ctx


def _summary(results: Results, report: str) -> str:
    totals = ", ".join(f"{count} {outcome}" for outcome, count in sorted(results.totals().items()))
    judged = results.run.get("judged_exchanges")
    exchanges = f" over {judged} judged exchanges" if judged is not None else ""
    lines = [f"{PROG}: {len(results.rules)} rules{exchanges}: {totals}"]
    for result in results.failures():
        messages = (result.evidence or {}).get("messages") or ["failed"]
        known = " (known, baseline)" if result.baselined else ""
        lines.append(f"  FAIL [{result.level}] {result.id}{known}: {messages[0]}")
    if results.fixed_baseline:
        lines.append("  now passing (remove from the baseline): " + ", ".join(results.fixed_baseline))
    never = sum(1 for r in results.rules if r.outcome == NOT_EXERCISED)
    if never:
        lines.append(f"  {never} rule(s) not exercised")
    if results.unjudged:
        lines.append(f"  could not judge: {results.unjudged}")
    for hole in results.holes:
        lines.append(f"  incomplete: {hole}")
    lines.append(f"report: {report} (exit code {results.exit_code})")
    return "\n".join(lines)


# -- serve and selftest -----------------------------------------------------------------


def _serve(args: argparse.Namespace) -> int:
    from conformance.reference.server import serve

    serve(_server_config(args), args.host, args.port)
    return 0


COMMANDS_GROUP = "deployment_conformance.commands"
"""Entry-point group of commands that live with what they drive. ``selftest`` is declared there by
the package (``pyproject.toml``): it runs this CLI against every mutant, so the CLI finds it through
that registry instead of importing ``conformance.mutants``, and the two never import each other."""


def _selftest(argv: list[str]) -> int:
    found = entry_points(group=COMMANDS_GROUP, name="selftest")
    if not found:
        return _fail(EXIT_USAGE, f"error: selftest is not available (no 'selftest' entry point in {COMMANDS_GROUP}; "
                                 "reinstall the package)")
    command = next(iter(found)).load()
    return int(command(argv))


def _fail(code: int, message: str) -> int:
    print(f"{PROG}: {message}", file=sys.stderr)
    return code
