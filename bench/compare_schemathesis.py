"""Plain Schemathesis on the official OpenAPI extract vs. this suite, on the same servers.

Run by hand: ``.venv/bin/python bench/compare_schemathesis.py [--only a,b] [--max-examples N]``.

For the unmodified reference server and every mutant, it runs

- ``st run`` (Schemathesis' own CLI, every default check) against the official
  extract ``../shared/spec/es-openapi-update-deployment.json``, read from where it lies
  (never copied into the project), with the path parameter pinned (through a
  ``schemathesis.toml`` written to a scratch folder) to a deployment provisioned first,
  so the operation meets a real deployment rather than 404s;
- ``deployment-conformance run --target URL`` (this suite), through the selftest worker.

and prints a table: mutants caught, false failures (failures on the unmodified server)
and wall time of each tool. Numbers only; nothing here is asserted.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from conformance.discovery import discover
from conformance.mutants import REGISTRY
from conformance.mutants.selftest import DEFAULT_SEED, Settings, run_one
from conformance.mutants.worker import REFERENCE, target
from conformance.provisioning import Provisioner
from conformance.reference import running_server
from conformance.target import Target, TargetConfig

OFFICIAL_EXTRACT = Path(__file__).resolve().parents[2] / "shared" / "spec" / "es-openapi-update-deployment.json"
DEPLOYMENT_ID = "bench-primary"
FAILED_CHECK = re.compile(r"❌ ((?:ST\d+ )?[^:\n]+): \d+")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", help="comma-separated targets (default: reference and every mutant)")
    parser.add_argument("--max-examples", type=int, default=50, help="Schemathesis examples (default 50)")
    parser.add_argument("--suite-max-examples", type=int, default=10)
    parser.add_argument("--request-timeout", type=float, default=3.0)
    args = parser.parse_args(argv)
    if not OFFICIAL_EXTRACT.is_file():
        print(f"official extract not found: {OFFICIAL_EXTRACT}", file=sys.stderr)
        return 2
    names = args.only.split(",") if args.only else [REFERENCE, *REGISTRY]
    scratch = Path(tempfile.mkdtemp(prefix="dc-bench-"))
    rows = []
    try:
        settings = Settings(
            scratch / "suite", tuple(names), 1, args.suite_max_examples, DEFAULT_SEED, args.request_timeout
        )
        for name in names:
            st_checks, st_wall = schemathesis_run(name, scratch / "st" / name, args.max_examples, args.request_timeout)
            suite = run_one(name, settings)
            suite_failed = suite.verdict in ("caught", "FALSE FAILURE")
            rows.append((name, st_checks, st_wall, suite_failed, suite.wall_s))
            print(
                f"{name}: schemathesis {', '.join(st_checks) or 'pass'} {st_wall:.1f}s, "
                f"suite {'FAIL' if suite_failed else 'pass'} {suite.wall_s:.1f}s",
                file=sys.stderr,
                flush=True,
            )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(table(rows))
    return 0


def schemathesis_run(name: str, directory: Path, max_examples: int, request_timeout: float) -> tuple[list[str], float]:
    """``st run`` against ``name`` with a provisioned deployment pinned; (failed checks, wall seconds)."""
    directory.mkdir(parents=True, exist_ok=True)
    config_file = directory / "schemathesis.toml"
    config_file.write_text(f'[parameters]\n"path.model_id" = "{DEPLOYMENT_ID}"\n', encoding="utf-8")
    config, app = target(name)
    with running_server(config, app=app) as url:
        provision(url)
        command = [
            str(Path(sys.executable).with_name("st")),
            "--config-file",
            str(config_file),
            "run",
            str(OFFICIAL_EXTRACT),
            "--url",
            url,
            "--seed",
            str(DEFAULT_SEED),
            "--max-examples",
            str(max_examples),
            "--request-timeout",
            f"{request_timeout:g}",
            "--generation-deterministic",
            "--no-color",
            "--report-dir",
            str(directory),
        ]
        started = time.monotonic()
        finished = subprocess.run(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=directory, timeout=600
        )
        wall = time.monotonic() - started
    (directory / "output.log").write_text(finished.stdout, encoding="utf-8")
    failures = finished.stdout.partition("Failures:")[2]
    checks = sorted(set(FAILED_CHECK.findall(failures)))
    if finished.returncode != 0 and not checks:
        checks = [f"exit {finished.returncode}"]
    return checks, wall


def provision(url: str) -> None:
    """Upload the project's tiny model and start one deployment of it, as the suite does."""
    with Target(TargetConfig(url=url)) as access:
        ctx = discover(access, "auto")
        provisioner = Provisioner(access, "bench", ctx.version)
        provisioner.upload_model("bench-model")
        provisioner.start(
            "bench-model",
            deployment_id=DEPLOYMENT_ID,
            threads_per_allocation=1,
            number_of_allocations=1,
            priority="normal",
            adaptive_allocations=None,
            wait_for="started",
        )


def table(rows: list[tuple[str, list[str], float, bool, float]]) -> str:
    mutants = [row for row in rows if row[0] != REFERENCE]
    reference = [row for row in rows if row[0] == REFERENCE]
    lines = [
        "| target | schemathesis (official extract): failed checks | s | deployment-conformance | s |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, st_checks, st_wall, suite_failed, suite_wall in rows:
        suite_word = "fails" if suite_failed else "passes"
        lines.append(
            f"| {name} | {', '.join(st_checks) or 'passes'} | {st_wall:.1f} | {suite_word} | {suite_wall:.1f} |"
        )
    noise = set(reference[0][1]) if reference else set()
    distinct = sum(1 for r in mutants if set(r[1]) - noise)
    lines += [
        "",
        "mutants with a failure beyond schemathesis' own false failures on the unmodified server: "
        f"{distinct}/{len(mutants)}",
        f"mutants caught: schemathesis {sum(bool(r[1]) for r in mutants)}/{len(mutants)}, "
        f"deployment-conformance {sum(r[3] for r in mutants)}/{len(mutants)}",
        f"false failures on the unmodified server: schemathesis {sum(bool(r[1]) for r in reference)}, "
        f"deployment-conformance {sum(r[3] for r in reference)}",
        f"wall time: schemathesis {sum(r[2] for r in rows):.0f}s, deployment-conformance "
        f"{sum(r[4] for r in rows):.0f}s",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
