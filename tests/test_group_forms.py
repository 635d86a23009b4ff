"""Adding and editing members: what is saved, and every bad input (message, nothing written)."""

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models import (
    AuditEvent,
    Institution,
    Person,
    Position,
    Program,
    Supervision,
    User,
)
from tests.conftest import login_client
from tests.group_helpers import answer_data, database_fingerprint


def program_id(app, name="PhD") -> int:
    with app.app_context():
        return db.session.scalar(select(Program.id).where(Program.name == name))


def new_member_data(app, **overrides) -> dict:
    data = {
        "full_name": "Zoë O'Brien-Lévesque",
        "email": "zoe@example.org",
        "orcid": "",
        "program": str(program_id(app)),
        "institution": "Université de Montréal",
        "role": "principal",
        "share": "",
        "start_date": "2024-09-01",
        "end_date": "",
        "note": "",
        "supervisors-0-supervisor": "",
        "supervisors-0-external_name": "",
        "supervisors-0-role": "co-supervisor",
        "supervisors-0-share": "",
    }
    data.update(overrides)
    return data


def saved_position(app, name: str):
    with app.app_context():
        position = db.session.scalar(
            select(Position).join(Position.person).where(Person.full_name == name)
        )
        assert position is not None
        result = {
            "id": position.id,
            "version": position.version,
            "program": position.program.name,
            "institution": position.institution.name,
            "start": position.start_date,
            "end": position.end_date,
            "note": position.note,
            "email": position.person.email,
            "orcid": position.person.orcid,
            "person_id": position.person_id,
            "links": sorted(
                (link.supervisor_id or 0, link.external_name or "", link.role.value, link.share)
                for link in position.supervisions
            ),
        }
        db.session.remove()
        return result


# ---------------------------------------------------------------------------------------------
# Adding.


def test_new_form_has_the_contract_labels_and_names(app, faculty_client):
    page = faculty_client.get("/group/members/new").get_data(as_text=True)
    for label in (
        "Full name",
        "Email",
        "Program",
        "Institution",
        "Supervision role",
        "Start date",
        "End date",
        "ORCID iD",
        "Note",
        "Share (%)",
    ):
        assert f">{label}</label>" in page
    for name in (
        "full_name",
        "email",
        "orcid",
        "program",
        "institution",
        "role",
        "start_date",
        "end_date",
        "note",
        "supervisors-0-supervisor",
        "supervisors-0-external_name",
        "supervisors-0-role",
        "supervisors-0-share",
    ):
        assert f'name="{name}"' in page
    assert 'list="institution-options"' in page and "<datalist" in page
    assert "<script>" not in page  # CSP forbids inline scripts


