"""Changing a password (another account's or one's own) or administrator rights needs the
password again (valid 10 minutes); without it nothing changes."""

from __future__ import annotations

import time

from sqlalchemy import select

from portal.extensions import db
from portal.models import User
from tests.conftest import TEST_PASSWORD
from tests.routes import database_snapshot


def stale(client, seconds_ago: int | None = None):
    """The session's password entry is `seconds_ago` old (None: never typed in this session)."""
    with client.session_transaction() as session:
        if seconds_ago is None:
            session.pop("_password_at", None)
        else:
            session["_password_at"] = int(time.time()) - seconds_ago
    return client


def test_resetting_another_password_asks_for_mine_first(app, admin_client, faculty):
    stale(admin_client)
    before = database_snapshot(app)
    response = admin_client.post(
        f"/admin/accounts/{faculty.id}/password", data={"password": "a brand new passphrase"}
    )
    assert response.status_code == 302
    assert "/reauthenticate?next=" in response.headers["Location"]
    assert database_snapshot(app) == before
    wrong = admin_client.post("/reauthenticate", data={"password": "not mine"})
    assert wrong.status_code == 401
    assert "This is not your password." in wrong.get_data(as_text=True)
    right = admin_client.post(
        "/reauthenticate",
        data={"password": TEST_PASSWORD, "next": f"/admin/accounts/{faculty.id}/password"},
    )
    assert right.status_code == 302
    assert right.headers["Location"].endswith(f"/admin/accounts/{faculty.id}/password")
    done = admin_client.post(
        f"/admin/accounts/{faculty.id}/password", data={"password": "a brand new passphrase"}
    )
    assert done.status_code == 302 and done.headers["Location"].endswith("/admin/accounts")


def test_resetting_my_own_password_asks_for_it_too(app, admin, admin_client):
    """A stolen session must not set a password its holder knows (then pass every re-check)."""
    stale(admin_client, seconds_ago=11 * 60)
    before = database_snapshot(app)
    response = admin_client.post(
        f"/admin/accounts/{admin.id}/password", data={"password": "a brand new passphrase 42"}
    )
    assert response.status_code == 302
    assert "/reauthenticate?next=" in response.headers["Location"]
    assert database_snapshot(app) == before


def test_the_window_is_ten_minutes(app, admin_client, faculty):
    stale(admin_client, seconds_ago=11 * 60)
    response = admin_client.post(
        f"/admin/accounts/{faculty.id}/password", data={"password": "a brand new passphrase"}
    )
    assert "/reauthenticate" in response.headers["Location"]
    stale(admin_client, seconds_ago=9 * 60)
    response = admin_client.post(
        f"/admin/accounts/{faculty.id}/password", data={"password": "a brand new passphrase"}
    )
    assert response.headers["Location"].endswith("/admin/accounts")


def test_deactivating_an_administrator_asks_but_a_faculty_member_does_not(
    app, admin_client, make_admin, faculty
):
    other_admin = make_admin("second-admin@example.org")
    stale(admin_client)
    asked = admin_client.post(f"/admin/accounts/{other_admin.id}/deactivate")
    assert "/reauthenticate" in asked.headers["Location"]
    with app.app_context():
        assert db.session.get(User, other_admin.id).is_active
    plain = admin_client.post(f"/admin/accounts/{faculty.id}/deactivate")
    assert plain.headers["Location"].endswith("/admin/accounts")
    with app.app_context():
        assert not db.session.get(User, faculty.id).is_active


def test_creating_an_administrator_asks_first(app, admin_client):
    stale(admin_client)
    data = {
        "email": "new-admin@example.org",
        "display_name": "New Admin",
        "account_type": "admin",
        "password": "a long enough passphrase",
    }
    asked = admin_client.post("/admin/accounts/new", data=data)
    assert "/reauthenticate" in asked.headers["Location"]
    with app.app_context():
        assert db.session.scalar(select(User).where(User.email == "new-admin@example.org")) is None


def test_a_password_login_counts_as_entering_the_password(app, admin, client):
    client.post("/login", data={"email": admin.email, "password": TEST_PASSWORD})
    with client.session_transaction() as session:
        assert abs(session["_password_at"] - time.time()) < 60
