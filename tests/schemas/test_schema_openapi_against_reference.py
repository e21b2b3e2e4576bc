"""Schemathesis, driven by ``schemas/openapi.json`` as it is on disk (profile 9.3), finds
no false failure in positive mode and no undocumented status against the reference
server: the strict document describes Elasticsearch, not more and not less.

The reference server is only the counterpart here; the suite itself never imports it.
"""

from __future__ import annotations

from collections.abc import Iterator

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

from conformance.context import Version
from conformance.provisioning import Provisioner
from conformance.reference.config import ServerConfig
from conformance.reference.server import running_server
from conformance.schemas import schema_dir
from conformance.target import Target, TargetConfig

MODEL = "schemas-tiny-model"
DEPLOYMENT = "schemas-tiny-deployment"
UPDATE = "POST /_ml/trained_models/{model_id}/deployment/_update"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]

schema = schemathesis.openapi.from_path(
    str(schema_dir() / "openapi.json"),
    config=schemathesis.Config.from_dict(
        {
            "seed": 20240611,
            "generation": {"max-examples": 60, "mode": "positive", "deterministic": True},
            "parameters": {"path.model_id": DEPLOYMENT},
            "phases": {"coverage": {"enabled": False}, "stateful": {"enabled": False}},
        }
    ),
)


@pytest.fixture(scope="module")
def reference_url() -> Iterator[str]:
    """The shipped tiny model, then a started deployment under its own id (§5.3)."""
    with running_server(ServerConfig(es_version="9.3.0")) as url:
        with Target(TargetConfig(url=url)) as target:
            provisioner = Provisioner(target, MODEL, Version(9, 3))
            provisioner.upload_model(MODEL)
            provisioner.start(
                MODEL,
                deployment_id=DEPLOYMENT,
                threads_per_allocation=1,
                number_of_allocations=1,
                priority="normal",
                adaptive_allocations=None,
                wait_for="started",
            )
        yield url


@pytest.fixture(scope="module")
def session() -> Iterator[requests.Session]:
    with requests.Session() as shared:
        yield shared


@schema.include(name=UPDATE).parametrize()
def test_positive_cases_get_documented_statuses_and_conforming_answers(case, reference_url, session) -> None:
    assert case.path_parameters == {"model_id": DEPLOYMENT}
    case.call_and_validate(base_url=reference_url, session=session, checks=CHECKS)


def _tampered(
    answer: httpx.Response, status: int | None = None, body: bytes | None = None, drop_header: str | None = None
) -> httpx.Response:
    headers = [(k, v) for k, v in answer.headers.multi_items() if k.lower() not in {drop_header, "content-length"}]
    tampered = httpx.Response(
        status or answer.status_code,
        headers=headers,
        content=answer.content if body is None else body,
        request=answer.request,
    )
    tampered.elapsed = answer.elapsed
    return tampered


def test_the_same_checks_catch_a_server_that_breaks_the_document(reference_url) -> None:
    # Guards the test above against passing vacuously: a real answer, broken three ways.
    operation = schema[UPDATE.split(" ", 1)[1]]["POST"]
    case = operation.Case(
        path_parameters={"model_id": f"{DEPLOYMENT}-guard"},
        body={"number_of_allocations": 1},
        media_type="application/json",
    )
    guard = f"{DEPLOYMENT}-guard"  # its own deployment: the generated cases above changed the shared one
    with httpx.Client(base_url=reference_url, timeout=30) as client:
        started = client.post(
            f"/_ml/trained_models/{MODEL}/deployment/_start", params={"deployment_id": guard, "wait_for": "started"}
        )
        assert started.status_code == 200, started.text
        answer = client.post(f"/_ml/trained_models/{guard}/deployment/_update", json={"number_of_allocations": 1})
    assert answer.status_code == 200, answer.text
    case.validate_response(answer, checks=CHECKS)  # the genuine answer conforms
    broken = answer.content.replace(b'"threads_per_allocation":1', b'"threads_per_allocation":3')
    assert broken != answer.content
    for tampered in (
        _tampered(answer, status=418),
        _tampered(answer, body=broken),
        _tampered(answer, drop_header="x-elastic-product"),
    ):
        with pytest.raises(BaseExceptionGroup):
            case.validate_response(tampered, checks=CHECKS)
