"""``results.json``: the whole result set, for machines (CI dashboards, baselines)."""

from __future__ import annotations

import json

from conformance.results import Results


def render_json(results: Results) -> str:
    return json.dumps(results.to_dict(), indent=2, ensure_ascii=False) + "\n"
