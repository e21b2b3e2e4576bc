"""The suite is a good citizen: ``run`` ignores the folder it starts in, and the plugin
stays out of every pytest session that did not ask for the suite."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from runtime_helpers import PYTHON, cli_env

HOSTILE_INI = "[pytest]\naddopts = -x --cov\ntimeout = 2\n"
HOSTILE_CONFTEST = 'raise RuntimeError("a conftest of the folder the user stands in")\n'


def _verdict(served: str, folder: Path, reports: Path, **env: str) -> tuple[int, dict[str, str]]:
    done = subprocess.run(
        [
            PYTHON,
            "-m",
            "conformance",
            "run",
            "--target",
            served,
            "--seed",
            "5",
            "--max-examples",
            "3",
            "--report-dir",
            str(reports),
        ],
        cwd=folder,
        env=cli_env(**env),
        capture_output=True,
        text=True,
        timeout=300,
    )
    results = json.loads((reports / "results.json").read_text())
    return done.returncode, {rule["id"]: rule["outcome"] for rule in results["rules"]}


@pytest.mark.slow
def test_run_gives_the_same_verdict_whatever_folder_it_starts_in(served: str, tmp_path: Path) -> None:
    empty, hostile = tmp_path / "empty", tmp_path / "hostile"
    empty.mkdir()
    hostile.mkdir()
    (hostile / "pytest.ini").write_text(HOSTILE_INI)
    (hostile / "conftest.py").write_text(HOSTILE_CONFTEST)
    plain = _verdict(served, empty, tmp_path / "r1")
    spoiled = _verdict(served, hostile, tmp_path / "r2", PYTEST_ADDOPTS="-x --lf -p no:xdist --timeout 1")
    assert plain[0] == 0
    assert spoiled == plain
    assert sorted(p.name for p in hostile.iterdir()) == ["conftest.py", "pytest.ini"]  # nothing written there
    assert list(empty.iterdir()) == []


UNRELATED_TEST = """
import pytest

@pytest.fixture
def run():
    return "the project's own fixture"

@pytest.mark.requires("x")
def test_marked_with_a_marker_the_suite_once_claimed(run):
    assert run == "the project's own fixture"

def test_with_its_own_target_option(request):
    assert request.config.getoption("--target") == "staging"
"""
UNRELATED_CONFTEST = """
def pytest_addoption(parser):
    parser.addoption("--target", default="staging")
"""


@pytest.mark.slow
def test_an_unrelated_project_runs_as_if_the_package_were_absent(tmp_path: Path) -> None:
    """With the package and pytest-profiling (which owns ``--profile``) installed, another
    project's own ``--target`` option, ``run`` fixture and ``requires`` marker just work."""
    pytest.importorskip("pytest_profiling")
    (tmp_path / "test_unrelated.py").write_text(UNRELATED_TEST)
    (tmp_path / "conftest.py").write_text(UNRELATED_CONFTEST)
    done = subprocess.run(
        [PYTHON, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(tmp_path)],
        cwd=tmp_path,
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 passed" in done.stdout
    assert "conformance" not in done.stdout + done.stderr
