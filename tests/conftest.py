"""Checks that hold for every test: each ``results.json`` a test writes (under its
``tmp_path``) validates against the published ``schemas/results.schema.json``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance.report.json_report import validate_results


@pytest.fixture(autouse=True)
def _results_files_match_the_published_schema(tmp_path: Path) -> Iterator[None]:
    yield
    for path in sorted(tmp_path.rglob("results.json")):
        problems = validate_results(json.loads(path.read_text(encoding="utf-8")))
        assert not problems, f"{path} does not match results.schema.json: {problems[:5]}"
