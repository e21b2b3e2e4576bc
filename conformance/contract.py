"""The contract document: the sections every rule, behaviour and mutant cites.

Why: a citation such as ``§1.6 C.8`` or ``§3.5-10`` in a rule, a docstring or a report is only
worth something if a reader can open it. ``docs/contract.md`` is the project's statement of how
Elasticsearch behaves, section by section with its sources; the wheel ships it as
``conformance/_docs/contract.md`` (the same arrangement as :mod:`conformance.schemas`), and
this module is its only reader:

* :func:`sections` lists the section keys the document defines (``"1.6 C.8"``, ``"3.5-10"``,
  ``"3.5 P10"``: an invariant of §3.5 is named by its number, with or without its class);
* :func:`anchor` and :func:`link` turn a citation into the document's stable HTML anchor and a
  link a report can carry;
* :func:`citations` finds the citations in a text, so a test can prove none is dangling.

A section is a heading of the form ``## <a id="s1-6"></a>§1.6 Title``; the anchor is derived
from the key (``s`` plus the key with every run of other characters turned into ``-``), so
links stay valid as the prose changes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

__all__ = ["DOCUMENT", "Section", "anchor", "citations", "document_path", "link", "parse", "section", "sections"]

DOCUMENT = "contract.md"

# A citation in running text: "§1.6", "§1.6 C", "§1.6 C.8", "§3.5-10", "§3.5 P10". A capital
# after the number belongs to the citation only when it is a lone letter or a class + number
# ("§1.6 D." yes, "§3.2 MAX_LOW_..." and "§1.4 RESET_PLACEHOLDER" no).
_CITATION = re.compile(
    r"§(?P<number>\d+(?:\.\d+)*)"
    r"(?:-(?P<item>\d+)|(?: (?P<cls>[GPD])(?P<cls_item>\d+)\b)|(?: (?P<group>[A-D])(?:\.(?P<step>\d+))?(?![\w])))?"
)
_HEADING = re.compile(
    r'^#{2,6} <a id="(?P<anchor>[^"]+)"></a>§(?P<key>\d+(?:\.\d+)*(?:-\d+)?(?: [A-D](?:\.\d+)?)?)'
    r"(?: \((?P<cls>[GPD])\))?\s+(?P<title>.+?)\s*$"
)


@dataclass(frozen=True)
class Section:
    """One section of the contract: its key (``"1.6 C.8"``), title and anchor."""

    key: str
    title: str
    anchor: str
    invariant_class: str | None = None  # "G", "P" or "D" for the invariants of §3.5


def document_path() -> Path:
    """The contract file: ``conformance/_docs/contract.md`` in a built wheel, else the
    repository's ``docs/contract.md`` (source checkout or editable install)."""
    return _document_for(Path(__file__).resolve().parent)


def _document_for(package_dir: Path) -> Path:
    for candidate in (package_dir / "_docs" / DOCUMENT, package_dir.parent / "docs" / DOCUMENT):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(
        f"no {DOCUMENT} next to {package_dir}: expected {package_dir / '_docs'} (installed) "
        f"or {package_dir.parent / 'docs'} (source checkout)"
    )


def parse(text: str) -> dict[str, Section]:
    """The sections a contract text defines, by key; an invariant is listed under both of its
    names (``"3.5-13"`` and ``"3.5 P13"``)."""
    found: dict[str, Section] = {}
    for line in text.splitlines():
        heading = _HEADING.match(line)
        if heading is None:
            continue
        key, cls = heading["key"], heading["cls"]
        entry = Section(key, heading["title"], heading["anchor"], cls)
        if key in found:
            raise ValueError(f"section §{key} is defined twice")
        if entry.anchor != _slug(key):
            raise ValueError(f"section §{key} has anchor {entry.anchor!r}, expected {_slug(key)!r}")
        found[key] = entry
        if cls is not None:
            number, _, item = key.partition("-")
            found[f"{number} {cls}{item}"] = entry
    return found


@cache
def _sections() -> dict[str, Section]:
    return parse(document_path().read_text(encoding="utf-8"))


def sections() -> set[str]:
    """Every section key of the shipped contract (``"1.6 C.8"``, ``"3.5-10"``, ``"3.5 P10"``)."""
    return set(_sections())


def section(citation: str) -> Section:
    """The section a citation (``"§1.6 C.8"`` or ``"1.6 C.8"``) names; ``KeyError`` if none."""
    key = _key(citation)
    try:
        return _sections()[key]
    except KeyError:
        raise KeyError(f"the contract has no section §{key}") from None


def anchor(citation: str) -> str:
    """The HTML anchor of a cited section: ``anchor("§1.6 C.8") == "s1-6-c-8"``."""
    return section(citation).anchor


def link(citation: str, base: str | None = None) -> str:
    """A link to a cited section: ``base`` (default: the shipped document's ``file:`` URI)
    followed by ``#`` and the section's anchor. A report that copies the contract beside itself
    passes ``base="contract.md"``; one that links to a published copy passes its URL."""
    return f"{document_path().as_uri() if base is None else base}#{anchor(citation)}"


def citations(text: str) -> set[str]:
    """The section keys cited in ``text``, as :func:`sections` spells them. A range such as
    ``§1.3-§1.6`` cites both ends."""
    found: set[str] = set()
    for match in _CITATION.finditer(text):
        number = match["number"]
        if match["item"]:
            found.add(f"{number}-{match['item']}")
        elif match["cls"]:
            found.add(f"{number} {match['cls']}{match['cls_item']}")
        elif match["group"]:
            found.add(f"{number} {match['group']}" + (f".{match['step']}" if match["step"] else ""))
        else:
            found.add(number)
    return found


def _key(citation: str) -> str:
    text = citation.strip()
    if not text.startswith("§"):
        text = f"§{text}"
    match = _CITATION.fullmatch(text)
    if match is None:
        raise KeyError(f"not a section citation: {citation!r}")
    (key,) = citations(text)
    return key


def _slug(key: str) -> str:
    return "s" + re.sub(r"[^0-9a-z]+", "-", key.lower()).strip("-")
