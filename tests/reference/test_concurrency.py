"""Issue #2 item 7: state changes are serialised. 200 concurrent updates from several threads
lose nothing, never give a 5xx, and leave the state one of the succeeding requests asked for."""

from __future__ import annotations

import base64
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx

from conformance.reference.config import NodeSpec, ServerConfig
from conformance.reference.model import UpdateRequest
from conformance.reference.server import running_server
from reference.conftest import MODEL_CONFIG, make_es, torchscript_archive

UPDATES = 200
THREADS = 8
CONFIG = ServerConfig(nodes=(NodeSpec("ml-0", 8), NodeSpec("ml-1", 8)))


def _deploy(client: httpx.Client) -> None:
    data = torchscript_archive()
    client.put("/_ml/trained_models/tiny", json=MODEL_CONFIG).raise_for_status()
    client.put("/_ml/trained_models/tiny/definition/0", json={
        "definition": base64.b64encode(data).decode(), "total_definition_length": len(data), "total_parts": 1,
    }).raise_for_status()
    client.post("/_ml/trained_models/tiny/deployment/_start", params={"deployment_id": "dep"}).raise_for_status()


def test_concurrent_updates_over_http_are_serialised() -> None:
    """Each update asks for a distinct-enough count; the final state must equal the last 200."""
    with running_server(CONFIG) as url:
        local = threading.local()

        def client() -> httpx.Client:
            if not hasattr(local, "client"):
                local.client = httpx.Client(base_url=url, timeout=30)
            return local.client

        with httpx.Client(base_url=url, timeout=30) as setup:
            _deploy(setup)

        def update(index: int) -> tuple[int, int, dict]:
            wanted = index % 20 + 1  # 1..20; 17..20 exceed the 16 processors and must be 429
            response = client().post("/_ml/trained_models/dep/deployment/_update",
                                     json={"number_of_allocations": wanted})
            return wanted, response.status_code, response.json()

        with ThreadPoolExecutor(THREADS) as pool:
            results = list(pool.map(update, range(UPDATES)))

        with httpx.Client(base_url=url, timeout=30) as reader:
            stats = reader.get("/_ml/trained_models/dep/_stats").json()["trained_model_stats"][0]["deployment_stats"]

    statuses = {status for _, status, _ in results}
    assert statuses <= {200, 429}, statuses
    assert all(status == 429 for wanted, status, _ in results if wanted > 16)
    assert all(status == 200 for wanted, status, _ in results if wanted <= 16)
    for wanted, status, body in results:
        if status == 200:
            routes = body["assignment"]["routing_table"].values()
            assert body["assignment"]["task_parameters"]["number_of_allocations"] == wanted
            assert sum(route["target_allocations"] for route in routes) == wanted
    succeeded = {wanted for wanted, status, _ in results if status == 200}
    assert stats["number_of_allocations"] in succeeded
    assert stats["allocation_status"]["target_allocation_count"] == stats["number_of_allocations"]
    assert sum(node["number_of_allocations"] for node in stats["nodes"]) == stats["number_of_allocations"]


def test_concurrent_cluster_calls_keep_the_state_consistent() -> None:
    """Directly on the cluster, without an event loop serialising calls: the final state is
    internally consistent and equals what one of the successful updates asked for."""
    es = make_es(CONFIG)
    es.deploy(deployment_id="dep")
    cluster = es.cluster

    def update(index: int) -> int:
        wanted = index % 16 + 1
        assignment = cluster.update_deployment("dep", UpdateRequest(number_of_allocations=wanted))
        assert sum(route["target_allocations"] for route in assignment["routing_table"].values()) == wanted
        return wanted

    with ThreadPoolExecutor(THREADS) as pool:
        succeeded = set(pool.map(update, range(UPDATES)))
    deployment = cluster.deployments["dep"]
    assert deployment.number_of_allocations in succeeded
    assert deployment.total_target == deployment.number_of_allocations
    for node in CONFIG.nodes:
        route = deployment.routes.get(node.id)
        assert route is None or route.target * deployment.threads_per_allocation <= node.allocated_processors
