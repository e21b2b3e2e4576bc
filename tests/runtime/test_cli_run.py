"""The CLI end to end: reports without secrets, clean-up after a run and after Ctrl-C."""

from __future__ import annotations

import json
import signal
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from runtime_helpers import PYTHON, cli_env, run_prefixed_objects, wait_until

from conformance.rules.base import CATALOGUE

API_KEY = "apikey-TOPSECRET-1"
PASSWORD = "password-TOPSECRET-2"
QUICK = "-k scenarios"  # one traffic module is enough to exercise the runtime


@pytest.mark.slow  # a whole run of the CLI
@pytest.mark.parametrize("served", [["--es-version", "9.3.0"]], indirect=True)
def test_run_writes_reports_without_secrets_and_cleans_up(served: str, tmp_path: Path) -> None:
    outputs = []
    for auth in (["--api-key", API_KEY], ["--user", "elastic", "--password", PASSWORD]):
        report_dir = tmp_path / auth[0].strip("-")
        done = subprocess.run(
            [
                PYTHON,
                "-m",
                "conformance",
                "run",
                "--target",
                served,
                *auth,
                "--report-dir",
                str(report_dir),
                "--max-examples",
                "2",
                "--seed",
                "1",
            ],
            capture_output=True,
            text=True,
            env=cli_env(PYTEST_ADDOPTS=QUICK, CI="1"),
            timeout=240,
        )
        assert done.returncode in (0, 1), done.stderr[-2000:]
        outputs += [done.stdout, done.stderr] + [p.read_text() for p in report_dir.iterdir()]
        results = json.loads((report_dir / "results.json").read_text())
        assert CATALOGUE
        assert {r["id"] for r in results["rules"]} == {r.id for r in CATALOGUE}
        ET.parse(report_dir / "junit.xml")
        html = (report_dir / "report.html").read_text()
        assert all(r["id"] in html for r in results["rules"])
        assert f"report: {report_dir / 'report.html'}" in done.stdout
    for text in outputs:
        assert API_KEY not in text and PASSWORD not in text
    assert run_prefixed_objects(served) == []


@pytest.mark.slow  # a whole run of the CLI
@pytest.mark.parametrize("served", [["--es-version", "9.3.0", "--convergence-delay", "0.2"]], indirect=True)
def test_sigint_mid_run_still_cleans_up(served: str, tmp_path: Path) -> None:
    process = subprocess.Popen(
        [PYTHON, "-m", "conformance", "run", "--target", served, "--report-dir", str(tmp_path), "--max-examples", "50"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(CI="1"),
    )
    try:
        wait_until(
            lambda: run_prefixed_objects(served) or process.poll() is not None,
            timeout=60,
            what="provisioning to be visible",
        )
        assert process.poll() is None, "the run ended before it could be interrupted"
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 3, err[-2000:]
    assert run_prefixed_objects(served) == []
