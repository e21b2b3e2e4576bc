"""Version profiles and the strict schemas that judge a server's answers per profile.

The official OpenAPI document is too loose to judge a server (integers typed ``number``,
only 200 documented, extra fields allowed). The project ships its own JSON Schemas in
``schemas/`` and this module is their only loader, so every consumer (rules, suite,
Schemathesis) sees the same version-specific shapes:

* ``profiles.json`` says which named feature exists from which version, and which
  ``$defs`` variant of each schema file a profile uses;
* the schema files are validated through one ``referencing.Registry``, so they can
  ``$ref`` each other exactly as they do on disk;
* ``openapi.json`` is the newest profile as written; older profiles are derived by its
  ``x-conformance-*`` markers and bundled into one self-contained document, because a
  document built in memory has no base path from which Schemathesis could resolve the
  sibling files.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from conformance.context import Feature, Version

__all__ = [
    "SCHEMA_FILES",
    "SHIPPED_FILES",
    "Profile",
    "feature_table",
    "profile_for_version",
    "profile_named",
    "profile_names",
    "schema_dir",
]

SCHEMA_FILES: tuple[str, ...] = (
    "update-request.schema.json",
    "update-query.schema.json",
    "assignment-response.schema.json",
    "error-response.schema.json",
    "stats-response.schema.json",
)
SHIPPED_FILES: tuple[str, ...] = (*SCHEMA_FILES, "profiles.json", "openapi.json", "results.schema.json", "README.md")

# Never fetched: only the key under which the files are registered, so that relative
# references between them resolve and messages do not depend on the install path.
_BASE_URI = "https://deployment-conformance.invalid/schemas/"

_REQUIRES = "x-conformance-requires"  # keep this element only when the profile has these features
_WITHOUT = "x-conformance-without"  # {feature: patch}: merge the patch when the profile lacks it
_MARKERS = frozenset({_REQUIRES, _WITHOUT})


def schema_dir() -> Path:
    """The folder holding the schema files: ``conformance/_schemas`` in a built wheel,
    else the repository's top-level ``schemas/`` (source checkout or editable install)."""
    return _schema_dir_for(Path(__file__).resolve().parent)


def _schema_dir_for(package_dir: Path) -> Path:
    for candidate in (package_dir / "_schemas", package_dir.parent / "schemas"):
        if (candidate / "profiles.json").is_file():
            return candidate
    raise FileNotFoundError(
        f"no schemas next to {package_dir}: expected {package_dir / '_schemas'} (installed) "
        f"or {package_dir.parent / 'schemas'} (source checkout)"
    )


@cache
def _load(name: str) -> Any:
    with (schema_dir() / name).open(encoding="utf-8") as handle:
        return json.load(handle)


def _stem(file_name: str) -> str:
    return file_name.removesuffix(".json").removesuffix(".schema")


@dataclass(frozen=True)
class Profile:
    """What a range of Elasticsearch versions does, from ``version`` up to the next profile."""

    name: str
    version: Version
    features: frozenset[Feature]

    def has(self, feature: Feature) -> bool:
        return feature in self.features

    def variant(self, schema_file: str) -> str:
        """The ``$defs`` key of ``schema_file`` that describes this profile."""
        variant: str = _profile_table()[self.name]["variants"][_stem(schema_file)]
        return variant

    def validate_assignment_response(self, doc: Any) -> list[str]:
        """Problems with a 200 answer of ``_update``/``_start``; ``[]`` when it conforms."""
        return self._validate("assignment-response.schema.json", doc)

    def validate_error_response(self, doc: Any) -> list[str]:
        return self._validate("error-response.schema.json", doc)

    def validate_update_request(self, body: Any) -> list[str]:
        """Problems with an ``_update`` body as a well-behaved client would send it."""
        return self._validate("update-request.schema.json", body)

    def validate_update_query(self, params: Mapping[str, Any]) -> list[str]:
        """Problems with ``_update`` query parameters given as typed values (``{"number_of_allocations": 3}``)."""
        return self._validate("update-query.schema.json", dict(params))

    def validate_stats_response(self, doc: Any) -> list[str]:
        return self._validate("stats-response.schema.json", doc)

    def openapi(self) -> dict[str, Any]:
        """This profile's OpenAPI 3.1 document, self-contained (every ``$ref`` internal).

        A fresh copy each call: callers may edit it (for example to pin parameters).
        """
        return copy.deepcopy(_bundled_openapi(self.name))

    def _validate(self, schema_file: str, doc: Any) -> list[str]:
        validator = _validator(schema_file, self.variant(schema_file))
        errors = sorted(validator.iter_errors(doc), key=lambda e: (list(map(str, e.absolute_path)), e.message))
        return [f"{error.json_path}: {error.message}" for error in errors]


@cache
def _validator(schema_file: str, variant: str) -> Draft202012Validator:
    schema = {"$ref": f"{_BASE_URI}{schema_file}#/$defs/{variant}"}
    return Draft202012Validator(schema, registry=_registry(), format_checker=Draft202012Validator.FORMAT_CHECKER)


