"""One record per submission: the same create form posted twice creates one record."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import Person, Position, Program, SubmissionKey, utcnow
from tests.conftest import login_client
from tests.test_group_forms import new_member_data

pytestmark = pytest.mark.both_backends


def _key(page: str) -> str:
    match = re.search(r'name="submission_key" type="hidden" value="([^"]+)"', page) or re.search(
        r'id="submission_key" name="submission_key" type="hidden" value="([^"]+)"', page
    )
    assert match, "the form carries a submission key"
    return match.group(1)


def _count(app, model) -> int:
    with app.app_context():
        value = db.session.scalar(select(func.count()).select_from(model))
        db.session.remove()
        return value


def test_member_form_posted_twice_creates_one_record_and_shows_it(app, faculty_client):
    key = _key(faculty_client.get("/group/members/new").get_data(as_text=True))
    data = new_member_data(app, submission_key=key)
    first = faculty_client.post("/group/members/new", data=data)
    assert first.status_code == 302
    second = faculty_client.post("/group/members/new", data=data)  # double click, retry
    assert second.status_code == 303
    with app.app_context():
        positions = db.session.scalars(select(Position)).all()
        assert len(positions) == 1 and _count(app, Person) == 1
        assert second.headers["Location"].endswith(f"/group/members/{positions[0].id}/edit")
        stored = db.session.scalar(select(SubmissionKey))
        assert (stored.key, stored.entity_type, stored.entity_id) == (
            key,
            "positions",
            positions[0].id,
        )
        db.session.remove()
    shown = faculty_client.get(second.headers["Location"]).get_data(as_text=True)
    assert "This form was already saved" in shown


def test_each_new_form_gets_its_own_key_and_an_error_keeps_it(app, faculty_client):
    first = _key(faculty_client.get("/group/members/new").get_data(as_text=True))
    second = _key(faculty_client.get("/group/members/new").get_data(as_text=True))
    assert first != second
    refused = faculty_client.post(
        "/group/members/new", data=new_member_data(app, full_name="", submission_key=first)
    )
    assert refused.status_code == 400 and _key(refused.get_data(as_text=True)) == first
    assert _count(app, SubmissionKey) == 0  # nothing was created, the key stays usable
    saved = faculty_client.post(
        "/group/members/new", data=new_member_data(app, submission_key=first)
    )
    assert saved.status_code == 302 and _count(app, Position) == 1


def test_a_colleague_replaying_someone_elses_key_learns_nothing(
    app, faculty, faculty_client, make_faculty
):
    key = _key(faculty_client.get("/group/members/new").get_data(as_text=True))
    faculty_client.post("/group/members/new", data=new_member_data(app, submission_key=key))
    colleague = login_client(app.test_client(), make_faculty("hostile@example.org", "Hostile"))
    # Into the faculty's group: refused, nothing written.
    response = colleague.post(
        f"/group/members/new?faculty={faculty.id}",
        data=new_member_data(app, full_name="Someone", email="", submission_key=key),
    )
    assert response.status_code == 404
    # Into their own group: the key is theirs to use; no redirect to the faculty's record.
    own = colleague.post(
        "/group/members/new",
        data=new_member_data(app, full_name="Someone", email="", submission_key=key),
    )
    assert own.status_code == 302 and own.headers["Location"].endswith("/group")
    assert _count(app, Position) == 2


def test_old_keys_expire(app, faculty, faculty_client):
    with app.app_context():
        db.session.add(
            SubmissionKey(
                key="old",
                user_id=faculty.id,
                entity_type="positions",
                entity_id=999,
                created_at=utcnow() - timedelta(days=30),
            )
        )
        db.session.commit()
    response = faculty_client.post(
        "/group/members/new", data=new_member_data(app, submission_key="old")
    )
    assert response.status_code == 302 and _count(app, Position) == 1
    with app.app_context():
        new_id = db.session.scalar(select(Position.id))
        assert db.session.execute(select(SubmissionKey.key, SubmissionKey.entity_id)).all() == [
            ("old", new_id)
        ]
        db.session.remove()


def test_program_form_posted_twice_creates_one_program(app, admin_client):
    key = _key(admin_client.get("/admin/programs").get_data(as_text=True))
    data = {"name": "Doctorat", "kind": "phd", "weight": "1", "submission_key": key}
    assert admin_client.post("/admin/programs", data=data).status_code == 302
    again = admin_client.post("/admin/programs", data=data)
    assert again.status_code == 303 and "/admin/programs/" in again.headers["Location"]
    with app.app_context():
        assert (
            db.session.scalar(
                select(func.count()).select_from(Program).where(Program.name == "Doctorat")
            )
            == 1
        )
        db.session.remove()
