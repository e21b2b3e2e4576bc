"""'Did you mean' suggestions, scored like Lucene's ``LevenshteinDistance`` (§1.3, §1.5)."""

from __future__ import annotations

from collections.abc import Iterable


def similarity(a: str, b: str) -> float:
    """1 - edit distance / longer length: 1.0 for equal strings, 0.0 for nothing in common."""
    if not a and not b:
        return 1.0
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, start=1):
        current = [i]
        for j, char_b in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char_a != char_b)))
        previous = current
    return 1.0 - previous[-1] / max(len(a), len(b))


def suggestion(unknown: str, candidates: Iterable[str], threshold: float, prefix: str) -> str:
    """``prefix`` + ``[x]`` or ``any of [x, y]`` + ``?`` for close candidates, or ``""``."""
    scored = sorted(
        ((similarity(unknown, candidate), candidate) for candidate in set(candidates)),
        key=lambda pair: (-pair[0], pair[1]),
    )
    close = [candidate for score, candidate in scored if score > threshold]
    if not close:
        return ""
    if len(close) == 1:
        return f"{prefix}[{close[0]}]?"
    return f"{prefix}any of [{', '.join(close)}]?"
