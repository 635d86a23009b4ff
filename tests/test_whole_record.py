"""The whole record: unknown institutions, external supervisors' institutions, and imports that
follow the form's rules (caps, typed shares, audit) with co-supervisors in the file."""

import io
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from portal import demo
from portal.extensions import db
from portal.models import AuditEvent, Person, Position, Program, Supervision, SupervisionRole, User
from portal.roster.reports import ROSTER_COLUMNS
from portal.roster.supervisors_text import (
    OtherSupervisor,
    SupervisorsTextError,
    format_supervisors,
    parse_supervisors,
    supervisors_from_json,
)
from tests.api_helpers import bearer, new_token

HEADER = ",".join(ROSTER_COLUMNS)
TODAY = date.today()


def program_id(app, name="PhD") -> int:
    with app.app_context():
        return db.session.scalar(select(Program.id).where(Program.name == name))


def position_of(app, name: str) -> Position:
    with app.app_context():
        position = db.session.scalar(
            select(Position).join(Position.person).where(Person.full_name == name)
        )
        if position is not None:
            position.institution, list(position.supervisions)
            db.session.expunge_all()
        return position


def member_form(app, **overrides) -> dict:
    data = {
        "full_name": "Dr. Kenji Visitor",
        "email": "",
        "orcid": "",
        "program": str(program_id(app, "Independent visiting researcher")),
        "institution": "",
        "role": "none",
        "share": "",
        "start_date": "2024-09-01",
        "end_date": "",
        "note": "",
        "supervisors-0-supervisor": "",
        "supervisors-0-external_name": "",
        "supervisors-0-external_institution": "",
        "supervisors-0-role": "co-supervisor",
        "supervisors-0-share": "",
    }
    data.update(overrides)
    return data


# ---------------------------------------------------------------------------------------------
# Unknown institution: form, lists, public page, API, loads filter.


def test_form_saves_an_unknown_institution_only_when_ticked(app, faculty_client):
    refused = faculty_client.post("/group/members/new", data=member_form(app))
    assert refused.status_code == 400
    assert "Enter the institution, or tick" in refused.get_data(as_text=True)
    both = faculty_client.post(
        "/group/members/new",
        data=member_form(app, institution="McGill University", institution_unknown="y"),
    )
    assert both.status_code == 400
    assert position_of(app, "Dr. Kenji Visitor") is None

    saved = faculty_client.post(
        "/group/members/new", data=member_form(app, institution_unknown="y")
    )
    assert saved.status_code == 302
    assert position_of(app, "Dr. Kenji Visitor").institution_id is None
    page = faculty_client.get("/group").get_data(as_text=True)
    row = next(row for row in page.split("<tr") if "<td>Dr. Kenji Visitor" in row)
    assert "<td>—</td>" in row


def test_external_supervisor_has_a_name_and_an_institution(app, faculty, faculty_client):
    saved = faculty_client.post(
        "/group/members/new",
        data=member_form(
            app,
            full_name="Chidi Student",
            program=str(program_id(app)),
            institution="Concordia University",
            role="principal",
            **{
                "supervisors-0-external_name": "Prof. Daniel Ferreira",
                "supervisors-0-external_institution": "McGill University",
            },
        ),
    )
    assert saved.status_code == 302
    link = next(
        link for link in position_of(app, "Chidi Student").supervisions if link.external_name
    )
    assert (link.external_name, link.external_institution) == (
        "Prof. Daniel Ferreira",
        "McGill University",
    )
    assert "Prof. Daniel Ferreira (McGill University)" in faculty_client.get("/group").get_data(
        as_text=True
    )
    exported = faculty_client.get("/group/export.csv").get_data().decode("utf-8-sig")
    assert '""Prof. Daniel Ferreira"" at ""McGill University"" (co-supervisor, 50%)' in exported
    orphan = faculty_client.post(
        "/group/members/new",
        data=member_form(
            app,
            full_name="Orphan Institution",
            institution_unknown="y",
            **{"supervisors-0-external_institution": "McGill University"},
        ),
    )
    assert orphan.status_code == 400
    assert "type the name too" in orphan.get_data(as_text=True)


