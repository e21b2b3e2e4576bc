"""§5.3 flow with the official `elasticsearch` 9.x client over real HTTP (§10.4: it checks
`X-Elastic-Product` and sends `compatible-with=9`); errors must surface as `ApiError`s."""

from __future__ import annotations

from collections.abc import Iterator

import elasticsearch
import pytest

from conformance.assets import tiny_model
from conformance.reference.config import ServerConfig
from conformance.reference.server import running_server


@pytest.fixture(scope="module")
def client() -> Iterator[elasticsearch.Elasticsearch]:
    with (
        running_server(ServerConfig()) as url,
        elasticsearch.Elasticsearch(url, request_timeout=10, max_retries=0, retry_on_status=()) as es,
    ):
        yield es


def test_s5_3_whole_flow(client) -> None:
    ml = client.ml
    model = tiny_model()
    ml.put_trained_model(model_id="flow", **model.config)
    ml.put_trained_model_vocabulary(model_id="flow", vocabulary=model.vocabulary)
    ml.put_trained_model_definition_part(model_id="flow", part=0, **model.definition_part())
    started = ml.start_trained_model_deployment(
        model_id="flow", deployment_id="flow-dep", wait_for="started", number_of_allocations=1, threads_per_allocation=1
    )
    assert started["assignment"]["assignment_state"] == "started"
    updated = ml.update_trained_model_deployment(model_id="flow-dep", number_of_allocations=2)
    assert updated["assignment"]["task_parameters"]["number_of_allocations"] == 2
    stats = ml.get_trained_models_stats(model_id="flow-dep")
    assert stats["trained_model_stats"][0]["deployment_stats"]["allocation_status"]["allocation_count"] == 2
    assert ml.stop_trained_model_deployment(model_id="flow-dep")["stopped"] is True
    assert ml.delete_trained_model(model_id="flow")["acknowledged"] is True


def test_s1_6_errors_are_api_errors(client) -> None:
    ml = client.ml
    model = tiny_model()
    ml.put_trained_model(model_id="errs", **model.config)
    ml.put_trained_model_definition_part(model_id="errs", part=0, **model.definition_part())
    ml.start_trained_model_deployment(model_id="errs", deployment_id="errs-dep", wait_for="started")
    with pytest.raises(elasticsearch.NotFoundError):
        ml.update_trained_model_deployment(model_id="nothing-here", number_of_allocations=2)
    with pytest.raises(elasticsearch.BadRequestError) as bad:
        ml.update_trained_model_deployment(model_id="errs-dep", number_of_allocations=0)
    assert bad.value.meta.status == 400
    with pytest.raises(elasticsearch.ApiError) as too_many:
        ml.update_trained_model_deployment(model_id="errs-dep", number_of_allocations=257)
    assert too_many.value.meta.status == 429
    with pytest.raises(elasticsearch.ConflictError):
        ml.delete_trained_model(model_id="errs")
    ml.stop_trained_model_deployment(model_id="errs-dep")
    ml.delete_trained_model(model_id="errs")
