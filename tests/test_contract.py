"""The contract document (docs/contract.md) defines every section the project cites.

A citation that names no section leaves a reader of a rule, a docstring or a report with
nowhere to look, so every text file of the repository is scanned; the built wheel is
scanned in tests/schemas/test_schema_packaging.py.
"""

from __future__ import annotations

import re
import runpy
from pathlib import Path

import pytest

from conformance import contract

REPO = Path(__file__).resolve().parents[1]
TEXT_SUFFIXES = {".py", ".md", ".json", ".toml", ".txt", ".html", ".yml", ".yaml", ".cfg", ".ini"}
SKIPPED_DIRS = {".git", "reports", "build", "dist", "__pycache__", ".hypothesis", ".schemathesis"}
S = "\u00a7"  # the section sign, spelled out where a test needs a citation that must not resolve


def repository_text_files() -> list[Path]:
    found = []
    for path in REPO.rglob("*"):
        relative = path.relative_to(REPO).parts
        if any(part in SKIPPED_DIRS or (part.startswith(".") and part != ".ci") or "venv" in part for part in relative):
            continue
        if path.is_file() and path.suffix in TEXT_SUFFIXES:
            found.append(path)
    return found


def test_no_file_in_the_repository_cites_a_missing_section() -> None:
    known = contract.sections()
    files = repository_text_files()
    missing = {
        f"{path.relative_to(REPO)}: {S}{key}"
        for path in files
        for key in contract.citations(path.read_text(encoding="utf-8", errors="replace"))
        if key not in known
    }
    assert len(files) > 50  # the scan really walked the repository
    assert missing == set()


def test_every_rule_source_resolves_and_the_catalogue_tool_agrees() -> None:
    tool = runpy.run_path(str(REPO / "tools" / "rule_catalogue.py"))
    assert tool["unknown_sources"]() == {}


def test_citations_read_every_form_the_code_uses() -> None:
    text = (
        f"({S}1.6 C.8) {S}3.5-10, {S}3.5 P13; {S}10.2 and {S}1.3-{S}1.6; {S}1.6 D. "
        f"{S}3.2 MAX_LOW_PRIORITY_MODELS_PER_NODE, {S}1.4 RESET_PLACEHOLDER, {S}5.3 step 4, {S}4"
    )
    assert contract.citations(text) == {
        "1.6 C.8",
        "3.5-10",
        "3.5 P13",
        "10.2",
        "1.3",
        "1.6",
        "1.6 D",
        "3.2",
        "1.4",
        "5.3",
        "4",
    }


def test_an_invariant_answers_to_its_number_and_to_its_class() -> None:
    assert contract.anchor(f"{S}3.5 P13") == contract.anchor(f"{S}3.5-13") == "s3-5-13"
    assert "3.5 G13" not in contract.sections()  # §3.5-13 is a P invariant
    assert contract.section("3.5-14").invariant_class == "D"


def test_anchors_are_derived_from_the_section_number() -> None:
    assert contract.anchor(f"{S}1.6 C.8") == "s1-6-c-8"
    assert contract.anchor("10.2") == "s10-2"
    assert contract.link(f"{S}1.6 C.8", base="contract.md") == "contract.md#s1-6-c-8"
    default = contract.link(f"{S}2.2")
    assert default.startswith("file://") and default.endswith("/contract.md#s2-2")


def test_every_section_of_the_document_has_its_anchor_in_the_text() -> None:
    text = contract.document_path().read_text(encoding="utf-8")
    for key in contract.sections():
        assert f'<a id="{contract.anchor(key)}"></a>' in text, key


def test_a_missing_section_is_named_in_the_error() -> None:
    with pytest.raises(KeyError, match=r"99\.1"):
        contract.anchor(f"{S}99.1")
    with pytest.raises(KeyError, match="not a section citation"):
        contract.anchor("see the README")


def test_a_heading_with_a_hand_written_anchor_is_refused() -> None:
    with pytest.raises(ValueError, match="expected 's1-2'"):
        contract.parse(f'### <a id="request-path"></a>{S}1.2 The path')
    with pytest.raises(ValueError, match="defined twice"):
        contract.parse(f'## <a id="s1"></a>{S}1 One\n## <a id="s1"></a>{S}1 Again')


# The design material sits beside the checkout (/work/shared beside /work/main, or two up from a worktree).
BEHAVIOUR = (
    next((p for p in (REPO.parent / "shared", REPO.parent.parent / "shared") if (p / "spec").is_dir()), REPO)
    / "spec"
    / "elasticsearch-behaviour.md"
)


def behaviour_sections(text: str) -> set[str]:
    """Headings ("1.6", "11.4"), the lettered groups of §1.6 and their steps ("1.6 C.8"), the
    invariants of §3.5 ("3.5-13") and the numbered clarifications of §10 ("10.2")."""
    found: set[str] = set()
    heading = group = None
    for line in text.splitlines():
        if match := re.match(r"^#{2,4}\s+(\d+(?:\.\d+)*)\.?\s", line):
            heading, group = match.group(1), None
            found.add(heading)
        elif heading == "1.6" and (match := re.match(r"^\*\*([A-D])\.", line)):
            group = match.group(1)
            found.add(f"1.6 {group}")
        elif match := re.match(r"^(\d+)\.\s", line):
            if heading == "1.6" and group:
                found.add(f"1.6 {group}.{match.group(1)}")
            elif heading == "3.5":
                found.add(f"3.5-{match.group(1)}")
            elif heading == "10":
                found.add(f"10.{match.group(1)}")
    return found


@pytest.mark.skipif(not BEHAVIOUR.is_file(), reason="the design material is not beside the repository")
def test_the_contract_covers_every_section_of_the_behaviour_document() -> None:
    """Citations being added elsewhere (memory §3.2, the clamp §3.3/§3.4, stats, §11.4) resolve
    as soon as they land, because no section of the ground truth is left out."""
    wanted = behaviour_sections(BEHAVIOUR.read_text(encoding="utf-8"))
    assert len(wanted) > 60
    assert wanted - contract.sections() == set()
