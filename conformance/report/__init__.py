"""Report writers: results.json, junit.xml, report.html, summary.md.

Every writer takes the same :class:`~conformance.results.Results`; the written text
passes a ``scrub`` function, the run's :class:`~conformance.redaction.Redactor`.
Exchanges are recorded with credentials already redacted; redacting every form of
every credential in the written text is the second lock.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import replace

from conformance.report.html_report import render_html
from conformance.report.json_report import render_json
from conformance.report.junit_report import render_junit
from conformance.report.markdown_report import render_markdown
from conformance.results import Results

Scrub = Callable[[str], str]
FILES: dict[str, Callable[[Results], str]] = {
    "results.json": render_json,
    "junit.xml": render_junit,
    "report.html": render_html,
    "summary.md": render_markdown,
}


def write_reports(results: Results, directory: str, scrub: Scrub = str) -> dict[str, str]:
    """Write every report into ``directory``; return ``{file name: path}``.

    The reports name their own folder (``run.report_dir``), so the replay commands they
    print point at it.
    """
    os.makedirs(directory, exist_ok=True)
    results = replace(results, run={**results.run, "report_dir": directory})
    written = {}
    for name, render in FILES.items():
        path = os.path.join(directory, name)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(scrub(render(results)))
        written[name] = path
    return written
