"""Schemathesis, driven by ``schemas/openapi.json`` as it is on disk (profile 9.3), finds
no false failure in positive mode and no undocumented status against the reference
server: the strict document describes Elasticsearch, not more and not less.

The reference server is only the counterpart here; the suite itself never imports it.
"""

from __future__ import annotations

import base64
import io
import zipfile
from typing import Iterator

import httpx
import pytest
import requests
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from conformance.schemas import schema_dir

reference_server = pytest.importorskip("conformance.reference.server")
reference_config = pytest.importorskip("conformance.reference.config")

MODEL = "schemas-tiny-model"
DEPLOYMENT = "schemas-tiny-deployment"
UPDATE = "POST /_ml/trained_models/{model_id}/deployment/_update"
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, response_headers_conformance]

schema = schemathesis.openapi.from_path(
    str(schema_dir() / "openapi.json"),
    config=schemathesis.Config.from_dict({
        "seed": 20240611,
        "generation": {"max-examples": 60, "mode": "positive", "deterministic": True},
        "parameters": {"path.model_id": DEPLOYMENT},
        "phases": {"coverage": {"enabled": False}, "stateful": {"enabled": False}},
    }),
)


def _tiny_definition() -> tuple[str, int]:
    """A TorchScript-shaped zip (archive/data.pkl + archive/version), base64 (§5.3)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("archive/data.pkl", b"\x80\x02}q\x00.")
        archive.writestr("archive/version", b"3\n")
    raw = buffer.getvalue()
    return base64.b64encode(raw).decode("ascii"), len(raw)


def _provision(client: httpx.Client) -> None:
    """Model, vocabulary, definition, then a started deployment under its own id (§5.3)."""
    definition, length = _tiny_definition()
    calls = [
        ("PUT", f"/_ml/trained_models/{MODEL}", None,
         {"model_type": "pytorch", "inference_config": {"pass_through": {}}}),
        ("PUT", f"/_ml/trained_models/{MODEL}/vocabulary", None, {"vocabulary": ["[PAD]", "[UNK]", "a"]}),
        ("PUT", f"/_ml/trained_models/{MODEL}/definition/0", None,
         {"definition": definition, "total_definition_length": length, "total_parts": 1}),
        ("POST", f"/_ml/trained_models/{MODEL}/deployment/_start",
         {"deployment_id": DEPLOYMENT, "wait_for": "started", "number_of_allocations": 1}, None),
    ]
    for method, path, params, body in calls:
        response = client.request(method, path, params=params, json=body)
        assert response.status_code == 200, (method, path, response.status_code, response.text)


@pytest.fixture(scope="module")
def reference_url() -> Iterator[str]:
    with reference_server.running_server(reference_config.ServerConfig(es_version="9.3.0")) as url:
        with httpx.Client(base_url=url, timeout=30) as client:
            _provision(client)
        yield url


@pytest.fixture(scope="module")
def session() -> Iterator[requests.Session]:
    with requests.Session() as shared:
        yield shared


@schema.include(name=UPDATE).parametrize()
def test_positive_cases_get_documented_statuses_and_conforming_answers(case, reference_url, session) -> None:
    assert case.path_parameters == {"model_id": DEPLOYMENT}
    case.call_and_validate(base_url=reference_url, session=session, checks=CHECKS)


def _tampered(answer: httpx.Response, status: int | None = None, body: bytes | None = None,
              drop_header: str | None = None) -> httpx.Response:
    headers = [(k, v) for k, v in answer.headers.multi_items() if k.lower() not in {drop_header, "content-length"}]
    tampered = httpx.Response(status or answer.status_code, headers=headers,
                              content=answer.content if body is None else body, request=answer.request)
    tampered.elapsed = answer.elapsed
    return tampered


def test_the_same_checks_catch_a_server_that_breaks_the_document(reference_url) -> None:
    # Guards the test above against passing vacuously: a real answer, broken three ways.
    operation = schema[UPDATE.split(" ", 1)[1]]["POST"]
    case = operation.Case(path_parameters={"model_id": f"{DEPLOYMENT}-guard"}, body={"number_of_allocations": 1},
                          media_type="application/json")
    guard = f"{DEPLOYMENT}-guard"  # its own deployment: the generated cases above changed the shared one
    with httpx.Client(base_url=reference_url, timeout=30) as client:
        started = client.post(f"/_ml/trained_models/{MODEL}/deployment/_start",
                              params={"deployment_id": guard, "wait_for": "started"})
        assert started.status_code == 200, started.text
        answer = client.post(f"/_ml/trained_models/{guard}/deployment/_update", json={"number_of_allocations": 1})
    assert answer.status_code == 200, answer.text
    case.validate_response(answer, checks=CHECKS)  # the genuine answer conforms
    broken = answer.content.replace(b'"threads_per_allocation":1', b'"threads_per_allocation":3')
    assert broken != answer.content
    for tampered in (_tampered(answer, status=418), _tampered(answer, body=broken),
                     _tampered(answer, drop_header="x-elastic-product")):
        with pytest.raises(BaseExceptionGroup):
            case.validate_response(tampered, checks=CHECKS)
