"""Roles follow programs: a supervising role on a hosted program is confirmed before saving."""

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.group.views import record_version
from portal.models import Position, Supervision
from tests.group_helpers import database_fingerprint
from tests.test_group_forms import new_member_data, program_id

COLLABORATOR = "Collaborating researcher"


def test_the_form_knows_which_programs_default_to_host(app, faculty_client):
    page = faculty_client.get("/group/members/new").get_data(as_text=True)
    hosted = page.split('data-hosted-programs="', 1)[1].split('"', 1)[0].split()
    assert str(program_id(app, COLLABORATOR)) in hosted
    assert str(program_id(app, "PhD")) not in hosted


@pytest.mark.parametrize(
    "overrides",
    [
        {"role": "principal"},
        {
            "role": "none",
            "supervisors-0-external_name": "Prof. X",
            "supervisors-0-role": "co-supervisor",
        },
    ],
)
def test_supervising_role_on_a_hosted_program_asks_first(app, faculty_client, overrides):
    before = database_fingerprint(app)
    data = new_member_data(app, program=str(program_id(app, COLLABORATOR)), **overrides)
    response = faculty_client.post("/group/members/new", data=data)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "does not count toward supervision load" in page
    assert "Keep this role anyway" in page
    assert database_fingerprint(app) == before
    confirmed = faculty_client.post("/group/members/new", data={**data, "accept_role": "y"})
    assert confirmed.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(Position.program_id)) == program_id(app, COLLABORATOR)
        db.session.remove()


def test_host_role_on_a_hosted_program_saves_at_once(app, faculty_client):
    data = new_member_data(app, program=str(program_id(app, COLLABORATOR)), role="none")
    assert faculty_client.post("/group/members/new", data=data).status_code == 302


def test_the_question_is_in_french(app, faculty_client):
    data = new_member_data(app, program=str(program_id(app, COLLABORATOR)), role="principal")
    response = faculty_client.post(
        "/group/members/new", data=data, headers={"Accept-Language": "fr-CA"}
    )
    assert response.status_code == 200
    assert "ne compte pas dans la charge de supervision" in response.get_data(as_text=True)


def _edit_data(app, position, name, **overrides):
    with app.app_context():
        version = record_version(db.session.get(Position, position.id))  # as the form shows it
        db.session.remove()
    data = new_member_data(
        app,
        full_name=name,
        email="",
        program=str(position.program_id),
        role="principal",
        version=version,
    )
    data.update(overrides)
    return data


def test_edit_asks_when_the_program_changes_to_a_hosted_one(
    app, faculty, faculty_client, make_member
):
    position = make_member(
        faculty,
        "Ada Student",
    )
    data = _edit_data(app, position, "Ada Student", program=str(program_id(app, COLLABORATOR)))
    before = database_fingerprint(app)
    response = faculty_client.post(f"/group/members/{position.id}/edit", data=data)
    assert response.status_code == 200
    assert "does not count toward supervision load" in response.get_data(as_text=True)
    assert database_fingerprint(app) == before
    saved = faculty_client.post(
        f"/group/members/{position.id}/edit", data={**data, "accept_role": "y"}
    )
    assert saved.status_code == 302


def test_edit_of_an_unchanged_hosted_record_does_not_ask(app, faculty, faculty_client, make_member):
    position = make_member(faculty, "Old Collaborator", program=COLLABORATOR)
    data = _edit_data(app, position, "Old Collaborator", note="still here")
    response = faculty_client.post(f"/group/members/{position.id}/edit", data=data)
    assert response.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(Supervision.role)).value == "principal"
        db.session.remove()
