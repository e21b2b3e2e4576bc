"""Declarative body parsing with Elasticsearch ``ObjectParser`` semantics and messages.

A body is read token by token: an unknown field fails at its name, a value of the wrong
JSON type fails before it is read, a bad value is reported as ``failed to parse field``
with the underlying error as ``caused_by`` (§1.4, §1.5).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from conformance.reference import errors
from conformance.reference.errors import EsError
from conformance.reference.protocol import INT_MAX, INT_MIN
from conformance.reference.suggest import suggestion
from conformance.reference.timevalue import parse_time_value
from conformance.reference.xcontent import (
    END_OBJECT,
    FIELD_NAME,
    START_OBJECT,
    VALUE_BOOLEAN,
    VALUE_NULL,
    VALUE_NUMBER,
    VALUE_STRING,
    PullParser,
    Token,
)

_JAVA_DOUBLE = re.compile(r"^[+-]?(NaN|Infinity|(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?[fFdD]?)$")

# The token types each kind of field accepts (ES ``ObjectParser.ValueType``).
_ACCEPTS: dict[str, frozenset[str]] = {
    "int": frozenset({VALUE_NUMBER, VALUE_STRING}),
    "int_or_null": frozenset({VALUE_NUMBER, VALUE_STRING, VALUE_NULL}),
    "string": frozenset({VALUE_STRING}),
    "string_or_number": frozenset({VALUE_STRING, VALUE_NUMBER}),
    "boolean": frozenset({VALUE_BOOLEAN, VALUE_STRING}),
    "object_or_null": frozenset({START_OBJECT, VALUE_NULL}),
}


@dataclass(frozen=True)
class FieldSpec:
    name: str
    kind: str
    deprecated_names: tuple[str, ...] = ()
    sub_object: ObjectSpec | None = None
    convert: Callable[[Any], Any] | None = None  # extra check of a read value, may raise EsError


@dataclass(frozen=True)
class ObjectSpec:
    """A named object parser; the name appears in every error it raises."""

    name: str
    fields: tuple[FieldSpec, ...]
    preferred: dict[str, FieldSpec] = field(init=False, repr=False, compare=False, hash=False)
    """Fields by preferred name (deprecated names are not in it), for :func:`parse_plain`."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "preferred", {spec.name: spec for spec in self.fields})

    def lookup(self, field_name: str) -> FieldSpec | None:
        for spec in self.fields:
            if field_name == spec.name or field_name in spec.deprecated_names:
                return spec
        return None

    @property
    def all_names(self) -> list[str]:
        return [name for spec in self.fields for name in (spec.name, *spec.deprecated_names)]


def parse_plain(spec: ObjectSpec, body: bytes) -> dict[str, Any] | None:
    """The values :func:`parse_object` would return for ``body``, read with the C ``json``
    module, or ``None`` when the body needs the token-by-token reading.

    The hot path (``_update`` bodies such as ``{"number_of_allocations": 2}``) is always a
    well-formed object of known fields with plainly typed values; for such a body both
    readings agree and none raises. Anything else (a syntax error, a duplicate key, an
    unknown or deprecated name, a value that needs coercion, conversion or a range check,
    NaN, a number ``int()`` cannot take, deep nesting) returns ``None``, so every error and
    warning still comes from :func:`parse_object`, in Elasticsearch's order and words.
    """
    try:
        value = _DECODER.decode(body.decode("utf-8"))
    except (ValueError, RecursionError):
        return None
    return _plain_object_values(spec, value) if type(value) is dict else None


def _plain_object_values(spec: ObjectSpec, value: dict[str, Any]) -> dict[str, Any] | None:
    values: dict[str, Any] = {}
    for name, item in value.items():
        field_spec = spec.preferred.get(name)
        if field_spec is None or field_spec.convert is not None:
            return None
        kind = field_spec.kind
        if item is None:
            if kind not in ("int_or_null", "object_or_null"):
                return None
        elif kind in ("int", "int_or_null"):
            if type(item) is not int or not INT_MIN <= item <= INT_MAX:
                return None
        elif kind == "boolean":
            if type(item) is not bool:
                return None
        elif kind == "string":
            if type(item) is not str:
                return None
        elif kind == "object_or_null" and field_spec.sub_object is not None and type(item) is dict:
            item = _plain_object_values(field_spec.sub_object, item)
            if item is None:
                return None
        else:
            return None
        values[name] = item
    return values


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise ValueError("duplicate key")  # the token reader reports it in Jackson's words
    return result


