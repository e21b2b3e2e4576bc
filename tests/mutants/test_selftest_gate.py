"""The CI gate: the suite passes the unmodified server and catches every mutant.

Each test runs ``deployment-conformance selftest`` (the fast profile) on a slice of the
registry, so a failure names the family whose mutants got through. A change that
weakens the suite makes a mutant survive here.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conformance.mutants import FAMILIES, REGISTRY
from conformance.mutants.selftest import main as selftest
from conformance.mutants.worker import REFERENCE

pytestmark = pytest.mark.slow  # each test runs selftest over a family of mutants

FAST = ["--max-examples", "5", "--jobs", "2"]


def _selftest(names: list[str], report_dir: Path) -> dict[str, dict]:
    selftest(["--only", ",".join(names), "--report-dir", str(report_dir), *FAST])
    table = json.loads((report_dir / "selftest.json").read_text())
    return {target["name"]: target for target in table["targets"]}


def test_reference_server_passes(tmp_path: Path) -> None:
    outcome = _selftest([REFERENCE], tmp_path)[REFERENCE]
    assert outcome["verdict"] == "pass", outcome


@pytest.mark.parametrize("family", FAMILIES)
def test_every_mutant_of_the_family_is_caught(family: str, tmp_path: Path) -> None:
    names = [m.name for m in REGISTRY.values() if m.family == family]
    outcomes = _selftest(names, tmp_path)
    for name in names:
        assert outcomes[name]["verdict"] == "caught", f"{name} survived: {REGISTRY[name].defect}"
