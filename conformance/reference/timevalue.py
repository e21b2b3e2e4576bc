"""Elasticsearch ``TimeValue`` and ``ByteSizeValue`` parsing (§1.3 `timeout`, §1.5, §2.3 `cache_size`)."""

from __future__ import annotations

import re

from conformance.reference import errors

_TIME_UNITS = {"nanos": 1e-9, "micros": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_TIME = re.compile(r"^(-?\d+(?:\.\d+)?)\s*(nanos|micros|ms|s|m|h|d)$")
LONG_MAX = 2**63 - 1
_BYTE_UNITS = {"b": 1, "kb": 2**10, "mb": 2**20, "gb": 2**30, "tb": 2**40, "pb": 2**50}
_BYTES = re.compile(r"^(\d+(?:\.\d+)?)\s*(b|kb|k|mb|m|gb|g|tb|t|pb|p)$")  # matched against lowercased text


def parse_time_value(text: str, setting: str) -> float:
    """Seconds for ``"30s"``, ``"100ms"``...; ``"-1"`` and ``"0"`` need no unit. Else 400 ``parse_exception``."""
    normalized = text.strip().lower()
    if normalized in ("-1", "0"):
        return float(normalized)
    match = _TIME.match(normalized)
    if not match:
        raise errors.parse_exception(
            f"failed to parse setting [{setting}] with value [{text}] as a time value: unit is missing or unrecognized"
        )
    amount = float(match.group(1))
    if amount < 0:
        raise errors.parse_exception(
            f"failed to parse setting [{setting}] with value [{text}] as a time value: negative durations are not "
            "supported"
        )
    return amount * _TIME_UNITS[match.group(2)]


def parse_byte_size(text: str, setting: str) -> int:
    """Bytes for ``"10kb"``; ``"0"`` and ``"-1"`` need no unit. Else 400 ``parse_exception``."""
    normalized = text.strip().lower()
    if normalized in ("0", "-1"):
        return int(normalized)
    match = _BYTES.match(normalized)
    if not match:
        raise errors.parse_exception(
            f"failed to parse setting [{setting}] with value [{text}] as a size in bytes: unit is missing or "
            "unrecognized"
        )
    unit = match.group(2)
    unit = unit if unit.endswith("b") else unit + "b"
    amount = float(match.group(1)) * _BYTE_UNITS[unit]
    if amount > LONG_MAX:  # ByteSizeValue holds a long
        raise errors.parse_exception(
            f"failed to parse setting [{setting}] with value [{text}] as a size in bytes: Values greater than "
            f"{LONG_MAX} bytes are not supported"
        )
    return int(amount)
