"""Observed exchanges: what the suite sent, what came back, and what it meant to test.

Rules never talk to a server: they judge these immutable records. Keeping the record
separate from the transport is what lets the project's own tests feed a rule a
hand-made exchange and see it fail or pass.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any
from urllib.parse import parse_qsl, urlsplit

REDACTED = "<redacted>"
OVERSIZED = "oversized answer"  # the start of an exchange's ``error`` when the answer was too large to read
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie"})
# Headers curl sets on its own: repeating them only makes a reproducer harder to read.
TRANSPORT_HEADERS = frozenset({"host", "content-length", "connection", "accept-encoding", "user-agent"})

_NOT_JSON = object()


def _parse_json(body: bytes | None) -> Any:
    if not body:
        return _NOT_JSON
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return _NOT_JSON


class _Message:
    """What requests and responses share: ordered headers, looked up case-insensitively,
    and a body read as JSON at most once."""

    headers: tuple[tuple[str, str], ...]
    body: bytes | None

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        return next((value for key, value in self.headers if key.lower() == wanted), None)

    @cached_property
    def _json(self) -> Any:
        return _parse_json(self.body)

    @property
    def has_json(self) -> bool:
        return self._json is not _NOT_JSON

    def json(self) -> Any:
        """The parsed JSON body, or ``None`` when there is none or it is not JSON."""
        return None if self._json is _NOT_JSON else self._json


@dataclass(frozen=True)
class Request(_Message):
    """An HTTP request as sent."""

    method: str
    url: str
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes | None = None

    @property
    def path(self) -> str:
        return urlsplit(self.url).path

    @property
    def query(self) -> tuple[tuple[str, str], ...]:
        return tuple(parse_qsl(urlsplit(self.url).query, keep_blank_values=True))

    def as_curl(self) -> str:
        """A shell command that repeats this request, with secrets redacted."""
        parts = ["curl", "-sS", "-X", self.method]
        for name, value in redacted_headers(self.headers):
            if name.lower() not in TRANSPORT_HEADERS:
                parts += ["-H", f"{name}: {value}"]
        if self.body:
            parts += ["--data-binary", self.body.decode("utf-8", "replace")]
        parts.append(self.url)
        return " ".join(shlex.quote(p) for p in parts)


@dataclass(frozen=True)
class Response(_Message):
    status: int
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""


@dataclass(frozen=True)
class NodeAllocation:
    """One deployment's figures on one node, as ``GET _ml/trained_models/_stats`` reports them."""

    routing_state: str
    allocations: int  # process-reported ``number_of_allocations`` (the route's current count)
    threads_per_allocation: int


@dataclass(frozen=True)
class DeploymentObservation:
    """A deployment as read from ``deployment_stats``: the read path of the API."""

    deployment_id: str
    model_id: str
    state: str | None
    number_of_allocations: int | None
    threads_per_allocation: int | None
    priority: str | None
    queue_capacity: int | None
    cache_size: str | None
    allocation_count: int | None
    target_allocation_count: int | None
    start_time_ms: int | None
    nodes: Mapping[str, NodeAllocation] = field(default_factory=dict)
    adaptive_allocations: Mapping[str, Any] | None = None
    required_native_memory_bytes: int | None = None  # the entry's model_size_stats (per deployment since ES#143077)


@dataclass(frozen=True)
class Snapshot:
    """Every deployment on the target at one moment (``taken_at`` is ``time.monotonic()``)."""

    deployments: Mapping[str, DeploymentObservation]
    taken_at: float

    def get(self, deployment_id: str) -> DeploymentObservation | None:
        return self.deployments.get(deployment_id)


@dataclass(frozen=True)
class DeploymentInfo:
    """What the suite knows about the deployment an exchange addresses.

    ``last_assignment`` is the newest ``assignment`` object the target returned for it
    (from ``_start`` or a previous ``_update``) before this exchange was sent.
    """

    deployment_id: str
    model_id: str
    threads_per_allocation: int
    priority: str = "normal"
    queue_capacity: int | None = None
    last_assignment: Mapping[str, Any] | None = None
    created_by_inference_endpoint: bool = False  # §1.6 B: such deployments refuse _update


@dataclass(frozen=True)
class Intent:
    """Why the suite sent a request: rules choose the exchanges they judge by ``kind``.

    ``kind`` is one of the names in :data:`INTENT_KINDS`; ``detail`` says more for
    people reading a report (e.g. which validation rule an invalid body breaks).
    """

    kind: str
    deployment: DeploymentInfo | None = None
    detail: str = ""
    expected: Mapping[str, Any] = field(default_factory=dict)


# The vocabulary shared by traffic generators and rules. A generator that sends a
# request of a new kind adds it here, so a rule can never match a misspelt kind.
INTENT_KINDS: frozenset[str] = frozenset(
    {
        "update",  # a well-formed update of a deployment the run started
        "update-unknown-deployment",  # the path names no deployment
        "update-by-model-id",  # the model id of a deployment that has another deployment id
        "update-not-deployed-model",  # a model that exists but is not deployed
        "update-not-started",  # a deployment whose assignment is not `started`
        "update-invalid",  # a body or query that breaks a validation rule (detail says which)
        "update-wrong-method",  # GET/PUT/DELETE on the _update path
        "update-wrong-content-type",  # body with a non-JSON content type
        "update-malformed-json",  # a body that is not JSON
        "read-stats",  # GET _ml/trained_models/_stats
        "converged",  # the last stats read of a convergence poll (expected = promise)
        "burst-update",  # one valid update of a concurrent burst (expected["allocatable"]: what fitted before it)
        "burst-final",  # the state read after a concurrent burst (expected = the burst's log)
        "other",  # set-up and clean-up calls: shape and protocol rules only
    }
)


@dataclass(frozen=True)
class Exchange:
    """One request and its answer, with what the suite knew before and saw after.

    ``response`` is ``None`` when nothing came back (timeout, refused connection);
    ``error`` then says why. A write that timed out is indeterminate, not failed.
    """

    request: Request
    response: Response | None
    duration: float
    intent: Intent
    error: str | None = None
    before: Snapshot | None = None
    after: Snapshot | None = None

    def __post_init__(self) -> None:
        if self.intent.kind not in INTENT_KINDS:
            raise ValueError(f"unknown intent kind {self.intent.kind!r}")


def redacted_headers(headers: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    return tuple((name, REDACTED if name.lower() in SECRET_HEADERS else value) for name, value in headers)
