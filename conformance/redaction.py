"""One redactor for every output: it knows each credential in every form it can take.

Exchanges are recorded with the ``Authorization`` header already replaced, but a target
can echo a credential anywhere: in an error reason, a header, a body. On its way into a
report that text is escaped once or twice more (a JSON string inside ``results.json``,
inside an HTML page, inside a JUnit attribute), and a Basic credential travels as base64.
So the redactor derives, for each secret, its plain form, the ``Authorization`` value,
the base64 of ``user:password``, and every composition of up to three output encodings
(JSON, HTML, XML, URL, shell and Python quoting) of each, and replaces them all.
Everything written (reports, console, pytest's log, replay output) passes through it.
"""

from __future__ import annotations

import base64
import binascii
import html
import io
import json
import shlex
from collections.abc import Callable, Iterable
from itertools import product
from typing import IO
from urllib.parse import quote, quote_plus
from xml.sax.saxutils import escape as xml_escape

REPLACEMENT = "[redacted]"  # no markup characters: it lands in already-escaped HTML and XML
DEPTH = 3  # a body string (JSON) inside results.json (JSON) inside junit.xml (XML)

_ENCODINGS: tuple[Callable[[str], str], ...] = (
    lambda s: json.dumps(s)[1:-1],
    lambda s: json.dumps(s, ensure_ascii=False)[1:-1],
    lambda s: html.escape(s, quote=True),
    lambda s: html.escape(s, quote=False),
    lambda s: xml_escape(s, {'"': "&quot;", "'": "&apos;"}),
    lambda s: quote(s, safe=""),
    lambda s: quote(s),
    quote_plus,
    lambda s: repr(s)[1:-1],
    lambda s: shlex.quote(s).strip("'"),
)


class Redactor:
    """Replaces every known form of every secret with :data:`REPLACEMENT`."""

    def __init__(self, secrets: Iterable[str]) -> None:
        forms: set[str] = set()
        for secret in {s for s in secrets if s}:
            forms |= _forms(secret)
        # Longest first, so that a form containing another is replaced whole.
        self._forms = tuple(sorted(forms, key=len, reverse=True))

    @classmethod
    def for_credentials(
        cls,
        *,
        api_key: str | None = None,
        user: str | None = None,
        password: str | None = None,
        bearer_token: str | None = None,
    ) -> Redactor:
        """The redactor of one way to authenticate (the values of ``TargetConfig``)."""
        secrets = [api_key, password, bearer_token]
        if api_key:
            secrets += [f"ApiKey {api_key}", *_decoded_api_key(api_key)]
        if bearer_token:
            secrets.append(f"Bearer {bearer_token}")
        if user is not None and password:
            pair = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
            secrets += [f"{user}:{password}", pair, pair.rstrip("="), f"Basic {pair}"]
        return cls(s for s in secrets if s)

    def __bool__(self) -> bool:
        return bool(self._forms)

    def __call__(self, text: str) -> str:
        for form in self._forms:
            if form in text:
                text = text.replace(form, REPLACEMENT)
        return text

    def stream(self, target: IO[str]) -> RedactingStream:
        return RedactingStream(target, self)


class RedactingStream(io.TextIOBase):
    """A text stream that redacts whole lines before they reach ``target`` (a secret is
    never split by buffering, since credentials hold no line break)."""

    def __init__(self, target: IO[str], redact: Callable[[str], str]) -> None:
        super().__init__()
        self._target = target
        self._redact = redact
        self._pending = ""

    def write(self, text: str) -> int:
        self._pending += text
        if "\n" in self._pending:
            complete, _, self._pending = self._pending.rpartition("\n")
            self._target.write(self._redact(complete + "\n"))
        return len(text)

    def flush(self) -> None:
        if self._pending:
            self._target.write(self._redact(self._pending))
            self._pending = ""
        self._target.flush()

    def isatty(self) -> bool:
        return False

    # TextIO declares encoding as an attribute; a read-only property serves it here.
    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self._target, "encoding", None) or "utf-8"


def _forms(secret: str) -> set[str]:
    found = {secret}
    layer = {secret}
    for _ in range(DEPTH):
        layer = {encode(text) for text, encode in product(layer, _ENCODINGS)} - found
        found |= layer
    return {form for form in found if form}


def _decoded_api_key(api_key: str) -> list[str]:
    """An Elasticsearch encoded API key is base64 of ``id:key``: a target may echo either half."""
    try:
        decoded = base64.b64decode(api_key, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return []
    _identifier, colon, key = decoded.partition(":")
    return [decoded, key] if colon and key and decoded.isprintable() else []
