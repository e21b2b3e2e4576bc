"""Every field, enum value and status of the official OpenAPI extract is either in
``schemas/openapi.json`` the same way or listed in ``schemas/README.md`` as a deliberate
difference: the README cannot silently fall behind the schemas, nor keep stale rows.

"The same way" means: same JSON types, same required-ness, same default, and the same
constraint keywords (a bound, pattern or closed object we added is a difference too).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from conformance.schemas import profile_named, schema_dir

EXTRACT = Path(__file__).resolve().parents[3] / "shared" / "spec" / "es-openapi-update-deployment.json"
UPDATE = "/_ml/trained_models/{model_id}/deployment/_update"
CONSTRAINTS = (
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "minLength",
    "maxLength",
    "pattern",
    "format",
    "const",
    "additionalProperties",
    "propertyNames",
    "minItems",
    "dependentSchemas",
    "not",
    "if",
)

# official component -> where this project keeps the same concept (bundled 9.3 document)
OBJECTS = {
    "TrainedModelAssignment": "assignment-response.assignment_8_16",
    "TrainedModelAssignmentTaskParameters": "assignment-response.task_parameters_8_16",
    "TrainedModelAssignmentRoutingTable": "assignment-response.route",
    "AdaptiveAllocationsSettings": "update-request.adaptive_allocations",
}
ENUMS = {
    "DeploymentAssignmentState": "assignment-response.assignment_state",
    "RoutingState": "assignment-response.routing_state",
    "TrainingPriority": "assignment-response.priority",
}

Resolve = Callable[[dict[str, Any]], dict[str, Any]]


def _resolver(document: dict[str, Any]) -> Resolve:
    def resolve(schema: dict[str, Any]) -> dict[str, Any]:
        while True:
            if "$ref" in schema:
                target: Any = document
                for part in schema["$ref"].removeprefix("#/").split("/"):
                    target = target[part]
                schema = {**{k: v for k, v in schema.items() if k != "$ref"}, **target}
            elif len(schema.get("allOf", ())) == 1:
                schema = {**{k: v for k, v in schema.items() if k != "allOf"}, **schema["allOf"][0]}
            else:
                return schema

    return resolve


def _types(schema: dict[str, Any], resolve: Resolve) -> frozenset[str]:
    schema = resolve(schema)
    found: set[str] = set()
    if "type" in schema:
        found |= {schema["type"]} if isinstance(schema["type"], str) else set(schema["type"])
    for key in ("oneOf", "anyOf"):
        for member in schema.get(key, ()):
            found |= _types(member, resolve)
    if schema.get("nullable"):
        found.add("null")
    return frozenset(found)


def _signature(schema: dict[str, Any], required: bool, resolve: Resolve) -> tuple[Any, ...]:
    flat = resolve(schema)
    members = [resolve(m) for key in ("oneOf", "anyOf") for m in flat.get(key, ())]
    keywords = sorted({k for part in (flat, *members) for k in part if k in CONSTRAINTS})
    return (sorted(_types(schema, resolve)), required, flat.get("default"), keywords)


def _items(document: dict[str, Any], components: Callable[[str], str]) -> Iterator[tuple[str, Any]]:
    """(key, comparable value) for every field, enum value and status an extract-shaped document has."""
    resolve = _resolver(document)
    operation = document["paths"][UPDATE]["post"]
    for parameter in operation["parameters"]:
        parameter = resolve(parameter)
        yield (
            f"{parameter['in']}.{parameter['name']}",
            _signature(parameter["schema"], parameter.get("required", False), resolve),
        )
    body = resolve(operation["requestBody"]["content"]["application/json"]["schema"])
    yield "body", _signature(body, operation["requestBody"].get("required", False), resolve)
    for name, prop in body.get("properties", {}).items():
        yield f"body.{name}", _signature(prop, name in body.get("required", ()), resolve)
    for status in operation["responses"]:
        yield f"response.{status}", True
    ok = resolve(resolve(operation["responses"]["200"])["content"]["application/json"]["schema"])
    yield "response.200.body", _signature(ok, True, resolve)
    for official, ours in OBJECTS.items():
        schema = resolve({"$ref": components(ours if components is _ours else official)})
        yield official, _signature(schema, True, resolve)
        for name, prop in schema.get("properties", {}).items():
            yield f"{official}.{name}", _signature(prop, name in schema.get("required", ()), resolve)
    for official, ours in ENUMS.items():
        for value in resolve({"$ref": components(ours if components is _ours else official)})["enum"]:
            yield f"{official}.{value}", True


def _official(name: str) -> str:
    return f"#/components/schemas/ml._types.{name}"


def _ours(name: str) -> str:
    return f"#/components/schemas/{name}"


def _readme_difference_keys() -> set[str]:
    text = (schema_dir() / "README.md").read_text(encoding="utf-8")
    section = text.split("## Differences from the official specification", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([^`]+)` \|", section, flags=re.MULTILINE))


@pytest.fixture(scope="module")
def official() -> dict[str, Any]:
    if not EXTRACT.is_file():
        pytest.skip(f"the official extract is not beside this copy of the project ({EXTRACT})")
    return dict(_items(json.loads(EXTRACT.read_text(encoding="utf-8")), _official))


@pytest.fixture(scope="module")
def ours() -> dict[str, Any]:
    return dict(_items(profile_named("9.3").openapi(), _ours))


def test_every_official_item_differing_from_ours_is_listed_in_readme(official, ours) -> None:
    differing = {key for key, value in official.items() if ours.get(key) != value}
    unlisted = sorted(differing - _readme_difference_keys())
    assert not unlisted, f"in the official extract, different here, but not in schemas/README.md: {unlisted}"


def test_readme_lists_no_difference_that_is_not_one(official, ours) -> None:
    listed = _readme_difference_keys()
    stale = sorted(key for key in listed if key not in official or ours.get(key) == official[key])
    assert not stale, f"schemas/README.md lists differences that are not (or no longer) real: {stale}"


def test_comparison_sees_a_difference_the_readme_must_explain(official, ours) -> None:
    # Guards the comparison itself: integers typed number is the best-known looseness.
    assert official["body.number_of_allocations"] != ours["body.number_of_allocations"]
    assert official["RoutingState.started"] == ours["RoutingState.started"]
