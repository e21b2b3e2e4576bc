"""The operators' page and its CI workflow: the workflow parses, starts the official image
with a trial licence, and every ``deployment-conformance`` command in it is one the CLI takes."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import yaml

from conformance.cli import build_parser

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = ROOT / ".github" / "workflows" / "conformance.yml"
IMAGE = "docker.elastic.co/elasticsearch/elasticsearch"


def _workflow() -> dict[Any, Any]:
    return yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))


def _job() -> dict[str, Any]:
    jobs = _workflow()["jobs"]
    assert list(jobs) == ["elasticsearch"]
    return jobs["elasticsearch"]


def _commands(job: dict[str, Any]) -> list[list[str]]:
    """Every ``deployment-conformance`` command of the job's steps, with ``${{ }}`` and ``$VAR`` filled in."""
    values = {**job["env"], "github.run_number": "1"}
    found = []
    for step in job["steps"]:
        for line in str(step.get("run", "")).splitlines():
            line = re.sub(r"\$\{\{\s*([\w.]+)\s*\}\}", lambda m: values[m.group(1)], line)
            line = re.sub(r"\$(\w+)", lambda m: values[m.group(1)], line)
            if line.strip().startswith("deployment-conformance "):
                found.append(shlex.split(line)[1:])
    return found


def test_workflow_triggers_on_changes() -> None:
    triggers = _workflow().get("on", _workflow().get(True))  # YAML 1.1 reads a bare `on` as true
    assert {"push", "pull_request"} <= set(triggers)


def test_elasticsearch_runs_from_the_official_image_with_a_trial_licence() -> None:
    job = _job()
    service = job["services"]["elasticsearch"]
    assert service["image"] == IMAGE + ":${{ matrix.elasticsearch }}"
    assert all(re.fullmatch(r"\d+\.\d+\.\d+", version) for version in job["strategy"]["matrix"]["elasticsearch"])
    assert service["env"]["xpack.license.self_generated.type"] == "trial"
    assert service["env"]["discovery.type"] == "single-node"
    assert "9200:9200" in service["ports"] and "--health-cmd" in service["options"]
    assert service["env"]["ELASTIC_PASSWORD"] == job["env"]["DC_PASSWORD"]


def test_the_steps_run_the_suite_then_always_clean_up_and_keep_the_reports() -> None:
    job = _job()
    steps = job["steps"]
    assert steps[0]["uses"].startswith("actions/checkout@")
    commands = _commands(job)
    assert [command[0] for command in commands] == ["run", "clean"]
    run, clean = commands
    assert run[run.index("--target") + 1] == clean[clean.index("--target") + 1] == "http://localhost:9200"
    assert "--time-budget" in run and "--report-dir" in run
    for command in commands:  # flags the CLI really has: parsing raises on an unknown one
        build_parser().parse_args(command)
    clean_step = next(step for step in steps if "deployment-conformance clean" in str(step.get("run", "")))
    upload = next(step for step in steps if str(step.get("uses", "")).startswith("actions/upload-artifact@"))
    assert clean_step["if"] == "always()" and upload["if"] == "always()"
    assert upload["with"]["path"].rstrip("/") == run[run.index("--report-dir") + 1]


def test_readme_links_the_operators_page() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    page = (ROOT / "docs" / "operators.md").read_text(encoding="utf-8")
    assert "(docs/operators.md)" in readme
    assert "(../.github/workflows/conformance.yml)" in page
    assert (ROOT / "docs" / "../.github/workflows/conformance.yml").resolve() == WORKFLOW.resolve()
    for topic in ("What a run creates", "privileges", "## Time", "## Cost", "In CI", "Cleaning up"):
        assert topic in page
