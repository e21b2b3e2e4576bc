"""Every rule names a section of the behaviour document that exists (§ headings or numbered items)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conformance.rules import CATALOGUE

BEHAVIOUR = Path(__file__).resolve().parents[2] / ".." / "shared" / "spec" / "elasticsearch-behaviour.md"


def sections(text: str) -> set[str]:
    """Heading numbers ("1.6", "10") plus numbered items inside them ("10.4")."""
    found: set[str] = set()
    current = None
    for line in text.splitlines():
        heading = re.match(r"^#{2,4}\s+(\d+(?:\.\d+)*)\.?\s", line)
        if heading:
            current = heading.group(1)
            found.add(current)
            continue
        item = re.match(r"^(\d+)\.\s", line)
        if item and current is not None:
            found.add(f"{current}.{item.group(1)}")
    return found


def cited(source: str) -> str:
    """ "§1.6 C.8" -> "1.6"; "§3.5-11" -> "3.5.11" (item 11 of §3.5); "§10.4" -> "10.4"."""
    found = re.match(r"§(\d+(?:[.-]\d+)*)", source)
    assert found, f"source {source!r} does not start with a § number"
    return found.group(1).replace("-", ".")


@pytest.mark.skipif(not BEHAVIOUR.exists(), reason="behaviour document not beside the repository")
def test_every_source_names_an_existing_section() -> None:
    known = sections(BEHAVIOUR.read_text(encoding="utf-8"))
    missing = {r.id: r.source for r in CATALOGUE if cited(r.source) not in known}
    assert missing == {}


def test_every_rule_is_well_formed() -> None:
    for r in CATALOGUE:
        assert re.fullmatch(r"[a-z]+\.[a-z0-9-]+", r.id), r.id
        assert r.description, r.id
        assert r.family == r.id.split(".")[0]
