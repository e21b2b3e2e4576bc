"""Target access: one keep-alive HTTP client per run that records every exchange."""

from __future__ import annotations


class Target:
    """Placeholder until the recording client lands (same commit series)."""
