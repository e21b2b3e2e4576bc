"""Targets that misbehave the way real ones do, for the tests of the verdict's honesty.

Each wraps the reference app (or a mutant's) in a small ASGI layer; the suite reaches
them over loopback HTTP like any server.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from conformance.mutants.base import UPDATE_PATH, Answer, AsgiApp, Asked, Receive, Rewrite, Scope, Send

UNAVAILABLE = {
    "error": {
        "root_cause": [{"type": "status_exception", "reason": "node is shutting down"}],
        "type": "status_exception",
        "reason": "node is shutting down",
    },
    "status": 503,
}


class BreaksMidRun(Rewrite):
    """After ``healthy`` updates, every update is answered 503: the run cannot go on."""

    def __init__(self, app: AsgiApp, healthy: int) -> None:
        super().__init__(app)
        self.healthy = healthy
        self.seen = 0

    def request(self, asked: Asked) -> bytes | Answer | None:
        if not asked.is_update:
            return None
        self.seen += 1
        if self.seen <= self.healthy:
            return None
        return Answer(
            503,
            (("content-type", "application/json"), ("x-elastic-product", "Elasticsearch")),
            json.dumps(UNAVAILABLE).encode(),
        )


class NeverAnswersLargeCounts:
    """Updates asking for ``threshold`` allocations or more never get an answer."""

    def __init__(self, app: AsgiApp, threshold: int = 3) -> None:
        self.app = app
        self.threshold = threshold

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or not UPDATE_PATH.match(scope["path"]):
            await self.app(scope, receive, send)
            return
        message = await receive()
        body = message.get("body", b"")
        if _count(body) >= self.threshold:
            await receive()  # the client's disconnect, after its timeout
            return
        replayed = False

        async def again() -> dict[str, Any]:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, again, send)


class Drips:
    """Every update's answer comes one byte a second (the status line at once)."""

    def __init__(self, app: AsgiApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not UPDATE_PATH.match(scope["path"]):
            await self.app(scope, receive, send)
            return

        async def dripping(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"content-length"]
                await send({**message, "headers": headers})
                return
            body = message.get("body", b"")
            for index in range(len(body)):
                await send({"type": "http.response.body", "body": body[index : index + 1], "more_body": True})
                await asyncio.sleep(1.0)
            if not message.get("more_body"):
                await send({"type": "http.response.body", "body": b"", "more_body": False})

        await self.app(scope, receive, dripping)


class HugeStats:
    """``GET _stats`` answers with ``size`` bytes of valid JSON."""

    def __init__(self, app: AsgiApp, size: int) -> None:
        self.app = app
        self.size = size

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].endswith("/_stats"):
            await self.app(scope, receive, send)
            return
        filler = b'{"count":0,"trained_model_stats":[],"padding":"' + b"x" * self.size + b'"}'
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"x-elastic-product", b"Elasticsearch")],
            }
        )
        step = 1 << 20
        for start in range(0, len(filler), step):
            await send(
                {
                    "type": "http.response.body",
                    "body": filler[start : start + step],
                    "more_body": start + step < len(filler),
                }
            )


def _count(body: bytes) -> int:
    try:
        value = json.loads(body).get("number_of_allocations")
    except (ValueError, AttributeError):
        return 0
    return value if isinstance(value, int) else 0
