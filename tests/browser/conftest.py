"""Browser tests: the app served on a random local port, driven by Playwright in real Chromium.

Chromium comes from the system (/usr/bin/chromium); Playwright never downloads a browser here
(install with PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1). They check HTML, which does not depend on the
database, so they run on SQLite only (see tests/conftest.py).
"""

from __future__ import annotations

import os
import threading
from dataclasses import replace
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from portal.extensions import db
from tests.browser.helpers import DESKTOP, LANGUAGES, DemoSite, load_demo, serve
from tests.conftest import build_app

CHROMIUM = os.environ.get("PORTAL_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parent.parent / "screenshots"
# Screenshots are for people to look at, not checks: a full-page PNG costs up to seconds, so
# they are saved only when asked for (`PORTAL_TEST_SCREENSHOTS=1 make test`).
SAVE_SCREENSHOTS = os.environ.get("PORTAL_TEST_SCREENSHOTS", "") not in ("", "0")


@pytest.fixture
def live_server(app):
    """Serve the test app (the `app` fixture: a fresh SQLite database) in a thread."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def new_page(browser):
    """Open pages in fresh browser contexts (separate cookies), closed after the test."""
    contexts = []

    def open_page():
        context = browser.new_context(locale="en-CA")
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def screenshot(request):
    """Save a full-page screenshot under tests/screenshots/ (git-ignored), when asked for."""
    SCREENSHOTS.mkdir(exist_ok=True)

    def take(page, name: str) -> None:
        if not SAVE_SCREENSHOTS:
            return
        safe_test = request.node.name.replace("[", "-").replace("]", "")
        page.screenshot(path=str(SCREENSHOTS / f"{safe_test}-{name}.png"), full_page=True)

    return take


# ---------------------------------------------------------------------------------------------
# Demo data served, and pages in a chosen language: for the accessibility and journey suites.


@pytest.fixture
def demo_site(app, live_server) -> DemoSite:
    """The test app (a fresh SQLite database) with the demo data, served: for journeys."""
    return replace(load_demo(app), url=live_server)


@pytest.fixture(scope="module")
def shared_demo_site(database_url, tmp_path_factory):
    """One served app with the demo data for a whole module of read-only checks (SQLite).

    Only tests that change nothing may use it: it is loaded once per module (and xdist worker).
    """
    app = build_app(database_url, str(tmp_path_factory.mktemp("demo-instance")))
    site = load_demo(app)
    with serve(app) as url:
        yield replace(site, url=url)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def open_page(browser):
    """open_page(language, viewport=DESKTOP): a page in a fresh context with that browser locale."""
    contexts = []

    def open_one(language: str = "en", viewport: dict | None = None, **options):
        context = browser.new_context(
            locale=LANGUAGES[language], viewport=viewport or DESKTOP, **options
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield open_one
    for context in contexts:
        context.close()
