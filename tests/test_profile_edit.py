"""Editing one's own profile at /profile: fields, slug rules, publishing, and every bad input."""

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models import AuditEvent, User


def profile_of(app, user) -> dict:
    with app.app_context():
        row = db.session.get(User, user.id)
        return {
            "title": row.title,
            "department": row.department,
            "biography": row.biography,
            "research_topics": row.research_topics,
            "slug": row.slug,
            "profile_published": row.profile_published,
        }


def valid_form(**overrides) -> dict:
    form = {
        "title": "Associate Professor, Department of Mathematics and Statistics\r\n"
        "Canada Research Chair in Dynamical Systems",
        "department": "Department of Mathematics and Statistics",
        "biography": "Hélène works on « dynamical systems ».\r\n\r\nShe likes O'Reilly books.",
        "research_topics": "Computational Neuroscience\r\n\r\nDynamical Systems\r\n",
        "slug": "helene-faculty",
        "profile_published": "y",
    }
    form.update(overrides)
    return {key: value for key, value in form.items() if value is not None}


def test_profile_requires_login(client):
    response = client.get("/profile")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]
    assert client.post("/profile", data=valid_form()).status_code == 302


def test_profile_form_suggests_a_slug_from_the_display_name(app, make_faculty):
    from tests.conftest import login_client

    user = make_faculty("helene@example.org", "Prof. Hélène Tremblay-Okafor")
    client = login_client(app.test_client(), user)
    page = client.get("/profile").get_data(as_text=True)
    assert 'value="helene-tremblay-okafor"' in page
    for label in (
        "Title and positions",
        "Department",
        "Biography",
        "Research topics",
        "Profile address",
        "Publish my profile",
    ):
        assert f">{label}</label>" in page
    assert 'href="/profile" aria-current="page">My profile</a>' in page  # nav item


def test_suggested_slug_avoids_one_already_taken(app, make_faculty):
    from tests.conftest import login_client

    make_faculty("first@example.org", "Hélène Tremblay-Okafor", slug="helene-tremblay-okafor")
    user = make_faculty("second@example.org", "Prof. Hélène Tremblay-Okafor")
    page = login_client(app.test_client(), user).get("/profile").get_data(as_text=True)
    assert 'value="helene-tremblay-okafor-2"' in page


def test_saving_the_profile_stores_every_field_and_publishes(app, faculty, faculty_client):
    response = faculty_client.post("/profile", data=valid_form())
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/profile")
    saved = profile_of(app, faculty)
    assert saved == {
        "title": "Associate Professor, Department of Mathematics and Statistics\n"
        "Canada Research Chair in Dynamical Systems",
        "department": "Department of Mathematics and Statistics",
        "biography": "Hélène works on « dynamical systems ».\n\nShe likes O'Reilly books.",
        "research_topics": ["Computational Neuroscience", "Dynamical Systems"],
        "slug": "helene-faculty",
        "profile_published": True,
    }
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "profile.update"))
        assert event.after["slug"] == "helene-faculty" and event.before["slug"] is None
    page = faculty_client.get("/profile").get_data(as_text=True)
    assert "Your profile was saved." in page
    assert "/people/helene-faculty" in page
    assert faculty_client.get("/people/helene-faculty").status_code == 200


def test_unpublishing_takes_the_page_down(app, faculty, faculty_client, client):
    faculty_client.post("/profile", data=valid_form())
    assert client.get("/people/helene-faculty").status_code == 200
    faculty_client.post("/profile", data=valid_form(profile_published=None))
    assert profile_of(app, faculty)["profile_published"] is False
    assert client.get("/people/helene-faculty").status_code == 404


def test_slug_may_stay_empty_while_unpublished(app, faculty, faculty_client):
    response = faculty_client.post("/profile", data=valid_form(slug="", profile_published=None))
    assert response.status_code == 302
    assert profile_of(app, faculty)["slug"] is None


