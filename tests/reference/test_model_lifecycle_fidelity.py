"""Issue #12: the lifecycle details Elasticsearch's own YAML tests read back (§11.1), through
the official Python client against a served reference, as a client author's test would."""

from __future__ import annotations

from collections.abc import Iterator

import elasticsearch
import pytest

from conformance.assets import tiny_model
from conformance.reference.config import ServerConfig
from conformance.reference.server import running_server


def client_for(url: str) -> elasticsearch.Elasticsearch:
    return elasticsearch.Elasticsearch(url, request_timeout=10, max_retries=0, retry_on_status=())


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with running_server(ServerConfig()) as served:
        yield served


@pytest.fixture
def client(url: str) -> Iterator[elasticsearch.Elasticsearch]:
    with client_for(url) as es:
        yield es


def upload(es: elasticsearch.Elasticsearch, model_id: str) -> None:
    model = tiny_model()
    es.ml.put_trained_model(model_id=model_id, **model.config)
    es.ml.put_trained_model_vocabulary(model_id=model_id, vocabulary=model.vocabulary)
    es.ml.put_trained_model_definition_part(model_id=model_id, part=0, **model.definition_part())


def reason_chain(error: elasticsearch.ApiError) -> str:
    """Every reason of an error body, outermost first (what a YAML ``catch: /regex/`` sees)."""
    reasons, cause = [], error.body["error"]
    while isinstance(cause, dict):
        reasons.append(cause.get("reason", ""))
        cause = cause.get("caused_by")
    return " | ".join(reasons)


def test_stats_count_models_and_order_deployments_by_id(client) -> None:
    upload(client, "two-deps")
    for deployment_id in ("two-deps-search", "two-deps-ingest"):  # started in the "wrong" order
        client.ml.start_trained_model_deployment(model_id="two-deps", deployment_id=deployment_id, wait_for="started")
    stats = client.ml.get_trained_models_stats(model_id="two-deps")
    assert stats["count"] == 1
    assert [e["deployment_stats"]["deployment_id"] for e in stats["trained_model_stats"]] == [
        "two-deps-ingest",
        "two-deps-search",
    ]
    assert {e["model_id"] for e in stats["trained_model_stats"]} == {"two-deps"}
    upload(client, "two-deps-zz")  # a second model, sorted after the first
    paged = client.ml.get_trained_models_stats(model_id="two-deps*", size=1)
    assert paged["count"] == 2  # every model matched, while the page holds the first model only...
    assert [e["model_id"] for e in paged["trained_model_stats"]] == ["two-deps", "two-deps"]  # ...with both deployments
    second = client.ml.get_trained_models_stats(model_id="two-deps*", from_=1, size=1)
    assert [e["model_id"] for e in second["trained_model_stats"]] == ["two-deps-zz"]
    for deployment_id in ("two-deps-search", "two-deps-ingest"):
        client.ml.stop_trained_model_deployment(model_id=deployment_id)


def test_put_model_with_the_id_of_a_deployment_is_refused(client) -> None:
    upload(client, "owner")
    client.ml.start_trained_model_deployment(model_id="owner", deployment_id="owner-dep", wait_for="started")
    with pytest.raises(elasticsearch.BadRequestError) as refused:
        client.ml.put_trained_model(model_id="owner-dep", model_type="pytorch", inference_config={"ner": {}})
    assert refused.value.body["error"]["reason"] == (
        "Cannot create model [owner-dep] the id is the same as an current model deployment"
    )
    client.ml.stop_trained_model_deployment(model_id="owner-dep")
    assert (
        client.ml.put_trained_model(model_id="owner-dep", model_type="pytorch", inference_config={"ner": {}})[
            "model_id"
        ]
        == "owner-dep"
    )


