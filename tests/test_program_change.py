"""A change of program keeps history: the old position ends, a linked new one follows."""

from datetime import date

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.loads import load_rows
from portal.models import AuditEvent, Position, Supervision, User
from tests.conftest import login_client
from tests.group_helpers import database_fingerprint
from tests.test_group_forms import edit_data, program_id

pytestmark = pytest.mark.both_backends

MASTERS = "Master's Research"


def _stints(app, person_id):
    with app.app_context():
        positions = db.session.scalars(
            select(Position).where(Position.person_id == person_id).order_by(Position.start_date)
        ).all()
        result = [
            (
                position.id,
                position.program.name,
                position.start_date,
                position.end_date,
                position.previous_position_id,
                position.owner_id,
                sorted(
                    (
                        link.supervisor_id or 0,
                        link.external_name or "",
                        link.role.value,
                        link.share,
                        link.state.value,
                    )
                    for link in position.supervisions
                ),
            )
            for position in positions
        ]
        db.session.remove()
        return result


def _change_data(app, client, position, **overrides):
    """The edit form, filled in to change the Master's to a PhD from 2024-09-01."""
    wanted = {
        "program": str(program_id(app, "PhD")),
        "program_change": "change",
        "change_from": "2024-09-01",
        "end_date": "",
        **overrides,
    }
    return edit_data(app, position.id, client, **wanted)


def _change(app, client, position, **overrides):
    data = _change_data(app, client, position, **overrides)
    return client.post(f"/group/members/{position.id}/edit", data=data)


@pytest.fixture
def masters(faculty, make_faculty, make_member):
    colleague = make_faculty("colleague@example.org", "Prof. Colleague")
    position = make_member(
        faculty,
        "Inès Master",
        program=MASTERS,
        start_date=date(2022, 9, 1),
        end_date=date(2024, 8, 31),
        others=[(colleague, "co-supervisor"), ("Prof. Externe", "co-supervisor")],
    )
    return position


def test_change_program_ends_the_old_position_and_starts_a_linked_one(
    app, faculty, faculty_client, masters
):
    response = _change(app, faculty_client, masters)
    assert response.status_code == 302
    old, new = _stints(app, masters.person_id)
    assert old[:5] == (masters.id, MASTERS, date(2022, 9, 1), date(2024, 8, 31), None)
    assert new[1:5] == ("PhD", date(2024, 9, 1), None, masters.id)
    assert new[5] == old[5] == faculty.id  # same owner
    assert new[6] == old[6]  # same supervisors, roles, shares; confirmed stays confirmed
    assert response.headers["Location"].endswith(f"/group/members/{new[0]}/edit")
    page = faculty_client.get(f"/group/members/{new[0]}/edit").get_data(as_text=True)
    assert "Programs over time" in page and f"/group/members/{masters.id}/edit" in page
    with app.app_context():
        actions = db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
        assert actions[-2:] == ["change-program", "create"]
        db.session.remove()


def test_correct_a_mistake_still_edits_in_place(app, faculty_client, masters):
    data = edit_data(app, masters.id, faculty_client, program=str(program_id(app, "PhD")))
    assert data["program_change"] == "correct"
    assert faculty_client.post(f"/group/members/{masters.id}/edit", data=data).status_code == 302
    stints = _stints(app, masters.person_id)
    assert len(stints) == 1 and stints[0][1] == "PhD"


def test_both_stints_are_seen_by_alumni_past_loads_and_conflict_of_interest(
    app, faculty, faculty_client, masters
):
    assert _change(app, faculty_client, masters).status_code == 302
    with app.app_context():
        # A past day sees the Master's student; today the PhD student.
        past = next(row for row in load_rows(date(2023, 6, 1)) if row.faculty_id == faculty.id)
        now = next(row for row in load_rows(date.today()) if row.faculty_id == faculty.id)
        assert past.by_kind.get("masters") == 1 and not past.by_kind.get("phd")
        assert now.by_kind.get("phd") == 1 and not now.by_kind.get("masters")
        db.session.remove()
    alumni = faculty_client.get("/group/alumni").get_data(as_text=True)
    assert "Inès Master" in alumni and MASTERS.replace("'", "&#39;") in alumni
    coi = faculty_client.get("/group/coi.csv").get_data(as_text=True)
    assert MASTERS in coi and "PhD" in coi


def test_the_same_change_posted_twice_makes_one_new_position(app, faculty_client, masters):
    data = _change_data(app, faculty_client, masters)
    assert faculty_client.post(f"/group/members/{masters.id}/edit", data=data).status_code == 302
    again = faculty_client.post(f"/group/members/{masters.id}/edit", data=data)
    assert again.status_code == 303
    assert len(_stints(app, masters.person_id)) == 2


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"change_from": ""}, "Enter the day the new program starts."),
        ({"change_from": "2022-09-01"}, "The new program must start after the current one"),
        ({"change_from": "2025-01-01"}, "the new program can start at the latest the day after"),
        ({"program": None}, "Choose the new program"),
        ({"end_date": "2024-06-30"}, "The end date of the new program cannot be before it"),
        # Days outside the portal's range (portal/days.py): a typo, or a plan past year 9999.
        ({"change_from": "9999-06-01"}, "Enter a date between 1950-01-01 and 2100-12-31."),
        ({"end_date": "9999-12-31"}, "Enter a date between 1950-01-01 and 2100-12-31."),
    ],
)
def test_bad_program_change_is_a_400_and_writes_nothing(
    app, faculty_client, masters, overrides, message
):
    if overrides.get("program", "") is None:
        overrides = {"program": str(program_id(app, MASTERS))}
    before = database_fingerprint(app)
    response = _change(app, faculty_client, masters, **overrides)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True).replace("&#39;", "'")
    assert database_fingerprint(app) == before


def test_a_hostile_colleague_cannot_change_the_program(
    app, faculty, faculty_client, make_faculty, masters
):
    data = _change_data(app, faculty_client, masters)
    before = database_fingerprint(app)
    for user in (
        make_faculty("hostile@example.org", "Hostile"),  # not linked: 404
        None,  # the confirmed co-supervisor: reads, may not change (403)
    ):
        if user is None:
            with app.app_context():
                colleague_id = db.session.scalar(
                    select(Supervision.supervisor_id).where(
                        Supervision.role == "co-supervisor", Supervision.supervisor_id.is_not(None)
                    )
                )
                db.session.remove()
            with app.app_context():
                user = db.session.get(User, colleague_id)
                db.session.expunge(user)
            expected = 403
        else:
            expected = 404
        client = login_client(app.test_client(), user)
        response = client.post(f"/group/members/{masters.id}/edit", data=data)
        assert response.status_code == expected
    assert database_fingerprint(app) == before
