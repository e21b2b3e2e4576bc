"""The ASGI application: a Starlette app that hands every HTTP request to one dispatcher.

Starlette's router would redirect slashes and answer unknown paths and methods in its
own words; Elasticsearch answers 400 ``no handler found``, 405 with ``Allow`` and the
plain error body (§1.1), so routing is done here over the table of :class:`Api`.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl, unquote

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from conformance.reference import errors, protocol
from conformance.reference.cluster import Cluster
from conformance.reference.config import ServerConfig
from conformance.reference.endpoints import BUILD_HASH, Api, Handler
from conformance.reference.errors import EsError, SimpleError
from conformance.reference.parsing import Call


@dataclass(frozen=True)
class CompiledRoute:
    pattern: re.Pattern[str]
    handlers: dict[str, Handler]

    @property
    def allowed(self) -> list[str]:
        return sorted(self.handlers)


class Dispatcher:
    """Matches a request to a handler and runs it in Elasticsearch's order of checks."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.behaviour = cluster.behaviour
        # The reference's own cluster only computes, under its one lock, so its actions run on
        # the event loop (no thread hop per request). A subclass (a mutant) may block between
        # reads and writes, as a racy implementation would: its actions run in threads, really concurrently.
        self.inline = type(cluster) is Cluster
        self.routes = [CompiledRoute(_compile(path), handlers) for path, handlers in Api(cluster).routes()]
        self._match = lru_cache(maxsize=4096)(self._find)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """An ASGI app, so that Starlette hands over every method, even ones it does not know.

        It reads and answers the ASGI messages itself (no Request or Response objects): this
        is the path every ``_update`` takes, and it stays short."""
        reply = await self.dispatch(scope, receive)
        await send({"type": "http.response.start", "status": reply.status, "headers": reply.headers})
        await send({"type": "http.response.body", "body": reply.content})

    async def dispatch(self, scope: Scope, receive: Receive) -> protocol.Reply:
        query = scope.get("query_string", b"").decode("utf-8", "replace")
        params = dict(parse_qsl(query, keep_blank_values=True)) if query else {}
        headers = _headers(scope)
        media_type = (
            protocol.response_media_type(headers.get("accept"), self.behaviour.compatible_majors) or protocol.JSON
        )
        with_body = scope["method"] != "HEAD"
        try:
            if _declared_length(headers) > self.cluster.config.max_content_length:
                raise ContentTooLong
            return await self.handle(scope, receive, headers, query, params, media_type)
        except ContentTooLong:
            # Netty's aggregator answers before any handler: 413, no body, connection closed (ES#2902, ES#76705).
            return protocol.Reply(413, [(b"content-length", b"0"), (b"connection", b"close")], b"")
        except (EsError, SimpleError) as error:
            return protocol.render(
                error.to_json(), error.status, params, media_type, error.headers, include_body=with_body
            )
        except Exception as bug:  # noqa: BLE001 - a reference-server bug: still answer like Elasticsearch would
            failure = EsError(500, "exception", f"{type(bug).__name__}: {bug}")
            return protocol.render(failure.to_json(), 500, params, media_type)

    async def handle(
        self,
        scope: Scope,
        receive: Receive,
        headers: dict[str, str],
        query: str,
        params: dict[str, str],
        media_type: str,
    ) -> protocol.Reply:
        method = scope["method"]
        raw_path = scope.get("raw_path", b"").decode("latin-1") or scope["path"]
        uri = raw_path + (f"?{query}" if query else "")
        path = unquote(raw_path)
        route, found = self.match(path)
        if route is None:
            raise SimpleError(400, f"no handler found for uri [{uri}] and method [{method}]")
        handler = route.handlers.get("GET" if method == "HEAD" else method)
        if handler is None:
            allowed = route.allowed
            allow = ",".join(allowed)
            if method == "OPTIONS":
                return protocol.Reply(
                    200,
                    [(b"content-length", b"0"), (b"allow", allow.encode("latin-1")), protocol.PRODUCT_HEADER_BYTES],
                    b"",
                )
            raise SimpleError(
                405,
                f"Incorrect HTTP method for uri [{uri}] and method [{method}], allowed: [{', '.join(allowed)}]",
                {"Allow": allow},
            )
        body = await self.read_body(receive)
        protocol.check_content_type(headers.get("content-type"), bool(body), self.behaviour.compatible_majors)
        call = Call(method, path, uri, params, dict(found), body, self.behaviour)
        status, payload = await self.run(handler, call)
        extra = {"Warning": self.warning(call.warnings)} if call.warnings else None
        return protocol.render(payload, status, params, media_type, extra, include_body=method != "HEAD")

    async def run(self, handler: Handler, call: Call) -> tuple[int, Any]:
        action = handler.prepare(call)
        protocol.check_unrecognized(call.path, call.params, handler.params)
        if call.has_body and not call.body_consumed:
            raise errors.illegal_argument(f"request [{call.method} {call.path}] does not support having a body")
        if self.inline:  # an action returns its result, or a coroutine that will
            result = action()
            return result if type(result) is tuple else await result  # type: ignore[misc]
        if inspect.iscoroutinefunction(action):
            answered: tuple[int, Any] = await action()
            return answered
        return await run_in_threadpool(action)  # type: ignore[arg-type]

    async def read_body(self, receive: Receive) -> bytes:
        """The body, read message by message so that memory stays within ``http.max_content_length``
        also when no (or a false) ``Content-Length`` announces the size."""
        limit = self.cluster.config.max_content_length
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away: nothing more will come
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise ContentTooLong
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    def match(self, path: str) -> tuple[CompiledRoute | None, tuple[tuple[str, str], ...]]:
        """The route of ``path`` and its path parameters; cached, as clients repeat their paths."""
        return self._match(path)

    def _find(self, path: str) -> tuple[CompiledRoute | None, tuple[tuple[str, str], ...]]:
        if len(path) > 1 and path.endswith("/"):
            path = path[:-1]
        for route in self.routes:
            found = route.pattern.fullmatch(path)
            if found:
                return route, tuple(found.groupdict().items())
        return None, ()

    def warning(self, messages: list[str]) -> str:
        return ", ".join(f'299 Elasticsearch-{self.behaviour.version}-{BUILD_HASH} "{m}"' for m in messages)


