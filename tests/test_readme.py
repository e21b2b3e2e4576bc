"""The README's promises that code can check: the rule catalogue table matches the code,
and the two set-up commands are there."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"


def test_rule_catalogue_in_readme_matches_the_code() -> None:
    generator = runpy.run_path(str(ROOT / "tools" / "rule_catalogue.py"))
    assert generator["table"]() in README.read_text(encoding="utf-8"), (
        "the README's rule table is stale: run `python tools/rule_catalogue.py` and paste it"
    )


@pytest.mark.parametrize("command", ["pip install . && deployment-conformance run", "pip install '.[test]' && pytest"])
def test_readme_gives_the_two_set_up_commands(command: str) -> None:
    assert command in README.read_text(encoding="utf-8")
