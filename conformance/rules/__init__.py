"""The rule catalogue. Importing this package registers every rule family."""

from conformance.rules import (  # noqa: F401 - registers rules
    adaptive,
    agreement,
    capacity,
    clamp,
    concurrency,
    enums,
    errors,
    openapi,
    shape,
    stats,
    update,
)
from conformance.rules.base import CATALOGUE, Level, Outcome, Rule, Verdict, evaluate, intent_is, rule

__all__ = ["CATALOGUE", "Level", "Outcome", "Rule", "Verdict", "evaluate", "intent_is", "rule"]
