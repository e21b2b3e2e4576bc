"""``deployment-conformance selftest``: the suite proves its power on the mutants.

The suite runs against the unmodified reference server (it must pass: exchanges judged,
no rule failed or errored) and against every mutant (each must be caught: a rule fails,
or the run refuses to judge; a run that crashes catches nothing). Each target is served
and judged in a process of its own (:mod:`conformance.mutants.worker`), two at a time by
default, with a fixed seed so that two selftests give the same table. A short request timeout makes
the mutant that never answers end its run instead of hanging it.

Writes ``selftest.json`` and ``selftest.md`` under ``--report-dir`` (each target's own
reports and pytest output go in a sub-folder named after it). Exit code 0 when the
reference passed and every mutant was caught, 1 otherwise, 2 for a bad flag.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, NoReturn

from conformance.mutants.base import REGISTRY, UNJUDGED
from conformance.mutants.worker import REFERENCE
from conformance.results import EXIT_UNJUDGED, NOT_EXERCISED
from conformance.rules.base import Outcome

DEFAULT_SEED = 20240601
DEFAULT_MAX_EXAMPLES = 10
DEFAULT_REQUEST_TIMEOUT = 3.0
DEFAULT_TIME_BUDGET = 40.0  # each target's run; clean-up comes on top (a few seconds here)
DEFAULT_CONVERGENCE_TIMEOUT = 10.0  # the embedded servers converge in milliseconds
WALL_LIMIT = 120.0  # a run that takes longer is killed and counted as hung: the suite must end by itself


@dataclass(frozen=True)
class Settings:
    report_dir: Path
    names: tuple[str, ...]
    jobs: int
    max_examples: int
    seed: int
    request_timeout: float


@dataclass
class SelftestRun:
    """What one suite run against one target showed."""

    name: str
    family: str
    expects: str
    exit_code: int | None  # None: killed at the wall limit
    failed_rules: list[str] = field(default_factory=list)  # "rule.id (MUST)"
    errored_rules: list[str] = field(default_factory=list)  # rules whose check raised: "rule.id (MUST)"
    not_exercised: list[str] = field(default_factory=list)  # rule ids no exchange reached
    judged_exchanges: int = 0
    unjudged: str | None = None
    first_failure_s: float | None = None
    wall_s: float = 0.0

    @property
    def is_reference(self) -> bool:
        return self.name == REFERENCE

    @property
    def verdict(self) -> str:
        """Only a failed rule or a refusal to judge catches a mutant: a run that crashed
        (exit 1 without a failed rule, exit 2) proves nothing, nor does a reference run
        that judged nothing or whose checks raised."""
        if self.exit_code is None:
            return "hung"
        if self.is_reference:
            clean = self.exit_code == 0 and not self.failed_rules and not self.errored_rules
            return "pass" if clean and self.judged_exchanges > 0 else "FALSE FAILURE"
        if self.failed_rules or self.exit_code == EXIT_UNJUDGED:
            return "caught"
        return "SURVIVED" if self.exit_code == 0 else "CRASHED"

    @property
    def ok(self) -> bool:
        return self.verdict in ("pass", "caught")

    @property
    def expected_seen(self) -> bool:
        if self.expects == UNJUDGED:
            return self.exit_code == EXIT_UNJUDGED
        return any(rule.split(" ", 1)[0] == self.expects for rule in self.failed_rules)


def main(argv: list[str]) -> int:
    try:
        settings = _parse(argv)
    except ValueError as exc:
        print(f"deployment-conformance selftest: error: {exc}", file=sys.stderr)
        return 2
    started = time.monotonic()
    outcomes = run_all(settings)
    elapsed = time.monotonic() - started
    table = markdown(outcomes, settings, elapsed)
    settings.report_dir.mkdir(parents=True, exist_ok=True)
    (settings.report_dir / "selftest.md").write_text(table, encoding="utf-8")
    (settings.report_dir / "selftest.json").write_text(
        json.dumps(as_json(outcomes, settings, elapsed), indent=2), encoding="utf-8"
    )
    print(table)
    return 0 if all(outcome.ok for outcome in outcomes) else 1


def _parse(argv: Sequence[str]) -> Settings:
    import conformance.mutants  # noqa: F401 - registers every mutant

    parser = _Parser(
        prog="deployment-conformance selftest",
        description="Run the suite against the reference server and every mutant.",
    )
    parser.add_argument(
        "--report-dir",
        default="reports/selftest",
        metavar="DIR",
        help="where selftest.md, selftest.json and each target's reports go (default: reports/selftest)",
    )
    parser.add_argument("--only", metavar="NAMES", help="comma-separated target names (mutants, or 'reference')")
    parser.add_argument("--jobs", type=int, default=2, metavar="N", help="targets judged at once (default: 2)")
    parser.add_argument(
        "--max-examples",
        type=int,
        default=DEFAULT_MAX_EXAMPLES,
        metavar="N",
        help=f"examples per generated test (default: {DEFAULT_MAX_EXAMPLES})",
    )
    parser.add_argument(
        "--seed", type=int, default=DEFAULT_SEED, metavar="N", help=f"seed of every run (default: {DEFAULT_SEED})"
    )
    parser.add_argument(
        "--request-timeout",
        type=float,
        default=DEFAULT_REQUEST_TIMEOUT,
        metavar="S",
        help=f"seconds before a request is indeterminate (default: {DEFAULT_REQUEST_TIMEOUT:g})",
    )
    args = parser.parse_args(list(argv))
    if args.jobs < 1 or args.max_examples < 1 or args.seed < 0 or not args.request_timeout > 0:
        raise ValueError("--jobs, --max-examples and --request-timeout must be positive, --seed non-negative")
    known = (REFERENCE, *REGISTRY)
    names = tuple(known) if args.only is None else tuple(n.strip() for n in args.only.split(",") if n.strip())
    unknown = [name for name in names if name not in known]
    if unknown or not names:
        raise ValueError(f"--only: unknown target(s) {', '.join(unknown) or '(none given)'}; known: {', '.join(known)}")
    return Settings(Path(args.report_dir), names, args.jobs, args.max_examples, args.seed, args.request_timeout)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise ValueError(message)


def run_all(settings: Settings) -> list[SelftestRun]:
    """Every target's outcome, in the order asked for (runs go ``jobs`` at a time)."""
    done: list[str] = []
    lock = threading.Lock()

    def judged(name: str) -> SelftestRun:
        outcome = run_one(name, settings)
        with lock:  # one line per target as it ends: a long selftest is never silent
            done.append(name)
            exit_code = "killed" if outcome.exit_code is None else outcome.exit_code
            print(
                f"selftest [{len(done)}/{len(settings.names)}] {name}: {outcome.verdict} "
                f"(exit {exit_code}, {outcome.wall_s:g}s)",
                file=sys.stderr,
                flush=True,
            )
        return outcome

    with ThreadPoolExecutor(max_workers=settings.jobs) as pool:
        return list(pool.map(judged, settings.names))