@cache
def _registry() -> Registry:
    resources = [
        (f"{_BASE_URI}{name}", Resource.from_contents(_load(name), default_specification=DRAFT202012))
        for name in SCHEMA_FILES
    ]
    return Registry().with_resources(resources)


# --- profiles -------------------------------------------------------------------------


def _profile_table() -> Mapping[str, Any]:
    profiles: Mapping[str, Any] = _load("profiles.json")["profiles"]
    return profiles


def feature_table() -> Mapping[str, Mapping[str, Any]]:
    """Every named feature with its first version, source and (when false) ``verified`` flag."""
    features: Mapping[str, Mapping[str, Any]] = _load("profiles.json")["features"]
    return features


@cache
def _profiles() -> tuple[Profile, ...]:
    since = {Feature(name): Version.parse(spec["since"]) for name, spec in feature_table().items()}
    profiles = []
    for name in _profile_table():
        version = Version.parse(name)
        features = frozenset(feature for feature, first in since.items() if first <= version)
        profiles.append(Profile(name=name, version=version, features=features))
    return tuple(sorted(profiles, key=lambda p: p.version))


def profile_names() -> tuple[str, ...]:
    """Profile names, oldest first."""
    return tuple(p.name for p in _profiles())


def profile_named(name: str) -> Profile:
    """The profile called ``name`` (``"auto"`` is resolved by callers from the target's version)."""
    for profile in _profiles():
        if profile.name == name:
            return profile
    raise ValueError(f"unknown profile {name!r}; known profiles: {', '.join(profile_names())}")


def profile_for_version(version: str | Version) -> Profile:
    """The newest profile whose version is at or below ``version``."""
    wanted = Version.parse(version) if isinstance(version, str) else version
    candidates = [p for p in _profiles() if p.version <= wanted]
    if not candidates:
        raise ValueError(
            f"Elasticsearch {wanted} predates the _update API (added in 8.6.0); oldest profile is {profile_names()[0]}"
        )
    return candidates[-1]


# --- OpenAPI per profile ----------------------------------------------------------------


@cache
def _bundled_openapi(profile_name: str) -> dict[str, Any]:
    profile = profile_named(profile_name)
    document = _specialise(_load("openapi.json"), profile.features)
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for file_name in SCHEMA_FILES:
        stem = _stem(file_name)
        contents = _load(file_name)
        for def_name, definition in contents["$defs"].items():
            schemas[f"{stem}.{def_name}"] = _rewrite_refs(definition, file_name)
        root = {key: contents[key] for key in ("title", "description") if key in contents}
        schemas[stem] = {**root, "$ref": f"#/components/schemas/{stem}.{profile.variant(file_name)}"}
    bundled: dict[str, Any] = _rewrite_refs(document, None)
    return bundled


def _specialise(node: Any, features: frozenset[str]) -> Any:
    """Apply the ``x-conformance-*`` markers for a profile with ``features``, dropping them."""
    if isinstance(node, list):
        return [_specialise(item, features) for item in node if _kept(item, features)]
    if not isinstance(node, dict):
        return node
    unknown = {key for key in node if key.startswith("x-conformance-")} - _MARKERS
    if unknown:
        raise ValueError(f"unknown marker(s) in openapi.json: {sorted(unknown)}")
    result = {
        key: _specialise(value, features)
        for key, value in node.items()
        if key not in _MARKERS and _kept(value, features)
    }
    for feature, patch in node.get(_WITHOUT, {}).items():
        if feature not in features:
            result = _merge(result, _specialise(patch, features))
    return result


def _kept(node: Any, features: frozenset[str]) -> bool:
    return not isinstance(node, dict) or set(node.get(_REQUIRES, ())) <= features


def _merge(base: dict[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in patch.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _rewrite_refs(node: Any, current_file: str | None) -> Any:
    """Point every reference into ``#/components/schemas``, where the bundle keeps the files."""
    if isinstance(node, list):
        return [_rewrite_refs(item, current_file) for item in node]
    if not isinstance(node, dict):
        return node
    result = {key: _rewrite_refs(value, current_file) for key, value in node.items()}
    if isinstance(node.get("$ref"), str):
        result["$ref"] = _bundled_ref(node["$ref"], current_file)
    return result


def _bundled_ref(ref: str, current_file: str | None) -> str:
    target, _, fragment = ref.partition("#")
    if not target:
        if current_file is None:
            return ref  # already internal to openapi.json
        target = current_file
    if target not in SCHEMA_FILES:
        raise ValueError(f"reference {ref!r} points outside the shipped schema files")
    stem = _stem(target)
    if not fragment:
        return f"#/components/schemas/{stem}"
    prefix = "/$defs/"
    if not fragment.startswith(prefix) or "/" in fragment[len(prefix) :]:
        raise ValueError(f"reference {ref!r}: only whole files and top-level $defs can be bundled")
    return f"#/components/schemas/{stem}.{fragment[len(prefix) :]}"
