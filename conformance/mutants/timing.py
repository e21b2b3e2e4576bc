"""Time defects: an answer that never comes (DESIGN: a timeout on a write is indeterminate).

The suite must not hang on such a server: its request timeout ends each call, the run
cannot judge, and it says so with exit code 3.
"""

from __future__ import annotations

from conformance.mutants.base import UNJUDGED, UPDATE_PATH, Receive, Rewrite, Scope, Send, mutant


@mutant(family="time", expects=UNJUDGED)
class UpdateNeverAnswers(Rewrite):
    """The ``_update`` handler awaits a planner that is gone: no answer comes, whatever the ack ``timeout`` (§1.3).

    Overrides the whole call, not :meth:`Rewrite.request`: that can only answer, never stay silent.
    Every other request goes straight to the reference app, unbuffered.
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and UPDATE_PATH.match(scope["path"]):
            while (await receive())["type"] != "http.disconnect":
                pass  # the body arrived; the answer never will. Only the client giving up ends this.
            return
        await self.app(scope, receive, send)