def _refuse(constant: str) -> Any:
    raise ValueError(constant)  # NaN, Infinity: not JSON for Jackson


_DECODER = json.JSONDecoder(object_pairs_hook=_unique_pairs, parse_constant=_refuse)


@dataclass
class Parsed:
    """Parsed fields by preferred name (``None`` is JSON null) and deprecation warnings."""

    values: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def parse_object(spec: ObjectSpec, parser: PullParser, first: Token | None, result: Parsed | None = None) -> Parsed:
    """Parse one object starting at ``first`` (the already-read first token)."""
    result = result if result is not None else Parsed()
    if first is None or first.kind != START_OBJECT:
        where = first.location + " " if first is not None else ""
        kind = first.kind if first is not None else "null"
        raise errors.x_content_parse(f"{where}[{spec.name}] Expected START_OBJECT but was: {kind}")
    while True:
        name_token = parser.next_token()
        assert name_token is not None  # the parser raises on end-of-input inside an object
        if name_token.kind == END_OBJECT:
            return result
        assert name_token.kind == FIELD_NAME
        field_spec = spec.lookup(name_token.value)
        if field_spec is None:
            hint = suggestion(name_token.value, spec.all_names, threshold=0.7, prefix=" did you mean ")
            raise errors.x_content_parse(
                f"{name_token.location} [{spec.name}] unknown field [{name_token.value}]{hint}"
            )
        if name_token.value != field_spec.name:
            result.warnings.append(f"Deprecated field [{name_token.value}] used, expected [{field_spec.name}] instead")
        value_token = parser.next_token()
        assert value_token is not None
        result.values[field_spec.name] = _parse_value(spec, field_spec, parser, value_token, result)


def _parse_value(spec: ObjectSpec, field_spec: FieldSpec, parser: PullParser, token: Token, result: Parsed) -> Any:
    if token.kind not in _ACCEPTS[field_spec.kind]:
        raise errors.x_content_parse(
            f"{token.location} [{spec.name}] {field_spec.name} doesn't support values of type: {token.kind}"
        )
    try:
        value = _read(field_spec, parser, token, result)
        return field_spec.convert(value) if field_spec.convert is not None and value is not None else value
    except EsError as cause:
        raise errors.x_content_parse(
            f"{token.location} [{spec.name}] failed to parse field [{field_spec.name}]", cause
        ) from None


def _read(field_spec: FieldSpec, parser: PullParser, token: Token, result: Parsed) -> Any:
    if token.kind == VALUE_NULL:
        return None
    kind = field_spec.kind
    if kind in ("int", "int_or_null"):
        return int_value(token)
    if kind == "boolean":
        return boolean_value(token)
    if kind == "object_or_null" and field_spec.sub_object is not None:
        return parse_object(field_spec.sub_object, parser, token, Parsed(warnings=result.warnings)).values
    if kind == "string_or_number":
        return token.text if token.kind == VALUE_NUMBER else token.value
    return token.value


def int_value(token: Token) -> int:
    """``XContentParser.intValue()`` with coercion: strings and fractions are accepted (§1.4, §1.5)."""
    if token.kind == VALUE_STRING:
        text = token.value.strip()
        if not _JAVA_DOUBLE.match(text):
            raise EsError(400, "number_format_exception", f'For input string: "{token.value}"')
        number = float(text.rstrip("fFdD").replace("Infinity", "inf"))
        if math.isnan(number):
            return 0  # Java's (int) NaN
        if number < INT_MIN or number > INT_MAX:
            raise errors.illegal_argument(f"Value [{token.value}] is out of range for an integer")
        return int(number)
    number = token.value
    if (isinstance(number, float) and not math.isfinite(number)) or not INT_MIN <= number <= INT_MAX:
        raise EsError(
            400, "input_coercion_exception", f"Numeric value ({token.text}) out of range of int ({INT_MIN} - {INT_MAX})"
        )
    return int(number)


def boolean_value(token: Token) -> bool:
    if token.kind == VALUE_BOOLEAN:
        return bool(token.value)
    if token.value in ("true", "false"):
        return bool(token.value == "true")
    raise errors.illegal_argument(f"Failed to parse value [{token.value}] as only [true] or [false] are allowed.")


def time_value(setting: str) -> Callable[[str], float]:
    """A ``convert`` that parses a string field as an Elasticsearch time value."""
    return lambda text: parse_time_value(text, setting)
