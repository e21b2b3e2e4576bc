"""``results.json``: the whole result set, for machines (CI dashboards, baselines, ``diff``).

Its shape is published as ``schemas/results.schema.json`` (JSON Schema 2020-12), with a
``schema_version`` that is raised on any change a reader must know about.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator

from conformance.results import Results
from conformance.schemas import schema_dir

SCHEMA_FILE = "results.schema.json"


def render_json(results: Results) -> str:
    return json.dumps(results.to_dict(), indent=2, ensure_ascii=False) + "\n"


def validate_results(document: Any) -> list[str]:
    """Problems of a ``results.json`` document against the published schema; ``[]`` when valid."""
    errors = sorted(_validator().iter_errors(document), key=lambda e: list(map(str, e.absolute_path)))
    return [f"{error.json_path}: {error.message}" for error in errors]


@cache
def _validator() -> Draft202012Validator:
    with (schema_dir() / SCHEMA_FILE).open(encoding="utf-8") as handle:
        schema = json.load(handle)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
