"""A likely duplicate (same name in the group, case and accents ignored) is asked about first."""

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.group.queries import same_name_in_group
from portal.models import Person, Position
from tests.conftest import count_queries, login_client
from tests.group_helpers import add_many_members, database_fingerprint
from tests.test_group_forms import new_member_data, program_id
from tests.test_roster_import import roster_csv, row, upload


def _counts(app) -> tuple[int, int]:
    with app.app_context():
        counts = (
            db.session.scalar(select(func.count()).select_from(Person)),
            db.session.scalar(select(func.count()).select_from(Position)),
        )
        db.session.remove()
        return counts


def test_same_name_without_email_asks_is_this_the_same_person(
    app, faculty, faculty_client, make_member
):
    existing = make_member(faculty, "Zoë O'Brien-Lévesque")
    before = database_fingerprint(app)
    data = new_member_data(app, full_name="zoe  o'brien-levesque", email="")
    response = faculty_client.post("/group/members/new", data=data)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Is this the same person as Zoë O&#39;Brien-Lévesque" in page
    assert f"/group/members/{existing.id}/edit" in page  # open the existing record
    assert f'name="same_person" value="{existing.person_id}"' in page
    assert database_fingerprint(app) == before


def test_a_different_person_with_the_same_name_is_saved_when_confirmed(
    app, faculty, faculty_client, make_member
):
    make_member(faculty, "Zoë O'Brien-Lévesque")
    data = new_member_data(app, email="", different_person="y")
    assert faculty_client.post("/group/members/new", data=data).status_code == 302
    assert _counts(app) == (2, 2)


def test_the_same_person_gets_a_new_position_on_their_record(
    app, faculty, faculty_client, make_member
):
    existing = make_member(faculty, "Zoë O'Brien-Lévesque", program="Master's Research")
    data = new_member_data(app, email="", same_person=str(existing.person_id))
    assert faculty_client.post("/group/members/new", data=data).status_code == 302
    assert _counts(app) == (1, 2)
    with app.app_context():
        programs = db.session.scalars(
            select(Position.program_id).where(Position.person_id == existing.person_id)
        ).all()
        assert sorted(programs) == sorted([program_id(app), program_id(app, "Master's Research")])
        db.session.remove()


def test_a_namesake_in_another_group_is_not_asked_about(
    app, faculty_client, make_faculty, make_member
):
    make_member(make_faculty("other@example.org", "Other"), "Zoë O'Brien-Lévesque")
    data = new_member_data(app, email="")
    assert faculty_client.post("/group/members/new", data=data).status_code == 302


@pytest.mark.both_backends
def test_a_hostile_colleague_cannot_attach_a_position_to_another_groups_person(
    app, faculty, make_faculty, make_member
):
    existing = make_member(faculty, "Zoë O'Brien-Lévesque")
    colleague = login_client(app.test_client(), make_faculty("hostile@example.org", "Hostile"))
    before = database_fingerprint(app)
    response = colleague.post(
        "/group/members/new",
        data=new_member_data(app, email="", same_person=str(existing.person_id)),
    )
    assert response.status_code == 403
    assert database_fingerprint(app) == before


@pytest.mark.both_backends
def test_the_namesake_query_is_one_indexed_query_whatever_the_group_size(app, faculty, make_member):
    add_many_members(app, faculty, 300)
    make_member(faculty, "Élodie Tremblay")
    with app.app_context():
        with count_queries(app) as statements:
            rows = same_name_in_group(faculty, "ELODIE   tremblay")
        assert [row.name for row in rows] == ["Élodie Tremblay"]
        selects = [text for text in statements if text.lstrip().upper().startswith("SELECT")]
        assert len(selects) == 1 and "persons.name_key = " in selects[0]
        db.session.remove()


@pytest.mark.both_backends
def test_a_confirmed_co_supervisor_cannot_take_over_the_persons_identity(
    app, faculty, make_faculty, make_member
):
    """A position of their own on the person would make them a keeper of the name, email and
    ORCID iD that the student's group keeps: neither "the same person" nor "link the existing
    person" attaches one for them (the group's owner may, or may transfer the record)."""
    colleague_account = make_faculty("co@example.org", "Prof. Co")
    existing = make_member(
        faculty,
        "Zoë O'Brien-Lévesque",
        email="zoe@example.org",
        others=[(colleague_account, "co-supervisor")],
    )
    colleague = login_client(app.test_client(), colleague_account)
    before = database_fingerprint(app)
    for attach in (
        {"email": "", "same_person": str(existing.person_id)},
        {"email": "zoe@example.org", "link_existing": "y"},
    ):
        response = colleague.post("/group/members/new", data=new_member_data(app, **attach))
        assert response.status_code == 403, attach
        assert "record is kept by the group that owns their position" in response.get_data(
            as_text=True
        ).replace("&#39;", "'")
        assert database_fingerprint(app) == before
    # Nor by importing a row with the person's email and a new program.
    data = roster_csv(
        row(
            "Zoë O'Brien-Lévesque",
            faculty="co@example.org",
            email="zoe@example.org",
            program="Master's Research",
            start="2023-09-01",
        )
    )
    response = upload(colleague, data)
    assert response.status_code == 400
    assert "record is kept by the group that owns their position" in response.get_data(
        as_text=True
    ).replace("&#39;", "'")
    assert database_fingerprint(app) == before
    # The owner attaches a position to the same person as before.
    owner = login_client(app.test_client(), faculty)
    data = new_member_data(app, email="", same_person=str(existing.person_id))
    assert owner.post("/group/members/new", data=data).status_code == 302
    assert _counts(app) == (1, 2)


@pytest.mark.both_backends
@pytest.mark.parametrize("person_id", ["99999999999999999999", "2147483648", "-3", "0x10"])
def test_a_same_person_id_no_database_holds_is_refused(app, faculty_client, person_id):
    before = database_fingerprint(app)
    response = faculty_client.post(
        "/group/members/new", data=new_member_data(app, email="", same_person=person_id)
    )
    assert response.status_code == 403
    assert database_fingerprint(app) == before
