"""Recording milestones on the member page, the /group additions, plans and exports."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.milestones import sync_plan
from portal.models import (
    AuditEvent,
    Milestone,
    MilestoneExtension,
    MilestonePlanItem,
    MilestoneStatus,
    Position,
    Program,
)
from tests.conftest import login_client

TODAY = date.today()


def _months_ago(months: int) -> date:
    from portal.milestones import add_months

    return add_months(TODAY, -months)


@pytest.fixture
def student(app, faculty, make_member):
    """A PhD student who started 26 months ago: research plan and qualifying exam are overdue."""
    position = make_member(faculty, "Noémie Étudiante", start_date=_months_ago(26))
    with app.app_context():
        sync_plan(db.session.get(Position, position.id))
        db.session.commit()
        db.session.remove()
    return position


def _milestone(app, position_id: int, name: str) -> Milestone:
    with app.app_context():
        milestone = db.session.scalar(
            select(Milestone).where(Milestone.position_id == position_id, Milestone.name_en == name)
        )
        db.session.expunge(milestone)
        db.session.remove()
    return milestone


def _state(app):
    """Milestones, extensions and audit events: to prove that a refused request wrote nothing."""
    with app.app_context():
        state = (
            db.session.execute(
                select(
                    Milestone.id,
                    Milestone.status,
                    Milestone.due_date,
                    Milestone.done_on,
                    Milestone.note,
                    Milestone.version,
                ).order_by(Milestone.id)
            ).all(),
            db.session.scalar(select(func.count(MilestoneExtension.id))),
            db.session.scalar(select(func.count(AuditEvent.id))),
        )
        db.session.remove()
    return state


def test_member_page_lists_the_milestones_with_their_state(faculty_client, student):
    page = faculty_client.get(f"/group/members/{student.id}/milestones")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Milestones of Noémie Étudiante" in text
    assert "Research plan" in text and "Qualifying exam" in text
    assert "milestone-state--overdue" in text


def test_mark_done_extend_waive_note_and_reopen(app, faculty_client, student):
    plan = _milestone(app, student.id, "Research plan")
    response = faculty_client.post(
        f"/group/milestones/{plan.id}/done",
        data={f"m{plan.id}-done_on": TODAY.isoformat(), f"m{plan.id}-version": plan.version},
    )
    assert response.status_code == 302
    exam = _milestone(app, student.id, "Qualifying exam")
    new_date = TODAY + timedelta(days=45)
    response = faculty_client.post(
        f"/group/milestones/{exam.id}/extend",
        data={
            f"m{exam.id}-due_date": new_date.isoformat(),
            f"m{exam.id}-reason": "Committee member on leave",
            f"m{exam.id}-version": exam.version,
        },
    )
    assert response.status_code == 302
    proposal = _milestone(app, student.id, "Thesis proposal")
    response = faculty_client.post(
        f"/group/milestones/{proposal.id}/waive",
        data={
            f"m{proposal.id}-waived_reason": "Proposal defended in the master's",
            f"m{proposal.id}-version": proposal.version,
        },
    )
    assert response.status_code == 302
    response = faculty_client.post(
        f"/group/milestones/{exam.id}/note",
        data={f"m{exam.id}-note": "Booked room B-2310", f"m{exam.id}-version": exam.version + 1},
    )
    assert response.status_code == 302
    with app.app_context():
        plan_now = db.session.get(Milestone, plan.id)
        exam_now = db.session.get(Milestone, exam.id)
        proposal_now = db.session.get(Milestone, proposal.id)
        assert (plan_now.status, plan_now.done_on) == (MilestoneStatus.DONE, TODAY)
        assert exam_now.due_date == new_date and exam_now.planned_date == exam.due_date
        assert [(e.from_date, e.to_date, e.reason) for e in exam_now.extensions] == [
            (exam.due_date, new_date, "Committee member on leave")
        ]
        assert exam_now.note == "Booked room B-2310"
        assert proposal_now.waived_reason == "Proposal defended in the master's"
        actions = list(
            db.session.scalars(
                select(AuditEvent.action)
                .where(AuditEvent.entity_type == "positions", AuditEvent.entity_id == student.id)
                .order_by(AuditEvent.id)
            )
        )
        assert actions == [
            "milestone-done",
            "milestone-extended",
            "milestone-waived",
            "milestone-note",
        ]
        proposal_version = proposal_now.version
        db.session.remove()
    # The member's history says it, with the reason of the extension.
    history = faculty_client.get(f"/group/members/{student.id}/edit").get_data(as_text=True)
    assert "milestone date moved" in history and "Committee member on leave" in history
    response = faculty_client.post(
        f"/group/milestones/{proposal.id}/reopen",
        data={f"m{proposal.id}-version": proposal_version},
    )
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(Milestone, proposal.id).status == MilestoneStatus.OPEN


@pytest.mark.parametrize(
    ("action", "fields", "message"),
    [
        ("done", {"done_on": ""}, "Enter the day it was done."),
        ("done", {"done_on": "2026-02-30"}, "Not a valid date value."),
        ("done", {"done_on": (TODAY + timedelta(days=1)).isoformat()}, "cannot be in the future"),
        ("done", {"done_on": "2000-01-01"}, "cannot be before the position"),
        ("extend", {"due_date": "2030-01-01", "reason": "  "}, "Give a reason."),
        ("extend", {"due_date": "", "reason": "Late"}, "Enter the new due date."),
        ("extend", {"due_date": "2000-01-01", "reason": "Late"}, "cannot be before the position"),
        ("waive", {"waived_reason": ""}, "Give a reason."),
        ("waive", {"waived_reason": "x" * 301}, "Keep the reason short."),
        ("note", {"note": "x" * 501}, "Keep the note short."),
        ("reopen", {}, "already open"),
    ],
)
def test_bad_input_is_refused_with_a_message_and_nothing_written(
    app, faculty_client, student, action, fields, message
):
    plan = _milestone(app, student.id, "Research plan")
    before = _state(app)
    data = {f"m{plan.id}-{key}": value for key, value in fields.items()}
    data[f"m{plan.id}-version"] = plan.version
    response = faculty_client.post(f"/group/milestones/{plan.id}/{action}", data=data)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert _state(app) == before


def test_a_stale_form_is_refused_with_409(app, faculty_client, student):
    plan = _milestone(app, student.id, "Research plan")
    before = _state(app)
    response = faculty_client.post(
        f"/group/milestones/{plan.id}/done",
        data={f"m{plan.id}-done_on": TODAY.isoformat(), f"m{plan.id}-version": plan.version - 1},
    )
    assert response.status_code == 409
    assert "changed by someone else" in response.get_data(as_text=True)
    assert _state(app) == before


def test_another_faculty_cannot_reach_or_change_the_milestones(app, make_faculty, student):
    other = login_client(app.test_client(), make_faculty("other@example.org"))
    plan = _milestone(app, student.id, "Research plan")
    before = _state(app)
    assert other.get(f"/group/members/{student.id}/milestones").status_code == 404
    response = other.post(
        f"/group/milestones/{plan.id}/done",
        data={f"m{plan.id}-done_on": TODAY.isoformat(), f"m{plan.id}-version": plan.version},
    )
    assert response.status_code == 404
    assert other.post("/group/milestones/999999/done").status_code == 404
    assert _state(app) == before


def test_an_admin_can_record(app, admin_client, student):
    plan = _milestone(app, student.id, "Research plan")
    response = admin_client.post(
        f"/group/milestones/{plan.id}/done",
        data={f"m{plan.id}-done_on": TODAY.isoformat(), f"m{plan.id}-version": plan.version},
    )
    assert response.status_code == 302


def test_group_page_shows_whats_due_the_next_milestone_and_filters(
    app, faculty, faculty_client, make_member, student
):
    recent = make_member(faculty, "Recent Student", start_date=TODAY - timedelta(days=10))
    with app.app_context():
        sync_plan(db.session.get(Position, recent.id))
        db.session.commit()
    page = faculty_client.get("/group").get_data(as_text=True)
    panel = page.split('id="due-panel-title"')[1].split("</section>")[0]
    assert "Noémie Étudiante" in panel and "Research plan" in panel
    assert "Recent Student" not in panel  # nothing of theirs is due within 30 days
    assert "Next milestone" in page
    # The old student is not past 60 months; a student who started 61 months ago is.
    make_member(faculty, "Very Late", start_date=_months_ago(61))
    filtered = faculty_client.get("/group?past_expected=1").get_data(as_text=True)
    assert "Very Late" in filtered
    assert (
        "Noémie Étudiante" not in filtered.split('id="due-panel-title"')[1].split("</section>")[1]
    )


def test_the_panel_follows_what_is_recorded(app, faculty_client, student):
    plan = _milestone(app, student.id, "Research plan")
    faculty_client.post(
        f"/group/milestones/{plan.id}/done?return_to=group",
        data={f"m{plan.id}-done_on": TODAY.isoformat(), f"m{plan.id}-version": plan.version},
    )
    page = faculty_client.get("/group").get_data(as_text=True)
    panel = page.split('id="due-panel-title"')[1].split("</section>")[0]
    assert "Research plan" not in panel
    assert "Qualifying exam" in panel


def test_roster_export_adds_the_next_milestone_only_when_asked(faculty_client, student):
    plain = faculty_client.get("/group/export.csv").get_data(as_text=True).lstrip("\ufeff")
    header = next(csv.reader(io.StringIO(plain)))
    assert header[-1] == "departure_reason"  # the last roster column
    asked = faculty_client.get("/group/export.csv?with=milestones").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(asked.lstrip("\ufeff"))))
    assert rows[0][: len(header)] == header
    assert rows[0][len(header) :] == [
        "next_milestone",
        "next_milestone_due",
        "next_milestone_status",
    ]
    assert rows[1][-3] == "Research plan"
    assert rows[1][-1] == "overdue"
    json_rows = faculty_client.get("/group/export.json?with=milestones").get_json()
    assert json_rows[0]["next_milestone"] == "Research plan"
    bad = faculty_client.get("/group/export.csv?with=everything")
    assert bad.status_code == 400
    assert "the only extra is with=milestones" in bad.get_data(as_text=True)


def test_an_export_with_milestones_imports_again(faculty_client, student):
    exported = faculty_client.get("/group/export.csv?with=milestones").data
    response = faculty_client.post(
        "/group/import",
        data={"file": (io.BytesIO(exported), "roster.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 200
    assert "unknown column" not in response.get_data(as_text=True)


# ---------------------------------------------------------------------------------------------
# Plans.


def test_admin_adds_edits_and_retires_a_plan_step(app, admin_client, faculty):
    with app.app_context():
        phd = db.session.scalar(select(Program).where(Program.name == "PhD"))
        phd_id = phd.id
        db.session.remove()
    page = admin_client.get("/admin/milestone-plans")
    assert page.status_code == 200
    assert "Qualifying exam" in page.get_data(as_text=True)
    response = admin_client.post(
        f"/admin/milestone-plans/{phd_id}/items",
        data={
            f"p{phd_id}-name_en": "Ethics training",
            f"p{phd_id}-name_fr": "Formation en éthique",
            f"p{phd_id}-due_months": "3",
            f"p{phd_id}-repeat_months": "",
            f"p{phd_id}-sort_order": "5",
        },
    )
    assert response.status_code == 302
    with app.app_context():
        item = db.session.scalar(
            select(MilestonePlanItem).where(MilestonePlanItem.name_en == "Ethics training")
        )
        assert (item.name_fr, item.due_months, item.repeat_months) == (
            "Formation en éthique",
            3,
            None,
        )
        item_id = item.id
        db.session.remove()
    response = admin_client.post(
        f"/admin/milestone-plans/items/{item_id}/edit",
        data={
            "name_en": "Ethics course",
            "name_fr": "Cours d'éthique",
            "due_months": "4",
            "repeat_months": "",
            "sort_order": "5",
        },
    )
    assert response.status_code == 302
    assert admin_client.post(f"/admin/milestone-plans/items/{item_id}/retire").status_code == 302
    with app.app_context():
        item = db.session.get(MilestonePlanItem, item_id)
        assert (item.name_en, item.due_months, item.is_active) == ("Ethics course", 4, False)
    response = admin_client.post(
        f"/admin/milestone-plans/{phd_id}/duration",
        data={f"d{phd_id}-expected_duration_months": "72"},
    )
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(Program, phd_id).expected_duration_months == 72


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name_en": "", "name_fr": "x", "due_months": "1"}, "Give the milestone a name."),
        ({"name_en": "x", "name_fr": "x", "due_months": "-1"}, "Enter a whole number of months"),
        ({"name_en": "x", "name_fr": "x", "due_months": "abc"}, "Enter a whole number of months"),
        ({"name_en": "x", "name_fr": "x", "due_months": "999"}, "from 0 to 240"),
        (
            {"name_en": "x", "name_fr": "x", "due_months": "", "repeat_months": "12"},
            "A repeating milestone needs",
        ),
        (
            {"name_en": "x", "name_fr": "x", "due_months": "1", "repeat_months": "0"},
            "repeats every 1 month or more",
        ),
        # A position in the list no database column holds: refused, never an overflow.
        (
            {"name_en": "x", "name_fr": "x", "sort_order": "99999999999999999999"},
            "Enter a position in the list from 0 to 1000.",
        ),
        (
            {"name_en": "x", "name_fr": "x", "sort_order": "1,000,000,000,000"},
            "Enter a position in the list from 0 to 1000.",
        ),
        ({"name_en": "x", "name_fr": "x", "sort_order": "-2"}, "Enter a whole number such as 3"),
    ],
)
def test_bad_plan_steps_are_refused(app, admin_client, fields, message):
    with app.app_context():
        phd_id = db.session.scalar(select(Program.id).where(Program.name == "PhD"))
        count = db.session.scalar(select(func.count(MilestonePlanItem.id)))
        db.session.remove()
    response = admin_client.post(
        f"/admin/milestone-plans/{phd_id}/items",
        data={f"p{phd_id}-{key}": value for key, value in fields.items()},
    )
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count(MilestonePlanItem.id))) == count


def test_bad_duration_is_refused(app, admin_client):
    with app.app_context():
        phd_id = db.session.scalar(select(Program.id).where(Program.name == "PhD"))
    response = admin_client.post(
        f"/admin/milestone-plans/{phd_id}/duration",
        data={f"d{phd_id}-expected_duration_months": "0"},
    )
    assert response.status_code == 400
    assert "from 1 to 240" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Program, phd_id).expected_duration_months == 60


def test_only_administrators_manage_plans(app, faculty_client):
    with app.app_context():
        item_id = db.session.scalar(select(MilestonePlanItem.id).limit(1))
        phd_id = db.session.scalar(select(Program.id).where(Program.name == "PhD"))
    assert faculty_client.get("/admin/milestone-plans").status_code == 403
    assert faculty_client.post(f"/admin/milestone-plans/{phd_id}/items").status_code == 403
    assert faculty_client.post(f"/admin/milestone-plans/items/{item_id}/retire").status_code == 403
    assert faculty_client.get(f"/admin/milestone-plans/items/{item_id}/edit").status_code == 403


def test_pages_load_in_a_fixed_number_of_queries(
    app, faculty, faculty_client, admin_client, make_member, query_counter
):
    def add(count: int, start: int) -> None:
        for number in range(start, start + count):
            member = make_member(
                faculty, f"Member {number:03d}", start_date=_months_ago(number % 70)
            )
            with app.app_context():
                sync_plan(db.session.get(Position, member.id))
                db.session.commit()
                db.session.remove()

    urls = ("/group", "/group/milestones", "/admin/progress")
    add(2, 0)
    small = {}
    for url in urls:
        client = admin_client if url.startswith("/admin") else faculty_client
        with query_counter() as statements:
            assert client.get(url).status_code == 200
        small[url] = len(statements)
    add(25, 2)
    for url in urls:
        client = admin_client if url.startswith("/admin") else faculty_client
        with query_counter() as statements:
            assert client.get(url).status_code == 200
        assert len(statements) == small[url], url


def test_the_command_line_export_can_add_the_next_milestone(app, faculty, student):
    result = app.test_cli_runner().invoke(
        args=["export-roster", "--faculty", faculty.email, "--with", "milestones"]
    )
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.output.lstrip("\ufeff"))))
    assert rows[0][-3:] == ["next_milestone", "next_milestone_due", "next_milestone_status"]
    assert rows[1][-3] == "Research plan"
    plain = app.test_cli_runner().invoke(args=["export-roster", "--faculty", faculty.email])
    assert "next_milestone" not in plain.output


def test_a_form_without_its_version_is_refused(app, faculty_client, student):
    plan = _milestone(app, student.id, "Research plan")
    before = _state(app)
    response = faculty_client.post(
        f"/group/milestones/{plan.id}/done", data={f"m{plan.id}-done_on": TODAY.isoformat()}
    )
    assert response.status_code == 400
    assert "This form is incomplete or out of date" in response.get_data(as_text=True)
    assert _state(app) == before


def test_the_demo_group_has_milestones_in_every_state(app):
    from portal.demo import load_demo_data
    from portal.milestones import due_state
    from portal.models import DueState

    with app.app_context():
        load_demo_data()
        db.session.commit()
        states = {
            due_state(status, due, TODAY)
            for status, due in db.session.execute(select(Milestone.status, Milestone.due_date))
        }
        extensions = db.session.scalar(select(func.count(MilestoneExtension.id)))
        db.session.remove()
    assert states == set(DueState)
    assert extensions >= 1