def run_one(name: str, settings: Settings) -> SelftestRun:
    """Serve ``name`` and run the suite against it in a subprocess; read its results."""
    mutant = REGISTRY.get(name)
    outcome = SelftestRun(name, mutant.family if mutant else "-", mutant.expects if mutant else "(must pass)", None)
    directory = settings.report_dir / name
    directory.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable,
        "-m",
        "conformance.mutants.worker",
        name,
        "--report-dir",
        str(directory),
        "--seed",
        str(settings.seed),
        "--max-examples",
        str(settings.max_examples),
        "--request-timeout",
        f"{settings.request_timeout:g}",
        "--time-budget",
        f"{DEFAULT_TIME_BUDGET:g}",
        "--convergence-timeout",
        f"{DEFAULT_CONVERGENCE_TIMEOUT:g}",
    ]
    environment = {**os.environ, "PYTHONHASHSEED": "0", "CI": "1"}
    started = time.monotonic()
    started_wall = time.time()
    with (
        open(directory / "output.log", "w", encoding="utf-8") as log,
        subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=environment,
        ) as process,
    ):
        watchdog = threading.Timer(WALL_LIMIT, process.kill)
        watchdog.start()
        try:
            assert process.stdout is not None, "started with stdout=PIPE"
            for line in process.stdout:
                log.write(line)
            code = process.wait()
        finally:
            watchdog.cancel()
        outcome.exit_code = None if code < 0 else code
    outcome.wall_s = round(time.monotonic() - started, 1)
    _read_results(directory / "results.json", outcome, started_wall)
    print(f"selftest: {name}: {outcome.verdict} in {outcome.wall_s:g}s", file=sys.stderr, flush=True)
    return outcome


