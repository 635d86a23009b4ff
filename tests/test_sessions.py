"""Session and remember-me cookies: their flags, their lifetimes, and revocation of every copy."""

from __future__ import annotations

import re
import time

import pytest

from portal.extensions import db
from portal.models import User
from portal.security import LOGIN_AT, SEEN_AT, SESSION_EXPIRED
from tests.conftest import TEST_PASSWORD, build_app

REMEMBER_COOKIE = "remember_token"
SESSION_COOKIE = "session"


def _login(client, user, remember=False):
    data = {"email": user.email, "password": TEST_PASSWORD}
    if remember:
        data["remember"] = "y"
    response = client.post("/login", data=data)
    assert response.status_code == 302
    return response


def _set_cookie(response, name):
    for header in response.headers.getlist("Set-Cookie"):
        if header.startswith(f"{name}="):
            return header
    raise AssertionError(f"no Set-Cookie for {name}: {response.headers.getlist('Set-Cookie')}")


def _flags(header):
    return {part.strip().split("=")[0].lower(): part.strip() for part in header.split(";")[1:]}


def _remember_only_client(app, remember_value):
    """A browser that has nothing but a copy of the remember-me cookie."""
    client = app.test_client()
    client.set_cookie(REMEMBER_COOKIE, remember_value)
    return client


# ---------------------------------------------------------------------------------------------
# Cookie flags, as the browser receives them.


@pytest.mark.parametrize("name", [SESSION_COOKIE, REMEMBER_COOKIE])
def test_cookies_are_httponly_and_samesite_lax(client, faculty, name):
    flags = _flags(_set_cookie(_login(client, faculty, remember=True), name))
    assert "httponly" in flags
    assert flags["samesite"].lower() == "samesite=lax"
    assert "secure" not in flags  # development over plain http


@pytest.mark.parametrize("name", [SESSION_COOKIE, REMEMBER_COOKIE])
def test_cookies_are_secure_in_production(monkeypatch, database_url, tmp_path, make_faculty, name):
    monkeypatch.setenv("PORTAL_ENV", "production")
    app = build_app(database_url, str(tmp_path))
    user = make_faculty()
    response = _login(app.test_client(), user, remember=True)
    flags = _flags(_set_cookie(response, name))
    assert {"secure", "httponly"} <= set(flags)
    assert flags["samesite"].lower() == "samesite=lax"


# ---------------------------------------------------------------------------------------------
# Revocation: a replayed copy of an old cookie is anonymous.


def _remember_cookie_of(client, user):
    response = _login(client, user, remember=True)
    value = _set_cookie(response, REMEMBER_COOKIE).split(";")[0].split("=", 1)[1]
    return value


def test_remember_cookie_alone_logs_in_until_revoked(app, faculty):
    remembered = _remember_cookie_of(app.test_client(), faculty)
    assert _remember_only_client(app, remembered).get("/group").status_code == 200


def test_replayed_remember_cookie_is_anonymous_after_logout(app, faculty):
    client = app.test_client()
    remembered = _remember_cookie_of(client, faculty)
    assert client.post("/logout").status_code == 302
    response = _remember_only_client(app, remembered).get("/group")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_replayed_remember_cookie_is_anonymous_after_password_change(app, faculty):
    from portal.auth.operations import set_password

    remembered = _remember_cookie_of(app.test_client(), faculty)
    with app.app_context():
        set_password(db.session.get(User, faculty.id), "another long passphrase 42")
        db.session.commit()
    assert _remember_only_client(app, remembered).get("/group").status_code == 302


def test_replayed_remember_cookie_is_anonymous_after_deactivation(app, faculty):
    remembered = _remember_cookie_of(app.test_client(), faculty)
    with app.app_context():
        db.session.get(User, faculty.id).is_active = False
        db.session.commit()
    assert _remember_only_client(app, remembered).get("/group").status_code == 302


def test_replayed_session_cookie_is_anonymous_after_logout(app, faculty):
    client = app.test_client()
    _login(client, faculty)
    stolen = client.get_cookie(SESSION_COOKIE).value
    client.post("/logout")
    replay = app.test_client()
    replay.set_cookie(SESSION_COOKIE, stolen)
    assert replay.get("/group").status_code == 302


# ---------------------------------------------------------------------------------------------
# Idle and absolute lifetimes.


def _age_session(client, **seconds_ago):
    now = int(time.time())
    with client.session_transaction() as session:
        for key, ago in seconds_ago.items():
            session[key] = now - ago


def test_login_starts_both_clocks(client, faculty):
    before = int(time.time())
    _login(client, faculty)
    with client.session_transaction() as session:
        assert before <= session[LOGIN_AT] <= time.time()
        assert before <= session[SEEN_AT] <= time.time()


