"""Language selection: saved preference, then the browser's choice, then Accept-Language."""

from sqlalchemy import select

from portal.extensions import db
from portal.models import User


def test_accept_language_picks_french(client):
    page = client.get("/login", headers={"Accept-Language": "fr-CA,fr;q=0.9,en;q=0.5"})
    assert '<html lang="fr-CA">' in page.get_data(as_text=True)


def test_english_by_default(client):
    assert '<html lang="en">' in client.get("/login").get_data(as_text=True)


def test_switching_language_is_remembered_for_the_browser(client):
    response = client.post("/language", data={"language": "fr_CA", "next": "/login"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    assert '<html lang="fr-CA">' in client.get("/login").get_data(as_text=True)


def test_switching_language_saves_the_users_preference(app, faculty, faculty_client):
    faculty_client.post("/language", data={"language": "fr_CA", "next": "/group"})
    with app.app_context():
        assert db.session.scalar(select(User.locale).where(User.id == faculty.id)) == "fr_CA"
    fresh = app.test_client()
    from tests.conftest import login_client

    page = login_client(fresh, faculty).get("/group", headers={"Accept-Language": "en"})
    assert '<html lang="fr-CA">' in page.get_data(as_text=True)


def test_unknown_language_and_outside_next_are_ignored(client):
    response = client.post("/language", data={"language": "xx", "next": "https://evil.example/"})
    assert response.headers["Location"] == "/"
    assert '<html lang="en">' in client.get("/login").get_data(as_text=True)


def test_templates_follow_a_language_forced_in_the_middle_of_a_request(app):
    """Templates read the catalogue once per request, yet force_locale still switches it."""
    from flask import render_template_string
    from flask_babel import force_locale

    from portal.labels import label_text
    from portal.models import SupervisionRole

    with app.test_request_context("/", headers={"Accept-Language": "fr-CA"}):
        assert render_template_string("{{ _('Edit') }}") == "Modifier"
        with force_locale("en"):
            assert render_template_string("{{ _('Edit') }}") == "Edit"
            assert label_text(SupervisionRole.CO_SUPERVISOR) == "Co-supervisor"
        assert render_template_string("{{ _('Edit') }}") == "Modifier"
        assert label_text(SupervisionRole.CO_SUPERVISOR) == "Codirection"
