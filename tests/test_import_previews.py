"""The checked import waits on the server, bound to the session; logout and expiry end it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update

from portal.extensions import db
from portal.models import ImportPreview, Person
from tests.conftest import TEST_PASSWORD
from tests.test_roster_import import confirm, preview_token, roster_csv, row, upload


def previews(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(ImportPreview))


def people(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Person))


def log_in(client, email="faculty@example.org"):
    response = client.post("/login", data={"email": email, "password": TEST_PASSWORD})
    assert response.status_code == 302


def test_preview_is_stored_once_and_confirmed_once(app, faculty_client):
    preview = upload(faculty_client, roster_csv(row("Kept")))
    assert previews(app) == 1
    assert confirm(faculty_client, preview).status_code == 302
    assert previews(app) == 0
    again = confirm(faculty_client, preview)
    assert again.status_code == 400
    assert "does not match a preview" in again.get_data(as_text=True)
    assert people(app) == 1


def test_a_new_preview_replaces_the_sessions_earlier_one(app, faculty_client):
    first = upload(faculty_client, roster_csv(row("First")))
    upload(faculty_client, roster_csv(row("Second")))
    assert previews(app) == 1
    assert confirm(faculty_client, first).status_code == 400
    assert people(app) == 0


def test_preview_is_revoked_at_logout(app, faculty, client):
    log_in(client)
    preview = upload(client, roster_csv(row("Logged Out")))
    token = preview_token(preview)
    client.post("/logout")
    assert previews(app) == 0
    log_in(client)  # the same person, a new session: the old token is dead
    response = client.post("/group/import/confirm", data={"preview": token})
    assert response.status_code == 400
    assert people(app) == 0


def test_preview_is_bound_to_the_browser_session(app, faculty, client):
    log_in(client)
    preview = upload(client, roster_csv(row("Other Browser")))
    other_browser = app.test_client()
    log_in(other_browser)  # same account, another session
    response = other_browser.post("/group/import/confirm", data={"preview": preview_token(preview)})
    assert response.status_code == 400
    assert people(app) == 0
    assert confirm(client, preview).status_code == 302


def test_expired_preview_is_refused(app, faculty_client):
    preview = upload(faculty_client, roster_csv(row("Late")))
    with app.app_context():
        db.session.execute(
            update(ImportPreview).values(expires_at=datetime.now(UTC) - timedelta(minutes=1))
        )
        db.session.commit()
    response = confirm(faculty_client, preview)
    assert response.status_code == 400
    assert "expired" in response.get_data(as_text=True)
    assert people(app) == 0
