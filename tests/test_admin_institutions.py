"""Institution administration: counts, rename without collisions, merging duplicates."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import AuditEvent, Institution, Position

pytestmark = pytest.mark.both_backends  # unique names and bulk updates differ per database


def _institution_id(app, name: str) -> int | None:
    with app.app_context():
        return db.session.scalar(select(Institution.id).where(Institution.name == name))


def _state(app):
    with app.app_context():
        institutions = [
            (i.id, i.name, i.name_key)
            for i in db.session.scalars(select(Institution).order_by(Institution.id))
        ]
        positions = [
            (p.id, p.institution_id, p.version)
            for p in db.session.scalars(select(Position).order_by(Position.id))
        ]
        events = db.session.scalar(select(func.count()).select_from(AuditEvent))
        return institutions, positions, events


@pytest.fixture
def duplicates(faculty, make_member):
    make_member(faculty, "A", institution="Université de Montréal")
    make_member(faculty, "B", institution="Université de Montréal")
    make_member(faculty, "C", institution="Universite of Montreal")
    make_member(faculty, "D", institution="McGill University")


def test_list_shows_each_institution_with_its_position_count(app, admin_client, duplicates):
    page = admin_client.get("/admin/institutions").get_data(as_text=True)
    assert "Université de Montréal" in page and "McGill University" in page
    assert "Université de Montréal (2)" in page and "Universite of Montreal (1)" in page


def test_institutions_page_query_count_is_fixed(
    app, admin_client, faculty, make_member, query_counter
):
    make_member(faculty, "A", institution="One")
    with query_counter() as small:
        admin_client.get("/admin/institutions")
    for number in range(20):
        make_member(faculty, f"M{number}", institution=f"Institution {number}")
    with query_counter() as large:
        admin_client.get("/admin/institutions")
    assert len(small) == len(large)


def test_rename_is_audited(app, admin_client, duplicates):
    wrong = _institution_id(app, "Universite of Montreal")
    response = admin_client.post(
        f"/admin/institutions/{wrong}/rename", data={"name": "  Concordia University "}
    )
    assert response.status_code == 302
    with app.app_context():
        institution = db.session.get(Institution, wrong)
        assert (institution.name, institution.name_key) == (
            "Concordia University",
            "concordia university",
        )
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "rename"))
        assert event.before == {"name": "Universite of Montreal"}


def test_rename_changing_only_accents_of_itself_is_allowed(app, admin_client, duplicates):
    mcgill = _institution_id(app, "McGill University")
    response = admin_client.post(
        f"/admin/institutions/{mcgill}/rename", data={"name": "MCGILL University"}
    )
    assert response.status_code == 302


@pytest.mark.parametrize(
    ("name", "message"),
    [
        (
            "universite de MONTREAL",
            "&#39;Université de Montréal&#39; already exists; merge the two",
        ),
        ("   ", "An institution name is required."),
    ],
)
def test_bad_rename_is_a_400_with_a_message_and_writes_nothing(
    app, admin_client, duplicates, name, message
):
    wrong = _institution_id(app, "Universite of Montreal")
    before = _state(app)
    response = admin_client.post(f"/admin/institutions/{wrong}/rename", data={"name": name})
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert _state(app) == before


def test_merge_moves_every_position_deletes_the_duplicate_and_is_audited(
    app, admin_client, duplicates
):
    keep = _institution_id(app, "Université de Montréal")
    duplicate = _institution_id(app, "Universite of Montreal")
    response = admin_client.post(
        "/admin/institutions/merge", data={"duplicate_id": duplicate, "keep_id": keep}
    )
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(Institution, duplicate) is None
        assert (
            db.session.scalar(
                select(func.count()).select_from(Position).where(Position.institution_id == keep)
            )
            == 3
        )
        moved = db.session.scalar(
            select(Position)
            .join(Position.person)
            .where(Position.institution_id == keep, Position.version == 2)
        )
        assert moved.person.full_name == "C"
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "merge"))
        assert event.entity_id == keep
        assert event.before == {"merged_id": duplicate, "merged_name": "Universite of Montreal"}
        assert event.after["positions_moved"] == 1
    page = admin_client.get("/admin/institutions").get_data(as_text=True)
    assert "Merged Universite of Montreal into Université de Montréal: 1 position moved." in page
    assert "Universite of Montreal (" not in page


def test_merge_is_reviewed_on_a_page_that_says_what_will_change(app, admin_client, duplicates):
    keep = _institution_id(app, "Université de Montréal")
    duplicate = _institution_id(app, "Universite of Montreal")
    listing = admin_client.get("/admin/institutions").get_data(as_text=True)
    assert 'action="/admin/institutions/merge/confirm"' in listing
    before = _state(app)
    response = admin_client.post(
        "/admin/institutions/merge/confirm", data={"duplicate_id": duplicate, "keep_id": keep}
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Merge Universite of Montreal into Université de Montréal?" in page
    assert "moves 1 position from Universite of Montreal to Université de Montréal" in page
    assert 'action="/admin/institutions/merge"' in page
    assert f'name="duplicate_id" value="{duplicate}"' in page
    assert _state(app) == before  # the review changes nothing
    # The same rules as the merge itself: into itself or unknown, a 400 with the message.
    itself = admin_client.post(
        "/admin/institutions/merge/confirm", data={"duplicate_id": keep, "keep_id": keep}
    )
    assert itself.status_code == 400
    assert "An institution cannot be merged into itself" in itself.get_data(as_text=True)
    unknown = admin_client.post(
        "/admin/institutions/merge/confirm", data={"duplicate_id": 99999, "keep_id": keep}
    )
    assert unknown.status_code == 400
    assert _state(app) == before


def test_merging_an_institution_into_itself_is_refused(app, admin_client, duplicates):
    keep = _institution_id(app, "Université de Montréal")
    before = _state(app)
    response = admin_client.post(
        "/admin/institutions/merge", data={"duplicate_id": keep, "keep_id": keep}
    )
    assert response.status_code == 400
    assert "An institution cannot be merged into itself" in response.get_data(as_text=True)
    assert _state(app) == before


def test_merging_an_unknown_institution_is_refused(app, admin_client, duplicates):
    keep = _institution_id(app, "Université de Montréal")
    before = _state(app)
    response = admin_client.post(
        "/admin/institutions/merge", data={"duplicate_id": 99999, "keep_id": keep}
    )
    assert response.status_code == 400
    assert "Not a valid choice" in response.get_data(as_text=True)
    assert _state(app) == before


def test_unknown_institution_rename_is_404(admin_client):
    assert admin_client.get("/admin/institutions/99999/rename").status_code == 404
