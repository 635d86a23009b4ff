"""The group operations called directly (no HTTP): rules, audit, and the database's own checks."""

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from portal.auth.access import group_owner
from portal.extensions import db
from portal.group import queries
from portal.group.operations import (
    DuplicatePersonError,
    MemberData,
    MemberError,
    StaleMemberError,
    SupervisorEntry,
    add_member,
    archive_member,
    find_or_create_institution,
    move_to_alumni,
    restore_archived,
    restore_member,
    update_member,
)
from portal.models import (
    AuditEvent,
    DepartureReason,
    Institution,
    Position,
    Program,
    Supervision,
    SupervisionRole,
    User,
)

pytestmark = pytest.mark.both_backends  # queries differ per database

PRINCIPAL = SupervisionRole.PRINCIPAL
CO = SupervisionRole.CO_SUPERVISOR


def _data(**overrides) -> MemberData:
    program_id = db.session.scalar(select(Program.id).where(Program.name == "PhD"))
    values = {
        "full_name": "Noémie St-Laurent",
        "program_id": program_id,
        "institution": "Université de Montréal",
        "role": PRINCIPAL,
        "start_date": date(2024, 9, 1),
    }
    values.update(overrides)
    return MemberData(**values)


def _users():
    faculty = User(email="f@example.org", display_name="Prof. F", password_hash="x")
    colleague = User(email="c@example.org", display_name="Prof. C", password_hash="x")
    db.session.add_all([faculty, colleague])
    db.session.flush()
    return faculty, colleague


def _links(position):
    return sorted(
        (link.supervisor_id or 0, link.external_name or "", link.role, link.share)
        for link in position.supervisions
    )


def test_add_member_defaults_shares_50_25_25_and_audits(app_context):
    faculty, colleague = _users()
    position = add_member(
        faculty,
        faculty,
        _data(
            supervisors=[
                SupervisorEntry(colleague.id, None, CO),
                SupervisorEntry(None, "Prof. Sørensen", CO),
            ]
        ),
    )
    assert _links(position) == sorted(
        [
            (faculty.id, "", PRINCIPAL, Decimal("50.00")),
            (colleague.id, "", CO, Decimal("25.00")),
            (0, "Prof. Sørensen", CO, Decimal("25.00")),
        ]
    )
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.entity_type == "positions"))
    assert (event.action, event.actor_id, event.before) == ("create", faculty.id, None)
    assert event.after["supervisors"][0] == "Prof. F: Principal supervisor, 50 %"


def test_two_principals_are_refused_by_the_service_and_the_database(app_context):
    faculty, colleague = _users()
    with pytest.raises(MemberError) as error:
        add_member(
            faculty, faculty, _data(supervisors=[SupervisorEntry(colleague.id, None, PRINCIPAL)])
        )
    assert error.value.field_name == "role"
    position = add_member(faculty, faculty, _data())
    db.session.commit()
    db.session.add(
        Supervision(
            position_id=position.id, supervisor_id=colleague.id, role=PRINCIPAL, share=Decimal("0")
        )
    )
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_shares_must_total_100(app_context):
    faculty, colleague = _users()
    with pytest.raises(MemberError, match="they total 110 %"):
        add_member(
            faculty,
            faculty,
            _data(
                share=Decimal("60"),
                supervisors=[SupervisorEntry(colleague.id, None, CO, Decimal("50"))],
            ),
        )
    assert db.session.scalar(select(func.count()).select_from(Position)) == 0


def test_unknown_supervisor_or_program_is_refused(app_context):
    faculty, _colleague = _users()
    with pytest.raises(MemberError) as error:
        add_member(faculty, faculty, _data(supervisors=[SupervisorEntry(987654, None, CO)]))
    assert error.value.field_name == "supervisors"
    with pytest.raises(MemberError) as error:
        add_member(faculty, faculty, _data(program_id=987654))
    assert error.value.field_name == "program"


def test_an_end_before_the_start_is_the_domains_error_not_the_databases(app_context):
    """Every caller (form, API, a script) gets the end-date message, not an IntegrityError."""
    faculty, _colleague = _users()
    with pytest.raises(MemberError) as error:
        add_member(faculty, faculty, _data(end_date=date(2024, 8, 31)))
    assert error.value.field_name == "end_date"
    assert error.value.message == "The end date cannot be before the start date."
    position = add_member(faculty, faculty, _data())
    with pytest.raises(MemberError) as error:
        update_member(
            faculty, position, faculty, _data(end_date=date(2020, 1, 1)), position.version
        )
    assert error.value.field_name == "end_date"
    assert db.session.scalar(select(func.count()).select_from(Position)) == 1