class ReferenceApp(Starlette):
    """Starlette whose HTTP requests go straight to the dispatcher.

    Starlette wraps its router in an error middleware (a plain-text 500) and an exception
    middleware (``HTTPException``), and the router would find no route before handing over
    to its default; the dispatcher answers every path, method and error itself, in
    Elasticsearch's words, so those layers would only cost time on every request."""

    def build_middleware_stack(self) -> ASGIApp:
        router = self.router
        dispatcher = router.default

        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == "http":  # every path and method goes to the dispatcher anyway
                await dispatcher(scope, receive, send)
            else:  # lifespan (and websocket refusals) as Starlette's router handles them
                await router(scope, receive, send)

        return app


def create_app(config: ServerConfig = ServerConfig(), cluster: Cluster | None = None) -> Starlette:
    """A reference server for ``config``; pass ``cluster`` to use a (possibly broken) subclass."""
    dispatcher = Dispatcher(cluster if cluster is not None else Cluster(config))
    app = ReferenceApp()
    app.router.default = dispatcher  # every path and method, even ones Starlette cannot route
    app.router.redirect_slashes = False
    app.state.cluster = dispatcher.cluster
    return app


class ContentTooLong(Exception):
    """A request body longer than ``http.max_content_length``."""


_READ_HEADERS = {b"accept": "accept", b"content-type": "content-type", b"content-length": "content-length"}
"""The request headers the server reads."""


def _headers(scope: Scope) -> dict[str, str]:
    """Those headers by (ASGI: lower-case) name; the first of repeated ones, as Starlette's ``get``."""
    headers: dict[str, str] = {}
    for name, value in scope.get("headers", ()):
        key = _READ_HEADERS.get(name)
        if key is not None and key not in headers:
            headers[key] = value.decode("latin-1")
    return headers


def _declared_length(headers: dict[str, str]) -> int:
    """The ``Content-Length`` the client announced (0 without one; the HTTP parser refuses bad ones)."""
    declared = headers.get("content-length", "")
    if not declared.isdigit():
        return 0
    return int(declared) if len(declared) < 20 else 2**64


def _compile(path: str) -> re.Pattern[str]:
    regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(path))
    return re.compile(regex)
