"""The conformance suite: pytest modules that generate traffic, the session that runs
them, and :func:`run_suite`, the one entry point to a whole run."""

from conformance.suite.api import run_suite
from conformance.suite.runner import RunSettings

__all__ = ["RunSettings", "run_suite"]
