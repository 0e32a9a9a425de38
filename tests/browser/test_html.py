"""The built book in a real browser: every page loads, no broken link or image, no error cell,
no code that scrolls sideways.

Run with ``make check-html`` (it builds the ``ci`` book first).  Needs Debian's
``chromium`` and ``chromium-driver`` (``/usr/bin/chromium``, ``/usr/bin/chromedriver``).
The folder checked is ``$BOOK_HTML`` (default ``runs/ci/_build/html``); a
screenshot of the claims ledger is saved to ``$SCREENSHOT_DIR`` (default
``runs/ci/screenshots``).
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import threading
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

PROJECT = Path(__file__).resolve().parents[2]
HTML = Path(os.environ.get("BOOK_HTML", PROJECT / "runs" / "ci" / "_build" / "html"))
SCREENSHOTS = Path(os.environ.get("SCREENSHOT_DIR", PROJECT / "runs" / "ci" / "screenshots"))
PAGES = (
    sorted(
        p.relative_to(HTML).as_posix()
        for p in HTML.rglob("*.html")
        if "_static" not in p.parts and "_sources" not in p.parts
    )
    if HTML.is_dir()
    else []
)


@pytest.fixture(scope="module")
def server():
    if not HTML.is_dir():
        pytest.fail(f"{HTML}: no built book; run `make book-ci` first")
    handler = functools.partial(_QuietHandler, directory=str(HTML))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1400,1800",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    yield driver
    driver.quit()


def test_the_book_has_its_chapters():
    assert "book/ledger.html" in PAGES and "notebooks/05_evaluation.html" in PAGES


@pytest.mark.parametrize("page", PAGES)
def test_page(server, browser, page):
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(f"{server}/{page}")
    # get() can return while late resources load; images are judged once the page is complete.
    WebDriverWait(browser, 20).until(
        lambda b: b.execute_script("return document.readyState") == "complete"
    )
    broken_images = browser.execute_script(
        "return Array.from(document.images)"
        ".filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src)"
    )
    assert broken_images == [], f"{page}: images that did not load: {broken_images}"
    text = browser.find_element("tag name", "body").text
    assert "Traceback (most recent call last)" not in text, f"{page}: a Python traceback"
    errors = browser.find_elements("css selector", ".output.traceback, .output.error")
    assert not errors, f"{page}: {len(errors)} error output cell(s)"
    # Code is written at 100 columns; the theme (with _static/code-width.css) shows a whole
    # line at its widest page, so no visible code block scrolls sideways.
    wide = browser.execute_script(
        "return Array.from(document.querySelectorAll('div.cell_input pre, div.highlight pre'))"
        ".filter(p => p.offsetParent !== null && p.scrollWidth > p.clientWidth + 1)"
        ".map(p => p.textContent.split('\\n').reduce((a, b) => (b.length > a.length ? b : a)))"
    )
    assert wide == [], f"{page}: code that scrolls sideways, longest lines: {wide}"
    links = browser.execute_script(
        "return Array.from(document.querySelectorAll('a[href]')).map(a => a.href)"
    )
    for link in links:
        _check_internal_link(server, page, link)


def _check_internal_link(server: str, page: str, link: str) -> None:
    if not link.startswith(server):
        return
    parsed = urlparse(link)
    target = HTML / unquote(parsed.path).lstrip("/")
    if target.is_dir():
        target = target / "index.html"
    assert target.is_file(), f"{page}: broken link to {parsed.path}"
    if parsed.fragment and target.suffix == ".html":
        anchor = re.escape(unquote(parsed.fragment))
        assert re.search(rf'id="{anchor}"', target.read_text(errors="replace")), (
            f"{page}: link to a missing anchor {parsed.path}#{parsed.fragment}"
        )


def test_ledger_screenshot(server, browser):
    browser.get(f"{server}/book/ledger.html")
    table = browser.find_elements("css selector", "table")
    assert table, "the ledger page has no table"
    assert "reproduced" in browser.find_element("tag name", "body").text
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / "ledger.png"
    browser.save_screenshot(str(path))
    assert path.stat().st_size > 10_000


def test_no_page_shows_the_build_machines_paths_or_parameter_cells():
    """Pages and their downloadable sources never hold the builder's absolute paths, and the
    parameter cells (defaults and papermill's injected values) are not on the pages."""
    leaks = [
        p.relative_to(HTML).as_posix()
        for p in HTML.rglob("*")
        if p.suffix in (".html", ".ipynb") and str(PROJECT) in p.read_text(errors="ignore")
    ]
    assert leaks == []
    page = (HTML / "notebooks" / "03_model.html").read_text()
    assert "Parameters (papermill)" not in page and "injected-parameters" not in page
