"""A pull parser for JSON request bodies that reports token positions like Jackson.

Elasticsearch parses bodies as a token stream (Jackson + ``ObjectParser``), so the first
problem met while reading wins: ``{"foo": }`` is an *unknown field*, not a syntax error,
and error reasons carry the ``[line:col]`` of the offending token (§1.5, §10.3). The
standard ``json`` module parses eagerly and knows no positions, hence this small parser.
Duplicate keys are syntax errors, as with Elasticsearch's strict duplicate detection.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

START_OBJECT = "START_OBJECT"
END_OBJECT = "END_OBJECT"
START_ARRAY = "START_ARRAY"
END_ARRAY = "END_ARRAY"
FIELD_NAME = "FIELD_NAME"
VALUE_STRING = "VALUE_STRING"
VALUE_NUMBER = "VALUE_NUMBER"
VALUE_BOOLEAN = "VALUE_BOOLEAN"
VALUE_NULL = "VALUE_NULL"

_NUMBER = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")
_LEADING_ZERO = re.compile(r"-?0[0-9]")
_WORD = re.compile(r"[A-Za-z0-9_$+.-]+")
_LITERALS = {"true": (VALUE_BOOLEAN, True), "false": (VALUE_BOOLEAN, False), "null": (VALUE_NULL, None)}
_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


MAX_NESTING_DEPTH = 1000
MAX_NUMBER_LENGTH = 1000
"""Jackson's ``StreamReadConstraints`` defaults (``DEFAULT_MAX_DEPTH``, ``DEFAULT_MAX_NUM_LEN``),
which Elasticsearch's JSON parser runs with: deeper or longer input fails while it is read,
before any value is built (so no recursion, no 4,300-digit ``int()``)."""


class JsonSyntaxError(Exception):
    """Malformed JSON at ``line:col``; ``eof`` tells a truncated body from a wrong character.
    ``cause_type`` is the Jackson exception's name as Elasticsearch renders it."""

    def __init__(
        self, message: str, line: int, col: int, eof: bool = False, cause_type: str = "json_parse_exception"
    ) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.col = col
        self.eof = eof
        self.cause_type = cause_type


@dataclass(frozen=True)
class Token:
    kind: str
    value: Any
    line: int
    col: int
    text: str = ""  # the source text of a number, for error messages

    @property
    def location(self) -> str:
        return f"[{self.line}:{self.col}]"


@dataclass
class _Frame:
    kind: str  # START_OBJECT or START_ARRAY
    line: int
    col: int
    expect: str  # "first" (just opened), "value" (objects only: after a field name), "comma"
    keys: set[str]


