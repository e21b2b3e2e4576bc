"""Updates per second against the reference server: in-process and over loopback HTTP.

Run by hand (``python bench/bench_reference.py [--updates N]``); never part of the tests.
In-process calls go through Starlette's TestClient; HTTP uses one keep-alive
``httpx.Client`` against :func:`running_server`, as the suite does.
"""

from __future__ import annotations

import argparse
import time
import warnings
from collections.abc import Callable

import httpx

warnings.filterwarnings("ignore", message=".*httpx2.*")

from starlette.testclient import TestClient  # noqa: E402

from conformance.assets import tiny_model  # noqa: E402
from conformance.reference.app import create_app  # noqa: E402
from conformance.reference.config import NodeSpec, ServerConfig  # noqa: E402
from conformance.reference.server import running_server  # noqa: E402

CONFIG = ServerConfig(nodes=(NodeSpec("ml-0", 16), NodeSpec("ml-1", 16)))
UPDATE = "/_ml/trained_models/bench/deployment/_update"


def _deploy(post: Callable, put: Callable) -> None:
    """The project's tiny model (config and definition: the reference server needs no
    vocabulary to start), deployed as ``bench``."""
    model = tiny_model()
    put("/_ml/trained_models/bench-model", json=model.config).raise_for_status()
    put("/_ml/trained_models/bench-model/definition/0", json=model.definition_part()).raise_for_status()
    post("/_ml/trained_models/bench-model/deployment/_start", params={"deployment_id": "bench"}).raise_for_status()


def _measure(post: Callable, updates: int) -> tuple[float, int]:
    """Alternate between two counts so that every update changes state (no no-op shortcut)."""
    failures = 0
    started = time.perf_counter()
    for index in range(updates):
        response = post(UPDATE, json={"number_of_allocations": 2 + index % 2})
        failures += response.status_code != 200
    return updates / (time.perf_counter() - started), failures


def bench_in_process(updates: int) -> tuple[float, int]:
    client = TestClient(create_app(CONFIG))
    with client:
        _deploy(client.post, client.put)
        return _measure(client.post, updates)


def bench_http(updates: int) -> tuple[float, int]:
    with running_server(CONFIG) as url, httpx.Client(base_url=url) as client:
        _deploy(client.post, client.put)
        return _measure(client.post, updates)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=3000)
    args = parser.parse_args()
    rows = [
        ("in-process (TestClient)", *bench_in_process(args.updates)),
        ("loopback HTTP (httpx keep-alive)", *bench_http(args.updates)),
    ]
    print(f"{'transport':<34}{'updates':>9}{'updates/s':>12}{'non-200':>9}")
    for name, rate, failures in rows:
        print(f"{name:<34}{args.updates:>9}{rate:>12.0f}{failures:>9}")


if __name__ == "__main__":
    main()
