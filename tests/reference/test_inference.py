"""Issue #12: ``_infer`` for the tiny pass-through model, the deployment cache and model
aliases, through the official Python client against a served reference (§11.1)."""

from __future__ import annotations

import base64
import io
import itertools
import zipfile
from collections.abc import Iterator
from typing import Any

import elasticsearch
import httpx
import pytest

from conformance.assets import tiny_model
from conformance.reference.config import NodeSpec, ServerConfig
from conformance.reference.server import running_server

_ids = itertools.count()


@pytest.fixture
def url() -> Iterator[str]:
    nodes = (NodeSpec("ml-0", 4), NodeSpec("ml-1", 4))
    with running_server(ServerConfig(nodes=nodes)) as served:
        yield served


@pytest.fixture
def es(url: str) -> Iterator[elasticsearch.Elasticsearch]:
    with elasticsearch.Elasticsearch(url, request_timeout=10, max_retries=0, retry_on_status=()) as client:
        yield client


def upload(
    es: elasticsearch.Elasticsearch,
    config: dict[str, Any] | None = None,
    definition: bytes | None = None,
    vocabulary: list[str] | None = None,
) -> str:
    """A fresh model (the tiny one unless told otherwise); returns its id."""
    model = tiny_model()
    model_id = f"inf-{next(_ids)}-m"
    es.ml.put_trained_model(model_id=model_id, **(config or model.config))
    es.ml.put_trained_model_vocabulary(model_id=model_id, vocabulary=vocabulary or model.vocabulary)
    raw = definition if definition is not None else model.definition
    es.ml.put_trained_model_definition_part(
        model_id=model_id,
        part=0,
        definition=base64.b64encode(raw).decode(),
        total_definition_length=len(raw),
        total_parts=1,
    )
    return model_id


def deploy(es: elasticsearch.Elasticsearch, **start: Any) -> str:
    model_id = upload(es)
    es.ml.start_trained_model_deployment(model_id=model_id, wait_for="started", **start)
    return model_id


def node_stats(es: elasticsearch.Elasticsearch, deployment_id: str) -> list[dict[str, Any]]:
    return es.ml.get_trained_models_stats(model_id=deployment_id)["trained_model_stats"][0]["deployment_stats"]["nodes"]


def test_infer_answers_the_pass_through_shape(es) -> None:
    model_id = deploy(es)
    answer = es.ml.infer_trained_model(model_id=model_id, docs=[{"input": "update deployment"}])
    assert answer.body == {"inference_results": [{"predicted_value": [[1.0, 1.0]]}]}
    several = es.ml.infer_trained_model(model_id=model_id, docs=[{"input": "a"}, {"input": "b"}])
    assert len(several["inference_results"]) == 2


def test_inference_and_cache_hits_are_counted_and_clear_empties_the_cache(es) -> None:
    model_id = deploy(es, cache_size="10kb")
    for text in ("update", "allocations", "update"):
        es.ml.infer_trained_model(model_id=model_id, docs=[{"input": text}])
    [node] = node_stats(es, model_id)
    assert (node["inference_count"], node["inference_cache_hit_count"]) == (3, 1)
    assert (
        es.ml.get_trained_models_stats(model_id=model_id)["trained_model_stats"][0]["deployment_stats"][
            "inference_count"
        ]
        == 3
    )
    assert es.ml.clear_trained_model_deployment_cache(model_id=model_id).body == {"cleared": True}
    es.ml.infer_trained_model(model_id=model_id, docs=[{"input": "update"}])
    [node] = node_stats(es, model_id)
    assert (node["inference_count"], node["inference_cache_hit_count"]) == (4, 1)


def test_same_tokens_hit_the_cache_and_cache_size_zero_disables_it(es) -> None:
    cached = deploy(es, cache_size="10kb")
    es.ml.infer_trained_model(model_id=cached, docs=[{"input": "update"}])
    es.ml.infer_trained_model(model_id=cached, docs=[{"input": " update  "}])  # other text, same tokens
    assert node_stats(es, cached)[0]["inference_cache_hit_count"] == 1
    uncached = deploy(es, cache_size=0)
    for _ in range(3):
        es.ml.infer_trained_model(model_id=uncached, docs=[{"input": "update"}])
    assert node_stats(es, uncached)[0]["inference_cache_hit_count"] == 0


