"""Inference for the models the reference can interpret: tokenizer, model output, cache.

Elasticsearch hands ``_infer`` documents to the deployment's native process: the text is
tokenized with the uploaded vocabulary (ES ``BertTokenizer``: basic split, then WordPiece),
the TorchScript model runs, and an LRU cache per process (``cache_size``, default the model
size) may answer a repeated request without running the model (ml-cpp ``pytorch_inference``).
The reference runs no model: it interprets only definitions whose output it knows, the
project's tiny model and Elasticsearch's own test model (``3rd_party_deployment.yml``),
which both answer ones of shape ``(batch, 2)`` whatever the tokens (§5.3).
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from conformance.reference import errors

KNOWN_DEFINITIONS = {
    "5a6c3e782d1c673b3306cbc98c1c111225e4af26492487b3a3716ecc3143f87c": (
        "conformance/assets/tiny_model.pt (tools/build_tiny_model.py)"
    ),
    "a491806683afcbc9277b2dba8d87477656bea3a6e5f5db0e738650e39ca795ca": (
        "ES 3rd_party_deployment.yml test model (SuperSimple, 1,630 bytes)"
    ),
}
"""sha256 of the TorchScript archives whose ``forward`` is ``torch.ones((batch, 2))``."""

MODEL_OUTPUT = [[1.0, 1.0]]
"""What those models answer for one sequence: ml-cpp wraps a 2-D result in an outer array,
and ``PassThroughProcessor`` reports the first element as ``predicted_value``."""

DEFAULT_MAX_SEQUENCE_LENGTH = 512
"""``Tokenization.DEFAULT_MAX_SEQUENCE_LENGTH``."""


@dataclass(frozen=True)
class BertSettings:
    """The ``bert`` tokenization of a task config with ``BertTokenization``'s defaults."""

    do_lower_case: bool = False
    with_special_tokens: bool = True
    max_sequence_length: int = DEFAULT_MAX_SEQUENCE_LENGTH
    truncate: str = "first"

    @classmethod
    def of(cls, task: dict[str, Any]) -> BertSettings:
        bert = ((task.get("tokenization") or {}).get("bert") or {}) if isinstance(task, dict) else {}
        return cls(
            do_lower_case=bert.get("do_lower_case", False) is True,
            with_special_tokens=bert.get("with_special_tokens", True) is not False,
            max_sequence_length=_positive_int(bert.get("max_sequence_length"), DEFAULT_MAX_SEQUENCE_LENGTH),
            truncate=bert.get("truncate", "first") if isinstance(bert.get("truncate"), str) else "first",
        )


def _positive_int(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else default


def not_emulated_reason(config: dict[str, Any], definition: bytes) -> str | None:
    """Why the reference cannot answer for this model, or ``None`` when it can."""
    task = config.get("inference_config")
    if not isinstance(task, dict) or set(task) != {"pass_through"}:
        return "only pass_through models are emulated"
    tokenizer = (task["pass_through"] or {}).get("tokenization") if isinstance(task["pass_through"], dict) else None
    if tokenizer is not None and set(tokenizer) != {"bert"}:
        return "only the bert tokenization is emulated"
    if hashlib.sha256(definition).hexdigest() not in KNOWN_DEFINITIONS:
        return "its definition is not one whose output the reference knows"
    return None


def tokenize(text: str, vocabulary: list[str], settings: BertSettings) -> tuple[tuple[int, ...], bool]:
    """Token ids of ``text`` and whether they were truncated (ES ``BertTokenizer.tokenize``)."""
    index = {token: position for position, token in enumerate(vocabulary)}
    required = ["[UNK]", "[PAD]"] + (["[CLS]", "[SEP]"] if settings.with_special_tokens else [])
    missing = [token for token in required if token not in index]
    if missing:
        raise errors.status_exception(409, f"stored vocabulary is missing required [{', '.join(missing)}] token(s)")
    ids = [piece for word in _basic_split(text, settings.do_lower_case) for piece in _wordpiece(word, index)]
    room = settings.max_sequence_length - (2 if settings.with_special_tokens else 0)
    truncated = len(ids) > room
    if truncated:
        if settings.truncate == "none":
            total = len(ids) + (2 if settings.with_special_tokens else 0)
            raise errors.status_exception(
                400,
                f"Input too large. The tokenized input length [{total}] exceeds the maximum sequence length "
                f"[{settings.max_sequence_length}]",
            )
        ids = ids[:room]
    if settings.with_special_tokens:
        ids = [index["[CLS]"], *ids, index["[SEP]"]]
    return tuple(ids), truncated


def _basic_split(text: str, lower: bool) -> list[str]:
    """Whitespace split, then punctuation as tokens of their own (``BasicTokenFilter``)."""
    if lower:
        text = "".join(c for c in unicodedata.normalize("NFD", text.lower()) if unicodedata.category(c) != "Mn")
    words: list[str] = []
    for chunk in text.split():
        current = ""
        for char in chunk:
            if unicodedata.category(char).startswith("P"):
                if current:
                    words.append(current)
                words.append(char)
                current = ""
            else:
                current += char
        if current:
            words.append(current)
    return words


def _wordpiece(word: str, index: dict[str, int]) -> list[int]:
    """Greedy longest-match-first with ``##`` continuations; an unmatched word is ``[UNK]``."""
    pieces, start = [], 0
    while start < len(word):
        end = len(word)
        while end > start:
            candidate = word[start:end] if start == 0 else "##" + word[start:end]
            if candidate in index:
                pieces.append(index[candidate])
                break
            end -= 1
        else:
            return [index["[UNK]"]]
        start = end
    return pieces


@dataclass
class InferenceCache:
    """One process's LRU cache of results, bounded in bytes like ml-cpp's ``CLruCache``.

    An entry costs its token ids and its output as 8-byte numbers (an approximation of the
    native process's accounting); ``capacity`` 0 disables the cache (``cache_size: 0``)."""

    capacity: int
    entries: OrderedDict[tuple[int, ...], int] = field(default_factory=OrderedDict)
    used: int = 0

    def lookup(self, key: tuple[int, ...]) -> bool:
        """True on a hit; a miss stores the result, evicting the least recently used."""
        if key in self.entries:
            self.entries.move_to_end(key)
            return True
        cost = 8 * (len(key) + sum(len(row) for row in MODEL_OUTPUT))
        if cost > self.capacity:
            return False
        while self.used + cost > self.capacity:
            _, evicted = self.entries.popitem(last=False)
            self.used -= evicted
        self.entries[key] = cost
        self.used += cost
        return False

    def clear(self) -> None:
        self.entries.clear()
        self.used = 0
