"""Target access: authentication headers, flag/env precedence, redaction, timeouts."""

from __future__ import annotations

import base64

import httpx
import pytest
from rules.factories import stub_rule

from conformance.context import Context, Version
from conformance.exchange import Intent
from conformance.rules.base import Outcome, evaluate
from conformance.target import ConfigError, Target, TargetConfig

SECRET = "s3cr3t-value-123"
OTHER = Intent("other")


def _capturing_target(config: TargetConfig) -> tuple[Target, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"ok": True})

    return Target(config, transport=httpx.MockTransport(handler)), seen


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ({"api_key": SECRET}, f"ApiKey {SECRET}"),
        ({"bearer_token": SECRET}, f"Bearer {SECRET}"),
        ({"user": "elastic", "password": SECRET}, "Basic " + base64.b64encode(f"elastic:{SECRET}".encode()).decode()),
    ],
)
def test_each_auth_method_sends_its_header(flags: dict, expected: str) -> None:
    target, seen = _capturing_target(TargetConfig.from_sources(flags, environ={}))
    target.request("GET", "/", intent=OTHER)
    assert seen[0].headers["authorization"] == expected


def test_no_auth_sends_no_header() -> None:
    target, seen = _capturing_target(TargetConfig.from_sources({}, environ={}))
    target.request("GET", "/", intent=OTHER)
    assert "authorization" not in seen[0].headers


def test_flags_beat_environment() -> None:
    environ = {"DC_TARGET": "http://env-host:9200", "DC_API_KEY": "from-env", "DC_REQUEST_TIMEOUT": "7"}
    config = TargetConfig.from_sources({"url": "http://flag-host:9200", "api_key": "from-flag"}, environ=environ)
    assert (config.url, config.api_key, config.read_timeout) == ("http://flag-host:9200", "from-flag", 7.0)


def test_environment_fills_what_flags_leave_out() -> None:
    config = TargetConfig.from_sources({}, environ={"DC_TARGET": "http://env-host:1", "DC_BEARER_TOKEN": "t"})
    assert (config.url, config.auth_header()) == ("http://env-host:1", "Bearer t")


@pytest.mark.parametrize(
    "flags",
    [
        {"api_key": "a", "user": "u", "password": "p"},
        {"api_key": "a", "bearer_token": "b"},
        {"user": "u"},
        {"url": "ftp://host"},
        {"url": "http://u:p@host:9200"},
        {"ca_cert": "/does/not/exist.pem"},
    ],
)
def test_contradictory_settings_are_rejected(flags: dict) -> None:
    with pytest.raises(ConfigError):
        TargetConfig.from_sources(flags, environ={})


def test_secrets_never_reach_records_reprs_or_curl() -> None:
    config = TargetConfig.from_sources({"user": "elastic", "password": SECRET}, environ={})
    target, _ = _capturing_target(config)
    exchange = target.request("POST", "/x", intent=OTHER, json={"a": 1})
    encoded = config.auth_header()
    for text in (repr(config), repr(exchange), exchange.request.as_curl(), repr(target)):
        assert SECRET not in text
        assert encoded not in text
    assert exchange.request.header("authorization") == "<redacted>"


def test_timeout_gives_an_exchange_without_response_judged_indeterminate() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    target = Target(TargetConfig(), transport=httpx.MockTransport(handler))
    exchange = target.request(
        "POST", "/_ml/trained_models/d/deployment/_update", intent=Intent("update"), json={"number_of_allocations": 2}
    )
    assert exchange.response is None and exchange.error.startswith("timeout")
    ctx = Context(Version(9, 3), "default", "test", frozenset(), ())
    always = stub_rule("t.any", check=lambda e, c: ["bad"])
    assert evaluate(always, exchange, ctx).outcome is Outcome.INDETERMINATE


def test_json_null_body_is_sent_only_when_asked() -> None:
    target, seen = _capturing_target(TargetConfig())
    target.request("POST", "/a", intent=OTHER, json=None)
    target.request("POST", "/b", intent=OTHER, json=None, send_json=True)
    assert seen[0].content == b"" and seen[1].content == b"null"
