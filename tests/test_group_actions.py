"""Move to alumni, restore, archive and the administrators' restore of archived entries."""

from datetime import date, timedelta

from sqlalchemy import select

from portal.extensions import db
from portal.models import AuditEvent, Position, Program
from tests.conftest import login_client
from tests.group_helpers import database_fingerprint


def _position(app, position_id):
    with app.app_context():
        position = db.session.get(Position, position_id)
        values = (
            position.end_date,
            position.departure_reason,
            position.outcome,
            position.archived_at,
        )
        db.session.remove()
        return values


def _actions(app, position_id):
    with app.app_context():
        actions = db.session.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.entity_id == position_id, AuditEvent.entity_type == "positions")
            .order_by(AuditEvent.id)
        ).all()
        db.session.remove()
        return actions


def test_move_to_alumni_records_end_reason_and_outcome(app, faculty, faculty_client, make_member):
    position = make_member(faculty, "Dr. Leaving", start_date=date(2019, 9, 1))
    form = faculty_client.get(f"/group/members/{position.id}/move-to-alumni")
    page = form.get_data(as_text=True)
    assert form.status_code == 200 and ">End date</label>" in page and "How they left" in page
    yesterday = (date.today() - timedelta(days=1)).isoformat()
    assert f'value="{yesterday}"' in page
    response = faculty_client.post(
        f"/group/members/{position.id}/move-to-alumni",
        data={
            "end_date": "2024-06-30",
            "departure_reason": "graduated",
            "outcome": "Postdoc at ETH Zurich",
        },
    )
    assert response.status_code == 302 and response.headers["Location"] == "/group/alumni"
    end, reason, outcome, archived = _position(app, position.id)
    assert (end, reason.value, outcome, archived) == (
        date(2024, 6, 30),
        "graduated",
        "Postdoc at ETH Zurich",
        None,
    )
    alumni = faculty_client.get("/group/alumni").get_data(as_text=True)
    assert "Dr. Leaving" in alumni and "Postdoc at ETH Zurich" in alumni
    assert "Dr. Leaving" not in faculty_client.get("/group").get_data(as_text=True)
    assert _actions(app, position.id) == ["move-to-alumni"]


def test_moving_a_record_saved_before_the_day_range_keeps_to_the_range(
    app, faculty, faculty_client, make_member
):
    position = make_member(faculty, "Started In Year One", start_date=date(1, 1, 1))
    before = database_fingerprint(app)
    response = faculty_client.post(
        f"/group/members/{position.id}/move-to-alumni",
        data={"end_date": "0500-01-01", "departure_reason": "graduated"},
    )
    assert response.status_code == 400
    assert "Enter a date between 1950-01-01 and 2100-12-31." in response.get_data(as_text=True)
    assert database_fingerprint(app) == before


def test_move_to_alumni_bad_input_writes_nothing(app, faculty, faculty_client, make_member):
    position = make_member(faculty, "Stays", start_date=date(2022, 1, 1))
    url = f"/group/members/{position.id}/move-to-alumni"
    cases = [
        (
            {"end_date": "2021-12-31", "departure_reason": "graduated"},
            "The end date cannot be before the start date",
        ),
        ({"end_date": "", "departure_reason": "graduated"}, "Enter the end date."),
        (
            {
                "end_date": (date.today() + timedelta(days=3)).isoformat(),
                "departure_reason": "graduated",
            },
            "A member stays current through their end date",
        ),
        (
            {"end_date": date.today().isoformat(), "departure_reason": "graduated"},
            "A member stays current through their end date",
        ),
        (
            {"end_date": "2023-01-01", "departure_reason": "expelled"},
            "Choose how they left from the list.",
        ),
        (
            {"end_date": "2023-01-01", "departure_reason": "graduated", "outcome": "x" * 301},
            "At most 300 characters.",
        ),
    ]
    for data, message in cases:
        before = database_fingerprint(app)
        response = faculty_client.post(url, data=data)
        assert response.status_code == 400, data
        assert message in response.get_data(as_text=True), data
        assert database_fingerprint(app) == before


