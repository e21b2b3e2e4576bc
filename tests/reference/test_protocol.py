"""§1.1, §1.3, §1.5, §10.4: the REST layer shared by every endpoint."""

from __future__ import annotations

import json

import pytest

from reference.conftest import Es, error_of


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_s1_1_wrong_method_is_405_with_allow(deployed: Es, method: str) -> None:
    response = deployed.client.request(method, "/_ml/trained_models/dep/deployment/_update")
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.json() == {
        "error": f"Incorrect HTTP method for uri [/_ml/trained_models/dep/deployment/_update] and method [{method}], "
        "allowed: [POST]",
        "status": 405,
    }
    assert response.headers["x-elastic-product"] == "Elasticsearch"


def test_s1_1_options_lists_allowed_methods(es: Es) -> None:
    response = es.client.options("/_ml/trained_models/x")
    assert response.status_code == 200
    assert set(response.headers["allow"].split(",")) == {"GET", "PUT", "DELETE"}


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"])
def test_s1_5_unsupported_content_type_is_406(deployed: Es, content_type: str) -> None:
    response = deployed.update("dep", content=b'{"number_of_allocations": 2}', headers={"content-type": content_type})
    assert response.status_code == 406
    assert response.json() == {"error": f"Content-Type header [{content_type}] is not supported", "status": 406}
    assert deployed.deployment_stats("dep")["number_of_allocations"] == 1


def test_s1_5_missing_content_type_is_406(deployed: Es) -> None:
    response = deployed.update("dep", content=b'{"number_of_allocations": 2}')  # httpx sets no content type
    assert response.json() == {"error": "Content-Type header is missing", "status": 406}


@pytest.mark.parametrize("major", [8, 9])
def test_s10_4_compatible_with_media_types(deployed: Es, major: int) -> None:
    media_type = f"application/vnd.elasticsearch+json; compatible-with={major}"
    response = deployed.update(
        "dep", content=b'{"number_of_allocations": 2}', headers={"content-type": media_type, "accept": media_type}
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == f"application/vnd.elasticsearch+json;compatible-with={major}"


def test_s10_4_json_with_charset_accepted(deployed: Es) -> None:
    response = deployed.update(
        "dep", content=b'{"number_of_allocations": 2}', headers={"content-type": "application/json; charset=UTF-8"}
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/_nodes",
        "/_ml/info",
        "/_cluster/settings",
        "/_ml/trained_models/_stats",
        "/nowhere",
        "/_ml/trained_models/missing",
    ],
)
def test_s10_4_product_header_on_every_response(es: Es, path: str) -> None:
    assert es.client.get(path).headers["x-elastic-product"] == "Elasticsearch"


def test_unknown_route_is_plain_400(es: Es) -> None:
    response = es.client.get("/_nowhere?pretty")
    assert response.json() == {"error": "no handler found for uri [/_nowhere?pretty] and method [GET]", "status": 400}


def test_trailing_slash_reaches_the_endpoint(deployed: Es) -> None:
    response = deployed.client.post("/_ml/trained_models/dep/deployment/_update/", json={"number_of_allocations": 2})
    assert response.status_code == 200


def test_s1_3_pretty_indents(deployed: Es) -> None:
    response = deployed.client.get("/", params={"pretty": "true"})
    assert response.text.startswith('{\n  "name" : ')
    assert json.loads(response.text)["version"]["build_flavor"] == "default"


def test_s1_3_filter_path_wildcards_lists_and_exclusions(deployed: Es) -> None:
    get = deployed.client.get
    body = get("/_ml/trained_models/_stats", params={"filter_path": "trained_model_stats.*_stats.state,count"}).json()
    assert body == {"count": 1, "trained_model_stats": [{"deployment_stats": {"state": "started"}}]}
    deep = get("/_ml/trained_models/_stats", params={"filter_path": "**.allocation_count"}).json()
    assert deep == {"trained_model_stats": [{"deployment_stats": {"allocation_status": {"allocation_count": 1}}}]}
    excluded = get("/", params={"filter_path": "-version,-tagline"}).json()
    assert "version" not in excluded and "tagline" not in excluded and excluded["cluster_name"] == "reference"
    assert get("/", params={"filter_path": "nothing"}).json() == {}


def test_s1_3_filter_path_applies_to_errors(es: Es) -> None:
    response = es.update("missing", {"number_of_allocations": 2}, params={"filter_path": "status"})
    assert response.json() == {"status": 404}


def test_s1_5_bad_boolean_param(es: Es) -> None:
    response = es.client.get("/_cluster/settings", params={"include_defaults": "yes"})
    assert error_of(response)[:2] == (400, "illegal_argument_exception")


def test_head_root_has_no_body(es: Es) -> None:
    response = es.client.head("/")
    assert response.status_code == 200 and response.content == b""
