"""Issue #12 "never a 500": thousands of random requests over real HTTP, and a bounded memory.

Where ``test_fuzz_negative`` violates a schema, this fuzzer throws what a hostile or broken
client sends: any method on any path, huge integers (past Python's 4,300-digit ``int()``
limit), JSON nested past Jackson's 1,000 levels, invalid UTF-8, wrong content types and
bodies over ``http.max_content_length``. Elasticsearch answers all of these with a 4xx.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from conformance.assets import tiny_model
from conformance.reference.config import ServerConfig
from conformance.reference.server import running_server

REQUESTS = 3000
SEED = 20261201
LIMIT = 16 * 1024  # a small http.max_content_length, so oversized bodies stay cheap to send

METHODS = ["GET", "POST", "PUT", "DELETE", "HEAD", "PATCH", "OPTIONS"]
IDS = [
    "fz",
    "fz-dep",
    "nope",
    "*",
    "_all",
    "fz,nope",
    "fz*",
    ".elser_model_2",
    "Bad_ID",
    "%ff",
    "x" * 300,
    "caf%C3%A9",
    "a%2Fb",
    "",
]
PATHS = [
    "/",
    "/_nodes",
    "/_ml/info",
    "/_cluster/settings",
    "/_ml/trained_models",
    "/_ml/trained_models/_stats",
    "/_ml/trained_models/{id}",
    "/_ml/trained_models/{id}/_stats",
    "/_ml/trained_models/{id}/vocabulary",
    "/_ml/trained_models/{id}/definition/{n}",
    "/_ml/trained_models/{id}/deployment/_start",
    "/_ml/trained_models/{id}/deployment/_update",
    "/_ml/trained_models/{id}/deployment/_stop",
    "/_ml/trained_models/{id}/_infer",
    "/_ml/trained_models/{id}/deployment/_infer",
    "/_ml/trained_models/{id}/deployment/cache/_clear",
    "/_ml/trained_models/{id}/model_aliases/{id}",
    "/_inference/{id}/{id}",
    "/{id}/{id}",
    "/_ml/trained_models/{id}/deployment/_update/",
]
FIELDS = [
    "number_of_allocations",
    "threads_per_allocation",
    "queue_capacity",
    "adaptive_allocations",
    "enabled",
    "min_number_of_allocations",
    "max_number_of_allocations",
    "docs",
    "text_field",
    "input",
    "vocabulary",
    "merges",
    "definition",
    "total_parts",
    "total_definition_length",
    "inference_config",
    "pass_through",
    "fill_mask",
    "tokenization",
    "bert",
    "mask_token",
    "model_type",
    "prefix_strings",
    "search",
    "cache_size",
    "priority",
    "timeout",
    "wait_for",
    "deployment_id",
    "model_id",
    "allow_no_match",
    "force",
    "id",
    "service",
    "service_settings",
    "num_allocations",
    "num_threads",
    "inference_config",
    "metadata",
    "x",
]
PARAMS = [
    "number_of_allocations",
    "from",
    "size",
    "timeout",
    "wait_for",
    "pretty",
    "filter_path",
    "allow_no_match",
    "force",
    "include",
    "threads_per_allocation",
    "cache_size",
    "priority",
    "deployment_id",
    "reassign",
    "error_trace",
    "human",
    "bogus",
]
CONTENT_TYPES = [
    "application/json",
    "application/vnd.elasticsearch+json; compatible-with=9",
    "application/vnd.elasticsearch+json; compatible-with=7",
    "text/plain",
    None,
    "garbage/;;",
    "application/json; charset=ISO-8859-1",
    "application/x-ndjson",
]


def huge_number(rng: random.Random) -> str:
    return rng.choice(["-", ""]) + "9" * rng.choice([11, 20, 999, 1000, 1001, 4301, 6000])


def deep(rng: random.Random) -> str:
    depth = rng.choice([999, 1000, 1001, 5000])
    opener, closer = rng.choice([("[", "]"), ('{"a":', "}")])
    return opener * depth + "1" + closer * depth


def scalar(rng: random.Random) -> str:
    return rng.choice(
        [
            lambda: str(rng.randint(-5, 300)),
            lambda: huge_number(rng),
            lambda: json.dumps(huge_number(rng)),
            lambda: repr(rng.uniform(-1e6, 1e6)),
            lambda: "1e400",
            lambda: '"1e400kb"',
            lambda: '"10kb"',
            lambda: '"' + "9" * 400 + 'kb"',
            lambda: '"30s"',
            lambda: '"' + "9" * 500 + 's"',
            lambda: "true",
            lambda: "null",
            lambda: '"starting"',
            lambda: '"low"',
            lambda: '"[MASK]"',
            lambda: json.dumps("é\u2028"),
            lambda: '"\\ud800"',
            lambda: '"UEsDBA=="',
            lambda: '"!!!"',
        ]
    )()


def value(rng: random.Random, depth: int = 0) -> str:
    roll = rng.random()
    if depth > 3 or roll < 0.55:
        return scalar(rng)
    if roll < 0.75:
        return "[" + ",".join(value(rng, depth + 1) for _ in range(rng.randint(0, 4))) + "]"
    if roll < 0.78:
        return deep(rng)
    return obj(rng, depth + 1)


def obj(rng: random.Random, depth: int = 0) -> str:
    fields = rng.sample(FIELDS, rng.randint(0, 4))
    return "{" + ",".join(f"{json.dumps(name)}:{value(rng, depth)}" for name in fields) + "}"


def body(rng: random.Random) -> bytes:
    roll = rng.random()
    if roll < 0.15:
        return b""
    if roll < 0.6:
        return obj(rng).encode()
    if roll < 0.68:
        return deep(rng).encode()
    if roll < 0.74:
        return b'{"number_of_allocations": ' + huge_number(rng).encode() + b"}"
    if roll < 0.8:
        return rng.choice([b'{"a": "\xff\xfe"}', b"\xc3\x28", b'{"docs": [{"text_field": "\xed\xa0\x80"}]}'])
    if roll < 0.86:
        return obj(rng).encode()[: rng.randint(0, 30)]  # truncated
    if roll < 0.9:
        return bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 64)))
    return b'{"x": "' + b"y" * rng.randint(LIMIT - 16, 4 * LIMIT) + b'"}'  # around the limit


def request(rng: random.Random) -> dict[str, Any]:
    path = rng.choice(PATHS).replace("{n}", rng.choice(["0", "1", "-1", huge_number(rng), "x"]))
    while "{id}" in path:
        path = path.replace("{id}", rng.choice(IDS), 1)
    params = {
        name: rng.choice([scalar(rng).strip('"'), "", "**", "true", "false", huge_number(rng)])
        for name in rng.sample(PARAMS, rng.randint(0, 3))
    }
    content_type = rng.choice(CONTENT_TYPES)
    headers = {"content-type": content_type} if content_type else {}
    if rng.random() < 0.2:
        headers["accept"] = rng.choice(["application/vnd.elasticsearch+json; compatible-with=8", "text/html", "*/*"])
    return {"method": rng.choice(METHODS), "url": path, "params": params, "headers": headers, "content": body(rng)}


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with running_server(ServerConfig(max_content_length=LIMIT)) as served:
        yield served


def provision(client: httpx.Client) -> None:
    model = tiny_model()
    client.put("/_ml/trained_models/fz", json=model.config).raise_for_status()
    client.put("/_ml/trained_models/fz/vocabulary", json={"vocabulary": model.vocabulary}).raise_for_status()
    part = json.dumps(model.definition_part()).encode()
    assert len(part) < LIMIT
    client.put(
        "/_ml/trained_models/fz/definition/0", content=part, headers={"content-type": "application/json"}
    ).raise_for_status()
    client.post(
        "/_ml/trained_models/fz/deployment/_start", params={"deployment_id": "fz-dep", "wait_for": "started"}
    ).raise_for_status()


@pytest.mark.slow
def test_random_requests_never_get_a_5xx(url: str) -> None:
    rng = random.Random(SEED)
    server_errors, statuses = [], set()
    with httpx.Client(base_url=url, timeout=30) as client:
        provision(client)
        for index in range(REQUESTS):
            spec = request(rng)
            try:
                response = client.request(**spec)
            except httpx.TransportError as error:  # only an oversized body may end its connection
                assert len(spec["content"]) > LIMIT, (index, spec["method"], spec["url"], error)
                continue
            statuses.add(response.status_code)
            if response.status_code >= 500:
                server_errors.append((index, spec["method"], spec["url"], spec["content"][:80], response.text[:300]))
    assert server_errors == []
    assert {200, 400, 404, 405, 406, 413} <= statuses  # the fuzzer reached the handlers, not only the router


@pytest.mark.parametrize("text", ["9" * 4301, "-" + "9" * 6000], ids=["4301-digits", "minus-6000-digits"])
def test_huge_integers_are_400_not_500(url: str, text: str) -> None:
    with httpx.Client(base_url=url, timeout=30) as client:
        update = client.post(
            "/_ml/trained_models/fz-dep/deployment/_update",
            content=f'{{"number_of_allocations": {text}}}',
            headers={"content-type": "application/json"},
        )
        assert update.status_code == 400
        cause = update.json()["error"]["caused_by"]
        assert cause["type"] == "stream_constraints_exception"
        digits = len(text.lstrip("-"))
        assert cause["reason"].startswith(f"Number value length ({digits}) exceeds the maximum allowed (1000")
        query = client.post("/_ml/trained_models/fz-dep/deployment/_update", params={"number_of_allocations": text})
        assert query.status_code == 400
        assert query.json()["error"]["reason"].startswith("Failed to parse int parameter [number_of_allocations]")
        start = client.post("/_ml/trained_models/fz/deployment/_start", params={"threads_per_allocation": text})
        assert start.status_code == 400
        stats = client.get("/_ml/trained_models/_stats", params={"size": text})
        assert stats.status_code == 400


def test_nesting_past_1000_levels_is_400_and_1000_levels_are_read(url: str) -> None:
    with httpx.Client(base_url=url, timeout=30) as client:
        too_deep = (
            '{"model_type":"pytorch","inference_config":{"pass_through":{}},"metadata":' + "[" * 1000 + "]" * 1000 + "}"
        )  # the object around it is level 1
        refused = client.put("/_ml/trained_models/deep", content=too_deep, headers={"content-type": "application/json"})
        assert refused.status_code == 400
        assert refused.json()["error"]["caused_by"]["reason"].startswith(
            "Document nesting depth (1001) exceeds the maximum allowed (1000"
        )
        deepest = too_deep.replace("[" * 1000, "[" * 999).replace("]" * 1000, "]" * 999)
        stored = client.put("/_ml/trained_models/deep", content=deepest, headers={"content-type": "application/json"})
        assert stored.status_code == 200
        assert stored.text.count("[") >= 999  # echoed whole, however deep


def test_bodies_over_max_content_length_get_413(url: str) -> None:
    with httpx.Client(base_url=url, timeout=30) as client:
        over = client.put(
            "/_ml/trained_models/big", content=b"{" + b" " * LIMIT + b"}", headers={"content-type": "application/json"}
        )
        assert over.status_code == 413
        assert over.content == b""
        chunked = client.put(
            "/_ml/trained_models/big",
            content=iter([b"{", b" " * LIMIT, b"}"]),
            headers={"content-type": "application/json"},
        )
        assert chunked.status_code == 413
        at_limit = client.put(
            "/_ml/trained_models/big",
            content=b"{" + b" " * (LIMIT - 2) + b"}",
            headers={"content-type": "application/json"},
        )
        assert at_limit.status_code == 400  # read and parsed: no inference_config


SERVE = """
import sys
from conformance.reference.config import ServerConfig
from conformance.reference.server import serve
serve(ServerConfig(max_content_length=2**20), port=int(sys.argv[1]))
"""


def peak_rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="reads the server's peak RSS from /proc")
def test_an_endless_body_does_not_grow_the_server(unused_port: int) -> None:
    """64 MB sent chunked (no Content-Length) to a server limited to 1 MB: it stops reading."""
    server = subprocess.Popen([sys.executable, "-c", SERVE, str(unused_port)])
    try:
        base = f"http://127.0.0.1:{unused_port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(base + "/", timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline and server.poll() is None, "the server did not start"
                time.sleep(0.05)
        before = peak_rss_kib(server.pid)
        chunks = (b" " * 2**20 for _ in range(64))
        try:
            answer = httpx.put(
                base + "/_ml/trained_models/big",
                content=chunks,
                headers={"content-type": "application/json"},
                timeout=30,
            )
            assert answer.status_code == 413
        except httpx.TransportError:
            pass  # the server closed the connection while the client was still sending
        assert httpx.get(base + "/", timeout=5).status_code == 200
        assert peak_rss_kib(server.pid) - before < 16 * 1024
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture
def unused_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_the_official_client_gets_elasticsearch_errors_for_bad_input(url: str) -> None:
    """The same inputs through ``elasticsearch`` 9.x (raw bodies, as a client library forwards
    them): 400 ``BadRequestError`` and 413 ``ApiError``, never a 5xx."""
    import elasticsearch

    json_headers = {"content-type": "application/json", "accept": "application/json"}
    with elasticsearch.Elasticsearch(url, request_timeout=30, max_retries=0, retry_on_status=()) as es:
        bodies = [
            b'{"number_of_allocations": ' + b"9" * 4301 + b"}",
            b'{"number_of_allocations": ' + b"[" * 1001 + b"]" * 1001 + b"}",
        ]
        for body in bodies:
            with pytest.raises(elasticsearch.BadRequestError) as refused:
                es.perform_request(
                    "POST", "/_ml/trained_models/fz-dep/deployment/_update", body=body, headers=json_headers
                )
            assert refused.value.body["error"]["type"] == "x_content_parse_exception"
        with pytest.raises(elasticsearch.ApiError) as too_long:
            es.perform_request("PUT", "/_ml/trained_models/big", body=b"{" + b" " * LIMIT + b"}", headers=json_headers)
        assert too_long.value.meta.status == 413
