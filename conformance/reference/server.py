"""Serving the reference app over HTTP with uvicorn: blocking, or in a background thread.

``running_server`` is what tests, the suite's embedded mode and the mutants use: it binds
a free loopback port, waits until uvicorn reports it started, and shuts it down cleanly.
uvicorn's ``auto`` choice serves with httptools and uvloop (project dependencies) where
they install, and falls back to its pure-Python h11 and asyncio elsewhere.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

from conformance.reference.app import create_app
from conformance.reference.config import ServerConfig

STARTUP_TIMEOUT = 10.0


UVICORN_OPTIONS: dict[str, Any] = {
    "log_level": "warning",
    "access_log": False,
    "server_header": False,
    "date_header": False,
}
"""Quiet, and answers with Elasticsearch's headers only: Netty sends no ``Server`` and no ``Date``."""


def serve(
    config: ServerConfig, host: str = "127.0.0.1", port: int = 9200, on_ready: Callable[[str], None] | None = None
) -> None:
    """Run the reference server until interrupted; ``port=0`` binds a free one.

    The socket is bound here, before uvicorn starts, so ``on_ready`` learns the real
    address (the port the kernel chose) and can tell the user where to point a client.
    """
    sock = _bound_socket(host, port)
    server = uvicorn.Server(uvicorn.Config(create_app(config), **UVICORN_OPTIONS))
    if on_ready is not None:
        bound_host, bound_port = sock.getsockname()[:2]
        on_ready(f"http://{bound_host}:{bound_port}")
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()


def _bound_socket(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted connections inherit this; without it a pre-bound socket gets Nagle's
    # algorithm, and every small response waits ~40 ms for a delayed ACK.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    return sock


@contextmanager
def running_server(
    config: ServerConfig = ServerConfig(), app: Any = None, host: str = "127.0.0.1", port: int = 0
) -> Iterator[str]:
    """Serve ``app`` (default: ``create_app(config)``) in a thread; yields ``http://host:port``."""
    sock = _bound_socket(host, port)
    bound_port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app if app is not None else create_app(config), lifespan="off", **UVICORN_OPTIONS)
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="reference-server", daemon=True)
    thread.start()
    try:
        _wait_until_started(server, thread)
        yield f"http://{host}:{bound_port}"
    finally:
        server.should_exit = True
        thread.join(timeout=STARTUP_TIMEOUT)
        sock.close()


def _wait_until_started(server: uvicorn.Server, thread: threading.Thread) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the reference server did not start")
        time.sleep(0.01)
