"""Account administration: create, deactivate (ends sessions), reactivate, reset password."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import AuditEvent, User
from tests.conftest import TEST_PASSWORD, login_client


def _accounts_state(app):
    with app.app_context():
        users = [
            (u.email, u.display_name, u.is_admin, u.is_active, u.password_hash, u.session_token)
            for u in db.session.scalars(select(User).order_by(User.id))
        ]
        events = db.session.scalar(select(func.count()).select_from(AuditEvent))
        return users, events


def _user(app, email: str) -> User | None:
    with app.app_context():
        return db.session.scalar(select(User).where(User.email == email))


def test_accounts_page_lists_everyone(app, admin_client, faculty):
    page = admin_client.get("/admin/accounts").get_data(as_text=True)
    assert "Prof. Hélène Faculty" in page and "faculty@example.org" in page
    assert "Faculty member" in page and "Administrator" in page


def _shown_emails(page: str) -> list[str]:
    return re.findall(r"<td>([^<@]+@[^<]+)</td>", page)


def test_accounts_come_a_page_at_a_time_and_are_found_by_name_or_email(
    app, admin_client, make_faculty, query_counter, monkeypatch
):
    from portal.admin import queries

    monkeypatch.setattr(queries, "ACCOUNTS_PAGE_SIZE", 3)
    for number in range(1, 8):
        make_faculty(f"prof{number}@example.org", f"Prof. Number {number}")
    make_faculty("zoe@elsewhere.org", "Zoé 100% Ledoux")

    with query_counter() as statements:
        first = admin_client.get("/admin/accounts").get_data(as_text=True)
    # The administrator first, then by name; 9 accounts in pages of 3.
    assert _shown_emails(first) == ["admin@example.org", "prof1@example.org", "prof2@example.org"]
    assert "Accounts 1–3 of 9" in first
    assert 'href="/admin/accounts?page=2" rel="next"' in first
    assert 'rel="prev"' not in first
    assert len([sql for sql in statements if sql.startswith("SELECT")]) <= 4  # user, count, page

    last = admin_client.get("/admin/accounts?page=3").get_data(as_text=True)
    assert _shown_emails(last) == ["prof6@example.org", "prof7@example.org", "zoe@elsewhere.org"]
    assert 'rel="next"' not in last and 'href="/admin/accounts?page=2" rel="prev"' in last
    # A page past the end shows the last; a page that is not a number shows the first.
    past_the_end = admin_client.get("/admin/accounts?page=99").get_data(as_text=True)
    assert _shown_emails(past_the_end) == _shown_emails(last)
    assert "Accounts 7–9 of 9" in past_the_end
    not_a_number = admin_client.get("/admin/accounts?page=-2x").get_data(as_text=True)
    assert _shown_emails(not_a_number) == _shown_emails(first)
    assert admin_client.get("/admin/accounts?find=a%00b").status_code == 400

    found = admin_client.get("/admin/accounts?find=NUMBER").get_data(as_text=True)
    assert "Accounts 1–3 of 7" in found
    assert 'href="/admin/accounts?find=NUMBER&amp;page=2" rel="next"' in found
    assert _shown_emails(
        admin_client.get("/admin/accounts?find=ELSEWHERE").get_data(as_text=True)
    ) == ["zoe@elsewhere.org"]
    # The search is literal text: % and _ are not patterns.
    percent = admin_client.get("/admin/accounts?find=100%25").get_data(as_text=True)
    assert _shown_emails(percent) == ["zoe@elsewhere.org"]
    nothing = admin_client.get("/admin/accounts?find=%3Cb%3Enobody").get_data(as_text=True)
    assert "No account matches “&lt;b&gt;nobody”." in nothing
    assert "<b>nobody" not in nothing


@pytest.mark.both_backends
@pytest.mark.parametrize("typed", ["élise", "ÉLISE", "Élise", "DUPONT", "ÉDUPONT@"])
def test_an_account_is_found_whatever_the_case_of_its_accented_letters(
    admin_client, make_faculty, typed
):
    # SQLite's own lower() lowers A–Z only: "Élise" was found by "dupont" and not by "élise".
    make_faculty("édupont@example.org", "Élise Dupont")
    make_faculty("eric@example.org", "Éric Tremblay")
    found = admin_client.get(f"/admin/accounts?find={typed}").get_data(as_text=True)
    assert _shown_emails(found) == ["édupont@example.org"]
    caps = admin_client.get(f"/admin/caps?find={typed}").get_data(as_text=True)
    assert "Élise Dupont" in caps and "Éric Tremblay" not in caps


def test_create_faculty_with_a_chosen_password(app, admin_client, client):
    response = admin_client.post(
        "/admin/accounts/new",
        data={
            "email": "New.Prof@Example.org",
            "display_name": "Prof. Nouvelle Arrivée",
            "account_type": "faculty",
            "password": "a long enough passphrase",
        },
    )
    assert response.status_code == 302
    user = _user(app, "new.prof@example.org")
    assert user is not None and not user.is_admin and user.is_active
    assert user.check_password("a long enough passphrase")
    with app.app_context():
        event = db.session.scalar(
            select(AuditEvent).where(AuditEvent.action == "create", AuditEvent.entity_id == user.id)
        )
        assert event.actor_id is not None


def test_create_admin_with_a_generated_password_shown_once(app, admin_client, client):
    response = admin_client.post(
        "/admin/accounts/new",
        data={
            "email": "office2@example.org",
            "display_name": "Second Office",
            "account_type": "admin",
            "password": "",
        },
    )
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    page = response.get_data(as_text=True)
    password = re.search(r'<code class="generated-password">([^<]+)</code>', page).group(1)
    assert len(password) >= 12
    user = _user(app, "office2@example.org")
    assert user.is_admin and user.check_password(password)
    # Not kept anywhere the next page could show it again.
    assert password not in admin_client.get("/admin/accounts").get_data(as_text=True)
    login = client.post("/login", data={"email": "office2@example.org", "password": password})
    assert login.status_code == 302


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {
                "email": "FACULTY@example.org",
                "display_name": "Dup",
                "account_type": "faculty",
                "password": "a long enough passphrase",
            },
            "An account with the email faculty@example.org already exists.",
        ),
        (
            {
                "email": "weak@example.org",
                "display_name": "Weak",
                "account_type": "faculty",
                "password": "short",
            },
            "The password must be at least 12 characters long.",
        ),
        (
            {
                "email": "weak@example.org",
                "display_name": "Weak",
                "account_type": "faculty",
                "password": "aaaaaaaaaaaaaaa",
            },
            "The password is too easy to guess",
        ),
        (
            {
                "email": "not-an-email",
                "display_name": "X",
                "account_type": "faculty",
                "password": "a long enough passphrase",
            },
            "is not a valid email address.",
        ),
        (
            {
                "email": "x@example.org",
                "display_name": "",
                "account_type": "faculty",
                "password": "a long enough passphrase",
            },
            "Enter a display name.",
        ),
        (
            {
                "email": "x@example.org",
                "display_name": "X",
                "account_type": "superuser",
                "password": "a long enough passphrase",
            },
            "Not a valid choice",
        ),
    ],
)
def test_bad_new_account_is_a_400_with_a_message_and_writes_nothing(
    app, admin_client, faculty, data, message
):
    before = _accounts_state(app)
    response = admin_client.post("/admin/accounts/new", data=data)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert _accounts_state(app) == before


def test_deactivate_ends_open_sessions_and_blocks_login(app, admin_client, faculty, client):
    session_client = login_client(app.test_client(), faculty)
    assert session_client.get("/group").status_code == 200
    response = admin_client.post(f"/admin/accounts/{faculty.id}/deactivate")
    assert response.status_code == 302
    assert session_client.get("/group").status_code == 302  # back to login
    user = _user(app, "faculty@example.org")
    assert not user.is_active and user.session_token != faculty.session_token
    assert (
        client.post(
            "/login", data={"email": "faculty@example.org", "password": TEST_PASSWORD}
        ).status_code
        == 403  # the right password: told the account is deactivated
    )
    with app.app_context():
        assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "deactivate"))


def test_deactivation_goes_through_a_page_that_says_what_happens(
    app, admin_client, faculty, faculty_client
):
    accounts = admin_client.get("/admin/accounts").get_data(as_text=True)
    assert f'href="/admin/accounts/{faculty.id}/deactivate"' in accounts
    assert f'<form method="post" action="/admin/accounts/{faculty.id}/deactivate"' not in accounts
    before = _accounts_state(app)
    page = admin_client.get(f"/admin/accounts/{faculty.id}/deactivate")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Deactivate Prof. Hélène Faculty?" in text
    assert "ends its open sessions" in text and "nothing is deleted" in text
    assert f'<form method="post" action="/admin/accounts/{faculty.id}/deactivate"' in text
    assert _accounts_state(app) == before  # asking changes nothing
    # Faculty members reach neither the page nor the action.
    assert faculty_client.get(f"/admin/accounts/{faculty.id}/deactivate").status_code == 403
    assert faculty_client.post(f"/admin/accounts/{faculty.id}/deactivate").status_code == 403
    assert _accounts_state(app) == before
    assert admin_client.get("/admin/accounts/99999/deactivate").status_code == 404


def test_deactivated_faculty_leave_the_loads_page(app, admin_client, faculty):
    admin_client.post(f"/admin/accounts/{faculty.id}/deactivate")
    admin_client.get("/admin/accounts")  # shows (and so clears) the flash message
    assert "Prof. Hélène Faculty" not in admin_client.get("/admin/loads").get_data(as_text=True)


def test_reactivate_lets_them_log_in_again(app, admin_client, faculty, client):
    admin_client.post(f"/admin/accounts/{faculty.id}/deactivate")
    response = admin_client.post(f"/admin/accounts/{faculty.id}/reactivate")
    assert response.status_code == 302
    assert _user(app, "faculty@example.org").is_active
    assert (
        client.post(
            "/login", data={"email": "faculty@example.org", "password": TEST_PASSWORD}
        ).status_code
        == 302
    )


def test_an_admin_cannot_deactivate_themselves(app, admin_client, admin):
    before = _accounts_state(app)
    response = admin_client.post(f"/admin/accounts/{admin.id}/deactivate")
    assert response.status_code == 400
    assert "You cannot deactivate your own account." in response.get_data(as_text=True)
    assert _accounts_state(app) == before


def test_unknown_account_is_404(admin_client):
    assert admin_client.post("/admin/accounts/99999/deactivate").status_code == 404
    assert admin_client.get("/admin/accounts/99999/password").status_code == 404


def test_reset_password_ends_sessions(app, admin_client, faculty):
    session_client = login_client(app.test_client(), faculty)
    response = admin_client.post(
        f"/admin/accounts/{faculty.id}/password", data={"password": "a brand new passphrase"}
    )
    assert response.status_code == 302
    assert _user(app, "faculty@example.org").check_password("a brand new passphrase")
    assert session_client.get("/group").status_code == 302


def test_reset_password_can_generate_one(app, admin_client, faculty):
    response = admin_client.post(f"/admin/accounts/{faculty.id}/password", data={"password": ""})
    assert response.status_code == 200
    password = re.search(
        r'<code class="generated-password">([^<]+)</code>', response.get_data(as_text=True)
    ).group(1)
    assert _user(app, "faculty@example.org").check_password(password)


def test_weak_reset_password_is_a_400_and_writes_nothing(app, admin_client, faculty):
    before = _accounts_state(app)
    response = admin_client.post(
        f"/admin/accounts/{faculty.id}/password", data={"password": "tooshort"}
    )
    assert response.status_code == 400
    assert "The password must be at least 12 characters long." in response.get_data(as_text=True)
    assert _accounts_state(app) == before


def test_admin_actions_need_the_csrf_token(csrf_app, make_admin, make_faculty):
    acting = make_admin("csrf-admin@example.org", "CSRF Admin")
    target = make_faculty("csrf-target@example.org", "CSRF Target")
    client = login_client(csrf_app.test_client(), acting)
    response = client.post(f"/admin/accounts/{target.id}/deactivate")
    assert response.status_code == 400
    with csrf_app.app_context():
        assert db.session.get(User, target.id).is_active


@pytest.mark.parametrize(
    ("language", "password", "field", "message"),
    [
        ("en", "short", "password", "at least 12 characters"),
        ("en", "aaaaaaaaaaaaaaa", "password", "too easy to guess"),
        ("fr-CA", "short", "password", "au moins 12 caractères"),
        ("fr-CA", "aaaaaaaaaaaaaaa", "password", "trop facile à deviner"),
        ("fr-CA", "a long enough passphrase", "email", "existe déjà"),
    ],
)
def test_account_errors_land_on_their_own_field_in_every_language(
    app, admin_client, faculty, language, password, field, message
):
    """The field comes from the error itself, not from guessing at the translated message."""
    before = _accounts_state(app)
    email = "faculty@example.org" if field == "email" else "weak@example.org"
    response = admin_client.post(
        "/admin/accounts/new",
        data={
            "email": email,
            "display_name": "Weak",
            "account_type": "faculty",
            "password": password,
        },
        headers={"Accept-Language": language},
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    error = re.search(rf'<p class="error" id="{field}-error" role="alert">([^<]*)</p>', page)
    assert error is not None and message in error.group(1)
    others = {"email", "display_name", "password"} - {field}
    assert not any(f'id="{other}-error"' in page for other in others)
    assert _accounts_state(app) == before


@pytest.mark.parametrize("email", ["not-an-email", "", "a" * 250 + "@example.org"])
def test_an_invalid_email_is_an_error_of_the_email_field(app_context, email):
    """The command line and single sign-on create accounts without a form's own check."""
    from portal.auth.operations import AccountError, create_user

    with pytest.raises(AccountError) as raised:
        create_user(email, "Someone", "a long enough passphrase")
    assert raised.value.field == "email"
    assert db.session.scalar(select(func.count()).select_from(User)) == 0