def test_documents_go_to_routes_by_their_allocations(es) -> None:
    model_id = deploy(es, number_of_allocations=8)  # four on each node
    es.ml.infer_trained_model(model_id=model_id, docs=[{"input": str(n)} for n in range(8)])
    assert sorted(node["inference_count"] for node in node_stats(es, model_id)) == [4, 4]


def test_no_started_route_is_409(url: str) -> None:
    slow = ServerConfig(convergence_delay=3600.0)
    with running_server(slow) as slow_url, elasticsearch.Elasticsearch(slow_url, max_retries=0) as client:
        model_id = upload(client)
        client.ml.start_trained_model_deployment(model_id=model_id, wait_for="starting")
        with pytest.raises(elasticsearch.ConflictError) as refused:
            client.ml.infer_trained_model(model_id=model_id, docs=[{"input": "update"}])
    assert refused.value.body["error"]["reason"] == (
        f"Trained model deployment [{model_id}] is not allocated to any nodes"
    )


def test_unknown_and_undeployed_models(es) -> None:
    with pytest.raises(elasticsearch.NotFoundError):
        es.ml.infer_trained_model(model_id="no-such-model", docs=[{"input": "x"}])
    model_id = upload(es)
    with pytest.raises(elasticsearch.ConflictError) as undeployed:
        es.ml.infer_trained_model(model_id=model_id, docs=[{"input": "x"}])
    assert "must be deployed to use" in undeployed.value.body["error"]["reason"]


def other_torchscript() -> bytes:
    """A TorchScript-shaped archive whose output the reference does not know."""
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("other/data.pkl", b"not the tiny model")
        zipped.writestr("other/version", b"3\n")
    return archive.getvalue()


@pytest.mark.parametrize("kind", ["definition", "task"])
def test_models_the_reference_cannot_interpret_say_so(es, kind: str) -> None:
    if kind == "definition":
        model_id = upload(es, definition=other_torchscript())
    else:
        model_id = upload(es, config={"model_type": "pytorch", "inference_config": {"text_embedding": {}}})
    es.ml.start_trained_model_deployment(model_id=model_id, wait_for="started")
    with pytest.raises(elasticsearch.BadRequestError) as refused:
        es.ml.infer_trained_model(model_id=model_id, docs=[{"input": "x"}])
    assert "not emulated by the reference server" in refused.value.body["error"]["reason"]


def test_bad_documents_timeout_and_truncation(es) -> None:
    model_id = deploy(es)
    with pytest.raises(elasticsearch.BadRequestError) as missing:
        es.ml.infer_trained_model(model_id=model_id, docs=[{"text_field": "update"}])
    assert missing.value.body["error"]["reason"] == "Input field [input] does not exist in the source document"
    with pytest.raises(elasticsearch.BadRequestError):
        es.ml.infer_trained_model(model_id=model_id, docs=[])
    with pytest.raises(elasticsearch.ApiError) as timed_out:
        es.ml.infer_trained_model(model_id=model_id, docs=[{"input": "update"}], timeout="0s")
    assert timed_out.value.meta.status == 408
    assert node_stats(es, model_id)[0]["timeout_count"] == 1

    short = {
        "model_type": "pytorch",
        "inference_config": {
            "pass_through": {
                "tokenization": {"bert": {"with_special_tokens": False, "max_sequence_length": 2, "truncate": "none"}}
            }
        },
    }
    strict = upload(es, config=short)
    es.ml.start_trained_model_deployment(model_id=strict, wait_for="started")
    with pytest.raises(elasticsearch.BadRequestError) as too_long:
        es.ml.infer_trained_model(model_id=strict, docs=[{"input": "update deployment allocations"}])
    assert too_long.value.body["error"]["reason"] == (
        "Input too large. The tokenized input length [3] exceeds the maximum sequence length [2]"
    )
    short["inference_config"]["pass_through"]["tokenization"]["bert"]["truncate"] = "first"
    lenient = upload(es, config=short)
    es.ml.start_trained_model_deployment(model_id=lenient, wait_for="started")
    answer = es.ml.infer_trained_model(model_id=lenient, docs=[{"input": "update deployment allocations"}])
    assert answer["inference_results"][0]["is_truncated"] is True


