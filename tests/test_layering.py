"""The import boundaries the README describes, checked on the source (no extra tool).

Why: the suite judges any server, so it must not lean on the reference server's code (a
shared mistake would pass unseen), and the mutants are the reference with defects, so the
judges must not know them either. The reference server stands alone below the suite. And no
two top-level parts of ``conformance`` may import each other, however indirectly, or neither
can be understood, tested or replaced alone.

Every ``import``/``from ... import`` in every module counts, wherever it stands (a lazy import
inside a function is still a dependency), and so does ``importlib.import_module("...")`` with
a literal name: loading a module by name is an import too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "conformance"

# importer part -> the parts it must never import (directly or through its own modules)
FORBIDDEN = {
    "suite": {"reference", "mutants"},
    "rules": {"reference", "mutants"},
    "oracle": {"reference", "mutants"},
    "observations": {"reference", "mutants"},  # the state the judges see is read without the reference
    "reference": {"suite", "rules", "oracle"},
}


def module_name(path: Path, package: Path = PACKAGE) -> str:
    parts = list(path.relative_to(package.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(path: Path, package_dir: Path = PACKAGE) -> set[str]:
    """The absolute names of the ``conformance`` modules ``path`` imports."""
    own = module_name(path, package_dir)
    package = own if path.name == "__init__.py" else own.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)  # "from pkg import module"
        elif (
            isinstance(node, ast.Call)
            and (getattr(node.func, "attr", None) or getattr(node.func, "id", None)) == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.add(node.args[0].value)
    return {name for name in found if name == "conformance" or name.startswith("conformance.")}


def part(module: str) -> str | None:
    """The top-level part of ``conformance`` a module belongs to (``conformance.rules.base`` ->
    ``rules``); ``None`` for the package itself."""
    pieces = module.split(".")
    return pieces[1] if len(pieces) > 1 else None


def part_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        importer = part(module_name(path))
        if importer is None:
            continue
        targets = {part(name) for name in imported_modules(path)} - {None, importer}
        graph.setdefault(importer, set()).update(t for t in targets if t is not None)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One path per strongly connected group of more than one part (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for successor in sorted(graph.get(node, ())):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def test_the_scan_sees_the_package() -> None:
    graph = part_graph()
    assert {"suite", "rules", "oracle", "reference", "mutants", "cli"} <= set(graph)
    assert "rules" in graph["suite"] and "reference" in graph["mutants"]  # known, allowed edges


@pytest.mark.parametrize("importer", sorted(FORBIDDEN))
def test_forbidden_imports(importer: str) -> None:
    crossings = sorted(
        f"{module_name(path)} imports {name}"
        for path in PACKAGE.rglob("*.py")
        if part(module_name(path)) == importer
        for name in imported_modules(path)
        if part(name) in FORBIDDEN[importer]
    )
    assert crossings == []


def test_no_import_cycles_between_top_level_parts() -> None:
    assert cycles(part_graph()) == []


def test_the_checks_catch_what_they_claim(tmp_path: Path) -> None:
    """The detectors themselves: relative imports resolve, import_module by name counts, and a
    two-part loop is a cycle."""
    module = tmp_path / "conformance" / "suite" / "probe.py"
    module.parent.mkdir(parents=True)
    module.write_text(
        "import importlib\nfrom ..reference import cluster\nfrom . import runner\n"
        "def f():\n    importlib.import_module('conformance.mutants.selftest')\n",
        encoding="utf-8",
    )
    found = imported_modules(module, tmp_path / "conformance")
    assert {
        "conformance.reference",
        "conformance.reference.cluster",
        "conformance.suite.runner",
        "conformance.mutants.selftest",
    } <= found
    assert cycles({"cli": {"mutants"}, "mutants": {"cli", "reference"}, "reference": set()}) == [["cli", "mutants"]]
