"""``_update`` over loopback HTTP: the reference server beside a bare Starlette endpoint and the
reference of an older commit, measured in one run (issue #12).

Run by hand (``python bench/bench_http.py [--baseline d6d4052] [--requests 5000]``); never a test.

Every target is served in a process of its own by uvicorn, so that the client never shares
the server's interpreter:

- ``bare``: a Starlette app whose one route reads the JSON body and answers a JSON object of
  the size of an assignment, on the same stack and uvicorn options as the reference (the
  ceiling of the stack);
- ``reference``: this checkout's ``serve`` (its HTTP stack: httptools and uvloop when installed);
- ``baseline``: the reference server of ``--baseline`` (extracted with ``git archive``) on
  uvicorn's pure-Python stack (h11, asyncio), as it was served before ``uvicorn[standard]``;
- ``baseline+httptools``: the same old code on the new stack, to tell the stack's share from the code's.

Every server runs for the whole run; ``--rounds`` rounds give each target its turn in every
round, so that load from elsewhere on the machine falls on all targets alike, and the table
shows the medians. Per round and target, with a raw-socket HTTP/1.1 client (lighter than
httpx, so that the client does not hide differences between servers):

- calls/s from one keep-alive connection, ``--requests`` updates alternating between 2 and 3
  allocations so that each one changes state, and the server's own CPU time per call over
  them (from ``/proc``: a figure that other load on the machine hardly moves);
- latency percentiles (p50, p99) and calls/s with ``--clients`` concurrent keep-alive
  connections (asyncio), ``--per-client`` updates each.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import io
import json
import os
import socket
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEPLOYMENT = "bench"
UPDATE_PATH = f"/_ml/trained_models/{DEPLOYMENT}/deployment/_update"
BARE_PATH = "/_bare"

SERVER = r"""
import sys
import uvicorn
kind, port, http, loop = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
if kind == "bare":
    import json
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route
    ANSWER = {"assignment": {"task_parameters": {"model_id": "bench-model", "deployment_id": "bench",
              "model_bytes": 1851, "threads_per_allocation": 1, "number_of_allocations": 2, "queue_capacity": 10000,
              "priority": "normal", "per_deployment_memory_bytes": 0, "per_allocation_memory_bytes": 0},
              "routing_table": {
                  "ml-0": {"current_allocations": 1, "target_allocations": 1, "routing_state": "started"},
                  "ml-1": {"current_allocations": 1, "target_allocations": 1, "routing_state": "started"}},
              "assignment_state": "started", "start_time": "2026-12-01T00:00:00.000Z", "max_assigned_allocations": 3,
              "adaptive_allocations": None}}
    async def bare(request):
        json.loads(await request.body())
        return JSONResponse(ANSWER, headers={"X-Elastic-Product": "Elasticsearch"})
    app = Starlette(routes=[Route("/_bare", bare, methods=["POST"])])
    uvicorn.run(app, host="127.0.0.1", port=port, http=http, loop=loop, log_level="warning", access_log=False,
                server_header=False, date_header=False)  # as the reference is served
else:
    from conformance.reference.config import NodeSpec, ServerConfig
    config = ServerConfig(nodes=(NodeSpec("ml-0", 16), NodeSpec("ml-1", 16)))
    if kind == "reference":
        from conformance.reference.server import serve
        serve(config, port=port)
    else:
        from conformance.reference.app import create_app
        uvicorn.run(create_app(config), host="127.0.0.1", port=port, http=http, loop=loop, log_level="warning",
                    access_log=False)
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def served(kind: str, code_root: Path, http: str = "auto", loop: str = "auto") -> Iterator[tuple[int, int]]:
    """A server process of ``kind`` importing ``conformance`` from ``code_root``; yields its pid and port."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(code_root)}
    process = subprocess.Popen([sys.executable, "-c", SERVER, kind, str(port), http, loop], cwd=code_root, env=env)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the {kind} server did not start") from None
                time.sleep(0.05)
        yield process.pid, port
    finally:
        process.terminate()
        process.wait(timeout=10)


def http_request(method: str, path: str, body: bytes = b"") -> bytes:
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


class Connection:
    """One keep-alive HTTP/1.1 connection that reads exactly one response per request."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = b""

    def call(self, data: bytes) -> tuple[int, bytes]:
        self.sock.sendall(data)
        while b"\r\n\r\n" not in self.buffer:
            self.buffer += self._recv()
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        status, length = _status_and_length(head)
        while len(self.buffer) < length:
            self.buffer += self._recv()
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return status, body

    def _recv(self) -> bytes:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        return chunk

    def close(self) -> None:
        self.sock.close()


def _status_and_length(head: bytes) -> tuple[int, int]:
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return status, int(value)
    raise ValueError("a response without Content-Length")


def update_bodies() -> list[bytes]:
    return [http_request("POST", UPDATE_PATH, json.dumps({"number_of_allocations": n}).encode()) for n in (2, 3)]


def bare_bodies() -> list[bytes]:
    return [http_request("POST", BARE_PATH, json.dumps({"number_of_allocations": n}).encode()) for n in (2, 3)]


