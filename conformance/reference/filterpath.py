"""``filter_path`` response filtering: comma lists, ``*`` within a name, ``**`` across levels,
and ``-`` for exclusion (the common parameter of §1.3)."""

from __future__ import annotations

import enum
import re
from functools import lru_cache
from typing import Any, Final


class _Nothing(enum.Enum):
    """The one value of "no part of this value is kept" (distinct from a kept ``null``)."""

    NOTHING = "nothing"


_NOTHING: Final = _Nothing.NOTHING


def apply_filter_path(body: Any, filter_path: str) -> Any:
    patterns = [p.strip() for p in filter_path.split(",") if p.strip()]
    includes = [p.split(".") for p in patterns if not p.startswith("-")]
    excludes = [p[1:].split(".") for p in patterns if p.startswith("-") and len(p) > 1]
    if includes:
        body = _include(body, includes)
        if body is _NOTHING:
            return {}
    if excludes:
        body = _exclude(body, excludes)
    return body


def _advance(pattern: list[str], key: str) -> list[list[str]]:
    """What remains of ``pattern`` after it consumes ``key`` (``[]`` = fully matched)."""
    head, rest = pattern[0], pattern[1:]
    if head == "**":
        remains = [pattern]  # ``**`` consumes this key and stays
        if rest:
            remains += _advance(rest, key)
        else:
            remains.append([])
        return remains
    return [rest] if _glob(head).fullmatch(key) else []


@lru_cache(maxsize=256)
def _glob(segment: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(piece) for piece in segment.split("*")))


def _include(value: Any, patterns: list[list[str]]) -> Any | _Nothing:
    if isinstance(value, list):
        kept = [item for item in (_include(item, patterns) for item in value) if item is not _NOTHING]
        return kept or _NOTHING
    if not isinstance(value, dict):
        return _NOTHING
    result = {}
    for key, child in value.items():
        remaining = [rest for pattern in patterns for rest in _advance(pattern, key)]
        if [] in remaining:
            result[key] = child
            continue
        if remaining:
            filtered = _include(child, remaining)
            if filtered is not _NOTHING:
                result[key] = filtered
    return result or _NOTHING


def _exclude(value: Any, patterns: list[list[str]]) -> Any:
    if isinstance(value, list):
        return [_exclude(item, patterns) for item in value]
    if not isinstance(value, dict):
        return value
    result = {}
    for key, child in value.items():
        remaining = [rest for pattern in patterns for rest in _advance(pattern, key)]
        if [] in remaining:
            continue
        result[key] = _exclude(child, remaining) if remaining else child
    return result
