"""The site's header is kept per process under everything it shows: every change still shows on
the next page, no viewer sees another's header, and its forms carry the request's CSRF token."""

from __future__ import annotations

import re
import time

import pytest
from itsdangerous import TimestampSigner

from portal import security
from portal.extensions import db
from portal.models import Branding, User
from portal.models.branding import BRANDING_ROW_ID
from portal.site_header import _rendered
from tests.conftest import login_client

pytestmark = pytest.mark.both_backends

HEADER = re.compile(r'<header class="site-header">(.*?)</header>', re.S)
TOKENS = re.compile(r'name="csrf_token" value="([^"]*)"')


def header(client, path: str = "/group", **headers) -> str:
    page = client.get(path, headers=headers)
    assert page.status_code == 200, path
    return HEADER.search(page.get_data(as_text=True)).group(1)


def change_user(app, user_id: int, **fields) -> None:
    with app.app_context():
        user = db.session.get(User, user_id)
        for name, value in fields.items():
            setattr(user, name, value)
        db.session.commit()
        db.session.remove()


def test_a_new_name_and_lost_rights_show_on_the_next_page(app, admin, admin_client):
    first = header(admin_client)
    assert "Grad Office Admin" in first and "Administration" in first
    change_user(app, admin.id, display_name="Renamed Office")
    renamed = header(admin_client)
    assert "Renamed Office" in renamed and "Grad Office Admin" not in renamed
    change_user(app, admin.id, is_admin=False)
    assert "Administration" not in header(admin_client)


def test_viewers_never_share_a_header(app, faculty, faculty_client, admin_client):
    theirs = header(admin_client)
    mine = header(faculty_client)
    assert "Prof. Hélène Faculty" in mine and "Grad Office Admin" not in mine
    assert "Administration" not in mine and "Administration" in theirs
    # The same page for an anonymous visitor: no navigation, no name.
    anonymous = app.test_client().get("/login").get_data(as_text=True)
    assert "Prof. Hélène Faculty" not in anonymous and 'aria-label="Main"' not in anonymous


def test_the_page_and_language_show_in_the_header(faculty_client):
    english = header(faculty_client, "/group?sort=name", **{"Accept-Language": "en"})
    assert 'value="/group?sort=name"' in english and ">Français<" in english
    assert 'href="/group" aria-current="page"' in english
    french = header(faculty_client, "/profile", **{"Accept-Language": "fr-CA"})
    assert 'value="/profile"' in french and ">English<" in french
    assert "Mon groupe" in french and 'href="/group" aria-current' not in french


def test_a_branding_change_shows_on_the_next_page(app, faculty_client):
    assert "Northern Institute" not in header(faculty_client)
    with app.app_context():
        db.session.merge(Branding(id=BRANDING_ROW_ID, display_name="Northern Institute"))
        db.session.commit()
        db.session.remove()
    assert '<span class="brand__name">Northern Institute</span>' in header(faculty_client)


def test_names_are_escaped_and_cannot_reach_the_token_placeholder(app, faculty, faculty_client):
    change_user(app, faculty.id, display_name='<csrf-token> "x" <script>alert(1)</script>')
    shown = header(faculty_client)
    assert "&lt;csrf-token&gt; &#34;x&#34; &lt;script&gt;alert(1)&lt;/script&gt;" in shown
    assert "<script>" not in shown and "<csrf-token>" not in shown


def test_each_request_gets_its_own_valid_token(csrf_app, make_faculty):
    """With CSRF on, the kept header's forms carry this session's token: logging out works."""
    faculty = make_faculty()
    client = login_client(csrf_app.test_client(), faculty)
    tokens = set(TOKENS.findall(header(client)))
    assert len(tokens) == 1 and "<csrf-token>" not in tokens
    other = login_client(csrf_app.test_client(), faculty)
    assert set(TOKENS.findall(header(other))) != tokens  # another session, another token
    (token,) = tokens
    assert client.post("/logout", data={"csrf_token": "forged"}).status_code == 400
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/group").status_code == 302  # logged out: sent to the login page


