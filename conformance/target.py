"""Target access: how the suite reaches a server, and the record of everything it sent.

One keep-alive ``httpx.Client`` serves the whole run (a client per request costs about
23 ms for its SSL context). Every call returns an :class:`~conformance.exchange.Exchange`,
also when nothing came back, so a timeout on a write is recorded as indeterminate
instead of crashing the test that sent it. Secrets are kept out of every record: the
request stored in an exchange carries ``<redacted>`` in place of credentials, so no
report, log, curl command or ``repr`` can leak them.
"""

from __future__ import annotations

import argparse
import base64
import json as jsonlib
import os
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any
from urllib.parse import urlsplit

import httpx

from conformance.budget import Budget, TargetUnresponsive
from conformance.exchange import OVERSIZED, Exchange, Intent, Request, Response, redacted_headers
from conformance.interrupts import INTERRUPTS

DEFAULT_TARGET = "http://127.0.0.1:9200"
DEFAULT_MAX_RESPONSE_BYTES = 4 * 2**20
MAX_UNANSWERED_IN_A_ROW = 5
"""Requests in a row without an answer after which the target is taken to have stopped answering."""
"""Answers larger than this are not read to the end (a 50 MB ``_stats`` must not cost the run its memory)."""

# Environment variables read when the matching flag is not given (flags win).
ENV_NAMES: Mapping[str, str] = {
    "url": "DC_TARGET",
    "api_key": "DC_API_KEY",
    "user": "DC_USER",
    "password": "DC_PASSWORD",
    "bearer_token": "DC_BEARER_TOKEN",
    "ca_cert": "DC_CA_CERT",
    "insecure": "DC_INSECURE",
    "read_timeout": "DC_REQUEST_TIMEOUT",
}


def flags_of(options: argparse.Namespace) -> dict[str, Any]:
    """The target flags of the CLI or of pytest (same option names) as ``from_sources`` wants them."""
    return {
        "url": options.target,
        "api_key": options.api_key,
        "user": options.user,
        "password": options.password,
        "bearer_token": options.bearer_token,
        "ca_cert": options.ca_cert,
        "insecure": options.insecure,
        "read_timeout": options.request_timeout,
    }


class SetupError(Exception):
    """The run cannot judge the target (unreachable, provisioning failed): exit code 3.

    Raised by discovery and provisioning; re-exported by ``conformance.suite.runner``.
    The message is one line that says what failed.
    """


class ConfigError(ValueError):
    """The target settings contradict each other or are malformed (CLI exit code 2)."""


