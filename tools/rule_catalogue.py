"""Print the rule catalogue as the Markdown table the README carries.

    python tools/rule_catalogue.py

``tests/test_readme.py`` fails when the README's table and the catalogue drift apart,
so after adding or changing a rule, run this and paste its output into the README.
It refuses (exit 1) while a rule cites a section that ``docs/contract.md`` does not have,
so the table never links a reader to nothing.
"""

from __future__ import annotations

import sys

import conformance.rules  # noqa: F401 - registers every rule family
from conformance import contract
from conformance.rules.base import CATALOGUE, Rule


def versions(rule: Rule) -> str:
    parts = []
    if rule.since:
        parts.append(f"≥ {rule.since}")
    if rule.until:
        parts.append(f"< {rule.until}")
    parts += sorted(rule.requires)
    return ", ".join(parts) or "all"


def table() -> str:
    lines = ["| rule | level | versions | source | what it checks |", "|---|---|---|---|---|"]
    for rule in CATALOGUE:
        description = rule.description.replace("|", "\\|")
        lines.append(f"| `{rule.id}` | {rule.level.value} | {versions(rule)} | {rule.source} | {description} |")
    return "\n".join(lines)


def unknown_sources() -> dict[str, str]:
    """Rule id -> source, for every rule whose source cites a section the contract lacks."""
    known = contract.sections()
    return {
        rule.id: rule.source
        for rule in CATALOGUE
        if not (cited := contract.citations(rule.source)) or not cited <= known
    }


if __name__ == "__main__":
    missing = unknown_sources()
    if missing:
        for rule_id, source in missing.items():
            print(f"rule_catalogue: {rule_id} cites {source!r}, which docs/contract.md does not have", file=sys.stderr)
        sys.exit(1)
    print(table())
