"""Personal access tokens: the CLI, the profile page, hashing, revocation."""

from __future__ import annotations

import re

from sqlalchemy import select

from portal.auth.tokens import hash_secret
from portal.extensions import db
from portal.models import ApiToken
from tests.api_helpers import bearer, new_token
from tests.conftest import login_client


def test_cli_creates_a_token_printed_once(app, runner, faculty):
    result = runner.invoke(
        args=["create-token", "FACULTY@example.org", "--scope", "read", "--expires-days", "30"]
    )
    assert result.exit_code == 0, result.output
    secret = result.stdout.strip().splitlines()[-1]
    assert secret.startswith("rgp_")
    with app.app_context():
        token = db.session.scalar(select(ApiToken))
        assert token.token_hash == hash_secret(secret) and token.scope.value == "read"
        assert token.expires_at is not None
    client = app.test_client()
    assert client.get("/api/v1/me", headers=bearer(secret)).status_code == 200


def test_cli_refuses_bad_input(app, runner, faculty):
    assert runner.invoke(args=["create-token", "nobody@example.org", "--scope", "read"]).exit_code
    bad_scope = runner.invoke(args=["create-token", faculty.email, "--scope", "admin"])
    assert bad_scope.exit_code != 0
    never = runner.invoke(
        args=["create-token", faculty.email, "--scope", "read", "--expires-days", "0"]
    )
    assert never.exit_code != 0 and "1 to 3650" in never.output
    with app.app_context():
        assert db.session.scalar(select(ApiToken)) is None


def test_profile_page_creates_lists_and_revokes(app, faculty, make_faculty):
    client = login_client(app.test_client(), faculty)
    response = client.post(
        "/profile/tokens", data={"name": "Website", "scope": "read", "expires_days": "10"}
    )
    assert response.status_code == 201
    page = response.get_data(as_text=True)
    secret = re.search(r'value="(rgp_[^"]+)"', page).group(1)
    assert client.get("/api/v1/me", headers=bearer(secret)).status_code == 200
    listing = client.get("/profile").get_data(as_text=True)
    assert "Website" in listing and secret not in listing and secret[:10] in listing
    with app.app_context():
        token_id = db.session.scalar(select(ApiToken.id))
    other = login_client(app.test_client(), make_faculty("o@example.org", "Other"))
    assert other.post(f"/profile/tokens/{token_id}/revoke").status_code == 404
    assert client.get("/api/v1/me", headers=bearer(secret)).status_code == 200
    assert client.post(f"/profile/tokens/{token_id}/revoke").status_code == 302
    assert client.get("/api/v1/me", headers=bearer(secret)).status_code == 401
    after = client.get("/profile").get_data(as_text=True)
    assert "was revoked" in after and "Revoke Website" not in after


def test_profile_page_refuses_bad_token_form(app, faculty):
    client = login_client(app.test_client(), faculty)
    response = client.post("/profile/tokens", data={"scope": "root", "expires_days": "0"})
    assert response.status_code == 400
    with app.app_context():
        assert db.session.scalar(select(ApiToken)) is None


def test_token_secret_is_never_stored(app, faculty):
    secret = new_token(app, faculty, "read")
    with app.app_context():
        row = db.session.execute(select(ApiToken.__table__)).one()
        assert all(secret not in str(value) for value in row)
