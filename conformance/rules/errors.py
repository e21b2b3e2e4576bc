"""Error-contract rules (§1.5, §1.6, §3.5-15): each invalid request gets its exact error.

The vocabulary of invalid requests lives in :mod:`conformance.rules.invalid_cases`;
it is re-exported here because traffic generators import it from this module.
"""

from conformance.rules.invalid_cases import INVALID_CASES, TRUNCATED_JSON, InvalidCase

__all__ = ["INVALID_CASES", "TRUNCATED_JSON", "InvalidCase"]
