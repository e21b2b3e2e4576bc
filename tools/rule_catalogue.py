"""Print the rule catalogue as the Markdown table the README carries.

    python tools/rule_catalogue.py

``tests/test_readme.py`` fails when the README's table and the catalogue drift apart,
so after adding or changing a rule, run this and paste its output into the README.
"""

from __future__ import annotations

import conformance.rules  # noqa: F401 - registers every rule family
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


if __name__ == "__main__":
    print(table())
