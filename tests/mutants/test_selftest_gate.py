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
from conformance.mutants.base import UNJUDGED
from conformance.mutants.selftest import main as selftest
from conformance.mutants.worker import REFERENCE

pytestmark = pytest.mark.slow  # each test runs selftest over a family of mutants

FAST = ["--max-examples", "5", "--jobs", "2"]


def _selftest(names: list[str], report_dir: Path) -> dict[str, dict]:
    selftest(["--only", ",".join(names), "--report-dir", str(report_dir), *FAST])
    table = json.loads((report_dir / "selftest.json").read_text())
    return {target["name"]: target for target in table["targets"]}


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict:
    return _selftest([REFERENCE], tmp_path_factory.mktemp("reference"))[REFERENCE]


def test_reference_server_passes(reference: dict) -> None:
    assert reference["verdict"] == "pass", reference


@pytest.mark.parametrize("family", FAMILIES)
def test_every_mutant_of_the_family_is_caught(family: str, tmp_path: Path, reference: dict) -> None:
    """Caught, and with no hole the unmodified server does not have: a failure found must
    not keep the rest of the traffic from running (every rule left "not exercised" against
    a mutant is one left so against the reference too)."""
    names = [m.name for m in REGISTRY.values() if m.family == family]
    outcomes = _selftest(names, tmp_path)
    for name in names:
        assert outcomes[name]["verdict"] == "caught", f"{name} survived: {REGISTRY[name].defect}"
        if REGISTRY[name].expects != UNJUDGED:
            holes = set(outcomes[name]["not_exercised"]) - set(reference["not_exercised"])
            assert not holes, f"{name} left {sorted(holes)} unexercised"