def test_restore_makes_an_alumnus_current_again(app, faculty, faculty_client, make_member):
    position = make_member(
        faculty,
        "Came Back",
        start_date=date(2019, 1, 1),
        end_date=date(2021, 1, 1),
        departure_reason="transferred",
        outcome="Elsewhere",
    )
    alumni = faculty_client.get("/group/alumni").get_data(as_text=True)
    assert f'action="/group/members/{position.id}/restore"' in alumni
    response = faculty_client.post(f"/group/members/{position.id}/restore")
    assert response.status_code == 302
    assert _position(app, position.id) == (None, None, None, None)
    assert "<td>Came Back" in faculty_client.get("/group").get_data(as_text=True)
    assert _actions(app, position.id) == ["restore"]


def test_archive_is_confirmed_then_the_owner_undoes_it(
    app, faculty, faculty_client, admin, admin_client, make_faculty, make_member
):
    position = make_member(faculty, "Entered By Mistake")
    # The edit page links to a confirmation page that says what will happen; nothing changes.
    edit = faculty_client.get(f"/group/members/{position.id}/edit").get_data(as_text=True)
    assert f'href="/group/members/{position.id}/archive"' in edit
    before = database_fingerprint(app)
    confirm = faculty_client.get(f"/group/members/{position.id}/archive")
    assert confirm.status_code == 200
    text = confirm.get_data(as_text=True)
    assert "Archive Entered By Mistake?" in text
    assert "the exports, the loads and the public profile" in text
    assert "You can undo it" in text
    assert f'action="/group/members/{position.id}/archive"' in text
    assert database_fingerprint(app) == before

    response = faculty_client.post(f"/group/members/{position.id}/archive")
    assert response.status_code == 302 and response.headers["Location"] == "/group/archived"
    assert _position(app, position.id)[3] is not None
    archived = faculty_client.get("/group/archived").get_data(as_text=True)
    assert "the entry left the lists" in archived
    assert f'action="/group/members/{position.id}/restore-archived"' in archived
    assert "Entered By Mistake" not in faculty_client.get("/group").get_data(as_text=True)
    assert faculty_client.get(f"/group/members/{position.id}/edit").status_code == 404

    # The owner undoes it: back in the group, audited.
    response = faculty_client.post(f"/group/members/{position.id}/restore-archived")
    assert response.status_code == 302 and response.headers["Location"] == "/group/archived"
    assert _position(app, position.id)[3] is None
    assert "<td>Entered By Mistake" in faculty_client.get("/group").get_data(as_text=True)
    assert _actions(app, position.id) == ["archive", "restore-archived"]
    # Restoring something that is not archived is a 404, not a silent no-op.
    assert faculty_client.post(f"/group/members/{position.id}/restore-archived").status_code == 404

    # Administrators see every group's archived entries and restore them too.
    faculty_client.post(f"/group/members/{position.id}/archive")
    page = admin_client.get("/group/archived").get_data(as_text=True)
    assert "Entered By Mistake" in page and "Restore" in page
    assert admin_client.post(f"/group/members/{position.id}/restore-archived").status_code == 302
    assert _position(app, position.id)[3] is None


def test_only_the_owner_or_an_administrator_archives_and_restores(
    app, faculty, faculty_client, make_faculty, make_member
):
    """A co-supervising colleague reads the record but their crafted POSTs get 403; a stranger's
    get 404; nothing changes either way, and neither sees the entry among their archived ones."""
    colleague = make_faculty("colleague@example.org", "Prof. Colleague")
    stranger = make_faculty("stranger@example.org", "Prof. Stranger")
    position = make_member(faculty, "Owned Here", others=[(colleague, "co-supervisor")])
    hostile = login_client(app.test_client(), colleague)
    outsider = login_client(app.test_client(), stranger)
    before = database_fingerprint(app)
    assert hostile.get(f"/group/members/{position.id}/archive").status_code == 403
    assert hostile.post(f"/group/members/{position.id}/archive").status_code == 403
    assert outsider.post(f"/group/members/{position.id}/archive").status_code == 404
    assert database_fingerprint(app) == before

    faculty_client.post(f"/group/members/{position.id}/archive")
    before = database_fingerprint(app)
    assert hostile.post(f"/group/members/{position.id}/restore-archived").status_code == 403
    assert outsider.post(f"/group/members/{position.id}/restore-archived").status_code == 404
    assert database_fingerprint(app) == before
    assert _position(app, position.id)[3] is not None
    for client in (hostile, outsider):
        page = client.get("/group/archived")
        assert page.status_code == 200 and "Owned Here" not in page.get_data(as_text=True)
    assert _actions(app, position.id) == ["archive"]


