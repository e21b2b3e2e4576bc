"""The ``deployment-conformance`` command: ``run``, ``serve``, ``clean``, ``replay``,
``diff`` and ``selftest``.

``run`` checks its flags, reaches the target (or starts the embedded reference server),
runs the suite through :func:`conformance.suite.run_suite` in this process, writes the
reports and maps the results to an exit code (DESIGN "Command-line contract"): 0 every
applicable MUST rule judged and held, 1 a conformance failure, 2 a usage or
configuration error, 3 the run could not judge or its verdict has holes. Every error is
one line on stderr, never a usage dump; every output passes one redactor.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime
import json
import os
import secrets
import signal
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from importlib.metadata import entry_points
from typing import Any, NoReturn

from conformance import cleaning
from conformance.budget import CLEANUP_ALLOWANCE, Budget, RunStopped
from conformance.context import Context
from conformance.events import Listener, Notice, PhaseStarted
from conformance.results import (
    EXIT_UNJUDGED,
    EXIT_USAGE,
    apply_baseline,
    load_baseline,
)
from conformance.target import ConfigError, SetupError, TargetConfig, flags_of

PROG = "deployment-conformance"
DEFAULT_CONVERGENCE_TIMEOUT = 30.0


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
    from conformance.interrupts import INTERRUPTS, SIGNALS

    INTERRUPTS.reset()
    # From here on a signal ends the command with one line, not a traceback; the handlers
    # stay until the process ends, so a late second signal cannot kill it mid-exit.
    INTERRUPTS.install()
    from conformance.console import quiet_on_closed_pipe

    with quiet_on_closed_pipe():
        code = _main(argv)
    if argv is None:  # the process's own command: once its verdict is out, a late signal changes nothing
        for sig in SIGNALS:
            signal.signal(sig, signal.SIG_IGN)
    return code


def _main(argv: Sequence[str] | None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["selftest"]:
        return _selftest(argv[1:])
    try:
        args = build_parser().parse_args(argv)
        if args.command is None:
            raise UsageError("choose a command: run, serve, clean, replay, diff or selftest")
        code: int = args.handler(args)
        return code
    except UsageError as exc:
        return _fail(EXIT_USAGE, f"error: {exc}")
    except SetupError as exc:
        return _fail(EXIT_UNJUDGED, f"cannot judge the target: {exc}")
    except KeyboardInterrupt:
        return _fail(EXIT_UNJUDGED, "interrupted")


def build_parser() -> argparse.ArgumentParser:
    from conformance import __version__

    parser = _Parser(prog=PROG, description="Conformance suite for the trained-model deployment _update API.")
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    commands = parser.add_subparsers(dest="command", parser_class=_Parser)

    run = commands.add_parser("run", help="run the suite against a target (default: the embedded server)")
    _add_target_flags(run)
    run.add_argument(
        "--profile",
        default="auto",
        metavar="auto|VERSION",
        help="the version whose contract to judge by (default: what GET / reports)",
    )
    run.add_argument(
        "--report-dir",
        default="reports",
        metavar="DIR",
        help="where results.json, junit.xml and report.html go (default: reports)",
    )
    run.add_argument(
        "--seed",
        type=_natural("--seed", allow_zero=True),
        default=None,
        metavar="N",
        help="seed for generated traffic, to repeat a run (default: random, printed in the report)",
    )
    run.add_argument(
        "--max-examples",
        type=_natural("--max-examples"),
        default=25,
        metavar="N",
        help="examples per generated test (default: 25)",
    )
    run.add_argument(
        "--deployment-id",
        metavar="ID",
        help="adopt this existing deployment instead of creating one; its settings are restored",
    )
    run.add_argument(
        "--select", metavar="EXPR", help="comma-separated globs of rule ids or families, e.g. 'errors.*,capacity'"
    )
    run.add_argument(
        "--workers",
        type=_natural("--workers"),
        default=1,
        metavar="N",
        help="run the traffic in N pytest-xdist processes (default: 1)",
    )
    run.add_argument("--baseline", metavar="FILE", help="JSON list of rule ids known to fail: they do not fail the run")
    run.add_argument(
        "--request-timeout",
        type=_seconds("--request-timeout"),
        default=None,
        metavar="S",
        help="a request slower than this is judged indeterminate",
    )
    run.add_argument(
        "--time-budget",
        type=_seconds("--time-budget"),
        default=None,
        metavar="S",
        help="bound the whole run, wall clock: traffic stops when it is spent, clean-up "
        f"gets {CLEANUP_ALLOWANCE:g}s more, and the verdict says it is incomplete",
    )
    run.add_argument(
        "--convergence-timeout",
        type=_seconds("--convergence-timeout"),
        default=DEFAULT_CONVERGENCE_TIMEOUT,
        metavar="S",
        help="the longest any one wait for the target to converge may take; waits are "
        "shorter once the target has shown how fast it is "
        f"(default: {DEFAULT_CONVERGENCE_TIMEOUT:g})",
    )
    run.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="show pytest's own output (always written to pytest.log in the report folder)",
    )
    run.add_argument(
        "--allow-scaling",
        action="store_true",
        help="send updates beyond capacity to a target that can scale (they may add ML nodes, and cost)",
    )
    _add_server_flags(run, embedded_only=True)
    run.set_defaults(handler=_run)

    serve = commands.add_parser("serve", help="serve the reference server (blocking)")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    serve.add_argument(
        "--port",
        type=_natural("--port", allow_zero=True),
        default=9200,
        help="port to bind, 0 for a free one (default: 9200)",
    )
    _add_server_flags(serve, embedded_only=False)
    serve.set_defaults(handler=_serve)

    replay = commands.add_parser("replay", help="set up, send and judge again one recorded failing exchange")
    replay.add_argument("report_dir", metavar="REPORT_DIR")
    replay.add_argument("--rule", required=True, metavar="ID", help="the rule whose recorded exchange to replay")
    replay.add_argument(
        "--exchange",
        type=_natural("--exchange"),
        default=1,
        metavar="N",
        help="which of the rule's kept exchanges (default: 1)",
    )
    replay.add_argument(
        "--target",
        metavar="URL",
        help="where to replay (default: the run's target, or a new embedded server like the run's)",
    )
    _add_access_flags(replay)
    replay.add_argument(
        "--request-timeout",
        type=_seconds("--request-timeout"),
        default=None,
        metavar="S",
        help="a request slower than this is judged indeterminate",
    )
    replay.set_defaults(handler=_replay)

    diff = commands.add_parser("diff", help="rules that started or stopped failing between two report folders")
    diff.add_argument("old", metavar="OLD_REPORT_DIR")
    diff.add_argument("new", metavar="NEW_REPORT_DIR")
    diff.set_defaults(handler=_diff)

    commands.add_parser("selftest", help="run the suite against every mutant", add_help=False)
    clean = commands.add_parser("clean", help="remove what earlier (killed) runs left on a target")
    _add_target_flags(clean)
    clean.add_argument("--run-id", metavar="ID", help="only the objects of this run (default: of every run)")
    clean.add_argument("--dry-run", action="store_true", help="list what would be removed; remove nothing")
    clean.set_defaults(handler=_clean, request_timeout=None)
    return parser


def _add_target_flags(parser: argparse.ArgumentParser) -> None:
    """Where the target is and how to reach it: the same flags for ``run`` and ``clean``."""
    parser.add_argument(
        "--target", metavar="URL", help="the server (default: DC_TARGET; run: else the embedded reference server)"
    )
    _add_access_flags(parser)


def _add_access_flags(parser: argparse.ArgumentParser) -> None:
    """How to authenticate and trust TLS (``run``, ``clean`` and ``replay``)."""
    auth = parser.add_mutually_exclusive_group()
    auth.add_argument("--api-key", metavar="KEY", help="send Authorization: ApiKey KEY (or DC_API_KEY)")
    auth.add_argument("--user", help="basic auth user, with --password (or DC_USER, DC_PASSWORD)")
    auth.add_argument("--bearer-token", metavar="TOKEN", help="send Authorization: Bearer TOKEN (or DC_BEARER_TOKEN)")
    parser.add_argument("--password", help="basic auth password")
    parser.add_argument(
        "--api-key-file", metavar="FILE", help="read the API key from FILE (kept out of ps and history)"
    )
    parser.add_argument("--password-file", metavar="FILE", help="read the basic auth password from FILE")
    parser.add_argument("--bearer-token-file", metavar="FILE", help="read the bearer token from FILE")
    parser.add_argument("--ca-cert", metavar="FILE", help="trust this CA certificate (PEM)")
    parser.add_argument("--insecure", action="store_true", default=None, help="do not verify TLS certificates")


def _add_server_flags(parser: argparse.ArgumentParser, *, embedded_only: bool) -> None:
    parser.add_argument(
        "--nodes", metavar="ID:PROCS[,...]", help="ML nodes and their allocated processors (default: ml-0:4,ml-1:4)"
    )
    parser.add_argument(
        "--es-version", metavar="VERSION", help="the Elasticsearch version to behave as (default: 9.3.0)"
    )
    parser.add_argument(
        "--scaling-possible",
        action="store_true",
        default=None,
        help="answer an increase beyond capacity with a partial assignment, not 429",
    )
    parser.add_argument(
        "--convergence-delay",
        type=_seconds("--convergence-delay", allow_zero=True),
        default=None,
        metavar="S",
        help="seconds before routes start and allocations converge (default: 0)",
    )
    parser.add_argument(
        "--license",
        choices=("basic", "trial", "platinum", "enterprise"),
        default=None,
        help="the licence GET _license reports (default: trial)",
    )
    parser.add_argument(
        "--security-privileges",
        metavar="P[,P...]",
        default=None,
        help="turn security on; the user holds these cluster privileges (default: security off)",
    )
    parser.add_argument(
        "--flavor",
        choices=("default", "serverless"),
        default=None,
        help="the build flavour GET / reports; serverless answers GET _nodes with an error (default: default)",
    )
    parser.set_defaults(embedded_only=embedded_only)


def _natural(flag: str, *, allow_zero: bool = False) -> Callable[[str], int]:
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


def _seconds(flag: str, *, allow_zero: bool = False) -> Callable[[str], float]:
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
    from conformance.console import Console, pytest_output, summary
    from conformance.discovery import newer_than_known
    from conformance.report import write_reports
    from conformance.suite import RunSettings, run_suite

    config = _target_config(args)
    server_config = _server_config(args) if args.target is None and not os.environ.get("DC_TARGET") else None
    if server_config is None and _server_flags_given(args):
        raise UsageError(
            "--es-version, --nodes, --scaling-possible, --convergence-delay, --license, "
            "--security-privileges and --flavor need the embedded target (no --target)"
        )
    baseline = _baseline(args.baseline)
    _check_select(args.select)
    _check_profile(args.profile)
    _check_report_dir(args.report_dir)
    if args.deployment_id is not None and args.workers > 1:
        raise UsageError("--deployment-id needs --workers 1: every worker would drive the one adopted deployment")
    run_id = f"dc-{secrets.token_hex(3)}"
    seed = args.seed if args.seed is not None else secrets.randbelow(2**31)
    started = _now()
    scrub = redactor_of(config)
    console = Console(sys.stdout, scrub)
    log_file = os.path.join(args.report_dir, "pytest.log")
    budget = Budget.of(args.time_budget)
    try:
        with _target_url(config, server_config) as url:
            config = dataclasses.replace(config, url=url)
            console(PhaseStarted("discovery", url))
            try:
                ctx = _preflight(config, args.profile, budget, console, allow_scaling=args.allow_scaling)
            except SetupError as exc:
                _write_unjudged(str(exc), args, {"target": url, "run_id": run_id, "seed": seed}, started, scrub)
                raise
            if (warning := newer_than_known(ctx.reported_version)) is not None:
                console(Notice(f"warning: {warning}"))
            settings = RunSettings(
                target=config,
                run_id=run_id,
                profile=args.profile,
                seed=seed,
                max_examples=args.max_examples,
                select=args.select,
                deployment_id=args.deployment_id,
                context=ctx,
                workers=args.workers,
                time_budget=args.time_budget,
                convergence_timeout=args.convergence_timeout,
            )
            with pytest_output(log_file, scrub, echo=sys.stdout if args.verbose else None):
                results = run_suite(settings, console, verbose=args.verbose, budget=budget)
        console(PhaseStarted("reports", args.report_dir))
    except SetupError as exc:  # its message may quote what the target answered
        raise SetupError(scrub(str(exc))) from None
    finally:
        console.close()
    results = apply_baseline(results, baseline)
    results = dataclasses.replace(
        results, started_at=started, ended_at=_now(), run={**results.run, **_rerun_facts(args, server_config)}
    )
    write_reports(results, args.report_dir, scrub)
    print(scrub(summary(results, args.report_dir, log_file=log_file)))
    return results.exit_code


def redactor_of(config: TargetConfig) -> Any:
    """The run's one redactor: every output (reports, console, log, replay) passes it."""
    from conformance.redaction import Redactor

    return Redactor.for_credentials(
        api_key=config.api_key, user=config.user, password=config.password, bearer_token=config.bearer_token
    )


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds")


