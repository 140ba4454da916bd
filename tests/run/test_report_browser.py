"""report.html in a real browser: Debian's headless Chromium driven by Playwright.

Runs only with CLEANER_BROWSER=1 (`make test-browser` installs what it needs); then a
missing browser or Playwright fails the test instead of skipping it. Playwright's own
browser download is not reachable here, so the Debian binary is launched by path.
"""

from __future__ import annotations

from collections.abc import Iterator
import json
import os
from pathlib import Path
import shutil
import time

import pytest

from cleaner.run.report_html import write_report_html
from cleaner.run.report_stream import is_near
from tests.helpers import ROOT, SHARED, needs_shared
from tests.run.report_logs import write_million_run
from tests.run.report_pages import SCRIPT, clean, report_counts, script_corpus

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(os.environ.get("CLEANER_BROWSER") != "1", reason="browser test: make test-browser"),
]

BBC = SHARED / "data" / "bbc"
SCREENSHOT = ROOT / "docs" / "report.png"
ROWS_SCREENSHOT = ROOT / "docs" / "report-rows.png"  # the borderline list: removals beside their kept copies
BINARIES = ("chromium-headless-shell", "chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def chromium_path() -> str:
    for name in BINARIES:
        found = shutil.which(name) or (f"/usr/lib/chromium/{name}" if os.access(f"/usr/lib/chromium/{name}", os.X_OK)
                                       else None)
        if found:
            return found
    pytest.fail(f"CLEANER_BROWSER=1 but none of {BINARIES} is installed: run `make test-browser`")


@pytest.fixture(scope="module")
def browser() -> Iterator:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("CLEANER_BROWSER=1 but Playwright is not installed: run `make test-browser`")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=chromium_path(), args=ARGS)
        yield chromium
        chromium.close()


class Opened:
    """A report loaded from file://, with what went wrong on the way: console errors,
    uncaught exceptions, dialogs (an escaped <script> would open one) and any request
    that is not for the file itself (the page must need no network)."""

    def __init__(self, browser, path: Path, viewport: dict[str, int] | None = None) -> None:
        self.page = browser.new_page(viewport=viewport or {"width": 1280, "height": 900})
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("dialog", lambda d: (self.errors.append(f"dialog: {d.message}"), d.dismiss()))
        self.page.on("request", lambda r: self.requests.append(r.url) if r.url != path.as_uri() else None)
        started = time.monotonic()
        self.page.goto(path.as_uri(), wait_until="load")
        self.seconds = time.monotonic() - started

    def shown(self) -> dict[str, int]:
        """Each number on the page by its data-key, read from what is displayed."""
        pairs = self.page.eval_on_selector_all("[data-key]", "els => els.map(e => [e.dataset.key, e.textContent])")
        return {key: int(text.replace(",", "")) for key, text in pairs if key != "seconds"}

    def visible_reasons(self) -> list[str]:
        return self.page.eval_on_selector_all(
            "#removals-table tr.removal", "rows => rows.filter(r => !r.hidden && r.offsetParent !== null)"
                                         ".map(r => r.dataset.reason)")

    def clean(self) -> None:
        assert self.errors == [] and self.requests == []


def counts_equal_report(opened: Opened, state: Path) -> dict:
    report = json.loads((state / "report.json").read_text())
    expected = report_counts(report)
    shown = opened.shown()
    assert {key: shown[key] for key in expected} == expected
    return report


def filter_by(opened: Opened, reason: str) -> None:
    """Choosing a reason hides every other row; choosing all shows them again."""
    everything = opened.visible_reasons()
    opened.page.select_option("#reason-filter", reason)
    assert opened.visible_reasons() == [r for r in everything if r == reason] != []
    opened.page.select_option("#reason-filter", "")
    assert opened.visible_reasons() == everything


@pytest.fixture(scope="module")
def bbc_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not BBC.is_dir():
        pytest.skip(f"{BBC} not present")
    state = clean(BBC, tmp_path_factory.mktemp("bbc") / "bbc")
    write_report_html(state)
    return state


@needs_shared(BBC)
def test_bbc_report_in_chromium(browser, bbc_report: Path):
    opened = Opened(browser, bbc_report / "report.html")
    counts_equal_report(opened, bbc_report)
    lines = [json.loads(x) for x in (bbc_report / "removed.jsonl").read_text().splitlines()]
    bars = opened.page.eval_on_selector_all("#similarity svg rect.bar", "bars => bars.map(b => +b.dataset.count)")
    assert len(bars) > 5 and sum(bars) == sum(map(is_near, lines)) > 0
    filter_by(opened, "near_duplicate")
    opened.page.fill("#search", "Glazer")
    shown = opened.page.eval_on_selector_all("#removals-table tr.removal:not([hidden])",
                                             "rows => rows.map(r => r.innerText)")
    assert shown and all("glazer" in text.lower() for text in shown)
    opened.page.fill("#search", "")
    opened.clean()
    SCREENSHOT.parent.mkdir(exist_ok=True)
    opened.page.set_viewport_size({"width": 1280, "height": 1800})
    opened.page.evaluate("window.scrollTo(0, 0)")
    opened.page.screenshot(path=str(SCREENSHOT))
    box = opened.page.locator("#borderline").bounding_box()
    opened.page.screenshot(path=str(ROWS_SCREENSHOT), full_page=True,
                           clip={"x": 0, "y": box["y"], "width": 1280, "height": min(box["height"], 1000)})


def test_script_paragraph_is_text_in_chromium(browser, tmp_path: Path):
    root = tmp_path
    state = clean(script_corpus(root / "src"), root / "out")
    opened = Opened(browser, write_report_html(state))
    counts_equal_report(opened, state)
    texts = opened.page.eval_on_selector_all("#removals-table .removed-side .text", "ts => ts.map(t => t.textContent)")
    assert SCRIPT in texts
    assert opened.page.evaluate("document.querySelectorAll('script').length") == 2
    filter_by(opened, "exact_duplicate")
    opened.clean()


def test_million_removals_load_within_five_seconds(browser, tmp_path: Path):
    state = tmp_path / "million"
    counts, _ = write_million_run(state)
    path = write_report_html(state)
    assert path.stat().st_size < 20_000_000
    opened = Opened(browser, path)
    print(f"million removals: report.html {path.stat().st_size:,} bytes, loaded in {opened.seconds:.2f} s")
    assert opened.seconds < 5, f"loaded in {opened.seconds:.1f} s"
    counts_equal_report(opened, state)
    assert opened.shown()["sample.total"] == sum(counts.values()) == 1_000_000
    assert len(opened.visible_reasons()) == opened.shown()["sample.shown"] == 2000
    filter_by(opened, "boilerplate")
    opened.clean()