def test_audit_events_carry_before_and_after(app, faculty, faculty_client, make_member):
    position = make_member(faculty, "Audited", start_date=date(2020, 1, 1))
    faculty_client.post(
        f"/group/members/{position.id}/move-to-alumni",
        data={"end_date": "2024-01-31", "departure_reason": "left-without-degree"},
    )
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.entity_id == position.id))
        assert event.actor_id == faculty.id
        assert event.before["end_date"] is None and event.after["end_date"] == "2024-01-31"
        assert event.after["departure_reason"] == "left-without-degree"
    page = faculty_client.get(f"/group/members/{position.id}/edit").get_data(as_text=True)
    assert "moved to alumni" in page and "2024-01-31" in page


def test_actions_refuse_get(app, faculty, faculty_client, make_member):
    position = make_member(faculty, "Only By Post")
    for action in ("restore", "restore-archived"):
        assert faculty_client.get(f"/group/members/{position.id}/{action}").status_code == 405


def test_actions_need_a_csrf_token_when_csrf_is_on(csrf_app, make_faculty, make_member):
    faculty = make_faculty()
    client = login_client(csrf_app.test_client(), faculty)
    position = make_member(faculty, "Protected")
    before = database_fingerprint(csrf_app)
    assert client.post(f"/group/members/{position.id}/archive").status_code == 400
    assert client.post("/group/members/new", data={"full_name": "X"}).status_code == 400
    assert database_fingerprint(csrf_app) == before
    page = client.get("/group/members/new").get_data(as_text=True)
    assert 'name="csrf_token"' in page


def test_history_and_program_names_read_in_words_in_both_languages(
    app, faculty, faculty_client, admin_client, make_member
):
    position = make_member(faculty, "Said In Words", start_date=date(2020, 1, 1))
    faculty_client.post(
        f"/group/members/{position.id}/move-to-alumni",
        data={"end_date": "2024-01-31", "departure_reason": "graduated"},
    )
    faculty_client.post(f"/group/members/{position.id}/restore")
    edit = f"/group/members/{position.id}/edit"
    english = faculty_client.get(edit).get_data(as_text=True)
    assert "How they left: Graduated" in english
    assert "How they left: removed (was Graduated)" in english
    assert "graduated" not in english and "→" not in english
    with faculty_client.session_transaction() as session:
        session["locale"] = "fr_CA"
    french = faculty_client.get(edit).get_data(as_text=True)
    assert "Motif de départ : Diplômé" in french and "graduated" not in french
    assert "Doctorat" in faculty_client.get("/group").get_data(as_text=True)
    # An administrator renames the French name; French pages follow, exports keep the name.
    with app.app_context():
        program = db.session.scalar(select(Program).where(Program.name == "PhD"))
        form = {
            "name": "PhD",
            "name_fr": "Doctorat (Ph. D.)",
            "kind": program.kind.value,
            "weight": "1",
            "counts_toward_load": "y",
            "is_active": "y",
        }
    assert admin_client.post(f"/admin/programs/{program.id}/edit", data=form).status_code == 302
    assert "Doctorat (Ph. D.)" in faculty_client.get("/group").get_data(as_text=True)
    exported = faculty_client.get("/group/export.csv").get_data(as_text=True)
    assert ",PhD," in exported and "Doctorat" not in exported