def _rerun_facts(args: argparse.Namespace, server_config: Any) -> dict[str, Any]:
    """What the reports need to print a command that repeats this run (never a credential)."""
    flags: list[str] = []
    if server_config is not None:
        flags += [
            f
            for flag, value in (
                ("--es-version", args.es_version),
                ("--nodes", args.nodes),
                ("--convergence-delay", args.convergence_delay),
            )
            if value is not None
            for f in (flag, str(value))
        ]
        flags += ["--scaling-possible"] if args.scaling_possible else []
    if args.profile != "auto":
        flags += ["--profile", args.profile]
    if args.deployment_id:
        flags += ["--deployment-id", args.deployment_id]
    flags += ["--max-examples", str(args.max_examples)]
    return {"embedded": server_config is not None, "rerun_args": flags}


def _write_unjudged(why: str, args: argparse.Namespace, run: dict[str, Any], started: str, scrub: Any) -> None:
    """Reports of a run that could not start judging (the pre-flight failed): CI still
    finds a junit.xml that says why."""
    from conformance.report import write_reports
    from conformance.results import Tally, build_results
    from conformance.rules.base import CATALOGUE

    results = build_results(
        CATALOGUE, None, Tally(), unjudged=why, run={**run, "profile": args.profile, "max_examples": args.max_examples}
    )
    write_reports(dataclasses.replace(results, started_at=started, ended_at=_now()), args.report_dir, scrub)


