"""Time defects: an answer that never comes (DESIGN: a timeout on a write is indeterminate).

The suite must not hang on such a server: its request timeout ends each call, the run
cannot judge, and it says so with exit code 3.
"""

from __future__ import annotations

from conformance.mutants.base import UNJUDGED, AsgiApp, Receive, Scope, Send, UPDATE_PATH, mutant
from conformance.reference.app import create_app
from conformance.reference.config import ServerConfig


@mutant(family="time", expects=UNJUDGED)
class UpdateNeverAnswers:
    """The ``_update`` handler awaits a planner that is gone: no answer comes, whatever the ack ``timeout`` (§1.3)."""

    def __init__(self, app: AsgiApp) -> None:
        self.app = app

    @classmethod
    def build(cls, config: ServerConfig) -> AsgiApp:
        return cls(create_app(config))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and UPDATE_PATH.match(scope["path"]):
            while (await receive())["type"] != "http.disconnect":
                pass  # the body arrived; the answer never will. Only the client giving up ends this.
            return
        await self.app(scope, receive, send)