def provision(port: int) -> None:
    """The tiny model deployed as ``bench`` (config, vocabulary and definition, as the suite does)."""
    sys.path.insert(0, str(ROOT))
    from conformance.assets import tiny_model

    model = tiny_model()
    connection = Connection(port)
    steps = [
        ("PUT", "/_ml/trained_models/bench-model", model.config),
        ("PUT", "/_ml/trained_models/bench-model/vocabulary", {"vocabulary": model.vocabulary}),
        (
            "PUT",
            "/_ml/trained_models/bench-model/definition/0",
            {
                "definition": base64.b64encode(model.definition).decode(),
                "total_parts": 1,
                "total_definition_length": len(model.definition),
            },
        ),
        (
            "POST",
            f"/_ml/trained_models/bench-model/deployment/_start?deployment_id={DEPLOYMENT}&wait_for=started",
            None,
        ),
    ]
    for method, path, body in steps:
        status, answer = connection.call(http_request(method, path, json.dumps(body).encode() if body else b""))
        if status != 200:
            raise RuntimeError(f"{method} {path}: {status} {answer[:200]!r}")
    connection.close()


def sequential(port: int, requests: list[bytes], count: int) -> tuple[float, int]:
    """Calls/s over one keep-alive connection, and the answers that were not 200."""
    connection = Connection(port)
    for index in range(200):  # warm-up
        connection.call(requests[index % 2])
    failures = 0
    started = time.perf_counter()
    for index in range(count):
        status, _ = connection.call(requests[index % 2])
        failures += status != 200
    elapsed = time.perf_counter() - started
    connection.close()
    return count / elapsed, failures


async def _client(port: int, requests: list[bytes], count: int, latencies: list[float]) -> int:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    failures = 0
    for index in range(count):
        started = time.perf_counter()
        writer.write(requests[index % 2])
        head = await reader.readuntil(b"\r\n\r\n")
        status, length = _status_and_length(head[:-4])
        await reader.readexactly(length)
        latencies.append(time.perf_counter() - started)
        failures += status != 200
    writer.close()
    return failures


async def _concurrent(
    port: int, requests: list[bytes], clients: int, per_client: int
) -> tuple[float, float, float, int]:
    latencies: list[float] = []
    started = time.perf_counter()
    failures = await asyncio.gather(*(_client(port, requests, per_client, latencies) for _ in range(clients)))
    elapsed = time.perf_counter() - started
    quantiles = statistics.quantiles(latencies, n=100)
    return clients * per_client / elapsed, quantiles[49] * 1000, quantiles[98] * 1000, sum(failures)


def concurrent(port: int, requests: list[bytes], clients: int, per_client: int) -> tuple[float, float, float, int]:
    """Calls/s, p50 and p99 latency in ms, and non-200 answers, with ``clients`` connections."""
    return asyncio.run(_concurrent(port, requests, clients, per_client))


def extract(commit: str, into: Path) -> Path:
    """``conformance/`` of ``commit``, extracted with ``git archive`` (no worktree, no checkout)."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", commit, "conformance"], check=True, capture_output=True
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into


def stack() -> str:
    try:
        import httptools  # noqa: F401
        import uvloop  # noqa: F401

        return "httptools + uvloop"
    except ImportError:
        return "h11 + asyncio"


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process (``/proc/<pid>/stat``), robust to a loaded machine."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default="d6d4052", help="commit of the reference to compare with")
    parser.add_argument("--requests", type=int, default=5000, help="updates over one connection, per round")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--per-client", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3, help="rounds; targets take turns within each")
    parser.add_argument("--only", default="", help="comma-separated kinds to run: bare,reference,baseline")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch, ExitStack() as servers:
        old = extract(args.baseline, Path(scratch))
        targets = [
            ("bare Starlette endpoint", "bare", ROOT, "auto", "auto", bare_bodies()),
            ("reference (this checkout)", "reference", ROOT, "auto", "auto", update_bodies()),
            (f"reference {args.baseline} (h11, asyncio)", "baseline", old, "h11", "asyncio", update_bodies()),
            (f"reference {args.baseline} (httptools, uvloop)", "baseline", old, "httptools", "uvloop", update_bodies()),
        ]
        only = set(filter(None, args.only.split(",")))
        targets = [target for target in targets if not only or target[1] in only]
        running = []
        for name, kind, root, http, loop, requests in targets:
            pid, port = servers.enter_context(served(kind, root, http, loop))
            if kind != "bare":
                provision(port)
            running.append((name, pid, port, requests))
        results: dict[str, list[tuple[float, float, float, float, float]]] = {name: [] for name, *_ in running}
        for _ in range(args.rounds):  # interleaved, so that a burst of load elsewhere hits every target alike
            for name, pid, port, requests in running:
                before = cpu_seconds(pid)
                rate, failed = sequential(port, requests, args.requests)
                cpu_per_call = (cpu_seconds(pid) - before) / (args.requests + 200) * 1e6
                many, p50, p99, failed_many = concurrent(port, requests, args.clients, args.per_client)
                if failed or failed_many:
                    raise RuntimeError(f"{name}: {failed + failed_many} answers were not 200")
                results[name].append((rate, cpu_per_call, many, p50, p99))
        print(f"HTTP stack of this checkout: {stack()}; {os.cpu_count()} cores; {args.rounds} rounds, medians")
        print(
            f"{'target':<44}{'1 conn calls/s':>15}{'server CPU us/call':>20}{f'{args.clients} conns calls/s':>17}"
            f"{'p50 ms':>9}{'p99 ms':>9}"
        )
        for name, rows in results.items():
            rate, cpu, many, p50, p99 = (statistics.median(column) for column in zip(*rows, strict=True))
            print(f"{name:<44}{rate:>15.0f}{cpu:>20.1f}{many:>17.0f}{p50:>9.1f}{p99:>9.1f}")


if __name__ == "__main__":
    main()