def _target_config(args: argparse.Namespace) -> TargetConfig:
    for name in ("api_key", "password", "bearer_token"):
        path = getattr(args, f"{name}_file")
        if path is None:
            continue
        flag = "--" + name.replace("_", "-")
        if getattr(args, name) is not None:
            raise UsageError(f"{flag} and {flag}-file exclude each other")
        try:
            with open(path, encoding="utf-8") as handle:
                setattr(args, name, handle.read().strip())
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"{flag}-file unreadable: {path}: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        return TargetConfig.from_sources(flags_of(args))
    except ConfigError as exc:
        raise UsageError(str(exc)) from None


def _server_flags_given(args: argparse.Namespace) -> bool:
    return any(
        v is not None
        for v in (
            args.nodes,
            args.es_version,
            args.scaling_possible,
            args.convergence_delay,
            args.license,
            args.security_privileges,
            args.flavor,
        )
    )


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
    from conformance.rules.base import CATALOGUE

    try:
        listed = load_baseline(path)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    unknown = sorted(listed - {rule_.id for rule_ in CATALOGUE})
    if unknown:
        raise UsageError(f"--baseline names unknown rule id(s): {', '.join(unknown)} ({path})")
    return listed


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
    """``auto``, a profile's name, or a version within the profiles' range (8.6.0 up to the
    newest profile's minor release): a contract the suite does not know is no contract."""
    if profile == "auto":
        return
    from conformance.context import Version
    from conformance.schemas import profile_names

    names = profile_names()
    if profile in names:
        return
    oldest, newest = Version.parse(names[0]), Version.parse(names[-1])
    try:
        wanted = Version.parse(profile)
    except ValueError:
        wanted = None
    if wanted is None or wanted < oldest or (wanted.major, wanted.minor) > (newest.major, newest.minor):
        raise UsageError(
            f"unknown --profile {profile!r}: use auto, one of {', '.join(names)}, "
            f"or a version from {oldest} to {newest.major}.{newest.minor}.x"
        )


