"""The REST layer every endpoint shares: media types, common parameters, rendering.

§1.3 (always-supported parameters, unrecognized ones), §1.5 (406 and its plain body),
§10.4 (``X-Elastic-Product`` on every response, ``compatible-with`` media types).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any, Literal, overload

from starlette.responses import Response

from conformance.reference import errors
from conformance.reference.errors import EsError, SimpleError
from conformance.reference.filterpath import apply_filter_path
from conformance.reference.suggest import suggestion

COMMON_PARAMS = frozenset({"pretty", "human", "error_trace", "filter_path", "format"})
PRODUCT_HEADER = ("X-Elastic-Product", "Elasticsearch")
JSON = "application/json"
_MEDIA_TYPE = re.compile(
    r"^\s*application/(?:(json)|vnd\.elasticsearch\+json)\s*(?P<params>(?:;\s*[^;]*)*)$", re.IGNORECASE)
_COMPATIBLE = re.compile(r"compatible-with\s*=\s*(\d+)", re.IGNORECASE)
_JAVA_INT = re.compile(r"^[+-]?\d+$")
INT_MIN, INT_MAX = -(2**31), 2**31 - 1
"""Java ``int`` bounds, for query parameters here and body fields in :mod:`.objectparser`."""


def check_content_type(header: str | None, has_body: bool, majors: Iterable[int]) -> None:
    """§1.5: a body needs a JSON media type, else 406 with the plain error body."""
    if not has_body:
        return
    if header is None:
        raise SimpleError(406, "Content-Type header is missing")
    if response_media_type(header, majors, strict=True) is None:
        raise SimpleError(406, f"Content-Type header [{header}] is not supported")


@overload
def response_media_type(header: str | None, majors: Iterable[int], strict: Literal[False] = False) -> str: ...
@overload
def response_media_type(header: str | None, majors: Iterable[int], strict: bool) -> str | None: ...
def response_media_type(header: str | None, majors: Iterable[int], strict: bool = False) -> str | None:
    """The media type to answer with: the ``compatible-with`` form the client asked for, else JSON."""
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
    candidates = set(supported)
    unknown = sorted(set(given) - candidates - COMMON_PARAMS)
    if not unknown:
        return
    described = ", ".join(
        f"[{name}]" + suggestion(name, candidates, threshold=0.5, prefix=" -> did you mean ") for name in unknown)
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
    if _JAVA_INT.match(text) and INT_MIN <= int(text) <= INT_MAX:
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


def render(body: Any, status: int, params: dict[str, str], media_type: str,
           headers: dict[str, str] | None = None, include_body: bool = True) -> Response:
    """Serialise with ``filter_path`` and ``pretty`` applied; always sends ``X-Elastic-Product``."""
    if params.get("filter_path"):
        body = apply_filter_path(body, params["filter_path"])
    if params.get("pretty") not in (None, "false"):
        text = json.dumps(body, indent=2, separators=(",", " : "), ensure_ascii=False) + "\n"
    else:
        text = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
    all_headers = {PRODUCT_HEADER[0]: PRODUCT_HEADER[1], **(headers or {})}
    content = text.encode("utf-8", "replace") if include_body else b""
    return Response(content, status_code=status, headers=all_headers, media_type=media_type)
