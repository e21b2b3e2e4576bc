"""The exchange record: what a reader of a report copies and runs must be right and safe."""

from __future__ import annotations

import shlex

import pytest

from conformance.exchange import REDACTED, Exchange, Intent, Request, Response

REQUEST = Request(
    "POST",
    "http://127.0.0.1:9200/_ml/trained_models/dep/deployment/_update?timeout=30s",
    headers=(
        ("Host", "127.0.0.1:9200"),
        ("Content-Length", "28"),
        ("User-Agent", "python-httpx/0.28.1"),
        ("Authorization", "ApiKey c2VjcmV0"),
        ("Content-Type", "application/json"),
    ),
    body=b'{"number_of_allocations": 2}',
)


def test_curl_repeats_method_url_body_and_content_type() -> None:
    words = shlex.split(REQUEST.as_curl())
    assert words[words.index("-X") + 1] == "POST"
    assert words[-1] == REQUEST.url
    assert words[words.index("--data-binary") + 1] == '{"number_of_allocations": 2}'
    assert "Content-Type: application/json" in words


def test_curl_redacts_credentials_and_drops_headers_curl_sets_itself() -> None:
    command = REQUEST.as_curl()
    assert "c2VjcmV0" not in command and f"Authorization: {REDACTED}" in shlex.split(command)
    for header in ("Host:", "Content-Length:", "User-Agent:"):
        assert header not in command


def test_query_and_json_are_read_from_what_was_sent() -> None:
    assert REQUEST.query == (("timeout", "30s"),)
    assert REQUEST.json() == {"number_of_allocations": 2}
    assert Response(400, body=b"not json").json() is None


def test_an_exchange_refuses_an_intent_kind_no_rule_knows() -> None:
    with pytest.raises(ValueError, match="unknown intent kind"):
        Exchange(REQUEST, None, 0.0, Intent("updat"))