def _check_report_dir(directory: str) -> None:
    """The reports must be writable before any traffic is sent, not after the run."""
    try:
        os.makedirs(directory, exist_ok=True)
        with tempfile.TemporaryFile(dir=directory):
            pass
    except OSError as exc:
        raise UsageError(f"--report-dir {directory} is not writable: {exc.strerror or exc}") from None


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
                notify(
                    Notice(
                        f"{len(left)} object(s) of earlier runs on the target (e.g. {left[0]}): "
                        f"remove them with: {PROG} clean --target {config.url}"
                    )
                )
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


def _clean(args: argparse.Namespace) -> int:
    """``clean``: only ids with the suite's prefix, on a target named explicitly."""
    if args.target is None and not os.environ.get("DC_TARGET"):
        raise UsageError("clean needs --target URL (or DC_TARGET): it never guesses which cluster to clean")
    if args.run_id is not None and not cleaning.RUN_ID.fullmatch(args.run_id):
        raise UsageError(f"--run-id must look like dc-1a2b3c (a run id as run prints it), got {args.run_id!r}")
    return cleaning.clean(_target_config(args), args.run_id, dry_run=args.dry_run)


# -- replay, diff, serve and selftest ---------------------------------------------------


def _replay(args: argparse.Namespace) -> int:
    from conformance import replay

    try:
        recorded = replay.load(args.report_dir, args.rule, args.exchange)
    except replay.ReplayError as exc:
        raise UsageError(str(exc)) from None
    run = _recorded_run(args.report_dir)
    if args.target is None and not run.get("embedded") and run.get("target"):
        args.target = run["target"]
    config = _target_config(args)
    scrub = redactor_of(config)
    server_config = None
    if args.target is None and run.get("embedded"):
        server_config = _embedded_like(run)
    try:
        with _target_url(config, server_config) as url:
            done = replay.replay(recorded, dataclasses.replace(config, url=url))
    except SetupError as exc:
        raise SetupError(scrub(str(exc))) from None
    written = os.path.join(args.report_dir, f"replay-{args.rule}.json")
    with open(written, "w", encoding="utf-8") as handle:
        handle.write(
            scrub(
                json.dumps(
                    {"target": url, "reproduced": done.reproduced, "exchange": done.record},
                    indent=2,
                    ensure_ascii=False,
                )
            )
            + "\n"
        )
    print(scrub(f"{done.describe()}\n  against {url}; the replayed exchange: {written}"))
    return done.exit_code