@dataclass(frozen=True)
class TargetConfig:
    """Where the target is and how to authenticate. ``repr`` never shows a secret."""

    url: str = DEFAULT_TARGET
    api_key: str | None = field(default=None, repr=False)
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    bearer_token: str | None = field(default=None, repr=False)
    ca_cert: str | None = None
    insecure: bool = False
    connect_timeout: float = 5.0
    read_timeout: float = 30.0  # the whole request, however slowly the answer comes in
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES

    def __post_init__(self) -> None:
        methods = [self.api_key is not None, self.user is not None, self.bearer_token is not None]
        if sum(methods) > 1:
            raise ConfigError("choose one of --api-key, --user/--password and --bearer-token")
        if (self.user is None) != (self.password is None):
            raise ConfigError("--user and --password go together")
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(f"--target must be an http(s) URL, got {parts.scheme or self.url!r}")
        if parts.username or parts.password:
            raise ConfigError("--target must not carry credentials; use --user/--password")
        if self.ca_cert is not None:
            _check_ca_cert(self.ca_cert)
        if self.read_timeout <= 0 or self.connect_timeout <= 0:
            raise ConfigError("--request-timeout must be a positive number of seconds")

    @classmethod
    def from_sources(cls, flags: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> TargetConfig:
        """Combine flag values (``None`` = not given) with ``DC_*`` environment variables."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            given = flags.get(f.name)
            if given is not None and given is not False:
                values[f.name] = given
            elif f.name in ENV_NAMES and environ.get(ENV_NAMES[f.name]):
                values[f.name] = environ[ENV_NAMES[f.name]]
        if isinstance(values.get("insecure"), str):
            values["insecure"] = values["insecure"].lower() in ("1", "true", "yes")
        if "read_timeout" in values:
            try:
                values["read_timeout"] = float(values["read_timeout"])
            except ValueError:
                raise ConfigError("--request-timeout must be a positive number of seconds") from None
        return cls(**values)

    def auth_header(self) -> str | None:
        """The ``Authorization`` value for the chosen method, or ``None`` without auth."""
        if self.api_key is not None:
            return f"ApiKey {self.api_key}"
        if self.bearer_token is not None:
            return f"Bearer {self.bearer_token}"
        if self.user is not None:
            pair = f"{self.user}:{self.password}".encode()
            return f"Basic {base64.b64encode(pair).decode('ascii')}"
        return None


class Target:
    """A server under test, reached through one keep-alive client.

    ``request`` never raises for transport failures: it returns an exchange whose
    ``response`` is ``None`` and whose ``error`` names the failure. Every request is
    bounded as a whole: by ``read_timeout`` (also when the answer drips in slowly), by
    what is left of ``budget`` (raising :class:`~conformance.budget.BudgetSpent` once it
    is spent), and in size by ``max_response_bytes``.
    """

    def __init__(
        self, config: TargetConfig, *, transport: httpx.BaseTransport | None = None, budget: Budget | None = None
    ) -> None:
        self.config = config
        self.budget = budget or Budget()
        self.unanswered_in_a_row: dict[str, int] = {}  # per kind of request (method and last path segment)
        self.base_url = config.url.rstrip("/")
        headers = {"Accept": "application/json"}
        auth = config.auth_header()
        if auth is not None:
            headers["Authorization"] = auth
        verify: Any = False if config.insecure else (config.ca_cert or True)
        self._client = httpx.Client(
            base_url=self.base_url,
            headers=headers,
            verify=verify,
            timeout=httpx.Timeout(config.read_timeout, connect=config.connect_timeout),
            transport=transport,
        )

    def __repr__(self) -> str:
        return f"Target({self.base_url!r})"

    def request(
        self,
        method: str,
        path: str,
        *,
        intent: Intent,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        send_json: bool = False,
    ) -> Exchange:
        """Send one request and record it. ``send_json`` sends ``json`` even when it is ``None``."""
        INTERRUPTS.check()
        self.budget.check()
        kind = f"{method} {path.rstrip('/').rsplit('/', 1)[-1] or '/'}"
        if self.unanswered_in_a_row.get(kind, 0) >= MAX_UNANSWERED_IN_A_ROW:
            raise TargetUnresponsive(
                f"the target stopped answering: {self.unanswered_in_a_row[kind]} {kind} requests in a row got no answer"
            )
        body, extra = _encode_body(json, content, send_json)
        merged = {**extra, **(headers or {})}
        allowed = self.budget.cap(self.config.read_timeout)
        timeout = httpx.Timeout(allowed, connect=min(self.config.connect_timeout, allowed))
        outgoing = self._client.build_request(
            method, path, params=params, content=body, headers=merged, timeout=timeout
        )
        request = Request(
            method=outgoing.method,
            url=str(outgoing.url),
            headers=redacted_headers(tuple(outgoing.headers.items())),
            body=body,
        )
        started = time.monotonic()
        try:
            answer = self._client.send(outgoing, stream=True)
            try:
                content_read = self._read(answer, started + allowed)
            finally:
                answer.close()
        except _TooSlow:
            self.unanswered_in_a_row[kind] = self.unanswered_in_a_row.get(kind, 0) + 1
            return Exchange(
                request,
                None,
                time.monotonic() - started,
                intent,
                error=f"timeout: the answer took longer than {allowed:g}s",
            )
        except _TooLarge:
            return Exchange(
                request,
                None,
                time.monotonic() - started,
                intent,
                error=f"{OVERSIZED}: more than {self.config.max_response_bytes} bytes",
            )
        except httpx.TimeoutException as exc:
            self.unanswered_in_a_row[kind] = self.unanswered_in_a_row.get(kind, 0) + 1
            return Exchange(request, None, time.monotonic() - started, intent, error=f"timeout: {_describe(exc)}")
        except httpx.HTTPError as exc:
            self.unanswered_in_a_row[kind] = self.unanswered_in_a_row.get(kind, 0) + 1
            return Exchange(
                request, None, time.monotonic() - started, intent, error=f"transport error: {_describe(exc)}"
            )
        self.unanswered_in_a_row.pop(kind, None)
        response = Response(status=answer.status_code, headers=tuple(answer.headers.items()), body=content_read)
        return Exchange(request, response, time.monotonic() - started, intent)

    def _read(self, answer: httpx.Response, deadline: float) -> bytes:
        """The body, chunk by chunk, given up when it outlasts ``deadline`` or the size limit."""
        limit = self.config.max_response_bytes
        declared = answer.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise _TooLarge
        chunks: list[bytes] = []
        size = 0
        for chunk in answer.iter_bytes():
            size += len(chunk)
            if size > limit:
                raise _TooLarge
            chunks.append(chunk)
            if time.monotonic() > deadline:
                raise _TooSlow
        return b"".join(chunks)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Target:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class _TooSlow(Exception):
    """The answer came in, but not within the time the request had."""


class _TooLarge(Exception):
    """The answer is larger than the run reads."""


def _check_ca_cert(path: str) -> None:
    """A ``--ca-cert`` must be a readable PEM file OpenSSL accepts: one line now, not a
    traceback when the client is built."""
    if not os.path.isfile(path):
        raise ConfigError(f"--ca-cert file not found: {path}")
    try:
        ssl.create_default_context(cafile=path)
    except (ssl.SSLError, ValueError, OSError):
        raise ConfigError(f"--ca-cert is not a PEM CA certificate: {path}") from None


def _encode_body(json: Any, content: bytes | None, send_json: bool) -> tuple[bytes | None, dict[str, str]]:
    if content is not None:
        return content, {}
    if json is None and not send_json:
        return None, {}
    encoded = jsonlib.dumps(json, separators=(",", ":"), allow_nan=True).encode()
    return encoded, {"Content-Type": "application/json"}


def _describe(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