class PullParser:
    """Yields one :class:`Token` per :meth:`next_token` call; ``None`` once the root value ended."""

    def __init__(self, body: bytes) -> None:
        self._pos = 0
        self._decode_error: JsonSyntaxError | None = None
        try:
            self._text = _decode(body)
        except JsonSyntaxError as error:  # reported when the stream is read, like Jackson
            self._text, self._decode_error = "", error
        self._line = 1
        self._line_start = 0
        self._stack: list[_Frame] = []
        self._done = False

    # -- public API ------------------------------------------------------------------------

    def next_token(self) -> Token | None:
        if self._decode_error is not None:
            raise self._decode_error
        if self._done:
            return None
        self._skip_whitespace()
        if not self._stack:
            if self._pos >= len(self._text):
                self._done = True
                return None
            return self._value_token()
        frame = self._stack[-1]
        if frame.kind == START_OBJECT:
            return self._in_object(frame)
        return self._in_array(frame)

    def read_value(self, token: Token) -> Any:
        """The plain Python value that starts at ``token`` (objects become dicts).

        Iterative, so that the 1,000 levels the parser allows never meet Python's recursion limit."""
        if token.kind not in (START_OBJECT, START_ARRAY):
            return token.value
        root: Any = {} if token.kind == START_OBJECT else []
        open_values: list[Any] = [root]
        names: list[str | None] = [None]
        while open_values:
            current = open_values[-1]
            item = self._require_token()
            if item.kind in (END_OBJECT, END_ARRAY):
                open_values.pop()
                names.pop()
                continue
            if item.kind == FIELD_NAME:
                names[-1] = item.value
                item = self._require_token()
            value: Any = item.value
            if item.kind in (START_OBJECT, START_ARRAY):
                value = {} if item.kind == START_OBJECT else []
            if isinstance(current, dict):
                current[names[-1]] = value
            else:
                current.append(value)
            if item.kind in (START_OBJECT, START_ARRAY):
                open_values.append(value)
                names.append(None)
        return root

    # -- tokenizer -----------------------------------------------------------------------

    def _require_token(self) -> Token:
        token = self.next_token()
        if token is None:  # only reachable when a caller misuses the stream
            raise self._eof_error()
        return token

    def _col(self) -> int:
        return self._pos - self._line_start + 1

    def _skip_whitespace(self) -> None:
        text = self._text
        while self._pos < len(text) and text[self._pos] in " \t\r\n":
            if text[self._pos] == "\n":
                self._line += 1
                self._line_start = self._pos + 1
            self._pos += 1

    def _peek(self) -> str:
        self._skip_whitespace()
        if self._pos >= len(self._text):
            raise self._eof_error()
        return self._text[self._pos]

    def _eof_error(self) -> JsonSyntaxError:
        if self._stack:
            frame = self._stack[-1]
            what = "Object" if frame.kind == START_OBJECT else "Array"
            message = (
                f"Unexpected end-of-input: expected close marker for {what} "
                f"(start marker at line: {frame.line}, column: {frame.col})"
            )
        else:
            message = "Unexpected end-of-input: expected a value"
        return JsonSyntaxError(message, self._line, self._col(), eof=True)

    def _unexpected(self, expected: str) -> JsonSyntaxError:
        char = self._text[self._pos]
        return JsonSyntaxError(f"Unexpected character ({_describe(char)}): {expected}", self._line, self._col())

    def _in_object(self, frame: _Frame) -> Token:
        if frame.expect == "value":
            return self._value_token()
        char = self._peek()  # expecting "first" or "comma" here
        if char == "}":
            return self._close(frame)
        if frame.expect == "comma":
            if char != ",":
                raise self._unexpected("was expecting comma to separate Object entries")
            self._pos += 1
            char = self._peek()
        if char != '"':
            raise self._unexpected("was expecting double-quote to start field name")
        line, col = self._line, self._col()
        name = self._string()
        if name in frame.keys:
            raise JsonSyntaxError(f"Duplicate field '{name}'", line, col)
        frame.keys.add(name)
        if self._peek() != ":":
            raise self._unexpected("was expecting a colon to separate field name and value")
        self._pos += 1
        frame.expect = "value"
        return Token(FIELD_NAME, name, line, col)

    def _in_array(self, frame: _Frame) -> Token:
        char = self._peek()  # an array frame only ever expects "first" or "comma"
        if char == "]":
            return self._close(frame)
        if frame.expect == "comma":
            if char != ",":
                raise self._unexpected("was expecting comma to separate Array entries")
            self._pos += 1
        return self._value_token()

    def _close(self, frame: _Frame) -> Token:
        token = Token(END_OBJECT if frame.kind == START_OBJECT else END_ARRAY, None, self._line, self._col())
        self._pos += 1
        self._stack.pop()
        self._after_value()
        return token

    def _after_value(self) -> None:
        if self._stack:
            self._stack[-1].expect = "comma"
        else:
            self._done = True

    def _value_token(self) -> Token:
        char = self._peek()
        line, col = self._line, self._col()
        if char in "{[":
            kind = START_OBJECT if char == "{" else START_ARRAY
            if len(self._stack) >= MAX_NESTING_DEPTH:
                raise JsonSyntaxError(
                    f"Document nesting depth ({len(self._stack) + 1}) exceeds the maximum allowed "
                    f"({MAX_NESTING_DEPTH}, from `StreamReadConstraints.getMaxNestingDepth()`)",
                    line,
                    col,
                    cause_type="stream_constraints_exception",
                )
            self._pos += 1
            self._stack.append(_Frame(kind, line, col, "first", set()))
            return Token(kind, None, line, col)
        if char == '"':
            token = Token(VALUE_STRING, self._string(), line, col)
        elif char == "-" or char.isdigit():
            token = self._number(line, col)
        else:
            token = self._literal(line, col)
        self._after_value()
        return token

    def _literal(self, line: int, col: int) -> Token:
        match = _WORD.match(self._text, self._pos)
        word = match.group(0) if match else ""
        if word in _LITERALS:
            self._pos += len(word)
            kind, value = _LITERALS[word]
            return Token(kind, value, line, col, word)
        if not word:
            raise self._unexpected("expected a value")
        raise JsonSyntaxError(
            f"Unrecognized token '{word}': was expecting (JSON String, Number, Array, Object "
            "or token 'null', 'true' or 'false')",
            line,
            col,
        )

    def _number(self, line: int, col: int) -> Token:
        match = _NUMBER.match(self._text, self._pos)
        if _LEADING_ZERO.match(self._text, self._pos):
            raise JsonSyntaxError("Invalid numeric value: Leading zeroes not allowed", line, col)
        if not match or match.group(0) == "-":
            raise JsonSyntaxError("Unexpected character: expected digit for valid numeric value", line, col)
        text = match.group(0)
        if len(text) - text.startswith("-") > MAX_NUMBER_LENGTH:
            raise JsonSyntaxError(
                f"Number value length ({len(text) - text.startswith('-')}) exceeds the maximum allowed "
                f"({MAX_NUMBER_LENGTH}, from `StreamReadConstraints.getMaxNumberLength()`)",
                line,
                col,
                cause_type="stream_constraints_exception",
            )
        self._pos += len(text)
        value: int | float = int(text) if match.group(2) is None and match.group(3) is None else float(text)
        return Token(VALUE_NUMBER, value, line, col, text)

    def _string(self) -> str:
        text = self._text
        self._pos += 1  # opening quote
        pieces: list[str] = []
        while True:
            if self._pos >= len(text):
                raise JsonSyntaxError(
                    "Unexpected end-of-input: was expecting closing quote for a string value",
                    self._line,
                    self._col(),
                    eof=True,
                )
            char = text[self._pos]
            if char == '"':
                self._pos += 1
                return "".join(pieces)
            if char == "\\":
                pieces.append(self._escape())
                continue
            if ord(char) < 0x20:
                raise JsonSyntaxError(
                    f"Illegal unquoted character ((CTRL-CHAR, code {ord(char)})): has to be escaped using "
                    "backslash to be included in string value",
                    self._line,
                    self._col(),
                )
            pieces.append(char)
            self._pos += 1

    def _escape(self) -> str:
        text = self._text
        if self._pos + 1 >= len(text):
            raise JsonSyntaxError(
                "Unexpected end-of-input in character escape sequence", self._line, self._col(), eof=True
            )
        code = text[self._pos + 1]
        if code in _ESCAPES:
            self._pos += 2
            return _ESCAPES[code]
        if code == "u":
            digits = text[self._pos + 2 : self._pos + 6]
            if len(digits) == 4 and all(c in "0123456789abcdefABCDEF" for c in digits):
                self._pos += 6
                return chr(int(digits, 16))  # lone surrogates are kept; encoding replaces them
        raise JsonSyntaxError(f"Unrecognized character escape ({_describe(code)})", self._line, self._col())


