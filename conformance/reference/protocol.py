"""The REST layer every endpoint shares: media types, common parameters, rendering.

§1.3 (always-supported parameters, unrecognized ones), §1.5 (406 and its plain body),
§10.4 (``X-Elastic-Product`` on every response, ``compatible-with`` media types).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, overload

from conformance.reference import errors
from conformance.reference.errors import EsError, SimpleError
from conformance.reference.filterpath import apply_filter_path
from conformance.reference.suggest import suggestion
from conformance.reference.xcontent import dumps_deep

COMMON_PARAMS = frozenset({"pretty", "human", "error_trace", "filter_path", "format"})
PRODUCT_HEADER_BYTES = (b"x-elastic-product", b"Elasticsearch")
JSON = "application/json"
_MEDIA_TYPE = re.compile(
    r"^\s*application/(?:(json)|vnd\.elasticsearch\+json)\s*(?P<params>(?:;\s*[^;]*)*)$", re.IGNORECASE
)
_COMPATIBLE = re.compile(r"compatible-with\s*=\s*(\d+)", re.IGNORECASE)
_JAVA_INT = re.compile(r"^[+-]?\d+$")
INT_MIN, INT_MAX = -(2**31), 2**31 - 1
_COMPACT = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, check_circular=False)
_PRETTY = json.JSONEncoder(indent=2, separators=(",", " : "), ensure_ascii=False, check_circular=False)
"""Built once: ``json.dumps`` with options builds a new encoder on every call. Answers are trees
built from parsed JSON and records, never cyclic: no circular-reference bookkeeping."""
"""Java ``int`` bounds, for query parameters here and body fields in :mod:`.objectparser`."""


def check_content_type(header: str | None, has_body: bool, majors: tuple[int, ...]) -> None:
    """§1.5: a body needs a JSON media type, else 406 with the plain error body."""
    if not has_body:
        return
    if header is None:
        raise SimpleError(406, "Content-Type header is missing")
    if response_media_type(header, majors, strict=True) is None:
        raise SimpleError(406, f"Content-Type header [{header}] is not supported")


@lru_cache(maxsize=256)
def response_media_type(header: str | None, majors: tuple[int, ...], strict: bool = False) -> str | None:
    """The media type to answer with: the ``compatible-with`` form the client asked for, else JSON.
    Cached: clients send the same few headers on every request."""
    if header is None:
        return None if strict else JSON
    for candidate in header.split(","):
        match = _MEDIA_TYPE.match(candidate)
        if not match:
            continue
        if match.group(1):
            return JSON
        version = _COMPATIBLE.search(match.group("params") or "")
        if version and int(version.group(1)) in tuple(majors):
            return f"application/vnd.elasticsearch+json;compatible-with={version.group(1)}"
    return None if strict else JSON


def check_unrecognized(path: str, given: Iterable[str], supported: Iterable[str]) -> None:
    """§1.3 ``BaseRestHandler.unrecognized``: 400 naming every unknown parameter, sorted."""
    if not given:
        return
    candidates = set(supported)
    unknown = sorted(set(given) - candidates - COMMON_PARAMS)
    if not unknown:
        return
    described = ", ".join(
        f"[{name}]" + suggestion(name, candidates, threshold=0.5, prefix=" -> did you mean ") for name in unknown
    )
    plural = "s" if len(unknown) > 1 else ""
    raise errors.illegal_argument(f"request [{path}] contains unrecognized parameter{plural}: {described}")


@overload
def param_as_int(params: dict[str, str], name: str, default: int) -> int: ...


@overload
def param_as_int(params: dict[str, str], name: str, default: None = None) -> int | None: ...


def param_as_int(params: dict[str, str], name: str, default: int | None = None) -> int | None:
    """``RestRequest.paramAsInt``: ``default`` when absent, else :func:`parse_int` (§1.3)."""
    return parse_int(params[name], name) if name in params else default


def parse_int(text: str, name: str) -> int:
    """Java ``Integer.parseInt`` rules, failing with ``paramAsInt``'s message (also for path parts)."""
    # Leading zeros are fine for Java; more than 10 significant digits are out of range anyway,
    # and never reach int(), whose 4,300-digit limit would raise.
    if _JAVA_INT.match(text) and len(text.lstrip("+-").lstrip("0")) <= 10 and INT_MIN <= int(text) <= INT_MAX:
        return int(text)
    cause = EsError(400, "number_format_exception", f'For input string: "{text}"')
    raise errors.illegal_argument(f"Failed to parse int parameter [{name}] with value [{text}]", cause)


def param_as_bool(params: dict[str, str], name: str, default: bool) -> bool:
    """``paramAsBoolean``: ``""`` and ``"true"`` are true, ``"false"`` false, anything else a 400."""
    if name not in params:
        return default
    text = params[name]
    if text in ("", "true"):
        return True
    if text == "false":
        return False
    raise errors.illegal_argument(f"Failed to parse value [{text}] as only [true] or [false] are allowed.")


@dataclass(frozen=True)
class Reply:
    """An answer as ASGI sends it: status, encoded headers, body bytes."""

    status: int
    headers: list[tuple[bytes, bytes]]
    content: bytes


def render(
    body: Any,
    status: int,
    params: dict[str, str],
    media_type: str,
    headers: dict[str, str] | None = None,
    include_body: bool = True,
) -> Reply:
    """Serialise with ``filter_path`` and ``pretty`` applied; always sends ``X-Elastic-Product``.

    A body nested deeper than Python's recursion limit (stored configurations may hold up to
    1,000 levels, as Elasticsearch's parser allows) is written compactly and unfiltered."""
    try:
        if params.get("filter_path"):
            body = apply_filter_path(body, params["filter_path"])
        pretty = params.get("pretty") not in (None, "false")
        text = _PRETTY.encode(body) + "\n" if pretty else _COMPACT.encode(body)
    except RecursionError:
        text = dumps_deep(body)
    content = text.encode("utf-8", "replace") if include_body else b""
    encoded = [(b"content-length", b"%d" % len(content)), (b"content-type", media_type.encode()), PRODUCT_HEADER_BYTES]
    if headers:
        encoded += [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()]
    return Reply(status, encoded, content)
