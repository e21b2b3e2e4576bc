"""The mutant registry: every family covered, every mutant documented and pointing at a real rule."""

from __future__ import annotations

import conformance.rules  # noqa: F401 - registers every rule
from conformance.mutants import FAMILIES, REGISTRY, UNJUDGED
from conformance.rules.base import CATALOGUE
from conformance.reference import ServerConfig


def test_at_least_thirty_mutants_cover_every_family() -> None:
    assert len(REGISTRY) >= 30
    assert {m.family for m in REGISTRY.values()} == set(FAMILIES)


def test_every_mutant_names_its_defect_and_an_existing_rule() -> None:
    for mutant in REGISTRY.values():
        assert mutant.defect and mutant.defect.endswith((".", ")")), mutant.name
        assert "§" in mutant.doc, f"{mutant.name}: the docstring must cite the behaviour section it breaks"
        if mutant.expects != UNJUDGED:
            assert mutant.expects in CATALOGUE, f"{mutant.name}: {mutant.expects!r} is not a rule id"


def test_only_the_time_family_expects_an_unjudged_run() -> None:
    unjudged = {m.name for m in REGISTRY.values() if m.expects == UNJUDGED}
    assert unjudged == {m.name for m in REGISTRY.values() if m.family == "time"}


def test_every_mutant_builds_an_asgi_app_for_its_configuration() -> None:
    for mutant in REGISTRY.values():
        assert isinstance(mutant.config, ServerConfig)
        assert callable(mutant.build(mutant.config)), mutant.name