def test_duplicate_email_raises_unless_linking(app_context):
    faculty, _colleague = _users()
    first = add_member(faculty, faculty, _data(email="same@example.org"))
    with pytest.raises(DuplicatePersonError) as error:
        add_member(faculty, faculty, _data(full_name="Other Name", email="SAME@example.org"))
    assert error.value.person is first.person
    linked = add_member(
        faculty,
        faculty,
        _data(full_name="Other Name", email="same@example.org", link_existing=True),
    )
    assert linked.person is first.person and linked.person.full_name == "Noémie St-Laurent"


def test_institution_found_whatever_the_case_accents_and_spacing(app_context):
    first = find_or_create_institution("Université de Montréal")
    db.session.flush()
    assert find_or_create_institution("UNIVERSITE   de montreal") is first
    assert find_or_create_institution("Université de Montréal ") is first
    assert db.session.scalars(select(Institution.name)).all() == ["Université de Montréal"]


def test_update_with_old_version_raises_and_changes_nothing(app_context):
    faculty, _colleague = _users()
    position = add_member(faculty, faculty, _data(note="first"))
    db.session.commit()
    with pytest.raises(StaleMemberError):
        update_member(faculty, position, faculty, _data(note="second"), position.version - 1)
    assert position.note == "first"


def test_update_moves_principal_without_tripping_the_unique_index(app_context):
    faculty, colleague = _users()
    position = add_member(
        faculty, faculty, _data(supervisors=[SupervisorEntry(colleague.id, None, CO)])
    )
    db.session.commit()
    update_member(
        faculty,
        position,
        faculty,
        _data(role=CO, supervisors=[SupervisorEntry(colleague.id, None, PRINCIPAL)]),
        position.version,
    )
    db.session.commit()
    assert _links(position) == sorted(
        [(faculty.id, "", CO, Decimal("50.00")), (colleague.id, "", PRINCIPAL, Decimal("50.00"))]
    )
    assert position.version == 2


def test_alumni_restore_archive_cycle_audits_each_step(app_context):
    faculty, _colleague = _users()
    position = add_member(faculty, faculty, _data())
    move_to_alumni(faculty, position, date(2025, 1, 1), DepartureReason.GRADUATED, " Postdoc ")
    assert queries.alumni_members(faculty, date(2025, 6, 1))[0].outcome == "Postdoc"
    assert queries.current_members(faculty, date(2025, 6, 1)) == []
    restore_member(faculty, position)
    assert [row.name for row in queries.current_members(faculty, date(2025, 6, 1))] == [
        "Noémie St-Laurent"
    ]
    archive_member(faculty, position)
    assert queries.current_members(faculty, date(2025, 6, 1)) == []
    assert queries.member_for(faculty, position.id) is None
    assert [row.name for row in queries.archived_members()] == ["Noémie St-Laurent"]
    restore_archived(faculty, position)
    assert queries.archived_members() == []
    actions = db.session.scalars(
        select(AuditEvent.action)
        .where(AuditEvent.entity_type == "positions")
        .order_by(AuditEvent.id)
    ).all()
    assert actions == ["create", "move-to-alumni", "restore", "archive", "restore-archived"]
    with pytest.raises(MemberError):
        move_to_alumni(faculty, position, date(2020, 1, 1), DepartureReason.GRADUATED, None)


def test_member_for_enforces_the_group_boundary(app_context):
    faculty, colleague = _users()
    admin = User(email="a@example.org", display_name="Admin", password_hash="x", is_admin=True)
    db.session.add(admin)
    position = add_member(faculty, faculty, _data())
    assert queries.member_for(faculty, position.id) is position
    assert queries.member_for(colleague, position.id) is None
    assert queries.member_for(admin, position.id) is position
    assert group_owner(colleague, faculty.id) is None
    assert group_owner(admin, faculty.id) is faculty


@pytest.mark.both_backends
def test_find_faculty_matches_name_or_email_literally_and_stops_at_the_limit(
    app_context, make_faculty, make_admin
):
    make_admin("boss@example.org", "Prof. Admin Boss")
    for number in range(queries.FACULTY_SEARCH_LIMIT + 3):
        make_faculty(f"member{number:02d}@example.org", f"Prof. Many {number:02d}")
    make_faculty("percent@example.org", "Prof. 100% Sure")
    found = queries.find_faculty("MANY")
    assert len(found) == queries.FACULTY_SEARCH_LIMIT + 1  # one more: "type more of the name"
    assert found[0][1:] == ("Prof. Many 00", "member00@example.org")
    assert [row[1] for row in queries.find_faculty("percent@")] == ["Prof. 100% Sure"]
    assert [row[1] for row in queries.find_faculty("100%")] == ["Prof. 100% Sure"]
    assert queries.find_faculty("%") == [queries.find_faculty("100%")[0]]
    assert queries.find_faculty("_") == []
    assert queries.find_faculty("boss") == []  # administrators have no group
    assert queries.find_faculty("   ") == []