def dumps_deep(value: Any) -> str:
    """Compact JSON without recursion, for values nested deeper than ``json.dumps`` can go
    (Python's recursion limit is about as deep as the 1,000 levels the parser accepts)."""
    out: list[str] = []
    stack: list[Any] = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, _Literal):
            out.append(item.text)
        elif isinstance(item, dict):
            stack.append(_Literal("}"))
            for index, (key, child) in enumerate(reversed(list(item.items()))):
                stack.append(child)
                comma = "," if index < len(item) - 1 else ""
                stack.append(_Literal(comma + json.dumps(key, ensure_ascii=False) + ":"))
            out.append("{")
        elif isinstance(item, list):
            stack.append(_Literal("]"))
            for index, child in enumerate(reversed(item)):
                stack.append(child)
                if index < len(item) - 1:
                    stack.append(_Literal(","))
            out.append("[")
        else:
            out.append(json.dumps(item, ensure_ascii=False))
    return "".join(out)


@dataclass(frozen=True)
class _Literal:
    text: str


def _decode(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as error:
        before = body[: error.start].decode("utf-8")
        line = before.count("\n") + 1
        col = len(before) - (before.rfind("\n") + 1) + 1
        raise JsonSyntaxError(f"Invalid UTF-8 start byte 0x{body[error.start]:02x}", line, col) from None


def _describe(char: str) -> str:
    if ord(char) < 0x20:
        return f"CTRL-CHAR, code {ord(char)}"
    return f"'{char}' (code {ord(char)})"