def test_activity_within_the_idle_limit_keeps_the_session(app, client, faculty):
    _login(client, faculty)
    idle = app.config["SESSION_IDLE_MINUTES"] * 60
    _age_session(client, _seen_at=idle - 30)
    assert client.get("/group").status_code == 200
    with client.session_transaction() as session:
        assert session[SEEN_AT] >= time.time() - 5  # the request moved the idle clock


def _session_cookies_sent(response) -> list[str]:
    return [h for h in response.headers.getlist("Set-Cookie") if h.startswith(f"{SESSION_COOKIE}=")]


def test_requests_within_a_minute_do_not_re_sign_the_session_cookie(client, faculty):
    _login(client, faculty)
    with client.session_transaction() as session:
        seen_at = session[SEEN_AT]
    for _ in range(2):
        response = client.get("/group")  # a page with forms: it uses the session's CSRF token
        assert response.status_code == 200
        assert _session_cookies_sent(response) == []
    with client.session_transaction() as session:
        assert session[SEEN_AT] == seen_at


def test_the_login_cookie_carries_a_new_csrf_token(csrf_app, make_faculty):
    """The session is new at login, CSRF token included; a client that keeps the login's cookie
    as it is (no cookie jar) gets no new token, and no newly signed cookie, from each page."""
    app = csrf_app
    faculty = make_faculty("csrf-at-login@example.org")
    client = app.test_client()
    login_page = client.get("/login").get_data(as_text=True)
    with client.session_transaction() as session:
        anonymous_token = session["csrf_token"]
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', login_page).group(1)
    data = {"csrf_token": token, "email": faculty.email, "password": TEST_PASSWORD}
    assert client.post("/login", data=data).status_code == 302
    with client.session_transaction() as session:
        assert session["csrf_token"] != anonymous_token
    login_cookie = client.get_cookie(SESSION_COOKIE).value

    for _ in range(2):
        replay = app.test_client()
        replay.set_cookie(SESSION_COOKIE, login_cookie)
        response = replay.get("/group")
        assert response.status_code == 200
        assert _session_cookies_sent(response) == []
    page = response.get_data(as_text=True)
    form_token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    # The page's forms carry the session's token: a post with it passes the CSRF check.
    answer = replay.post("/logout", data={"csrf_token": form_token})
    assert answer.status_code == 302
    assert "/login" in answer.headers["Location"]


def test_a_request_a_minute_later_moves_the_idle_clock(client, faculty):
    _login(client, faculty)
    client.get("/group")
    _age_session(client, _seen_at=61)
    response = client.get("/group")
    assert _set_cookie(response, SESSION_COOKIE)
    with client.session_transaction() as session:
        assert session[SEEN_AT] >= time.time() - 5


def test_idle_session_is_anonymous_and_forgets_the_remember_cookie(app, client, faculty):
    assert app.config["SESSION_IDLE_MINUTES"] == 60
    _login(client, faculty, remember=True)
    _age_session(client, _seen_at=60 * 60 + 5)
    response = client.get("/group")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")
    cleared = _set_cookie(response, REMEMBER_COOKIE)
    assert "expires=thu, 01 jan 1970" in cleared.lower()
    assert client.get("/group").status_code == 302
    assert str(SESSION_EXPIRED) in client.get("/login").get_data(as_text=True)


def test_idle_limit_is_configurable(monkeypatch, database_url, tmp_path, make_faculty):
    monkeypatch.setenv("PORTAL_SESSION_IDLE_MINUTES", "5")
    app = build_app(database_url, str(tmp_path))
    assert app.config["SESSION_IDLE_MINUTES"] == 5
    user = make_faculty()
    client = app.test_client()
    _login(client, user)
    _age_session(client, _seen_at=5 * 60 + 5)
    assert client.get("/group").status_code == 302


def test_session_older_than_its_lifetime_is_anonymous_even_when_active(app, client, faculty):
    lifetime = int(app.config["PERMANENT_SESSION_LIFETIME"])
    assert lifetime == 12 * 3600
    _login(client, faculty)
    _age_session(client, _login_at=lifetime - 60, _seen_at=10)
    assert client.get("/group").status_code == 200
    _age_session(client, _login_at=lifetime + 5, _seen_at=10)
    response = client.get("/group")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_deactivated_account_stops_on_next_request(app, client, faculty):
    _login(client, faculty)
    assert client.get("/group").status_code == 200
    with app.app_context():
        db.session.get(User, faculty.id).is_active = False
        db.session.commit()
    assert client.get("/group").status_code == 302
