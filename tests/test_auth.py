"""Logging in and out: one message for every failure, safe redirects, sessions that can be revoked."""

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import AuditEvent, User
from portal.urls import is_safe_redirect_target
from tests.conftest import TEST_PASSWORD, login_client


def _login(client, email, password, **extra):
    return client.post("/login", data={"email": email, "password": password, **extra})


def _audit_count(app):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(AuditEvent))


def test_login_page_renders_labelled_fields(client):
    response = client.get("/login")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert '<label for="email">Email</label>' in page
    assert '<label for="password">Password</label>' in page


def test_login_then_group(client, faculty):
    response = _login(client, "Faculty@Example.org ", TEST_PASSWORD)
    assert response.status_code == 302
    assert response.headers["Location"] == "/group"
    assert client.get("/group").status_code == 200


@pytest.mark.parametrize(
    "email, password",
    [
        ("faculty@example.org", "wrong password entirely"),
        ("nobody@example.org", TEST_PASSWORD),
    ],
)
def test_failed_login_says_the_same_and_writes_nothing(app, client, faculty, email, password):
    before = _audit_count(app)
    response = _login(client, email, password)
    assert response.status_code == 401
    assert "Invalid email or password." in response.get_data(as_text=True)
    assert client.get("/group").status_code == 302  # still anonymous
    assert _audit_count(app) == before
    with app.app_context():
        assert db.session.scalar(select(User.last_login_at).where(User.id == faculty.id)) is None


def test_login_with_missing_fields_is_a_bad_request(client, faculty):
    response = _login(client, "", "")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Enter your email." in page and "Enter your password." in page
    # Errors are tied to their fields for screen readers.
    assert 'aria-describedby="email-error" aria-invalid="true"' in page
    assert '<p class="error" id="email-error" role="alert">' in page


def test_valid_fields_carry_no_empty_aria_attributes(client):
    page = client.get("/login").get_data(as_text=True)
    assert "aria-invalid" not in page
    assert '"None"' not in page


def test_inactive_account_cannot_log_in_and_is_told_why_after_the_right_password(
    app, client, make_faculty
):
    user = make_faculty("gone@example.org", is_active=False)
    response = _login(client, user.email, TEST_PASSWORD)
    assert response.status_code == 403
    page = response.get_data(as_text=True)
    assert "This account is deactivated." in page
    assert "Invalid email or password." not in page
    # A wrong password learns nothing about the account: the usual message.
    wrong = _login(client, user.email, "not-the-password")
    assert wrong.status_code == 401
    assert "Invalid email or password." in wrong.get_data(as_text=True)
    assert "deactivated" not in wrong.get_data(as_text=True)
    assert client.get("/group").status_code == 302  # not logged in


def test_login_follows_a_local_next(client, faculty):
    response = _login(client, faculty.email, TEST_PASSWORD, next="/group?sort=name")
    assert response.headers["Location"] == "/group?sort=name"


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/x",
        "/\\evil.example",
        "javascript:alert(1)",
        "http:/evil.example",
        "group",
        "/\tevil",
    ],
)
def test_login_ignores_an_outside_next(client, faculty, target):
    response = _login(client, faculty.email, TEST_PASSWORD, next=target)
    assert response.headers["Location"] == "/group"
    assert not is_safe_redirect_target(target)


def test_login_page_carries_next_from_the_query_string(client):
    response = client.get("/group?sort=name")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'value="/group?sort=name"' in page


def test_session_is_renewed_at_login(client, faculty):
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    _login(client, faculty.email, TEST_PASSWORD)
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session["_user_id"].startswith(f"{faculty.id}:")


def test_logout_is_post_only(faculty_client):
    assert faculty_client.get("/logout").status_code == 405
    assert faculty_client.get("/group").status_code == 200


def test_logout_revokes_every_copy_of_the_session(app, faculty):
    first = login_client(app.test_client(), faculty)
    second = login_client(app.test_client(), faculty)  # the same cookie, e.g. a copied one
    assert first.post("/logout").status_code == 302
    assert first.get("/group").status_code == 302
    assert second.get("/group").status_code == 302


def test_deactivated_account_is_logged_out_on_next_request(app, faculty, faculty_client):
    assert faculty_client.get("/group").status_code == 200
    with app.app_context():
        db.session.get(User, faculty.id).is_active = False
        db.session.commit()
    response = faculty_client.get("/group")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_password_change_revokes_old_sessions(app, faculty, faculty_client):
    from portal.auth.operations import set_password

    with app.app_context():
        set_password(db.session.get(User, faculty.id), "a brand new passphrase")
        db.session.commit()
    assert faculty_client.get("/group").status_code == 302


def test_passwords_are_hashed_with_scrypt(app, faculty):
    with app.app_context():
        stored = db.session.scalar(select(User.password_hash).where(User.id == faculty.id))
    assert stored.startswith("scrypt:")
    assert TEST_PASSWORD not in stored


def test_failed_login_message_is_tied_to_the_password_field(client, faculty):
    page = _login(client, faculty.email, "wrong password entirely").get_data(as_text=True)
    assert 'aria-describedby="password-error" aria-invalid="true"' in page
    assert (
        '<p class="error" id="password-error" role="alert">Invalid email or password.</p>' in page
    )