BAD_INPUTS = [
    (
        {"slug": "Hélène Faculty"},
        "slug",
        "Use only lowercase letters a-z, digits and single hyphens",
    ),
    (
        {"slug": "helene_faculty"},
        "slug",
        "Use only lowercase letters a-z, digits and single hyphens",
    ),
    ({"slug": "-helene"}, "slug", "Use only lowercase letters a-z, digits and single hyphens"),
    (
        {"slug": "helene--faculty"},
        "slug",
        "Use only lowercase letters a-z, digits and single hyphens",
    ),
    ({"slug": "a" * 121}, "slug", "at most 120 characters"),
    ({"slug": ""}, "slug", "Choose a profile address before publishing your profile."),
    ({"title": "x" * 301}, "title", "Keep this to at most 300 characters."),
    ({"department": "x" * 201}, "department", "Keep this to at most 200 characters."),
    ({"biography": "x" * 10_001}, "biography", "Keep this to at most 10000 characters."),
    ({"research_topics": "x" * 101}, "research_topics", "Each research topic must be at most 100"),
    (
        {"research_topics": "\n".join(f"Topic {n}" for n in range(31))},
        "research_topics",
        "List at most 30 research topics.",
    ),
    (
        {"research_topics": "Dynamical Systems\ndynamical systems"},
        "research_topics",
        "“dynamical systems” is listed twice.",
    ),
]


@pytest.mark.parametrize(
    ("fields", "field_id", "message"),
    BAD_INPUTS,
    ids=[f"{case[1]}-{n}" for n, case in enumerate(BAD_INPUTS)],
)
def test_bad_profile_input_is_refused_with_a_message_and_nothing_written(
    app, faculty, faculty_client, fields, field_id, message
):
    before = profile_of(app, faculty)
    response = faculty_client.post("/profile", data=valid_form(**fields))
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    error_start = page.index(f'id="{field_id}-error"')
    assert message in page[error_start : error_start + 400]
    assert profile_of(app, faculty) == before
    with app.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(AuditEvent)) == 0


def test_duplicate_slug_is_refused_and_nothing_written(app, faculty, faculty_client, make_faculty):
    make_faculty("other@example.org", "Other Prof", slug="helene-faculty")
    before = profile_of(app, faculty)
    response = faculty_client.post("/profile", data=valid_form())
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "This profile address is already used by someone else." in page
    assert 'id="slug-error"' in page
    assert profile_of(app, faculty) == before


def test_keeping_ones_own_slug_is_not_a_duplicate(app, faculty, faculty_client):
    assert faculty_client.post("/profile", data=valid_form()).status_code == 302
    response = faculty_client.post("/profile", data=valid_form(biography="Changed."))
    assert response.status_code == 302
    assert profile_of(app, faculty)["biography"] == "Changed."


def test_profile_form_needs_csrf_token(csrf_app, make_faculty):
    import re

    from tests.conftest import login_client

    user = make_faculty()
    client = login_client(csrf_app.test_client(), user)
    assert client.post("/profile", data=valid_form()).status_code == 400
    assert profile_of(csrf_app, user)["slug"] is None
    page = client.get("/profile").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    assert client.post("/profile", data=valid_form(csrf_token=token)).status_code == 302
    assert profile_of(csrf_app, user)["slug"] == "helene-faculty"


def test_slug_taken_between_check_and_write_is_refused_cleanly(
    app, faculty, faculty_client, make_faculty, monkeypatch
):
    # Two people saving the same slug at once: the unique key catches the one the check missed.
    make_faculty("other@example.org", "Other Prof", slug="helene-faculty")
    monkeypatch.setattr("portal.people.profile.slug_is_taken", lambda slug, user: False)
    before = profile_of(app, faculty)
    response = faculty_client.post("/profile", data=valid_form())
    assert response.status_code == 400
    assert "This profile address is already used by someone else." in response.get_data(
        as_text=True
    )
    assert profile_of(app, faculty) == before
