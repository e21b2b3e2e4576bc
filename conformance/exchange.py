"""Observed exchanges: what the suite sent, what came back, and what it meant to test.

Rules never talk to a server: they judge these immutable records. Keeping the record
separate from the transport is what lets the project's own tests feed a rule a
hand-made exchange and see it fail or pass.
"""

from __future__ import annotations

import enum
import json
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from functools import cached_property
from typing import Any, Final, TypeVar
from urllib.parse import parse_qsl, urlsplit

REDACTED = "<redacted>"
OVERSIZED = "oversized answer"  # the start of an exchange's ``error`` when the answer was too large to read
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie"})
# Headers curl sets on its own: repeating them only makes a reproducer harder to read.
TRANSPORT_HEADERS = frozenset({"host", "content-length", "connection", "accept-encoding", "user-agent"})


class _NotJson(enum.Enum):
    """The one value of a body that is absent or no JSON (``None`` is the JSON ``null``)."""

    NOT_JSON = "not JSON"


_NOT_JSON: Final = _NotJson.NOT_JSON


def _parse_json(body: bytes | None) -> Any | _NotJson:
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
    def _json(self) -> Any | _NotJson:
        return _parse_json(self.body)

    def json(self) -> Any:
        """The parsed JSON body, or ``None`` when there is none or it is not JSON."""
        parsed = self._json
        return None if parsed is _NOT_JSON else parsed


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


class IntentKind(enum.StrEnum):
    """Why the suite sent a request: the vocabulary shared by traffic generators and rules.

    A generator that sends a request of a new kind adds a member here, so a rule can never
    match a misspelt kind (its value is what reports and ``replay`` read).
    """

    UPDATE = "update"  # a well-formed update of a deployment the run started
    UPDATE_UNKNOWN_DEPLOYMENT = "update-unknown-deployment"  # the path names no deployment
    UPDATE_BY_MODEL_ID = "update-by-model-id"  # the model id of a deployment that has another deployment id
    UPDATE_NOT_DEPLOYED_MODEL = "update-not-deployed-model"  # a model that exists but is not deployed
    UPDATE_NOT_STARTED = "update-not-started"  # a deployment whose assignment is not `started`
    UPDATE_INVALID = "update-invalid"  # a body or query that breaks a validation rule (``Intent.case`` says which)
    UPDATE_WRONG_METHOD = "update-wrong-method"  # GET/PUT/DELETE on the _update path
    UPDATE_WRONG_CONTENT_TYPE = "update-wrong-content-type"  # body with a non-JSON content type
    UPDATE_MALFORMED_JSON = "update-malformed-json"  # a body that is not JSON (``Intent.case``: cut short or not)
    READ_STATS = "read-stats"  # GET _ml/trained_models/_stats
    CONVERGED = "converged"  # the last stats read of a convergence poll (expected: a ConvergencePromise)
    BURST_UPDATE = "burst-update"  # one valid update of a concurrent burst (expected: a BurstCapacity)
    BURST_FINAL = "burst-final"  # the state read after a concurrent burst (expected: the BurstLog)
    OTHER = "other"  # set-up and clean-up calls: shape and protocol rules only


class Expectation:
    """What a traffic module tells the rules it expects of an exchange: the base of the typed
    payloads of :attr:`Intent.expected`, one frozen dataclass per kind of expectation
    (:mod:`conformance.expectations`, and the OpenAPI case in :mod:`conformance.rules.openapi`).
    A rule asks for the one it reads with :meth:`Intent.expectation`."""


E = TypeVar("E", bound=Expectation)


@dataclass(frozen=True)
class Intent:
    """Why the suite sent a request: rules choose the exchanges they judge by ``kind``.

    ``case`` names, within a kind, the case that selects a rule (which validation rule an
    ``update-invalid`` body breaks, whether a malformed body is cut short); ``detail`` is
    display text only, for people reading a report, and no rule matches on it.
    ``expected`` is what the traffic module expects of the answer, typed by kind.
    """

    kind: IntentKind
    deployment: DeploymentInfo | None = None
    detail: str = ""
    expected: Expectation | None = None
    case: str | None = None

    def __post_init__(self) -> None:
        """A kind given by its value (read back from a report) is that member; any other is refused."""
        try:
            object.__setattr__(self, "kind", IntentKind(self.kind))
        except ValueError:
            raise ValueError(f"unknown intent kind {self.kind!r}") from None

    def expectation(self, kind: type[E]) -> E | None:
        """The payload of ``expected`` when it is a ``kind``, else ``None``."""
        return self.expected if isinstance(self.expected, kind) else None


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

    @cached_property
    def answered(self) -> AnsweredExchange | None:
        """This exchange as one whose answer is known to exist, or ``None`` when none came.

        Rules' checks judge only these (:func:`conformance.rules.base.evaluate`), so a check
        reads ``ex.response`` without asking whether there is one.
        """
        if self.response is None:
            return None
        if isinstance(self, AnsweredExchange):
            return self
        return AnsweredExchange(**{f.name: getattr(self, f.name) for f in fields(self)})


@dataclass(frozen=True)
class AnsweredExchange(Exchange):
    """An exchange that got an answer: what a rule's check judges."""

    response: Response


def redacted_headers(headers: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    return tuple((name, REDACTED if name.lower() in SECRET_HEADERS else value) for name, value in headers)