def test_demo_holds_the_institute_page_entries_without_institution(app, client):
    with app.app_context():
        demo.load_demo_data()
        db.session.commit()
        faculty = db.session.scalar(
            select(User).where(User.email == "helene.tremblay@demo.example.org")
        )
        slug = faculty.slug
        unknown = db.session.execute(
            select(Person.full_name, Program.name)
            .join(Position.person)
            .join(Position.program)
            .where(Position.institution_id.is_(None))
            .order_by(Person.full_name)
        ).all()
        notes = db.session.scalars(select(Position.note).where(Position.note.is_not(None))).all()
    assert [tuple(row) for row in unknown] == [
        ("Dr. Kenji Watanabe", "Independent visiting researcher"),
        ("Dr. Oren Ben-David", "Collaborating researcher"),
    ]
    assert notes == [demo.COLLABORATOR_NOTE]
    page = client.get(f"/people/{slug}").get_data(as_text=True)
    entry = page.split("Dr. Kenji Watanabe", 1)[1].split("</li>", 1)[0]
    assert "Independent visiting researcher" in entry and " - " not in entry
    profile = client.get(f"/people/{slug}.json").get_json()
    kenji = next(m for m in profile["current_members"] if m["name"] == "Dr. Kenji Watanabe")
    assert kenji["institution"] is None
    assert kenji["program_institution"] == "Independent visiting researcher"


def test_api_takes_null_as_an_unknown_institution(app, client, faculty):
    token = new_token(app, faculty)
    body = {
        "full_name": "Api Visitor",
        "program_id": program_id(app, "Independent visiting researcher"),
        "institution": None,
        "role": "none",
        "start_date": "2024-09-01",
        "supervisors": [
            {
                "external_name": "Prof. Elsewhere",
                "external_institution": "ETH Zurich",
                "role": "co-supervisor",
            }
        ],
    }
    response = client.post("/api/v1/group/members", json=body, headers=bearer(token))
    assert response.status_code == 201, response.get_json()
    member = response.get_json()
    assert member["institution"] is None
    external = next(s for s in member["supervisors"] if s["external"])
    assert external["institution"] == "ETH Zurich"
    blank = client.post(
        "/api/v1/group/members",
        json={**body, "full_name": "Blank", "institution": "  "},
        headers=bearer(token),
    )
    assert blank.status_code == 422
    assert "institution" in blank.get_json()["errors"]["json"]


def test_loads_filter_unknown_institution(app, faculty, make_faculty, make_member, admin_client):
    other = make_faculty("other@example.org", "Prof. Known Only")
    make_member(faculty, "Unknown Place", institution=None)
    make_member(other, "Known Place")
    page = admin_client.get("/admin/loads?institution=unknown").get_data(as_text=True)
    assert "Only supervisees whose institution is unknown." in page
    assert "Prof. Hélène Faculty" in page and "Prof. Known Only" not in page
    assert '<option selected value="unknown">Unknown</option>' in page


# ---------------------------------------------------------------------------------------------
# The other_supervisors cell.


def test_other_supervisors_text_reads_back_awkward_names_exactly(app):
    others = [
        OtherSupervisor(SupervisionRole.PRINCIPAL, Decimal("50"), email="ada@example.org"),
        OtherSupervisor(
            SupervisionRole.CO_SUPERVISOR,
            Decimal("33.33"),
            name='Roe, J. "JR" [x]; (y) at',
            institution='McGill (at) "U"; x',
        ),
        OtherSupervisor(SupervisionRole.NONE, None, name="at"),
    ]
    text = format_supervisors(others)
    assert text.startswith("ada@example.org (principal, 50%); ")
    assert parse_supervisors(text) == others
    for broken in ('"unclosed (none)', "ada@example.org (boss, 10%)", "x@y.org (none, 120%)"):
        with app.test_request_context(), pytest.raises(SupervisorsTextError):
            parse_supervisors(broken)


def test_other_supervisors_emails_are_read_as_the_portal_stores_them():
    """An address typed with a combining accent names the same account (NFC, lower case)."""
    decomposed = "Jose\u0301@Example.org"
    stored = "jos\u00e9@example.org"
    assert parse_supervisors(f"{decomposed} (principal, 50%)")[0].email == stored
    assert (
        supervisors_from_json([{"role": "principal", "share": 50, "email": decomposed}])[0].email
        == stored
    )


# ---------------------------------------------------------------------------------------------
# Imports follow the form's rules.


def upload(client, text: str, name="roster.csv"):
    return client.post(
        "/group/import",
        content_type="multipart/form-data",
        data={"file": (io.BytesIO(text.encode()), name)},
    )


def preview_token(page: str) -> str:
    return page.split('name="preview" type="hidden" value="', 1)[1].split('"', 1)[0]


