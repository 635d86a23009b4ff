"""Protective headers on every response of every route, and pages kept out of caches."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from portal import resource_dir
from tests.conftest import build_app, login_client
from tests.routes import build_url, methods, rules

REQUIRED_DIRECTIVES = [
    "default-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
    "form-action 'self'",
]

# Public files that are the same for every visitor (their URL changes with their content).
PUBLIC_FILES = {"branding.stylesheet", "branding.logo", "people.portrait", "health.favicon"}


def _every_response(app, client, user=None):
    # Reads first, writes last: a write such as POST /logout rotates the user's session token.
    requests = [(method, rule) for rule in rules(app) for method in methods(rule)]
    requests.sort(key=lambda request: request[0] != "GET")
    for method, rule in requests:
        url = build_url(rule)
        if user is not None:
            login_client(client, user)  # again: a write may have logged the client out
        response = client.open(url, method=method)
        yield f"{method} {url}", rule, response
        response.close()  # streamed exports are checked by their headers, not read to the end


def _assert_protective_headers(where, response):
    headers = response.headers
    policy = headers.get("Content-Security-Policy", "")
    for directive in REQUIRED_DIRECTIVES:
        assert directive in policy, f"{where}: CSP lacks {directive!r}: {policy!r}"
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy, where
    assert headers.get("X-Content-Type-Options") == "nosniff", where
    assert headers.get("X-Frame-Options") == "DENY", where
    assert headers.get("Referrer-Policy") in {
        "same-origin",
        "strict-origin-when-cross-origin",
        "no-referrer",
    }, where


@pytest.mark.parametrize("who", ["anonymous", "faculty"])
def test_every_route_sends_the_protective_headers(app, faculty, who):
    client = app.test_client()
    checked = 0
    for where, rule, response in _every_response(
        app, client, faculty if who == "faculty" else None
    ):
        _assert_protective_headers(where, response)
        assert "Strict-Transport-Security" not in response.headers, where  # not in development
        cache_control = response.headers.get("Cache-Control")
        if rule.endpoint in PUBLIC_FILES and response.status_code == 200:
            # The same bytes for everyone; a logged-in visitor's copy stays in their browser.
            expected = "public, max-age=86400" if who == "anonymous" else "private, max-age=86400"
            assert cache_control == expected, where
        elif rule.endpoint != "static" or who == "faculty":
            assert cache_control == "no-store", where
        checked += 1
    assert checked >= 5


def test_error_pages_carry_the_headers_too(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    _assert_protective_headers("404", response)
    assert response.headers["Cache-Control"] == "no-store"


def test_static_files_may_be_cached_for_anonymous_visitors(client):
    response = client.get("/static/css/portal.css")
    assert response.status_code == 200
    assert "no-store" not in response.headers.get("Cache-Control", "")
    _assert_protective_headers("static", response)


def test_static_files_are_not_stored_for_a_logged_in_user(faculty_client):
    response = faculty_client.get("/static/css/portal.css")
    assert response.headers["Cache-Control"] == "no-store"


def test_production_adds_hsts(monkeypatch, database_url, tmp_path):
    monkeypatch.setenv("PORTAL_ENV", "production")
    app = build_app(database_url, str(tmp_path))
    for path in ["/login", "/healthz", "/static/css/portal.css", "/nowhere"]:
        hsts = app.test_client().get(path).headers.get("Strict-Transport-Security", "")
        assert re.fullmatch(r"max-age=(\d+); includeSubDomains", hsts), path
        assert int(hsts.split("=")[1].split(";")[0]) >= 180 * 24 * 3600


def _template_files():
    return sorted(Path(resource_dir("templates")).rglob("*.html"))


@pytest.mark.parametrize("template", _template_files(), ids=lambda path: path.name)
def test_templates_need_nothing_inline_that_the_policy_would_have_to_allow(template):
    source = template.read_text(encoding="utf-8")
    for tag in re.findall(r"<script\b[^>]*>", source, flags=re.IGNORECASE):
        assert "src=" in tag, f"{template}: inline <script> (put it in a static .js file)"
    assert not re.search(r"\son[a-z]+\s*=", source, flags=re.IGNORECASE), (
        f"{template}: inline event handler attribute"
    )
    assert not re.search(r"\sstyle\s*=", source, flags=re.IGNORECASE), (
        f"{template}: inline style attribute (use a class in portal.css)"
    )
    assert "javascript:" not in source.lower(), template
