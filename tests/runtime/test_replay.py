"""``replay``: a failure from a saved report, set up again on a fresh target, sent and
judged again, with nothing left behind."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest
from conftest import FAILING_MUTANT, SavedRun
from runtime_helpers import PYTHON, cli_env, run_prefixed_objects

import conformance.mutants  # noqa: F401 - registers every mutant
from conformance.cli import main
from conformance.mutants.base import REGISTRY
from conformance.reference import ServerConfig, create_app, running_server


def _nothing_left(url: str) -> None:
    assert run_prefixed_objects(url) == []
    models = httpx.get(url + "/_ml/trained_models").json()
    assert [m["model_id"] for m in models.get("trained_model_configs", []) if m["model_id"].startswith("dc-")] == []


@pytest.mark.slow
@pytest.mark.parametrize("rule_id", ["errors.invalid-unknown-field", "oracle.agrees"])
def test_replay_reproduces_a_saved_failure_on_a_fresh_mutant(
    failing_run: SavedRun, rule_id: str, capsys: pytest.CaptureFixture[str]
) -> None:
    mutant = REGISTRY[FAILING_MUTANT]
    with running_server(mutant.config, app=mutant.build(mutant.config)) as url:
        code = main(["replay", str(failing_run.report_dir), "--rule", rule_id, "--target", url])
        out = capsys.readouterr().out
        _nothing_left(url)
    assert code == 1, out
    assert f"replay of {rule_id} (exchange 1 of" in out and "reproduced: fail" in out
    saved = json.loads((failing_run.report_dir / f"replay-{rule_id}.json").read_text())
    assert saved["reproduced"] is True and saved["exchange"]["request"]["url"].startswith(url)
    assert "dc-replay-" in saved["exchange"]["request"]["url"]  # fresh ids, not the dead run's


def _without_cases(node: object) -> object:
    if isinstance(node, dict):
        return {key: _without_cases(value) for key, value in node.items() if key != "case"}
    if isinstance(node, list):
        return [_without_cases(item) for item in node]
    return node


@pytest.mark.slow
def test_a_report_from_before_intents_had_a_case_still_replays(
    failing_run: SavedRun, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Reports of 0.1.0 named an invalid case in the intent's ``detail`` only."""
    old = tmp_path / "old-report"
    shutil.copytree(failing_run.report_dir, old)
    for path in old.glob("*.json"):
        path.write_text(json.dumps(_without_cases(json.loads(path.read_text()))))
    assert '"case"' not in (old / "results.json").read_text()
    mutant = REGISTRY[FAILING_MUTANT]
    with running_server(mutant.config, app=mutant.build(mutant.config)) as url:
        code = main(["replay", str(old), "--rule", "errors.invalid-unknown-field", "--target", url])
    assert code == 1
    assert "reproduced: fail" in capsys.readouterr().out


@pytest.mark.slow
def test_the_same_exchange_passes_on_the_reference_server(
    failing_run: SavedRun, capsys: pytest.CaptureFixture[str]
) -> None:
    config = ServerConfig()
    with running_server(config, app=create_app(config)) as url:
        code = main(
            [
                "replay",
                str(failing_run.report_dir),
                "--rule",
                "errors.invalid-unknown-field",
                "--exchange",
                "2",
                "--target",
                url,
            ]
        )
        _nothing_left(url)
    assert code == 0
    assert "(exchange 2 of" in capsys.readouterr().out


@pytest.mark.slow
def test_replay_of_an_embedded_run_starts_a_server_like_the_runs(tmp_path: Path) -> None:
    # The embedded server of the recorded run is gone; judged by the 8.6 profile, the newest
    # behaviour fails errors.invalid-empty-object ({} is a no-op from 8.15).
    run = subprocess.run(
        [
            PYTHON,
            "-m",
            "conformance",
            "run",
            "--profile",
            "8.6",
            "--es-version",
            "9.3.0",
            "--report-dir",
            str(tmp_path),
            "--seed",
            "2",
            "--max-examples",
            "2",
        ],
        capture_output=True,
        text=True,
        env=cli_env(PYTEST_ADDOPTS="-k scenarios", CI="true"),
        timeout=240,
    )
    assert run.returncode == 1, run.stdout[-2000:]
    assert (
        "replay: deployment-conformance replay" in run.stdout and "--rule errors.invalid-empty-object\n" in run.stdout
    )
    replayed = subprocess.run(
        [PYTHON, "-m", "conformance", "replay", str(tmp_path), "--rule", "errors.invalid-empty-object"],
        capture_output=True,
        text=True,
        env=cli_env(),
        timeout=120,
    )
    assert replayed.returncode == 1, replayed.stdout + replayed.stderr
    assert "reproduced: fail" in replayed.stdout


@pytest.mark.slow  # reads the saved run of a mutant
@pytest.mark.parametrize(
    ("rule_id", "needle"),
    [("shape.product-header", "kept no exchange to replay"), ("no.such-rule", "has no rule 'no.such-rule'")],
)
def test_what_cannot_be_replayed_is_one_line_exit_2(
    failing_run: SavedRun, rule_id: str, needle: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["replay", str(failing_run.report_dir), "--rule", rule_id]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and needle in err
