"""The rule catalogue. Importing this package registers every rule family."""

from conformance.rules import adaptive, agreement, capacity, clamp, concurrency, enums, errors, shape, update  # noqa: F401 - registers rules
from conformance.rules.base import CATALOGUE, Level, Outcome, Rule, Verdict, evaluate, intent_is, rule

__all__ = ["CATALOGUE", "Level", "Outcome", "Rule", "Verdict", "evaluate", "intent_is", "rule"]