@pytest.mark.both_backends
def test_import_creates_co_supervision_and_proposes_colleagues(
    app, faculty, make_faculty, faculty_client
):
    colleague = make_faculty("colleague@example.org", "Prof. Colleague")
    line = (
        'faculty@example.org,"Ana, Co",,PhD,,co-supervisor,2024-09-01,,current,,25,'
        '"colleague@example.org (principal, 50%); ""Prof. X, Jr."" at ""McGill"" '
        '(co-supervisor, 25%)",0000-0002-1825-0097,"faculty; assistant prof",\n'
    )
    page = upload(faculty_client, HEADER + "\n" + line).get_data(as_text=True)
    response = faculty_client.post("/group/import/confirm", data={"preview": preview_token(page)})
    assert response.status_code == 302
    position = position_of(app, "Ana, Co")
    assert position.institution_id is None and position.note == "faculty; assistant prof"
    assert position.owner_id == faculty.id
    links = {
        (link.supervisor_id, link.external_name): (
            link.role.value,
            link.share,
            link.state.value,
            link.external_institution,
        )
        for link in position.supervisions
    }
    assert links == {
        (faculty.id, None): ("co-supervisor", Decimal("25.00"), "confirmed", None),
        (colleague.id, None): ("principal", Decimal("50.00"), "proposed", None),
        (None, "Prof. X, Jr."): ("co-supervisor", Decimal("25.00"), "confirmed", "McGill"),
    }
    with app.app_context():
        proposed = db.session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "propose")
        )
        person = db.session.scalar(select(Person).where(Person.full_name == "Ana, Co"))
        assert proposed == 1 and person.orcid == "0000-0002-1825-0097"


@pytest.mark.both_backends
def test_import_over_a_cap_needs_save_anyway(app, faculty, faculty_client):
    with app.app_context():
        account = db.session.get(User, faculty.id)
        account.principal_cap = 1
        db.session.commit()
    lines = [
        f"faculty@example.org,Student {n},,PhD,Université de Montréal,principal,2024-09-01,,,"
        for n in (1, 2)
    ]
    preview = upload(faculty_client, "\n".join([",".join(ROSTER_COLUMNS[:10]), *lines]))
    page = preview.get_data(as_text=True)
    assert preview.status_code == 200
    assert "would be principal supervisor of 2 people, over their cap of 1" in page
    refused = faculty_client.post("/group/import/confirm", data={"preview": preview_token(page)})
    assert refused.status_code == 400
    assert "Save anyway, over the cap" in refused.get_data(as_text=True)
    assert position_of(app, "Student 1") is None
    accepted = faculty_client.post(
        "/group/import/confirm", data={"preview": preview_token(page), "accept_over_cap": "y"}
    )
    assert accepted.status_code == 302
    assert position_of(app, "Student 2") is not None


@pytest.mark.both_backends
def test_admin_import_keeps_typed_shares_unless_given_and_audits_share_changes(
    app, faculty, make_faculty, make_member, admin_client
):
    colleague = make_faculty("colleague@example.org", "Prof. Colleague")
    position = make_member(faculty, "Typed Shares", institution="McGill University")
    with app.app_context():
        stored = db.session.get(Position, position.id)
        stored.supervisions[0].role = SupervisionRole.PRINCIPAL
        stored.supervisions[0].share = Decimal("70")
        stored.supervisions.append(
            Supervision(external_name="Prof. Ext", role="co-supervisor", share=Decimal("30"))
        )
        db.session.commit()
    base = "faculty@example.org,Typed Shares,,PhD,McGill University,principal,2024-09-01,,,"
    # A colleague added without shares: the typed 70/30 is not silently reset.
    missing = upload(
        admin_client,
        f'{HEADER}\n{base},,"colleague@example.org (co-supervisor)",,,\n',
    )
    assert missing.status_code == 400
    assert "shares were typed" in missing.get_data(as_text=True)
    # With the shares given: the colleague joins (confirmed by the administrator's import) and
    # the stored links change, each change audited.
    page = upload(
        admin_client,
        f'{HEADER}\n{base},60,"colleague@example.org (co-supervisor, 10%); '
        f'""Prof. Ext"" (co-supervisor, 30%)",,,\n',
    ).get_data(as_text=True)
    assert "Share of Prof. Hélène Faculty: 70 % → 60 %" in page
    response = admin_client.post("/group/import/confirm", data={"preview": preview_token(page)})
    assert response.status_code == 302
    shares = {
        (link.supervisor_id, link.external_name): (link.share, link.state.value)
        for link in position_of(app, "Typed Shares").supervisions
    }
    assert shares == {
        (faculty.id, None): (Decimal("60.00"), "confirmed"),
        (None, "Prof. Ext"): (Decimal("30.00"), "confirmed"),
        (colleague.id, None): (Decimal("10.00"), "confirmed"),
    }
    with app.app_context():
        actions = db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions.count("import-update") == 1  # the faculty's share
    assert "import-create" in actions and "confirm-on-behalf" in actions
