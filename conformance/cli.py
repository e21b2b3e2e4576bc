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
import importlib
import json
import os
import secrets
import sys
import tempfile
from typing import Any, Iterator, NoReturn, Sequence

from conformance import cleaning
from conformance.results import (
    EXIT_UNJUDGED,
    EXIT_USAGE,
    NOT_EXERCISED,
    Results,
    apply_baseline,
    load_baseline,
    results_from_dict,
)
from conformance.context import Context
from conformance.target import ENV_NAMES, SECRET_FIELDS, ConfigError, SetupError, TargetConfig, flags_of

PROG = "deployment-conformance"
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
                     help="stop with exit code 3 when the run takes longer")
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
    from conformance.provisioning import install_interrupt_handlers
    from conformance.report import scrubber, write_reports

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
    install_interrupt_handlers()
    run_id = f"dc-{secrets.token_hex(3)}"
    seed = args.seed if args.seed is not None else secrets.randbelow(2**31)
    with _target_url(config, server_config) as url:
        config = dataclasses.replace(config, url=url)
        ctx = _preflight(config, args.profile, allow_scaling=args.allow_scaling)
        with tempfile.TemporaryDirectory(prefix="dc-") as scratch, _session_environment(config, ctx):
            results_file = os.path.join(scratch, "results.json")
            status = _pytest(_pytest_args(args, url, run_id, seed, results_file))
            results = _read_results(results_file, status)
    results = apply_baseline(results, baseline)
    scrub = scrubber(config.secrets())
    written = write_reports(results, args.report_dir, scrub)
    print(scrub(_summary(results, written["report.html"])))
    return results.exit_code


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


def _preflight(config: TargetConfig, profile: str, *, allow_scaling: bool = False) -> Context:
    """Fail fast, with one line, when the target cannot be read or lacks what a run needs
    (exit 3, one line per missing prerequisite); return what it is."""
    from conformance import preflight
    from conformance.discovery import discover
    from conformance.target import Target

    with Target(config) as target:
        ctx = discover(target, profile)
        left = cleaning.leftovers(target)
        if left:
            print(f"{PROG}: {len(left)} object(s) of earlier runs on the target (e.g. {left[0]}): "
                  f"remove them with: {PROG} clean --target {config.url}", file=sys.stderr)
        missing = preflight.check(target, ctx)
        if missing:
            raise preflight.PreflightError(missing)
    ctx = dataclasses.replace(ctx, allow_scaling=allow_scaling)
    notice = preflight.scaling_notice(ctx)
    if notice is not None:
        print(f"{PROG}: {notice.text}", file=sys.stderr)
    return ctx


@contextlib.contextmanager
def _session_environment(config: TargetConfig, ctx: Context) -> Iterator[None]:
    """Hand credentials and the discovered context to the pytest session (and its xdist
    workers) through the environment: secrets stay out of argument lists, and the
    session need not discover the target a second time."""
    from conformance.discovery import CONTEXT_ENV, context_to_dict

    values = {env: getattr(config, name) for name, env in SECRET_ENV.items() if getattr(config, name)}
    if config.user is not None:
        values["DC_USER"] = config.user
    if config.ca_cert is not None:
        values["DC_CA_CERT"] = config.ca_cert
    values[CONTEXT_ENV] = json.dumps(context_to_dict(ctx))
    previous = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _pytest_args(args: argparse.Namespace, url: str, run_id: str, seed: int, results_file: str) -> list[str]:
    plain = not sys.stdout.isatty() or bool(os.environ.get("CI"))
    argv = ["--pyargs", "conformance.suite", "-p", "no:cacheprovider",
            "--target", url, "--run-id", run_id, "--seed", str(seed), "--hypothesis-seed", str(seed),
            "--max-examples", str(args.max_examples), "--profile", args.profile,
            "--results-file", results_file,
            # The CLI has imported anyio (uvicorn) before pytest starts: harmless, but noisy.
            "-W", "ignore::pytest.PytestAssertRewriteWarning"]
    argv += ["-v", "--color=no"] if plain else ["-q"]
    optional = {"--select": args.select, "--deployment-id": args.deployment_id,
                "--request-timeout": args.request_timeout, "--time-budget": args.time_budget}
    for flag, value in optional.items():
        if value is not None:
            argv += [flag, str(value)]
    if args.insecure:
        argv.append("--insecure")
    if args.workers > 1:
        argv += ["-n", str(args.workers)]
    return argv


def _pytest(argv: list[str]) -> int:
    import pytest

    return int(pytest.main(argv))


def _read_results(path: str, pytest_status: int) -> Results:
    try:
        with open(path, encoding="utf-8") as handle:
            return results_from_dict(json.load(handle))
    except (OSError, ValueError):
        raise SetupError(f"the suite produced no results (pytest exit status {pytest_status})") from None


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
    lines.append(f"report: {report} (exit code {results.exit_code})")
    return "\n".join(lines)


# -- serve and selftest -----------------------------------------------------------------


def _serve(args: argparse.Namespace) -> int:
    from conformance.reference.server import serve

    serve(_server_config(args), args.host, args.port)
    return 0


def _selftest(argv: list[str]) -> int:
    try:
        module = importlib.import_module("conformance.mutants.selftest")
    except ModuleNotFoundError:
        return _fail(EXIT_USAGE, "error: selftest is not available (conformance.mutants.selftest is missing)")
    return int(module.main(argv))


def _fail(code: int, message: str) -> int:
    print(f"{PROG}: {message}", file=sys.stderr)
    return code
