"""Reading an ``_update`` request as Elasticsearch does (§1.2-§1.5).

The oracle and the rules must read a request the same way, or they judge different
requests. This module is that one reading. It imports only the exchange record, so the
oracle can use it without importing :mod:`conformance.rules`, which imports the oracle;
:mod:`conformance.rules.reading` re-exports it for the rules.
"""

from __future__ import annotations

import enum
import math
import re
from typing import Any, Final

from conformance.exchange import Request

UPDATE_PATH = re.compile(r"^/_ml/trained_models/(?P<id>[^/]+)/deployment/_update/?$")


class Absent(enum.Enum):
    """The one value of a body field that was not sent (distinct from JSON ``null``)."""

    ABSENT = "absent"


ABSENT: Final = Absent.ABSENT
JAVA_INT = re.compile(r"[+-]?\d+")  # what Integer.parseInt accepts, range aside
INT_MIN, INT_MAX = -(2**31), 2**31 - 1


def path_id(request: Request) -> str | None:
    """The ``{model_id}`` path value of an ``_update`` request (a deployment id since 8.8)."""
    found = UPDATE_PATH.match(request.path)
    return found.group("id") if found else None


def body_field(request: Request, name: str) -> Any | Absent:
    """A top-level body field, or :data:`ABSENT` when the body is no object or lacks it."""
    doc = request.json()
    if isinstance(doc, dict) and name in doc:
        return doc[name]
    return ABSENT


def query_value(request: Request, name: str) -> str | None:
    """A query parameter's value; when repeated, the last one, as Elasticsearch's
    parameter map keeps it (and the reference server's ``dict(parse_qsl(...))``)."""
    found = None
    for key, value in request.query:
        if key == name:
            found = value
    return found


def _number(value: Any) -> int | float | None:
    """The number ``intValue()`` reads from a JSON value: a finite number as it is, a
    numeric string parsed; ``None`` for anything else (booleans, null, objects, text)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            try:
                value = float(value.strip())
            except ValueError:
                return None
    return value if isinstance(value, float) and math.isfinite(value) else None


def coerced_int(value: Any) -> int | None:
    """The int Elasticsearch's coercing ``intValue()`` makes of a JSON value (§1.4, §1.5).

    Numbers are truncated (``2.7`` -> 2), numeric strings are parsed, anything else
    (booleans, null, objects, non-numeric strings) is ``None``: a parse error. The Java
    int range is not checked here; :func:`int_field` checks it.
    """
    number = _number(value)
    return None if number is None else int(number)


def int_field(value: Any) -> int | None:
    """An int body field as the parser reads it (§1.4, §1.5): :func:`coerced_int`, but
    a number outside Java's int range (checked before truncation) is a parse error too."""
    number = _number(value)
    return int(number) if number is not None and INT_MIN <= number <= INT_MAX else None


def query_int(text: str) -> int | None:
    """``RestRequest.paramAsInt`` (§1.3): ``Integer.parseInt``, so an optional sign and
    digits within the int range; anything else (also ``""``) is ``None``, a 400."""
    if not JAVA_INT.fullmatch(text) or not INT_MIN <= int(text) <= INT_MAX:
        return None
    return int(text)


def requested_allocations(request: Request) -> int | None:
    """The ``number_of_allocations`` an update asks for, from the query or the body.

    A query value that is no int is ``None`` (a 400, §1.3); so is a body value the
    parser refuses (§1.5). Neither sent is ``None`` too: use :func:`query_value` or
    :func:`body_field` to tell the cases apart.
    """
    query = query_value(request, "number_of_allocations")
    if query is not None:
        return query_int(query)
    value = body_field(request, "number_of_allocations")
    if value is ABSENT:
        value = body_field(request, "model_threads")  # deprecated alias (§1.4)
    return None if value is ABSENT else int_field(value)
