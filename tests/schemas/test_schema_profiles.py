"""Profiles, the loader, and the per-profile OpenAPI documents it derives and bundles."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from schema_documents import assignment_response, envelope, mutated

import conformance.schemas as schemas
from conformance.context import Version
from conformance.schemas import (
    SCHEMA_FILES,
    feature_table,
    profile_for_version,
    profile_named,
    profile_names,
    schema_dir,
)

UPDATE = "/_ml/trained_models/{model_id}/deployment/_update"
START = "/_ml/trained_models/{model_id}/deployment/_start"


def test_profile_names_are_the_versions_where_something_changes() -> None:
    assert profile_names() == ("8.6", "8.8", "8.11", "8.15", "8.16", "9.2", "9.3")


def test_feature_first_versions_are_the_shared_contract() -> None:
    # Rules and the reference server use exactly these names and versions.
    assert {name: spec["since"] for name, spec in feature_table().items()} == {
        "deployment_id": "8.8",
        "memory_fields": "8.11",
        "query_number_of_allocations": "8.15",
        "empty_body_noop": "8.15",
        "adaptive_allocations": "8.16",
        "truncated_json_400": "8.16",
        "inference_endpoint_conflict": "9.2",
        "low_priority_update_rejected": "9.3",
    }
    unverified = {name for name, spec in feature_table().items() if spec.get("verified") is False}
    assert unverified == {"inference_endpoint_conflict", "low_priority_update_rejected"}


def test_profile_features_accumulate_with_version() -> None:
    assert profile_named("8.6").features == frozenset()
    assert profile_named("8.15").features == {
        "deployment_id",
        "memory_fields",
        "query_number_of_allocations",
        "empty_body_noop",
    }
    assert profile_named("9.3").features == frozenset(feature_table())
    assert profile_named("8.16").version == Version(8, 16, 0)


@pytest.mark.parametrize(
    ("version", "profile"),
    [
        ("8.6.0", "8.6"),
        ("8.7.1", "8.6"),
        ("8.8.0", "8.8"),
        ("8.10.4", "8.8"),
        ("8.11.0", "8.11"),
        ("8.14.3", "8.11"),
        ("8.15.2", "8.15"),
        ("8.16.0", "8.16"),
        ("8.19.4", "8.16"),
        ("9.0.0", "8.16"),
        ("9.1.5", "8.16"),
        ("9.2.0", "9.2"),
        ("9.3.0-SNAPSHOT", "9.3"),
        ("10.0.0", "9.3"),
    ],
)
def test_profile_for_version_is_the_newest_at_or_below(version: str, profile: str) -> None:
    assert profile_for_version(version).name == profile
    assert profile_for_version(Version.parse(version)).name == profile


@pytest.mark.parametrize("version", ["8.5.3", "7.17.0"])
def test_versions_before_the_api_have_no_profile(version: str) -> None:
    with pytest.raises(ValueError, match=r"8\.6"):
        profile_for_version(version)


def test_unknown_profile_name_lists_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"8\.6, 8\.8, 8\.11, 8\.15, 8\.16, 9\.2, 9\.3"):
        profile_named("8.7")


def test_every_profile_names_an_existing_variant_of_every_schema_file() -> None:
    for name in profile_names():
        for file_name in SCHEMA_FILES:
            variant = profile_named(name).variant(file_name)
            assert variant in json.loads((schema_dir() / file_name).read_text())["$defs"], (name, file_name)


def test_each_schema_file_root_is_the_newest_profiles_variant() -> None:
    newest = profile_named("9.3")
    for file_name in SCHEMA_FILES:
        root = json.loads((schema_dir() / file_name).read_text())["$ref"]
        assert root == f"#/$defs/{newest.variant(file_name)}", file_name


# --- schema_dir in both layouts -------------------------------------------------------


def _layout(root: Path, schemas_at: str) -> Path:
    package = root / "conformance"
    package.mkdir(parents=True)
    (root / schemas_at).mkdir(parents=True)
    (root / schemas_at / "profiles.json").write_text("{}")
    return package


def test_schema_dir_prefers_the_folder_shipped_inside_the_package(tmp_path: Path) -> None:
    package = _layout(tmp_path, "conformance/_schemas")
    (tmp_path / "schemas").mkdir()
    (tmp_path / "schemas" / "profiles.json").write_text("{}")
    assert schemas._schema_dir_for(package) == package / "_schemas"


def test_schema_dir_falls_back_to_the_repository_folder(tmp_path: Path) -> None:
    package = _layout(tmp_path, "schemas")
    assert schemas._schema_dir_for(package) == tmp_path / "schemas"


def test_schema_dir_missing_names_both_places(tmp_path: Path) -> None:
    (tmp_path / "conformance").mkdir()
    with pytest.raises(FileNotFoundError, match=r"_schemas.*schemas"):
        schemas._schema_dir_for(tmp_path / "conformance")


def test_schema_dir_in_this_checkout_holds_every_file() -> None:
    for name in schemas.SHIPPED_FILES:
        assert (schema_dir() / name).is_file(), name


# --- OpenAPI per profile --------------------------------------------------------------


def _operation(document: dict[str, Any], path: str) -> dict[str, Any]:
    return document["paths"][path]["post"]


def _parameter_names(operation: dict[str, Any], document: dict[str, Any]) -> set[str]:
    names = set()
    for parameter in operation["parameters"]:
        if "$ref" in parameter:
            parameter = document["components"]["parameters"][parameter["$ref"].rsplit("/", 1)[1]]
        names.add(f"{parameter['in']}.{parameter['name']}")
    return names


def _walk(node: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield key, value
            yield from _walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from _walk(item)


def test_old_profile_has_no_query_count_a_required_body_and_a_500() -> None:
    document = profile_named("8.6").openapi()
    update = _operation(document, UPDATE)
    assert "query.number_of_allocations" not in _parameter_names(update, document)
    assert update["requestBody"]["required"] is True
    assert set(update["responses"]) == {"200", "400", "404", "405", "406", "409", "429", "500"}
    assert "query.deployment_id" not in _parameter_names(_operation(document, START), document)


def test_newest_profile_has_query_count_an_optional_body_and_no_500() -> None:
    document = profile_named("9.3").openapi()
    update = _operation(document, UPDATE)
    assert "query.number_of_allocations" in _parameter_names(update, document)
    assert update["requestBody"]["required"] is False
    assert set(update["responses"]) == {"200", "400", "404", "405", "406", "409", "429"}
    assert "query.deployment_id" in _parameter_names(_operation(document, START), document)


@pytest.mark.parametrize("name", profile_names())
def test_bundle_is_self_contained_and_free_of_markers(name: str) -> None:
    document = profile_named(name).openapi()
    for key, value in _walk(document):
        assert not key.startswith("x-conformance-"), key
        if key == "$ref":
            assert value.startswith("#/"), value
            target: Any = document
            for part in value[2:].split("/"):
                target = target[part]  # KeyError here is a dangling reference


def test_markers_name_only_known_features() -> None:
    raw = json.loads((schema_dir() / "openapi.json").read_text())
    named = set()
    for key, value in _walk(raw):
        if key == "x-conformance-requires" or key == "x-conformance-without":
            named |= set(value)
    assert named and named <= set(feature_table()), named - set(feature_table())


def test_openapi_returns_a_fresh_copy() -> None:
    first = profile_named("9.3").openapi()
    first["paths"].clear()
    assert profile_named("9.3").openapi()["paths"]


def _bundle_validator(document: dict[str, Any], component: str) -> Draft202012Validator:
    """Validate against the bundled component, resolving refs inside the OpenAPI document."""
    uri = "urn:bundle"
    registry = Registry().with_resource(uri, Resource.from_contents(document, default_specification=DRAFT202012))
    return Draft202012Validator(
        {"$ref": f"{uri}#/components/schemas/{component}"},
        registry=registry,
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )


@pytest.mark.parametrize("name", profile_names())
def test_bundled_components_judge_like_the_profile(name: str) -> None:
    profile = profile_named(name)
    document = profile.openapi()
    valid = assignment_response(profile)
    samples = [
        valid,
        mutated(valid, lambda d: d["assignment"]["task_parameters"].update(threads_per_allocation=3)),
        mutated(valid, lambda d: d["assignment"].update(start_time=1667389834766)),
        mutated(valid, lambda d: d["assignment"].update(adaptive_allocations=None)),
        mutated(valid, lambda d: d["assignment"]["task_parameters"].pop("priority")),
    ]
    validator = _bundle_validator(document, "assignment-response")
    for sample in samples:
        assert validator.is_valid(sample) == (profile.validate_assignment_response(sample) == [])
    errors = _bundle_validator(document, "error-response")
    for sample in (envelope(404, "resource_not_found_exception", "x"), {"error": "x"}):
        assert errors.is_valid(sample) == (profile.validate_error_response(sample) == [])
    requests = _bundle_validator(document, "update-request")
    for body in ({}, {"number_of_allocations": 2}, {"adaptive_allocations": None}, {"number_of_allocations": "2"}):
        assert requests.is_valid(body) == (profile.validate_update_request(body) == []), body


# --- Schemathesis loads both forms ------------------------------------------------------


def _statuses(schema: Any) -> dict[str, set[str]]:
    found = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        found[operation.label] = set(operation.definition.raw["responses"])
    return found


def test_schemathesis_loads_the_file_on_disk_with_its_relative_refs() -> None:
    on_disk = schemathesis.openapi.from_path(str(schema_dir() / "openapi.json"))
    bundled = schemathesis.openapi.from_dict(profile_named("9.3").openapi())
    assert _statuses(on_disk) == _statuses(bundled)
    assert len(_statuses(on_disk)) == 9
    operation = on_disk[UPDATE]["POST"]
    assert {p.name for p in operation.query} == {"number_of_allocations", "timeout", "master_timeout"}


@pytest.mark.parametrize("name", profile_names())
def test_schemathesis_loads_every_profile_bundle(name: str) -> None:
    schema = schemathesis.openapi.from_dict(profile_named(name).openapi())
    operation = schema[UPDATE]["POST"]
    query = {p.name for p in operation.query}
    assert ("number_of_allocations" in query) == profile_named(name).has("query_number_of_allocations")
