"""The ASGI application: a Starlette app whose router hands everything to one dispatcher.

Starlette's router would redirect slashes and answer unknown paths and methods in its
own words; Elasticsearch answers 400 ``no handler found``, 405 with ``Allow`` and the
plain error body (§1.1), so routing is done here over the table of :class:`Api`.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import parse_qsl, unquote

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from conformance.reference import errors, protocol
from conformance.reference.cluster import Cluster
from conformance.reference.config import ServerConfig
from conformance.reference.endpoints import BUILD_HASH, Api, Handler, Result
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
        self.routes = [CompiledRoute(_compile(path), handlers) for path, handlers in Api(cluster).routes()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """An ASGI app, so that Starlette hands over every method, even ones it does not know."""
        response = await self.dispatch(Request(scope, receive))
        await response(scope, receive, send)

    async def dispatch(self, request: Request) -> Response:
        params = dict(parse_qsl(request.url.query, keep_blank_values=True))
        media_type = protocol.response_media_type(request.headers.get("accept"), self.behaviour.compatible_majors)
        try:
            return await self.handle(request, params, media_type)
        except (EsError, SimpleError) as error:
            return protocol.render(error.to_json(), error.status, params, media_type, error.headers,
                                   include_body=request.method != "HEAD")
        except Exception as bug:  # noqa: BLE001 - a reference-server bug: still answer like Elasticsearch would
            failure = EsError(500, "exception", f"{type(bug).__name__}: {bug}")
            return protocol.render(failure.to_json(), 500, params, media_type)

    async def handle(self, request: Request, params: dict[str, str], media_type: str) -> Response:
        method = request.method
        raw_path = request.scope.get("raw_path", b"").decode("latin-1") or request.url.path
        uri = raw_path + (f"?{request.url.query}" if request.url.query else "")
        path = unquote(raw_path)
        route, path_params = self.match(path)
        if route is None:
            raise SimpleError(400, f"no handler found for uri [{uri}] and method [{method}]")
        handler = route.handlers.get("GET" if method == "HEAD" else method)
        if handler is None:
            allowed = route.allowed
            allow = ",".join(allowed)
            if method == "OPTIONS":
                return Response(status_code=200, headers={"Allow": allow, **dict([protocol.PRODUCT_HEADER])})
            raise SimpleError(405, f"Incorrect HTTP method for uri [{uri}] and method [{method}], allowed: "
                                   f"[{', '.join(allowed)}]", {"Allow": allow})
        body = await request.body()
        protocol.check_content_type(request.headers.get("content-type"), bool(body), self.behaviour.compatible_majors)
        call = Call(method, path, uri, params, path_params, body, self.behaviour)
        status, payload = await self.run(handler, call)
        headers = {"Warning": self.warning(call.warnings)} if call.warnings else {}
        return protocol.render(payload, status, params, media_type, headers, include_body=method != "HEAD")

    async def run(self, handler: Handler, call: Call) -> tuple[int, Any]:
        action = handler.prepare(call)
        protocol.check_unrecognized(call.path, call.params, handler.params)
        if call.has_body and not call.body_consumed:
            raise errors.illegal_argument(
                f"request [{call.method} {call.path}] does not support having a body")
        if inspect.iscoroutinefunction(action):
            result: Result = await action()
            return result
        # Like Elasticsearch, requests really run concurrently: only the cluster's lock serialises them.
        # Not a coroutine function, so the action answers with its Result directly.
        return await run_in_threadpool(cast("Callable[[], Result]", action))

    def match(self, path: str) -> tuple[CompiledRoute | None, dict[str, str]]:
        if len(path) > 1 and path.endswith("/"):
            path = path[:-1]
        for route in self.routes:
            found = route.pattern.fullmatch(path)
            if found:
                return route, found.groupdict()
        return None, {}

    def warning(self, messages: list[str]) -> str:
        return ", ".join(f'299 Elasticsearch-{self.behaviour.version}-{BUILD_HASH} "{m}"' for m in messages)


def create_app(config: ServerConfig = ServerConfig(), cluster: Cluster | None = None) -> Starlette:
    """A reference server for ``config``; pass ``cluster`` to use a (possibly broken) subclass."""
    dispatcher = Dispatcher(cluster if cluster is not None else Cluster(config))
    app = Starlette()
    app.router.default = dispatcher  # every path and method, even ones Starlette cannot route
    app.router.redirect_slashes = False
    app.state.cluster = dispatcher.cluster
    return app


def _compile(path: str) -> re.Pattern[str]:
    regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(path))
    return re.compile(regex)
