"""How a mutant is declared: one defect, the rule that must catch it, and how to build it.

A mutant is the reference server with exactly one realistic defect, written as a small
change of behaviour, never a copy: either a :class:`~conformance.reference.cluster.Cluster`
subclass that overrides one step of a state change (a method in
:data:`~conformance.reference.cluster.STEPS`, never an operation: see
:mod:`conformance.reference.locking`), or a :class:`Rewrite` (a tiny ASGI middleware) that
changes one thing of a request or of an answer. Both are registered with :func:`mutant`,
which reads the defect from the class docstring and refuses a cluster that overrides
anything but steps.

``selftest`` runs the suite against each mutant; the suite must fail (or refuse to
judge) every one of them, and the rule named in ``expects`` should be among the ones
that failed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field, replace
from typing import Any

from conformance.reference.app import create_app
from conformance.reference.cluster import STEPS, Cluster
from conformance.reference.config import ServerConfig
from conformance.reference.locking import overrides

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
AsgiApp = Callable[[Scope, Receive, Send], Awaitable[None]]

UNJUDGED = "unjudged"
"""``expects`` of a mutant the suite cannot judge at all (exit code 3), e.g. one that never answers."""

FAMILIES = (
    "shape",
    "enums",
    "update",
    "capacity",
    "errors",
    "adaptive",
    "protocol",
    "time",
    "concurrency",
    "stats",
    "native",
)

UPDATE_PATH = re.compile(r"^/_ml/trained_models/[^/]+/deployment/_update/?$")
STATS_PATH = re.compile(r"^/_ml/trained_models(/[^/]+)?/_stats/?$")


@dataclass(frozen=True)
class Mutant:
    """One broken server: ``build(config)`` returns its ASGI app."""

    name: str
    family: str
    defect: str  # the first line of the docstring: what is broken
    expects: str  # the rule id that must catch it, or UNJUDGED
    build: Callable[[ServerConfig], AsgiApp]
    config: ServerConfig = field(default_factory=ServerConfig)
    doc: str = ""


REGISTRY: dict[str, Mutant] = {}


def mutant(*, family: str, expects: str, config: ServerConfig | None = None) -> Callable[[type], type]:
    """Register a ``Cluster`` subclass or a ``Rewrite`` subclass as a mutant.

    The name is the class name in kebab case; the defect is the docstring's first line.
    """

    def register(cls: type) -> type:
        if family not in FAMILIES:
            raise ValueError(f"unknown mutant family {family!r}")
        name = re.sub(r"(?<=[a-z])(?=[A-Z0-9])|(?<=[0-9])(?=[A-Z])", "-", cls.__name__).lower()
        if name in REGISTRY:
            raise ValueError(f"duplicate mutant {name!r}")
        doc = (cls.__doc__ or "").strip()
        REGISTRY[name] = Mutant(
            name=name,
            family=family,
            defect=doc.split("\n")[0],
            expects=expects,
            build=_builder(cls),
            config=config or ServerConfig(),
            doc=doc,
        )
        return cls

    return register


def _builder(cls: type) -> Callable[[ServerConfig], AsgiApp]:
    if issubclass(cls, Cluster):
        wrong = overrides(cls, Cluster) - STEPS
        if wrong:
            raise TypeError(f"{cls.__name__} overrides {', '.join(sorted(wrong))}: a mutant overrides steps only")
        return lambda config: create_app(config, cluster=cls(config))
    if issubclass(cls, Rewrite):
        return lambda config: cls(create_app(config))
    raise TypeError(f"{cls.__name__} is neither a Cluster nor a Rewrite")


# -- ASGI rewriting -----------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """A buffered HTTP answer: what a :class:`Rewrite` may change before it is sent."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def with_json(self, document: Any) -> Answer:
        return replace(self, body=json.dumps(document, separators=(",", ":")).encode())

    def with_header(self, name: str, value: str | None) -> Answer:
        """Set (or, with ``None``, remove) one header."""
        kept = tuple((k, v) for k, v in self.headers if k.lower() != name.lower())
        return replace(self, headers=kept if value is None else (*kept, (name, value)))


@dataclass(frozen=True)
class Asked:
    """The request as a :class:`Rewrite` sees it."""

    method: str
    path: str
    query: str
    body: bytes

    @property
    def is_update(self) -> bool:
        return self.method == "POST" and UPDATE_PATH.match(self.path) is not None


class Rewrite:
    """An ASGI middleware around the reference app that can change one request or answer.

    Subclasses override :meth:`request` (before the app sees it; return bytes to replace
    the body, or an :class:`Answer` to answer without the app) and/or :meth:`answer`.
    """

    def __init__(self, app: AsgiApp) -> None:
        self.app = app

    def request(self, asked: Asked) -> bytes | Answer | None:
        return None

    def answer(self, asked: Asked, answer: Answer) -> Answer:
        return answer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        asked = Asked(scope["method"], scope["path"], scope.get("query_string", b"").decode("latin-1"), body)
        changed = self.request(asked)
        if isinstance(changed, Answer):
            await _send(send, self.answer(asked, changed))
            return
        if changed is not None:
            body = changed
            asked = replace(asked, body=body)
        buffered = await _call(self.app, scope, body)
        await _send(send, self.answer(asked, buffered))


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if message["type"] != "http.request" or not message.get("more_body"):
            return b"".join(chunks)


async def _call(app: AsgiApp, scope: Scope, body: bytes) -> Answer:
    """Run ``app`` on ``body`` and collect its answer."""
    delivered = False
    started: dict[str, Any] = {}
    chunks: list[bytes] = []

    async def receive() -> Message:
        nonlocal delivered
        if delivered:
            return {"type": "http.disconnect"}
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def collect(message: Message) -> None:
        if message["type"] == "http.response.start":
            started.update(message)
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, collect)
    headers = tuple((k.decode("latin-1"), v.decode("latin-1")) for k, v in started.get("headers", []))
    return Answer(started["status"], headers, b"".join(chunks))


async def _send(send: Send, answer: Answer) -> None:
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in answer.headers if k.lower() != "content-length"]
    headers.append((b"content-length", str(len(answer.body)).encode()))
    await send({"type": "http.response.start", "status": answer.status, "headers": headers})
    await send({"type": "http.response.body", "body": answer.body})


def each_deployment_stats(document: Any) -> list[dict[str, Any]]:
    """Every ``deployment_stats`` object of a ``GET _stats`` answer."""
    entries = document.get("trained_model_stats") if isinstance(document, dict) else None
    return [
        e["deployment_stats"]
        for e in entries or []
        if isinstance(e, dict) and isinstance(e.get("deployment_stats"), dict)
    ]