def test_add_member_with_co_supervisor_and_external_default_shares(
    app, faculty, faculty_client, make_faculty
):
    colleague = make_faculty("colleague@example.org", "Prof. Colleague")
    response = faculty_client.post(
        "/group/members/new",
        data=new_member_data(
            app,
            **{
                "supervisors-0-supervisor": str(colleague.id),
                "supervisors-1-external_name": "Prof. Ingrid Sørensen",
                "supervisors-1-role": "co-supervisor",
                "note": "faculty; assistant prof",
            },
        ),
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/group"
    saved = saved_position(app, "Zoë O'Brien-Lévesque")
    assert saved["links"] == sorted(
        [
            (faculty.id, "", "principal", Decimal("50.00")),
            (colleague.id, "", "co-supervisor", Decimal("25.00")),
            (0, "Prof. Ingrid Sørensen", "co-supervisor", Decimal("25.00")),
        ]
    )
    assert saved["email"] == "zoe@example.org" and saved["note"] == "faculty; assistant prof"
    # The colleague was named, not asked: a proposal, out of their group until they confirm.
    mine = faculty_client.get("/group").get_data(as_text=True)
    colleague_client = login_client(app.test_client(), colleague)
    theirs = colleague_client.get("/group").get_data(as_text=True)
    assert "<td>Zoë O&#39;Brien-Lévesque" in mine and "<td>Principal supervisor</td>" in mine
    assert "awaiting Prof. Colleague (co-supervisor)" in mine
    assert "Zoë O&#39;Brien-Lévesque" not in theirs
    with app.app_context():
        link_id = db.session.scalar(
            select(Supervision.id).where(Supervision.supervisor_id == colleague.id)
        )
    confirmed = colleague_client.post(
        f"/group/requests/{link_id}", data=answer_data(app, link_id, "confirm")
    )
    assert confirmed.status_code == 302
    theirs = colleague_client.get("/group").get_data(as_text=True)
    assert "<td>Zoë O&#39;Brien-Lévesque" in theirs and "<td>Co-supervisor</td>" in theirs
    with app.app_context():
        event = db.session.scalar(
            select(AuditEvent).where(
                AuditEvent.action == "create", AuditEvent.entity_type == "positions"
            )
        )
        assert event.actor_id == faculty.id and event.before is None
        assert event.after["full_name"] == "Zoë O'Brien-Lévesque"


def test_sole_supervisor_gets_100_and_typed_shares_are_kept(
    app, faculty, faculty_client, make_faculty
):
    faculty_client.post("/group/members/new", data=new_member_data(app, full_name="Solo", email=""))
    assert saved_position(app, "Solo")["links"] == [
        (faculty.id, "", "principal", Decimal("100.00"))
    ]
    colleague = make_faculty()
    faculty_client.post(
        "/group/members/new",
        data=new_member_data(
            app,
            full_name="Typed Shares",
            email="",
            share="70",
            **{"supervisors-0-supervisor": str(colleague.id), "supervisors-0-share": "30"},
        ),
    )
    assert saved_position(app, "Typed Shares")["links"] == sorted(
        [
            (faculty.id, "", "principal", Decimal("70.00")),
            (colleague.id, "", "co-supervisor", Decimal("30.00")),
        ]
    )


def test_institution_matches_case_and_accent_insensitively_and_keeps_first_spelling(
    app, faculty_client
):
    faculty_client.post(
        "/group/members/new",
        data=new_member_data(
            app, full_name="First", email="", institution="Université de Montréal"
        ),
    )
    faculty_client.post(
        "/group/members/new",
        data=new_member_data(
            app, full_name="Second", email="", institution="  universite  DE montreal "
        ),
    )
    with app.app_context():
        assert db.session.scalars(select(Institution.name)).all() == ["Université de Montréal"]
    assert saved_position(app, "Second")["institution"] == "Université de Montréal"
    page = faculty_client.get("/group/members/new").get_data(as_text=True)
    assert '<option value="Université de Montréal"></option>' in page


def test_admin_adds_to_a_faculty_group(app, faculty, admin, admin_client):
    response = admin_client.post(
        f"/group/members/new?faculty={faculty.id}",
        data=new_member_data(app, full_name="Added By Admin", email=""),
    )
    assert response.status_code == 302
    assert response.headers["Location"] == f"/group?faculty={faculty.id}"
    assert saved_position(app, "Added By Admin")["links"][0][0] == faculty.id


def test_faculty_cannot_add_to_another_group(app, faculty_client, make_faculty):
    other = make_faculty()
    before = database_fingerprint(app)
    response = faculty_client.post(
        f"/group/members/new?faculty={other.id}", data=new_member_data(app)
    )
    assert response.status_code == 404
    assert database_fingerprint(app) == before


# ---------------------------------------------------------------------------------------------
# Bad input on the add form: a clear message next to the field, HTTP 400, nothing written.

BAD_INPUT = [
    ("blank name", {"full_name": "   "}, "Enter the person&#39;s full name."),
    ("long name", {"full_name": "x" * 201}, "The full name must be at most 200 characters."),
    ("bad email", {"email": "not-an-email"}, "Enter a valid email address"),
    ("bad orcid", {"orcid": "0000-0002-1825-0096"}, "Enter a valid ORCID iD"),
    (
        "end before start",
        {"start_date": "2024-09-01", "end_date": "2024-08-31"},
        "The end date cannot be before the start date.",
    ),
    ("unknown program", {"program": "99999"}, "Choose a program from the list."),
    ("non-numeric program", {"program": "abc"}, "Choose a program from the list."),
    (
        "unknown supervisor",
        {"supervisors-0-supervisor": "99999"},
        "Choose a supervisor from the list.",
    ),
    (
        "shares not 100",
        {"share": "60", "supervisors-0-external_name": "Prof. X", "supervisors-0-share": "30"},
        "Shares must total 100 %; they total 90 %.",
    ),
    (
        "some shares missing",
        {"share": "60", "supervisors-0-external_name": "Prof. X"},
        "Give every supervisor a share",
    ),
    (
        "two principals",
        {"supervisors-0-external_name": "Prof. X", "supervisors-0-role": "principal"},
        "Only one supervisor can be the principal supervisor",
    ),
    (
        "account and name",
        {"supervisors-0-supervisor": "SELF", "supervisors-0-external_name": "X"},
        "Choose an account or type a name, not both.",
    ),
    (
        "same supervisor twice",
        {
            "supervisors-0-external_name": "Prof. X",
            "supervisors-1-external_name": "prof. x",
            "supervisors-1-role": "co-supervisor",
        },
        "The same supervisor is listed twice.",
    ),
    (
        "same external supervisor with other accents",  # the domain's name_key, on the form too
        {
            "supervisors-0-external_name": "Prof. Élise Côté",
            "supervisors-1-external_name": "prof. elise cote",
            "supervisors-1-role": "co-supervisor",
        },
        "The same supervisor is listed twice.",
    ),
    (
        "shares not 100, with decimals",
        {"share": "60.5", "supervisors-0-external_name": "Prof. X", "supervisors-0-share": "30"},
        "Shares must total 100 %; they total 90.5 %.",
    ),
    ("missing start date", {"start_date": ""}, "Enter the start date."),
    # Outside the days the portal accepts (portal/days.py): a typo, or a plan past year 9999.
    (
        "start date typed 0024",
        {"start_date": "0024-09-01"},
        "Enter a date between 1950-01-01 and 2100-12-31.",
    ),
    (
        "start date in year 9999",
        {"start_date": "9999-06-01"},
        "Enter a date between 1950-01-01 and 2100-12-31.",
    ),
    (
        "end date after 2100",
        {"end_date": "2101-01-01"},
        "Enter a date between 1950-01-01 and 2100-12-31.",
    ),
    ("missing institution", {"institution": ""}, "Enter the institution, or tick"),
    ("bad role", {"role": "owner"}, "Choose a supervision role from the list."),
]


@pytest.mark.parametrize("case, overrides, message", BAD_INPUT, ids=[c[0] for c in BAD_INPUT])
def test_bad_input_shows_message_and_writes_nothing(
    app, faculty, faculty_client, make_faculty, case, overrides, message
):
    colleague = make_faculty("colleague@example.org", "Prof. Colleague")
    overrides = {
        key: (str(colleague.id) if value == "SELF" else value) for key, value in overrides.items()
    }
    before = database_fingerprint(app)
    response = faculty_client.post("/group/members/new", data=new_member_data(app, **overrides))
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert message in page
    assert 'class="error"' in page
    assert "Nothing was saved" in page
    assert database_fingerprint(app) == before


def test_own_account_cannot_be_added_as_other_supervisor(app, faculty, faculty_client):
    before = database_fingerprint(app)
    response = faculty_client.post(
        "/group/members/new",
        data=new_member_data(app, **{"supervisors-0-supervisor": str(faculty.id)}),
    )
    assert response.status_code == 400
    assert "Choose a supervisor from the list." in response.get_data(as_text=True)
    assert database_fingerprint(app) == before


def test_typed_values_survive_an_error(app, faculty_client):
    response = faculty_client.post(
        "/group/members/new",
        data=new_member_data(app, email="broken", note="keep this note", institution="ETH Zurich"),
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'value="Zoë O&#39;Brien-Lévesque"' in page
    assert "keep this note" in page and 'value="ETH Zurich"' in page


def test_crafted_fields_cannot_set_owner_or_admin(app, faculty, faculty_client, make_faculty):
    other = make_faculty()
    faculty_client.post(
        "/group/members/new",
        data=new_member_data(
            app,
            full_name="Crafted",
            email="",
            supervisor_id=str(other.id),
            is_admin="1",
            owner=str(other.id),
            archived_at="2020-01-01",
            person_id="1",
        ),
    )
    saved = saved_position(app, "Crafted")
    assert saved["links"] == [(faculty.id, "", "principal", Decimal("100.00"))]
    with app.app_context():
        assert db.session.get(Position, saved["id"]).archived_at is None
        from portal.models import User

        assert db.session.get(User, faculty.id).is_admin is False


# ---------------------------------------------------------------------------------------------
# An email that already belongs to a person: offer to link instead of duplicating.


def test_another_groups_email_reveals_no_name_and_linking_asks_its_owner(
    app, faculty, faculty_client, make_faculty, make_member
):
    colleague = make_faculty()
    theirs = make_member(colleague, "Existing Person", email="zoe@example.org")
    before = database_fingerprint(app)
    response = faculty_client.post(
        "/group/members/new", data=new_member_data(app, email="ZOE@example.org")
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "This email is already on record." in page and "Existing Person" not in page
    assert "Link the existing person" in page and 'name="link_existing"' in page
    assert database_fingerprint(app) == before

    response = faculty_client.post(
        "/group/members/new",
        data=new_member_data(
            app,
            email="zoe@example.org",
            link_existing="y",
            role="co-supervisor",
            program=str(program_id(app, "Postdoctorate")),
        ),
    )
    assert response.status_code == 302 and response.headers["Location"] == "/group/requests"
    assert "Existing Person" not in faculty_client.get("/group/requests").get_data(as_text=True)
    with app.app_context():
        person = db.session.scalar(select(Person).where(Person.email == "zoe@example.org"))
        # Nothing linked, nothing created: a request to the owner, who answers it.
        assert person.full_name == "Existing Person" and len(person.positions) == 1
        link = db.session.scalar(select(Supervision).where(Supervision.supervisor_id == faculty.id))
        assert (link.position_id, link.state.value, link.proposed_by_id) == (
            theirs.id,
            "proposed",
            faculty.id,
        )
        link_id = link.id
    assert "Existing Person" not in faculty_client.get("/group").get_data(as_text=True)
    owner_client = login_client(app.test_client(), colleague)
    requests_page = owner_client.get("/group/requests").get_data(as_text=True)
    assert "Existing Person" in requests_page and "asks to join this record" in requests_page
    assert (
        owner_client.post(
            f"/group/requests/{link_id}", data=answer_data(app, link_id, "confirm")
        ).status_code
        == 302
    )
    assert "<td>Existing Person" in faculty_client.get("/group").get_data(as_text=True)


def test_existing_orcid_is_refused_with_an_offer_to_link(app, faculty_client, faculty, make_member):
    make_member(faculty, "Has Orcid")
    with app.app_context():
        person = db.session.scalar(select(Person).where(Person.full_name == "Has Orcid"))
        person.orcid = "0000-0002-1825-0097"
        db.session.commit()
    before = database_fingerprint(app)
    response = faculty_client.post(
        "/group/members/new",
        data=new_member_data(app, email="", orcid="https://orcid.org/0000-0002-1825-0097"),
    )
    assert response.status_code == 400
    assert "This ORCID iD already belongs to Has Orcid" in response.get_data(as_text=True)
    assert database_fingerprint(app) == before


# ---------------------------------------------------------------------------------------------
# Editing.


def edit_data(app, position_id: int, client, **overrides) -> dict:
    """The edit form's current values, as the browser would submit them, with overrides."""
    import re

    page = client.get(f"/group/members/{position_id}/edit").get_data(as_text=True)
    data = {}
    for tag, name, value in re.findall(
        r'(<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"[^>]*>)', page
    ):
        if 'type="checkbox"' in tag and "checked" not in tag:
            continue  # a browser sends only ticked boxes
        data[name] = value
    for name, options in re.findall(
        r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', page, flags=re.S
    ):
        chosen = re.search(r'<option selected value="([^"]*)"', options)
        data[name] = chosen.group(1) if chosen else ""
    note = re.search(r'name="note">\s*(.*?)</textarea>', page, flags=re.S)
    data["note"] = note.group(1) if note else ""
    data.pop("csrf_token", None)
    data.update(overrides)
    return {key: value.replace("&#39;", "'").replace("&amp;", "&") for key, value in data.items()}


def test_edit_form_shows_values_and_saves_changes(
    app, faculty, faculty_client, make_faculty, make_member
):
    colleague = make_faculty("colleague@example.org", "Prof. Colleague")
    position = make_member(faculty, "Jean-Philippe Côté", others=[(colleague, "co-supervisor")])
    page = faculty_client.get(f"/group/members/{position.id}/edit").get_data(as_text=True)
    assert 'value="Jean-Philippe Côté"' in page
    assert 'name="version" type="hidden" value="1.1"' in page  # the position's, the person's
    data = edit_data(
        app,
        position.id,
        faculty_client,
        institution="McGill University",
        end_date="2027-06-30",
        note="thesis on graphs",
    )
    response = faculty_client.post(f"/group/members/{position.id}/edit", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)
    saved = saved_position(app, "Jean-Philippe Côté")
    assert saved["institution"] == "McGill University"
    assert saved["end"] == date(2027, 6, 30) and saved["note"] == "thesis on graphs"
    assert saved["version"] == 2
    assert saved["links"] == sorted(
        [
            (faculty.id, "", "principal", Decimal("50.00")),
            (colleague.id, "", "co-supervisor", Decimal("50.00")),
        ]
    )
    history = faculty_client.get(f"/group/members/{position.id}/edit").get_data(as_text=True)
    assert "History" in history and "update" in history and "McGill University" in history


def test_edit_swaps_principal_between_supervisors(
    app, faculty, faculty_client, make_faculty, make_member
):
    colleague = make_faculty("colleague@example.org", "Prof. Colleague")
    position = make_member(faculty, "Swapped", others=[(colleague, "co-supervisor")])
    data = edit_data(
        app,
        position.id,
        faculty_client,
        role="co-supervisor",
        **{"supervisors-0-role": "principal"},
    )
    response = faculty_client.post(f"/group/members/{position.id}/edit", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)
    assert saved_position(app, "Swapped")["links"] == sorted(
        [
            (faculty.id, "", "co-supervisor", Decimal("50.00")),
            (colleague.id, "", "principal", Decimal("50.00")),
        ]
    )


def test_edit_removes_and_adds_supervisors(app, faculty, faculty_client, make_member):
    position = make_member(faculty, "Rearranged", others=[("Prof. Old", "co-supervisor")])
    data = edit_data(
        app,
        position.id,
        faculty_client,
        share="",
        **{
            "supervisors-0-external_name": "",
            "supervisors-0-share": "",
            "supervisors-1-external_name": "Prof. New",
            "supervisors-1-share": "",
        },
    )
    response = faculty_client.post(f"/group/members/{position.id}/edit", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)
    assert saved_position(app, "Rearranged")["links"] == sorted(
        [
            (faculty.id, "", "principal", Decimal("50.00")),
            (0, "Prof. New", "co-supervisor", Decimal("50.00")),
        ]
    )


def test_bad_edit_writes_nothing(app, faculty, faculty_client, make_member):
    position = make_member(faculty, "Careful Edit")
    before = database_fingerprint(app)
    data = edit_data(app, position.id, faculty_client, full_name="", end_date="1999-01-01")
    response = faculty_client.post(f"/group/members/{position.id}/edit", data=data)
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Enter the person&#39;s full name." in page
    assert "The end date cannot be before the start date." in page
    assert database_fingerprint(app) == before


def test_edit_to_an_email_of_another_person_offers_link(app, faculty, faculty_client, make_member):
    make_member(faculty, "Owner Of Email", email="taken@example.org")
    position = make_member(faculty, "Wants Email")
    before = database_fingerprint(app)
    data = edit_data(app, position.id, faculty_client, email="taken@example.org")
    response = faculty_client.post(f"/group/members/{position.id}/edit", data=data)
    assert response.status_code == 400
    assert "This email already belongs to Owner Of Email" in response.get_data(as_text=True)
    assert database_fingerprint(app) == before


def test_stale_edit_is_refused_with_both_values(app, faculty, faculty_client, make_member):
    position = make_member(faculty, "Contested", note="original")
    mine = edit_data(app, position.id, faculty_client, note="my change")
    theirs = edit_data(app, position.id, faculty_client, note="their change")
    assert faculty_client.post(f"/group/members/{position.id}/edit", data=theirs).status_code == 302
    before = database_fingerprint(app)
    response = faculty_client.post(f"/group/members/{position.id}/edit", data=mine)
    page = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "changed by someone else since you opened it" in page
    assert "my change" in page and "their change" in page
    assert database_fingerprint(app) == before
    assert saved_position(app, "Contested")["note"] == "their change"
    # The form now carries the newer version: saving again on purpose overwrites.
    assert 'name="version" type="hidden" value="2.1"' in page
    mine["version"] = "2.1"
    assert faculty_client.post(f"/group/members/{position.id}/edit", data=mine).status_code == 302
    assert saved_position(app, "Contested")["note"] == "my change"


def test_a_co_supervisor_deactivated_since_stays_when_the_owner_saves_the_record(
    app, faculty, faculty_client, make_faculty, make_member
):
    colleague = make_faculty("colleague@example.org", "Prof. Colleague")
    position = make_member(faculty, "Kept Link", others=[(colleague, "co-supervisor")])
    with app.app_context():
        db.session.get(User, colleague.id).is_active = False
        db.session.commit()
    data = edit_data(app, position.id, faculty_client, note="a note")
    response = faculty_client.post(f"/group/members/{position.id}/edit", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)
    saved = saved_position(app, "Kept Link")
    assert saved["note"] == "a note"
    assert colleague.id in [link[0] for link in saved["links"]]
    # A new link to the deactivated account is still refused.
    other = make_member(faculty, "New Link")
    data = edit_data(
        app,
        other.id,
        faculty_client,
        **{"supervisors-0-supervisor": str(colleague.id), "supervisors-0-role": "co-supervisor"},
    )
    refused = faculty_client.post(f"/group/members/{other.id}/edit", data=data)
    assert refused.status_code == 400


def test_a_form_loaded_before_the_person_changed_through_another_position_is_stale(
    app, faculty, faculty_client, make_member
):
    """Two current positions of one person: the name corrected through the first, a form of
    the second loaded before that would put the old name back; it is a 409 instead."""
    first = make_member(faculty, "Ana Old-Name", email="ana@example.org")
    with app.app_context():
        person_id = db.session.get(Position, first.id).person_id
        second = Position(
            person_id=person_id,
            program_id=program_id(app, "Postdoctorate"),
            start_date=date(2025, 1, 6),
            owner_id=faculty.id,
        )
        second.supervisions.append(
            Supervision(supervisor_id=faculty.id, role="principal", share=100)
        )
        db.session.add(second)
        db.session.commit()
        second_id = second.id
        db.session.remove()
    stale = edit_data(app, second_id, faculty_client, note="a note on the second")
    renamed = edit_data(app, first.id, faculty_client, full_name="Ana New-Name")
    assert faculty_client.post(f"/group/members/{first.id}/edit", data=renamed).status_code == 302
    before = database_fingerprint(app)
    response = faculty_client.post(f"/group/members/{second_id}/edit", data=stale)
    assert response.status_code == 409
    assert database_fingerprint(app) == before
    with app.app_context():
        assert db.session.get(Person, person_id).full_name == "Ana New-Name"
        db.session.remove()


@pytest.mark.parametrize("version", ["", "².1", "1", "1.x", "x.1"])
def test_edit_without_a_version_it_knows_is_treated_as_stale(
    app, faculty, faculty_client, make_member, version
):
    position = make_member(faculty, "No Version")
    before = database_fingerprint(app)
    data = edit_data(app, position.id, faculty_client, version=version, note="sneaky")
    response = faculty_client.post(f"/group/members/{position.id}/edit", data=data)
    assert response.status_code == 409
    assert database_fingerprint(app) == before


def test_another_faculty_gets_404_on_every_member_url(app, faculty, make_faculty, make_member):
    other = make_faculty()
    position = make_member(other, "Not Mine")
    client = login_client(app.test_client(), faculty)
    before = database_fingerprint(app)
    assert client.get(f"/group/members/{position.id}/edit").status_code == 404
    assert (
        client.post(
            f"/group/members/{position.id}/edit", data=new_member_data(app, version="1")
        ).status_code
        == 404
    )
    assert client.get(f"/group/members/{position.id}/move-to-alumni").status_code == 404
    for action in ("move-to-alumni", "restore", "archive"):
        assert (
            client.post(
                f"/group/members/{position.id}/{action}",
                data={"end_date": "2025-01-01", "departure_reason": "graduated"},
            ).status_code
            == 404
        )
    assert (
        client.post(
            f"/group/members/{position.id}/edit?faculty={other.id}",
            data=new_member_data(app, version="1"),
        ).status_code
        == 404
    )
    assert client.get("/group/members/999999/edit").status_code == 404
    assert database_fingerprint(app) == before


def test_co_supervisor_reads_the_record_and_changes_only_their_own_note(
    app, faculty, make_faculty, make_member
):
    colleague = make_faculty("colleague@example.org", "Prof. Colleague")
    position = make_member(faculty, "Shared", others=[(colleague, "co-supervisor")])
    client = login_client(app.test_client(), colleague)
    page = client.get(f"/group/members/{position.id}/edit").get_data(as_text=True)
    assert "This record belongs to the group of Prof. Hélène Faculty" in page
    assert 'name="full_name"' not in page and 'name="own_note"' in page
    before = database_fingerprint(app)
    data = edit_data(app, position.id, login_client(app.test_client(), faculty), note="mine now")
    assert client.post(f"/group/members/{position.id}/edit", data=data).status_code == 403
    assert client.post(f"/group/members/{position.id}/archive").status_code == 403
    assert client.get(f"/group/members/{position.id}/move-to-alumni").status_code == 403
    assert database_fingerprint(app) == before
    saved = client.post(
        f"/group/members/{position.id}/note", data={"own_note": "weekly on Tuesdays"}
    )
    assert saved.status_code == 302
    with app.app_context():
        link = db.session.scalar(
            select(Supervision).where(Supervision.supervisor_id == colleague.id)
        )
        assert link.note == "weekly on Tuesdays"
        assert db.session.get(Position, position.id).note is None
    assert "My note: weekly on Tuesdays" in client.get("/group").get_data(as_text=True)


def test_saving_an_unchanged_form_writes_nothing(
    app, faculty, faculty_client, make_faculty, make_member
):
    colleague = make_faculty()
    position = make_member(
        faculty,
        "Unchanged",
        others=[(colleague, "co-supervisor"), ("Prof. External", "co-supervisor")],
    )
    before = database_fingerprint(app)
    response = faculty_client.post(
        f"/group/members/{position.id}/edit", data=edit_data(app, position.id, faculty_client)
    )
    assert response.status_code == 302
    assert "already up to date" in faculty_client.get("/group").get_data(as_text=True)
    assert database_fingerprint(app) == before


def test_edit_can_link_the_position_to_the_existing_person(
    app, faculty, faculty_client, make_member
):
    make_member(faculty, "Recorded Once", email="same@example.org")
    position = make_member(faculty, "Typed Twice")
    data = edit_data(app, position.id, faculty_client, email="same@example.org", link_existing="y")
    response = faculty_client.post(f"/group/members/{position.id}/edit", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)
    with app.app_context():
        person = db.session.scalar(select(Person).where(Person.email == "same@example.org"))
        assert person.full_name == "Recorded Once"
        assert position.id in {p.id for p in person.positions}


def test_an_email_typed_with_a_combining_accent_is_the_same_address(app, faculty_client):
    # "é" typed as e + combining accent (as some keyboards send it) and as one character:
    # one address, stored one way (NFC), so the second spelling finds the first person.
    decomposed = "Jose\u0301@Example.org"
    response = faculty_client.post(
        "/group/members/new", data=new_member_data(app, full_name="José One", email=decomposed)
    )
    assert response.status_code == 302
    assert saved_position(app, "José One")["email"] == "jos\u00e9@example.org"
    before = database_fingerprint(app)
    response = faculty_client.post(
        "/group/members/new",
        data=new_member_data(app, full_name="José Two", email="jos\u00e9@example.org"),
    )
    assert response.status_code == 400
    assert "This email already belongs to José One" in response.get_data(as_text=True)
    assert database_fingerprint(app) == before