def _recorded_run(report_dir: str) -> dict[str, Any]:
    with open(os.path.join(report_dir, "results.json"), encoding="utf-8") as handle:
        return dict(json.load(handle).get("run") or {})


def _embedded_like(run: dict[str, Any]) -> Any:
    """An embedded server configured as the recorded run's was (its ``rerun_args``)."""
    parser = _Parser(add_help=False)
    _add_server_flags(parser, embedded_only=True)
    known, _ = parser.parse_known_args([str(a) for a in run.get("rerun_args") or ()])
    return _server_config(known)


def _diff(args: argparse.Namespace) -> int:
    from conformance import diff

    try:
        found = diff.compare(diff.load(args.old), diff.load(args.new))
    except diff.ReportError as exc:
        raise UsageError(str(exc)) from None
    print(diff.render(found, args.old, args.new))
    return found.exit_code


def _serve(args: argparse.Namespace) -> int:
    from conformance.reference.server import serve

    config = _server_config(args)
    nodes = ", ".join(f"{n.id} ({n.allocated_processors:g} processors)" for n in config.nodes)
    scaling = "; scales up instead of 429" if config.scaling_possible else ""

    def announce(url: str) -> None:
        print(
            f"{PROG}: reference server listening on {url}, behaving as Elasticsearch {config.es_version} "
            f"with ML nodes {nodes}{scaling} (Ctrl-C stops it)",
            flush=True,
        )

    try:
        serve(config, args.host, args.port, on_ready=announce)
    except OSError as exc:
        raise UsageError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from None
    return 0


COMMANDS_GROUP = "deployment_conformance.commands"
"""Entry-point group of commands that live with what they drive. ``selftest`` is declared there by
the package (``pyproject.toml``): it runs this CLI against every mutant, so the CLI finds it through
that registry instead of importing ``conformance.mutants``, and the two never import each other."""


def _selftest(argv: list[str]) -> int:
    found = entry_points(group=COMMANDS_GROUP, name="selftest")
    if not found:
        return _fail(
            EXIT_USAGE,
            f"error: selftest is not available (no 'selftest' entry point in {COMMANDS_GROUP}; reinstall the package)",
        )
    command = next(iter(found)).load()
    return int(command(argv))


def _fail(code: int, message: str) -> int:
    print(f"{PROG}: {message}", file=sys.stderr)
    return code