def test_the_kept_headers_are_bounded(app, faculty_client):
    for number in range(40):
        header(faculty_client, f"/group?sort=name&page={number}")
    assert 40 <= _rendered.cache_info().currsize <= _rendered.cache_info().maxsize


def a_second_later(monkeypatch) -> None:
    """Tokens signed from now on carry a later second (Flask-WTF's signature holds the second
    it was made), as if the next page came a second later."""
    later = int(time.time()) + 2
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda _signer: later)


def test_a_session_keeps_its_signed_token_and_forms_use_the_same(
    csrf_app, make_faculty, monkeypatch
):
    client = login_client(csrf_app.test_client(), make_faculty())
    client.get("/group")  # the session's first page makes its raw token
    form_page = set(TOKENS.findall(client.get("/group/members/new").get_data(as_text=True)))
    a_second_later(monkeypatch)
    later_page = set(TOKENS.findall(client.get("/group").get_data(as_text=True)))
    assert len(form_page) == 1 and form_page == later_page  # header and form, page after page


def test_a_sessions_first_token_is_the_one_its_later_pages_show(
    csrf_app, make_faculty, monkeypatch
):
    """The first page of a session shows a token Flask-WTF signed itself; the pages after it,
    a second later or more, show that same token (a page kept whole for the session is then
    given again, not rendered with another signature), and it is accepted."""
    client = login_client(csrf_app.test_client(), make_faculty())
    first_page = set(TOKENS.findall(client.get("/group").get_data(as_text=True)))
    a_second_later(monkeypatch)
    later_page = set(TOKENS.findall(client.get("/group").get_data(as_text=True)))
    assert len(first_page) == 1 and first_page == later_page
    (token,) = first_page
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302


def test_visitors_push_no_signed_in_sessions_token_out(csrf_app, make_faculty, monkeypatch):
    """Visitors' sessions (made at will, one a page without a cookie) have no token remembered,
    so a stream of them (a crawler) leaves a signed-in session's token, and its kept pages,
    alone; full, the store lets its oldest token go, not every session's."""
    monkeypatch.setattr(security, "_SIGNED_CSRF_TOKENS", {})
    client = login_client(csrf_app.test_client(), make_faculty())
    (token,) = set(TOKENS.findall(client.get("/group").get_data(as_text=True)))
    kept = dict(security._SIGNED_CSRF_TOKENS)
    assert token in kept.values()
    for _ in range(5):
        visitor = csrf_app.test_client()
        assert visitor.get("/login").status_code == 200
        assert visitor.get("/no-such-page").status_code == 404
    assert kept == security._SIGNED_CSRF_TOKENS
    a_second_later(monkeypatch)  # a token signed again would differ
    assert set(TOKENS.findall(client.get("/group").get_data(as_text=True))) == {token}
    monkeypatch.setattr(security, "SIGNED_CSRF_TOKENS_KEPT", len(kept) + 1)
    for _ in range(3):
        login_client(csrf_app.test_client(), make_faculty()).get("/group")
    assert len(security._SIGNED_CSRF_TOKENS) == len(kept) + 1
    assert token not in security._SIGNED_CSRF_TOKENS.values()  # the oldest went first


def test_with_a_time_limit_every_token_is_signed_afresh(csrf_app, make_faculty, monkeypatch):
    kept = []
    monkeypatch.setattr(security, "_signed_csrf_token", lambda *key: kept.append(key))
    csrf_app.config["WTF_CSRF_TIME_LIMIT"] = 3600
    client = login_client(csrf_app.test_client(), make_faculty())
    client.get("/group")
    (token,) = set(TOKENS.findall(header(client)))
    assert kept == []  # Flask-WTF signed it, with the time its limit reads
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302


def test_nothing_is_kept_while_templates_reload(app, faculty_client):
    _rendered.cache_clear()
    app.jinja_env.auto_reload = True
    try:
        assert "Prof. Hélène Faculty" in header(faculty_client)
    finally:
        app.jinja_env.auto_reload = False
    assert _rendered.cache_info().currsize == 0
