"""Shared fixtures of the runtime tests: the reference server as a subprocess, and real
CLI runs against a mutant and the reference server whose reports several tests read."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from runtime_helpers import PYTHON, cli_env, free_port, wait_until

from conformance.report.json_report import validate_results


@pytest.fixture
def served(request: pytest.FixtureRequest) -> Iterator[str]:
    """``deployment-conformance serve`` as a subprocess; yields its URL (args via indirect params)."""
    port = free_port()
    extra = list(getattr(request, "param", ()))
    process = subprocess.Popen(
        [PYTHON, "-m", "conformance", "serve", "--port", str(port), *extra],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=cli_env(),
    )
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return httpx.get(url + "/").status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_until(up, what="the reference server to answer")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


@dataclass(frozen=True)
class SavedRun:
    """One real CLI run (``conformance.mutants.worker``: a served target, then ``run``)."""

    report_dir: Path
    returncode: int
    stdout: str
    stderr: str

    def results(self) -> dict:
        return json.loads((self.report_dir / "results.json").read_text(encoding="utf-8"))


def saved_run(name: str, report_dir: Path, *extra: str) -> SavedRun:
    """Serve the mutant ``name`` (or ``reference``) and run the CLI against it with ``CI=true``."""
    done = subprocess.run(
        [
            PYTHON,
            "-m",
            "conformance.mutants.worker",
            name,
            "--report-dir",
            str(report_dir),
            "--seed",
            "1",
            "--max-examples",
            "3",
            *extra,
        ],
        capture_output=True,
        text=True,
        env=cli_env(CI="true"),
        timeout=300,
    )
    problems = validate_results(json.loads((report_dir / "results.json").read_text(encoding="utf-8")))
    assert not problems, problems[:5]
    return SavedRun(report_dir, done.returncode, done.stdout, done.stderr)


FAILING_MUTANT = "unknown-field-ignored"  # caught by errors.invalid-unknown-field and oracle.agrees


@pytest.fixture(scope="session")
def failing_run(tmp_path_factory: pytest.TempPathFactory) -> SavedRun:
    return saved_run(FAILING_MUTANT, tmp_path_factory.mktemp("failing") / "reports")


@pytest.fixture(scope="session")
def passing_run(tmp_path_factory: pytest.TempPathFactory) -> SavedRun:
    return saved_run("reference", tmp_path_factory.mktemp("passing") / "reports")
