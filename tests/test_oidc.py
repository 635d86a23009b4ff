"""Single sign-on against a real OpenID provider (tests/oidc_provider.py) on 127.0.0.1."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from sqlalchemy import select

from portal.extensions import db
from portal.models import User
from tests.conftest import TEST_PASSWORD, build_app
from tests.oidc_provider import CLIENT_ID, CLIENT_SECRET, LocalProvider

CALLBACK = "http://localhost/login/sso/callback"


@pytest.fixture(scope="session")
def provider():
    running = LocalProvider().start()
    yield running
    running.stop()


@pytest.fixture
def sso_app(database_url, tmp_path, provider, monkeypatch):
    # The test provider speaks plain HTTP on 127.0.0.1; production issuers must be https://.
    monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")
    provider.reset(CALLBACK)
    return _app(database_url, tmp_path, provider)


def _app(database_url, tmp_path, provider, **overrides):
    app = build_app(
        database_url,
        str(tmp_path),
        OIDC_ISSUER=provider.issuer,
        OIDC_CLIENT_ID=CLIENT_ID,
        OIDC_CLIENT_SECRET=CLIENT_SECRET,
        OIDC_NAME="Université de Test account",
        **overrides,
    )
    yield_app = app
    return yield_app


def _login_via_provider(client, provider, email="Faculty@Example.org", verified=True):
    provider.next_user = {
        "sub": "u-1",
        "email": email,
        "email_verified": verified,
        "name": "Prof. From Provider",
    }
    start = client.get("/login/sso?next=/group/alumni")
    assert start.status_code == 302, start.get_data(as_text=True)
    authorize = start.headers["Location"]
    query = parse_qs(urlsplit(authorize).query)
    assert authorize.startswith(f"{provider.issuer}/authorize")
    assert query["code_challenge_method"] == ["S256"] and query["code_challenge"][0]
    assert query["state"][0] and query["nonce"][0]
    back = requests.get(authorize, allow_redirects=False, timeout=10)
    assert back.status_code == 302, back.text
    callback = back.headers["Location"]
    assert callback.startswith(CALLBACK)
    path = callback.removeprefix("http://localhost")
    return client.get(path), path


def _logged_in(client) -> bool:
    return client.get("/group").status_code == 200


def test_login_with_a_verified_email_and_logout_at_the_provider(sso_app, provider, faculty):
    client = sso_app.test_client()
    page = client.get("/login").get_data(as_text=True)
    assert "Sign in with Université de Test account" in page
    response, _path = _login_via_provider(client, provider)
    assert response.status_code == 302 and response.headers["Location"] == "/group/alumni"
    assert _logged_in(client)
    assert provider.token_requests == 1  # the code was exchanged over HTTP, with PKCE
    logout = client.post("/logout")
    assert logout.status_code == 302
    target = logout.headers["Location"]
    assert target.startswith(f"{provider.issuer}/logout?")
    assert "id_token_hint=" in target and "post_logout_redirect_uri=" in target
    assert not _logged_in(client)


@pytest.mark.parametrize("misbehaviour", ["wrong_issuer", "wrong_audience", "expired", "tamper"])
def test_a_bad_id_token_is_refused(sso_app, provider, faculty, admin, misbehaviour):
    provider.behaviour = {misbehaviour: True}
    client = sso_app.test_client()
    response, _path = _login_via_provider(client, provider)
    assert response.status_code == 400
    assert "could not be completed" in response.get_data(as_text=True)
    assert not _logged_in(client)


def test_a_discovery_document_for_another_issuer_is_refused(sso_app, provider, faculty):
    provider.behaviour = {"discovery_issuer": True}
    client = sso_app.test_client()
    response = client.get("/login/sso")
    assert response.status_code == 502
    assert "another issuer" in response.get_data(as_text=True)


def test_a_replayed_state_is_refused(sso_app, provider, faculty):
    client = sso_app.test_client()
    response, path = _login_via_provider(client, provider)
    assert response.status_code == 302
    client.post("/logout")
    replay = client.get(path)
    assert replay.status_code == 400
    assert not _logged_in(client)
    stranger = sso_app.test_client()  # another browser with the stolen callback address
    assert stranger.get(path).status_code == 400
    assert not _logged_in(stranger)


def test_unknown_and_unverified_emails_are_refused(sso_app, provider, faculty):
    client = sso_app.test_client()
    response, _path = _login_via_provider(client, provider, email="stranger@example.org")
    assert response.status_code == 403
    assert "no portal account for stranger@example.org" in response.get_data(as_text=True)
    response, _path = _login_via_provider(client, provider, verified=False)
    assert response.status_code == 403
    assert "verified email" in response.get_data(as_text=True)
    assert not _logged_in(client)
    with sso_app.app_context():
        assert db.session.scalar(select(User).where(User.email == "stranger@example.org")) is None


def test_a_deactivated_account_is_refused(sso_app, provider, make_faculty):
    make_faculty("gone@example.org", "Prof. Gone", is_active=False)
    client = sso_app.test_client()
    response, _path = _login_via_provider(client, provider, email="GONE@example.org")
    assert response.status_code == 403
    assert "deactivated" in response.get_data(as_text=True)
    assert not _logged_in(client)


def test_just_in_time_accounts_are_faculty(database_url, tmp_path, provider, monkeypatch):
    monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")
    provider.reset(CALLBACK)
    app = _app(database_url, tmp_path, provider, OIDC_CREATE_ACCOUNTS=True)
    client = app.test_client()
    response, _path = _login_via_provider(client, provider, email="New.Person@Example.org")
    assert response.status_code == 302
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "new.person@example.org"))
        assert user is not None and not user.is_admin and user.is_active
        assert user.display_name == "Prof. From Provider"


def test_password_login_off_keeps_a_break_glass_admin(
    database_url, tmp_path, provider, make_faculty, make_admin
):
    app = _app(database_url, tmp_path, provider, PASSWORD_LOGIN="off")
    make_faculty("faculty@example.org", "Prof. Faculty")
    make_admin("admin@example.org", "Admin")
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    assert 'type="password"' not in page and "Sign in with" in page
    assert 'type="password"' in client.get("/login?break-glass=1").get_data(as_text=True)
    refused = client.post(
        "/login", data={"email": "faculty@example.org", "password": TEST_PASSWORD}
    )
    assert refused.status_code == 403
    assert "Password login is turned off" in refused.get_data(as_text=True)
    assert not _logged_in(client)
    admin = client.post(
        "/login?break-glass=1", data={"email": "admin@example.org", "password": TEST_PASSWORD}
    )
    assert admin.status_code == 302
    assert _logged_in(client)


def test_sso_routes_are_404_when_not_configured(client):
    assert client.get("/login/sso").status_code == 404
    assert client.get("/login/sso/callback?code=x&state=y").status_code == 404


def test_a_single_sign_on_session_has_the_same_idle_timeout(sso_app, provider, faculty):
    import time

    from portal.security import SEEN_AT

    client = sso_app.test_client()
    response, _path = _login_via_provider(client, provider)
    assert response.status_code == 302 and _logged_in(client)
    idle = sso_app.config["SESSION_IDLE_MINUTES"] * 60
    with client.session_transaction() as session:
        session[SEEN_AT] = int(time.time()) - idle - 5
    assert not _logged_in(client)