def _read_results(path: Path, outcome: SelftestRun, started_wall: float) -> None:
    try:
        results = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        outcome.unjudged = outcome.unjudged or "no results.json was written"
        return
    rules = results.get("rules", [])
    outcome.failed_rules = [f"{rule['id']} ({rule['level']})" for rule in rules if rule.get("outcome") == Outcome.FAIL]
    outcome.errored_rules = [
        f"{rule['id']} ({rule['level']})" for rule in rules if rule.get("outcome") == Outcome.ERROR
    ]
    outcome.not_exercised = [rule["id"] for rule in rules if rule.get("outcome") == NOT_EXERCISED]
    run = results.get("run", {})
    outcome.judged_exchanges = int(run.get("judged_exchanges") or 0)
    if run.get("first_failure_at"):
        outcome.first_failure_s = round(max(run["first_failure_at"] - started_wall, 0.0), 1)
    outcome.unjudged = results.get("unjudged")


# -- reports ----------------------------------------------------------------------------


def markdown(outcomes: list[SelftestRun], settings: Settings, elapsed: float) -> str:
    mutants = [o for o in outcomes if not o.is_reference]
    caught = sum(1 for o in mutants if o.verdict == "caught")
    expected = sum(1 for o in mutants if o.expected_seen)
    walls = sorted(o.wall_s for o in outcomes)
    firsts = sorted(o.first_failure_s for o in mutants if o.first_failure_s is not None)
    lines = [
        "# deployment-conformance selftest",
        "",
        f"seed {settings.seed}, max-examples {settings.max_examples}, request timeout {settings.request_timeout:g}s, "
        f"{settings.jobs} job(s), wall time {elapsed:.0f}s",
        "",
        f"Time to verdict per target: median {statistics.median(walls):g}s, max {walls[-1]:g}s; "
        f"time to first failure: median {statistics.median(firsts) if firsts else 0:g}s, "
        f"max {firsts[-1] if firsts else 0:g}s.",
        "",
        f"**{caught}/{len(mutants)} mutants caught**, expected rule among the failures for {expected}/{len(mutants)}.",
        "",
        "| target | family | verdict | exit | expected rule | seen | failed rules / unjudged | first failure s | wall "
        "s |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for o in outcomes:
        seen = "-" if o.is_reference else ("yes" if o.expected_seen else "no")
        found = "; ".join(_findings(o))
        first = "-" if o.first_failure_s is None else f"{o.first_failure_s:g}"
        exit_code = "killed" if o.exit_code is None else str(o.exit_code)
        lines.append(
            f"| {o.name} | {o.family} | {o.verdict} | {exit_code} | {o.expects} | {seen} | "
            f"{found.replace('|', '/')} | {first} | {o.wall_s:g} |"
        )
    return "\n".join(lines) + "\n"


def _findings(o: SelftestRun) -> list[str]:
    """What the "failed rules / unjudged" cell says, including why a reference run did not pass."""
    found = [", ".join(o.failed_rules)] if o.failed_rules else []
    if o.errored_rules:
        found.append(f"errored: {', '.join(o.errored_rules)}")
    if o.unjudged:
        found.append(f"unjudged: {o.unjudged}")
    elif o.is_reference and o.judged_exchanges == 0:
        found.append("no exchange judged")
    return found


def as_json(outcomes: list[SelftestRun], settings: Settings, elapsed: float) -> dict[str, Any]:
    return {
        "settings": {
            "seed": settings.seed,
            "max_examples": settings.max_examples,
            "jobs": settings.jobs,
            "request_timeout": settings.request_timeout,
            "time_budget": DEFAULT_TIME_BUDGET,
            "convergence_timeout": DEFAULT_CONVERGENCE_TIMEOUT,
        },
        "wall_s": round(elapsed, 1),
        "ok": all(o.ok for o in outcomes),
        "targets": [{**asdict(o), "verdict": o.verdict, "expected_seen": o.expected_seen} for o in outcomes],
    }
