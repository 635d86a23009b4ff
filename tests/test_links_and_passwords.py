"""Link fields accept only http(s) addresses; no account ever has a known default password."""

from __future__ import annotations

import pytest

from portal.auth.operations import MIN_PASSWORD_LENGTH
from portal.security import is_safe_link
from tests.conftest import reset_database


@pytest.mark.parametrize(
    "url",
    [
        "https://www.example.org/lab",
        "http://example.org",
        "HTTPS://EXAMPLE.ORG/a?b=c#d",
    ],
)
def test_web_addresses_are_links(url):
    assert is_safe_link(url)


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        " javascript:alert(1)",
        "java\tscript:alert(1)",
        "java\nscript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "vbscript:msgbox(1)",
        "//evil.example/x",
        "/relative/path",
        "https://",
        "https:///nohost",
        "ftp://example.org",
        'https://example.org/"onmouseover="alert(1)',
        "https://user:pass@example.org/paper.pdf",
        "https://user@example.org/",
        "https://scholar.example.org@evil.example/",
        "https://:secret@example.org/",
        "https://example.org:99999/",
        "",
        None,
    ],
)
def test_other_schemes_and_tricks_are_not_links(url):
    assert not is_safe_link(url)


def test_demo_accounts_get_new_random_passwords_for_every_database(app):
    from portal.demo import load_demo_data
    from portal.extensions import db

    with app.app_context():
        first = {login.email: login.password for login in load_demo_data()}
        db.session.commit()
        reset_database()
        second = {login.email: login.password for login in load_demo_data()}
        db.session.rollback()
    assert first.keys() == second.keys() and first
    for email in first:
        assert first[email] != second[email]
        assert len(first[email]) >= MIN_PASSWORD_LENGTH
