"""report.html of a real failing run, opened in headless Chromium (Debian's ``chromium``,
driven by Playwright): it renders, the filters work, the evidence collapses, both
pictures are drawn, and the page asks for nothing beyond its own file."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator

import pytest
from conftest import SavedRun

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]

pytestmark = pytest.mark.slow  # a saved run of the CLI and a real browser page


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is not installed (.ci/run installs Debian's chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser, failing_run: SavedRun):  # type: ignore[no-untyped-def]
    opened = browser.new_page()
    requested: list[str] = []
    opened.on("request", lambda request: requested.append(request.url))
    opened.goto((failing_run.report_dir / "report.html").as_uri())
    opened.requested = requested
    yield opened
    opened.close()


def _visible_rows(page) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    found = page.eval_on_selector_all(
        "#rules tbody tr",
        "rows => rows.filter(r => r.offsetParent !== null).map(r => [r.dataset.outcome, r.dataset.family])",
    )
    return [tuple(row) for row in found]


def test_the_page_renders_its_verdict_and_every_rule(page, failing_run: SavedRun) -> None:  # type: ignore[no-untyped-def]
    results = failing_run.results()
    assert page.title() == "deployment-conformance report"
    assert page.inner_text("#verdict").startswith("FAIL: exit code 1")
    assert len(_visible_rows(page)) == len(results["rules"])
    assert page.inner_text("#shown") == f"{len(results['rules'])} rule(s) shown"


def test_filters_by_outcome_and_family(page, failing_run: SavedRun) -> None:  # type: ignore[no-untyped-def]
    rules = failing_run.results()["rules"]
    page.uncheck("#filter-outcome-pass")
    assert sorted(_visible_rows(page)) == sorted((r["outcome"], r["family"]) for r in rules if r["outcome"] != "pass")
    page.uncheck("#filter-family-errors")
    shown = _visible_rows(page)
    assert shown and all(outcome != "pass" and family != "errors" for outcome, family in shown)
    assert not page.is_visible("#ev-errors\\.invalid-unknown-field")
    assert page.is_visible("#ev-oracle\\.agrees")
    page.check("#filter-outcome-pass")
    page.check("#filter-family-errors")
    assert len(_visible_rows(page)) == len(rules)


def test_evidence_collapses_and_shows_states_and_the_node_picture(page) -> None:  # type: ignore[no-untyped-def]
    exchange = page.locator("#ev-errors\\.invalid-unknown-field details.exchange").first
    picture = exchange.locator("svg.nodes")
    assert exchange.get_attribute("open") is None and not picture.is_visible()
    exchange.locator("summary").click()
    assert picture.is_visible() and picture.locator("rect").count() >= 4
    box = picture.bounding_box()
    assert box is not None and box["width"] > 100 and box["height"] > 20
    assert "State before" in exchange.inner_text() and "State after" in exchange.inner_text()
    assert "deployment-conformance replay" in page.inner_text("#ev-errors\\.invalid-unknown-field")
    exchange.locator("summary").click()
    assert not picture.is_visible()
    assert page.locator("#ev-oracle\\.agrees details.exchange").count() >= 2  # every failing exchange, not one


def test_the_timeline_draws_three_series_and_marks_failures(page) -> None:  # type: ignore[no-untyped-def]
    timeline = page.locator("svg.timeline")
    assert timeline.is_visible()
    assert timeline.locator("polyline.series").count() == 3
    assert timeline.locator("circle.failure").count() >= 1


def test_the_page_fetches_nothing_but_itself(page, failing_run: SavedRun) -> None:  # type: ignore[no-untyped-def]
    page.reload()
    assert set(page.requested) == {(failing_run.report_dir / "report.html").as_uri()}


def test_the_file_has_no_external_reference(failing_run: SavedRun) -> None:
    html = (failing_run.report_dir / "report.html").read_text(encoding="utf-8")
    assert not re.search(r"""\b(src|href|srcset|action|poster|data)\s*=\s*["']?(?!#)[a-z]""", html, re.I)
    assert not re.search(r"url\(|@import|<link\b|<iframe\b|<object\b|<embed\b|\bfetch\(|XMLHttpRequest", html, re.I)
    assert "default-src 'none'" in html  # and the browser is told to fetch nothing
