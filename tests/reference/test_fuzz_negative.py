"""Issue #2 "never a 500": Schemathesis in negative mode against every endpoint served.

A small OpenAPI 3.1 document written for this test describes the endpoints loosely enough
to reach the handlers; negative generation then violates it in every way it can. The only
check is `not_a_server_error`, plus `X-Elastic-Product` on every answer (§10.4).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings, strategies as st
from starlette.testclient import TestClient

from conformance.reference.app import create_app
from reference.conftest import Es

pytestmark = pytest.mark.slow  # Schemathesis and Hypothesis fuzzing of every endpoint

INT = {"type": "integer"}
STRING = {"type": "string"}
BOOL = {"type": "boolean"}
ID_PATH = {"name": "model_id", "in": "path", "required": True, "schema": {"type": "string", "pattern": "^[a-z0-9-]+$"}}


def query(**fields: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"name": name, "in": "query", "required": False, "schema": schema} for name, schema in fields.items()]


def json_body(properties: dict[str, Any], required: list[str] = ()) -> dict[str, Any]:
    schema = {"type": "object", "properties": properties, "required": list(required), "additionalProperties": False}
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def operation(parameters: list[dict[str, Any]], body: dict[str, Any] | None = None) -> dict[str, Any]:
    op: dict[str, Any] = {"parameters": parameters, "responses": {"200": {"description": "ok"}}}
    if body is not None:
        op["requestBody"] = body
    return op


ADAPTIVE = {
    "type": ["object", "null"],
    "additionalProperties": False,
    "properties": {
        "enabled": BOOL,
        "min_number_of_allocations": {"type": ["integer", "null"], "minimum": 0},
        "max_number_of_allocations": {"type": ["integer", "null"], "minimum": 1},
    },
}
DOCUMENT = {
    "openapi": "3.1.0",
    "info": {"title": "reference server", "version": "9.3.0"},
    "paths": {
        "/": {"get": operation(query(pretty=BOOL, filter_path=STRING))},
        "/_nodes": {"get": operation(query(timeout=STRING))},
        "/_ml/info": {"get": operation([])},
        "/_cluster/settings": {"get": operation(query(include_defaults=BOOL, flat_settings=BOOL))},
        "/_ml/trained_models/_stats": {"get": operation(query(allow_no_match=BOOL, size=INT))},
        "/_ml/trained_models/{model_id}/_stats": {"get": operation([ID_PATH, *query(size=INT)])},
        "/_ml/trained_models/{model_id}": {
            "get": operation([ID_PATH, *query(allow_no_match=BOOL, size=INT)]),
            "put": operation(
                [ID_PATH],
                json_body({"model_type": STRING, "inference_config": {"type": "object"}}, ["inference_config"]),
            ),
            "delete": operation([ID_PATH, *query(force=BOOL)]),
        },
        "/_ml/trained_models/{model_id}/vocabulary": {
            "put": operation([ID_PATH], json_body({"vocabulary": {"type": "array", "items": STRING}}, ["vocabulary"]))
        },
        "/_ml/trained_models/{model_id}/definition/{part}": {
            "put": operation(
                [ID_PATH, {"name": "part", "in": "path", "required": True, "schema": INT}],
                json_body(
                    {"definition": STRING, "total_definition_length": INT, "total_parts": INT},
                    ["definition", "total_definition_length", "total_parts"],
                ),
            )
        },
        "/_ml/trained_models/{model_id}/deployment/_start": {
            "post": operation(
                [
                    ID_PATH,
                    *query(
                        number_of_allocations=INT,
                        threads_per_allocation=INT,
                        queue_capacity=INT,
                        priority={"enum": ["normal", "low"]},
                        wait_for={"enum": ["starting", "started"]},
                        timeout=STRING,
                        deployment_id=STRING,
                        cache_size=STRING,
                    ),
                ]
            )
        },
        "/_ml/trained_models/{model_id}/deployment/_update": {
            "post": operation(
                [ID_PATH, *query(timeout=STRING)],
                json_body(
                    {
                        "number_of_allocations": {"type": "integer", "minimum": 1},
                        "adaptive_allocations": ADAPTIVE,
                        "model_id": STRING,
                    }
                ),
            )
        },
        "/_ml/trained_models/{model_id}/deployment/_stop": {
            "post": operation([ID_PATH, *query(force=BOOL, allow_no_match=BOOL)])
        },
        "/_inference/{task_type}/{inference_id}": {
            "put": operation(
                [
                    {"name": "task_type", "in": "path", "required": True, "schema": STRING},
                    {"name": "inference_id", "in": "path", "required": True, "schema": STRING},
                ],
                json_body(
                    {"service": {"enum": ["elasticsearch"]}, "service_settings": {"type": "object"}}, ["service"]
                ),
            )
        },
    },
}

schema = schemathesis.openapi.from_dict(
    DOCUMENT,
    config=schemathesis.Config.from_dict(
        {
            "seed": 20261124,
            "generation": {"mode": "negative", "max-examples": 25, "deterministic": True},
        }
    ),
)


@pytest.fixture(scope="module")
def app():
    application = create_app()
    es = Es(TestClient(application), application.state.cluster)
    es.deploy("tiny", deployment_id="dep")  # so that some generated ids reach a live deployment
    return application


@schema.parametrize()
def test_negative_inputs_never_give_5xx(case, app) -> None:
    response = case.call(app=app)
    assert response.status_code < 500, case.as_curl_command()
    assert (
        response.headers.get("x-elastic-product") == ["Elasticsearch"]
        or response.headers.get("x-elastic-product") == "Elasticsearch"
    )


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=30), children, max_size=3),
    max_leaves=8,
)
UPDATE_BODIES = st.one_of(
    st.binary(max_size=64),
    st.dictionaries(
        st.sampled_from(
            ["number_of_allocations", "adaptive_allocations", "model_id", "timeout", "model_threads", "enabled", "x"]
        ),
        JSON_VALUES,
        max_size=3,
    ).map(lambda body: json.dumps(body).encode()),
    st.builds(
        lambda body, cut: json.dumps(body).encode()[:cut],
        st.dictionaries(st.text(max_size=5), JSON_VALUES),
        st.integers(0, 40),
    ),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=UPDATE_BODIES)
def test_s1_5_arbitrary_update_bodies_get_elasticsearch_errors(app, body: bytes) -> None:
    client = TestClient(app)
    response = client.post(
        "/_ml/trained_models/dep/deployment/_update", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code in (200, 400, 409, 429), (body, response.text)
    if response.status_code != 200:
        error = response.json()["error"]
        assert error["root_cause"][0]["type"] == error["type"]