def test_packaged_model_id_is_accepted_and_start_waits_for_its_download(client) -> None:
    put = client.ml.put_trained_model(model_id=".elser_model_2", input={"field_names": ["text_field"]})
    assert put["model_id"] == ".elser_model_2"
    with pytest.raises(elasticsearch.ApiError) as downloading:
        client.ml.start_trained_model_deployment(model_id=".elser_model_2")
    assert downloading.value.meta.status == 408
    assert downloading.value.body["error"]["reason"] == (
        "Model download task is currently running. Wait for trained model [.elser_model_2] download task to "
        "complete then try again"
    )
    with pytest.raises(elasticsearch.BadRequestError):  # the package defines the configuration
        client.ml.put_trained_model(model_id=".elser_model_3", inference_config={"pass_through": {}})
    with pytest.raises(elasticsearch.BadRequestError):  # after the dot, still a valid id
        client.ml.put_trained_model(model_id=".Bad", input={"field_names": ["text_field"]})


def test_prefix_strings_are_stored_and_echoed(client) -> None:
    both = {"search": "this is a query", "ingest": "this is a passage"}
    put = client.ml.put_trained_model(
        model_id="prefixed", model_type="pytorch", inference_config={"text_embedding": {}}, prefix_strings=both
    )
    assert put["prefix_strings"] == both
    got = client.ml.get_trained_models(model_id="prefixed")["trained_model_configs"][0]
    assert got["prefix_strings"] == both
    only_search = client.ml.put_trained_model(
        model_id="search-prefixed",
        model_type="pytorch",
        inference_config={"text_embedding": {}},
        prefix_strings={"search": "q"},
    )
    assert only_search["prefix_strings"] == {"search": "q"}


def test_prefix_strings_are_an_unknown_field_before_8_12() -> None:
    with (
        running_server(ServerConfig(es_version="8.11.0")) as old,
        client_for(old) as es,
        pytest.raises(elasticsearch.BadRequestError) as refused,
    ):
        es.ml.put_trained_model(
            model_id="prefixed",
            model_type="pytorch",
            inference_config={"text_embedding": {}},
            prefix_strings={"search": "q"},
        )
    assert "unknown field [prefix_strings]" in refused.value.body["error"]["reason"]


@pytest.mark.parametrize(("tokenizer", "mask"), [("bert", "[MASK]"), ("roberta", "<mask>"), ("mpnet", "<mask>")])
def test_fill_mask_gets_the_tokenizers_mask_token(client, tokenizer: str, mask: str) -> None:
    model_id = f"fill-{tokenizer}"
    config = {"fill_mask": {"tokenization": {tokenizer: {"with_special_tokens": False}}}}
    client.ml.put_trained_model(model_id=model_id, model_type="pytorch", inference_config=config)
    got = client.ml.get_trained_models(model_id=model_id)["trained_model_configs"][0]
    assert got["inference_config"]["fill_mask"]["mask_token"] == mask
    right = {"fill_mask": {**config["fill_mask"], "mask_token": mask}}
    client.ml.put_trained_model(model_id=f"{model_id}-explicit", model_type="pytorch", inference_config=right)


@pytest.mark.parametrize(
    ("tokenizer", "wrong", "right"), [("bert", "<mask>", "[MASK]"), ("roberta", "[MASK]", "<mask>")]
)
def test_fill_mask_with_another_tokenizers_mask_token_is_refused(
    client, tokenizer: str, wrong: str, right: str
) -> None:
    config = {"fill_mask": {"tokenization": {tokenizer: {}}, "mask_token": wrong}}
    with pytest.raises(elasticsearch.BadRequestError) as refused:
        client.ml.put_trained_model(model_id="wrong-mask", model_type="pytorch", inference_config=config)
    assert f"IllegalArgumentException: Mask token requested was [{wrong}] but must be [{right}] for this model" in (
        reason_chain(refused.value)
    )
    with pytest.raises(elasticsearch.NotFoundError):
        client.ml.get_trained_models(model_id="wrong-mask")


def test_include_definition_status_tells_whether_the_model_is_fully_defined(client) -> None:
    client.ml.put_trained_model(model_id="half", **tiny_model().config)
    assert (
        client.ml.get_trained_models(model_id="half", include="definition_status")["trained_model_configs"][0][
            "fully_defined"
        ]
        is False
    )
    upload(client, "whole")
    whole = client.ml.get_trained_models(model_id="whole", include="definition_status")["trained_model_configs"][0]
    assert whole["fully_defined"] is True
    assert "fully_defined" not in client.ml.get_trained_models(model_id="whole")["trained_model_configs"][0]