def test_special_tokens_need_them_in_the_vocabulary(es) -> None:
    config = {"model_type": "pytorch", "inference_config": {"pass_through": {"tokenization": {"bert": {}}}}}
    model_id = upload(es, config=config)  # with_special_tokens defaults to true; the vocabulary lacks [CLS], [SEP]
    es.ml.start_trained_model_deployment(model_id=model_id, wait_for="started")
    with pytest.raises(elasticsearch.ConflictError) as refused:
        es.ml.infer_trained_model(model_id=model_id, docs=[{"input": "update"}])
    assert "stored vocabulary is missing required" in refused.value.body["error"]["reason"]


def test_deprecated_infer_path_warns(url: str, es) -> None:
    model_id = deploy(es)
    answer = httpx.post(f"{url}/_ml/trained_models/{model_id}/deployment/_infer", json={"docs": [{"input": "x"}]})
    assert answer.status_code == 200
    assert (
        "/deployment/_infer] is deprecated! Use [POST /_ml/trained_models/{model_id}/_infer]"
        in (answer.headers["warning"])
    )


def test_model_alias_lifecycle(es) -> None:
    deployed = deploy(es)
    other = upload(es)
    alias = f"alias-{next(_ids)}-x"
    assert es.ml.put_trained_model_alias(model_id=deployed, model_alias=alias).body == {"acknowledged": True}
    by_alias = es.ml.get_trained_models(model_id=alias)
    assert [c["model_id"] for c in by_alias["trained_model_configs"]] == [deployed]
    es.ml.infer_trained_model(model_id=alias, docs=[{"input": "update"}])
    assert node_stats(es, deployed)[0]["inference_count"] == 1
    assert es.ml.get_trained_models_stats(model_id=alias)["trained_model_stats"][0]["model_id"] == deployed

    with pytest.raises(elasticsearch.BadRequestError) as taken:
        es.ml.put_trained_model_alias(model_id=other, model_alias=alias)
    assert "Set parameter [reassign] to [true]" in taken.value.body["error"]["reason"]
    with pytest.raises(elasticsearch.BadRequestError) as undeployed:
        es.ml.put_trained_model_alias(model_id=other, model_alias=alias, reassign=True)
    assert undeployed.value.body["error"]["reason"] == (
        f"cannot reassign model_alias [{alias}] to model [{other}] from model [{deployed}] as it is not yet deployed"
    )
    with pytest.raises(elasticsearch.BadRequestError) as model_id_taken:
        es.ml.put_trained_model(model_id=alias, model_type="pytorch", inference_config={"pass_through": {}})
    assert "is the same as an existing model_alias" in model_id_taken.value.body["error"]["reason"]

    with pytest.raises(elasticsearch.ConflictError):
        es.ml.delete_trained_model_alias(model_id=other, model_alias=alias)
    assert es.ml.delete_trained_model_alias(model_id=deployed, model_alias=alias).body == {"acknowledged": True}
    with pytest.raises(elasticsearch.NotFoundError):
        es.ml.delete_trained_model_alias(model_id=deployed, model_alias=alias)
    with pytest.raises(elasticsearch.NotFoundError):
        es.ml.get_trained_models(model_id=alias)


def test_model_alias_validation(es) -> None:
    model_id = upload(es)
    for alias in ("ends-with-1", "Upper-case", model_id):
        with pytest.raises(elasticsearch.BadRequestError):
            es.ml.put_trained_model_alias(model_id=model_id, model_alias=alias)
    with pytest.raises(elasticsearch.NotFoundError):
        es.ml.put_trained_model_alias(model_id="no-such-model", model_alias="fine-alias")
    with pytest.raises(elasticsearch.BadRequestError) as clash:
        es.ml.put_trained_model_alias(model_id=model_id, model_alias=upload(es))
    assert clash.value.body["error"]["reason"] == "model_alias cannot be the same as an existing trained model_id"


def test_alias_goes_with_its_model(es) -> None:
    model_id = upload(es)
    es.ml.put_trained_model_alias(model_id=model_id, model_alias="short-lived")
    es.ml.delete_trained_model(model_id=model_id)
    with pytest.raises(elasticsearch.NotFoundError):
        es.ml.get_trained_models(model_id="short-lived")
