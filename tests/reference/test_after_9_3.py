"""Issue #12: behaviour after 9.3 (§11.3, §11.4), and the ``_stop`` body the Python client 9.5
sends (§11.2), through the official client against served references of both versions."""

from __future__ import annotations

from collections.abc import Iterator

import elasticsearch
import httpx
import pytest

from conformance.assets import tiny_model
from conformance.reference.config import NodeSpec, ServerConfig
from conformance.reference.server import running_server

MB = 2**20
PER_DEPLOYMENT, PER_ALLOCATION = 300 * MB, 100 * MB
NODES = (NodeSpec("ml-0", 8), NodeSpec("ml-1", 8))


def served(version: str) -> Iterator[elasticsearch.Elasticsearch]:
    with (
        running_server(ServerConfig(es_version=version, nodes=NODES)) as url,
        elasticsearch.Elasticsearch(url, request_timeout=10, max_retries=0, retry_on_status=()) as client,
    ):
        yield client


@pytest.fixture
def es94() -> Iterator[elasticsearch.Elasticsearch]:
    yield from served("9.4.0")


@pytest.fixture
def es93() -> Iterator[elasticsearch.Elasticsearch]:
    yield from served("9.3.0")


def deploy_with_declared_memory(es: elasticsearch.Elasticsearch, model_id: str) -> None:
    model = tiny_model()
    metadata = {"per_deployment_memory_bytes": PER_DEPLOYMENT, "per_allocation_memory_bytes": PER_ALLOCATION}
    es.ml.put_trained_model(model_id=model_id, metadata=metadata, **model.config)
    es.ml.put_trained_model_vocabulary(model_id=model_id, vocabulary=model.vocabulary)
    es.ml.put_trained_model_definition_part(model_id=model_id, part=0, **model.definition_part())
    es.ml.start_trained_model_deployment(model_id=model_id, wait_for="started")


def required_memory(es: elasticsearch.Elasticsearch, model_id: str) -> int:
    entry = es.ml.get_trained_models_stats(model_id=model_id)["trained_model_stats"][0]
    return entry["model_size_stats"]["required_native_memory_bytes"]


def expected(allocations: int) -> int:
    return max(
        240 * MB + 2 * len(tiny_model().definition),
        PER_DEPLOYMENT + PER_ALLOCATION * allocations + len(tiny_model().definition),
    )


def test_declared_memory_reaches_the_task_parameters(es94) -> None:
    deploy_with_declared_memory(es94, "declared")
    params = es94.ml.update_trained_model_deployment(model_id="declared", number_of_allocations=1)["assignment"][
        "task_parameters"
    ]
    assert (params["per_deployment_memory_bytes"], params["per_allocation_memory_bytes"]) == (
        PER_DEPLOYMENT,
        PER_ALLOCATION,
    )


def test_9_4_required_memory_follows_each_deployments_own_allocations(es94) -> None:
    deploy_with_declared_memory(es94, "one")
    deploy_with_declared_memory(es94, "other")
    es94.ml.update_trained_model_deployment(model_id="other", number_of_allocations=3)
    assert required_memory(es94, "one") == expected(1)
    assert required_memory(es94, "other") == expected(3)


def test_before_9_4_every_figure_uses_all_deployments_allocations(es93) -> None:
    deploy_with_declared_memory(es93, "one")
    deploy_with_declared_memory(es93, "other")
    before = required_memory(es93, "one")
    es93.ml.update_trained_model_deployment(model_id="other", number_of_allocations=3)
    assert (before, required_memory(es93, "one")) == (expected(2), expected(4))  # ES#107831


def test_9_4_nodes_report_the_process_rss(es94, es93) -> None:
    for es in (es94, es93):
        deploy_with_declared_memory(es, "rss")
    [node94] = es94.ml.get_trained_models_stats(model_id="rss")["trained_model_stats"][0]["deployment_stats"]["nodes"]
    [node93] = es93.ml.get_trained_models_stats(model_id="rss")["trained_model_stats"][0]["deployment_stats"]["nodes"]
    assert isinstance(node94["average_inference_process_memory_rss_bytes"], int)
    assert node94["average_inference_process_memory_rss_bytes"] > 0
    assert "average_inference_process_memory_rss_bytes" not in node93


def test_stop_reads_the_body_the_client_sends(es94) -> None:
    deploy_with_declared_memory(es94, "stoppable")
    with pytest.raises(elasticsearch.BadRequestError) as inconsistent:
        es94.ml.stop_trained_model_deployment(model_id="stoppable", id="another")
    assert "Inconsistent model_id" in inconsistent.value.body["error"]["reason"]
    assert es94.ml.stop_trained_model_deployment(model_id="stoppable", force=True, id="stoppable")["stopped"] is True
    with pytest.raises(elasticsearch.NotFoundError):  # the body's allow_no_match: false is honoured
        es94.ml.stop_trained_model_deployment(model_id="stoppable", allow_no_match=False)
    assert es94.ml.stop_trained_model_deployment(model_id="stoppable", allow_no_match=True)["stopped"] is True


def test_stop_body_fields_are_checked(es94) -> None:
    url = es94.transport.node_pool.get().base_url
    unknown = httpx.post(f"{url}/_ml/trained_models/nothing/deployment/_stop", json={"allow_no_match": True, "x": 1})
    assert unknown.status_code == 400
    assert "unknown field [x]" in unknown.json()["error"]["reason"]
    wrong = httpx.post(f"{url}/_ml/trained_models/nothing/deployment/_stop", json={"force": "maybe"})
    assert wrong.status_code == 400
