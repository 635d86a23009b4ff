"""Shared records you can trust (issue 12): the five findings of a hostile colleague, reproduced.

Each test plays a faculty member who knows only what a published profile shows about another
group's member, and tries what the issue found. After every attempt the other group's export is
byte-identical, and no response holds a stored value of a member the requester does not own.
Each would fail on the code before ownership and agreement existed.
"""

from __future__ import annotations

import io
import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models import AuditEvent, Person, Position, Supervision, User, utcnow
from portal.models.supervision import SupervisionState
from tests.admin_helpers import csv_by_name
from tests.conftest import login_client
from tests.group_helpers import answer_data, database_fingerprint

TODAY = date.today()
STUDENT = "Ophélie Targetstudent"
STORED = {  # values only the owning group knows: none may appear in the colleague's responses
    "email": "ophelie.secret@example.org",
    "institution": "Hidden Institute of Technology",
    "end": "2031-04-30",
    "outcome": "Secret Outcome Labs",
    "note": "private note about funding",
}
ROSTER_HEADER = (
    "faculty_email,name,email,program,institution,role,start_date,end_date,status,outcome"
)


@pytest.fixture
def groups(app, make_faculty, make_admin, make_member):
    """Prof. Owner's student (on Owner's published profile) and an unrelated Prof. Hostile."""
    owner = make_faculty("owner@example.org", "Prof. Owner")
    hostile = make_faculty("hostile@example.org", "Prof. Hostile")
    admin = make_admin("office@example.org", "Graduate Office")
    position = make_member(
        owner,
        STUDENT,
        email=STORED["email"],
        institution=STORED["institution"],
        start_date=date(2024, 9, 1),
        end_date=date.fromisoformat(STORED["end"]),
        outcome=STORED["outcome"],
        note=STORED["note"],
    )
    with app.app_context():
        user = db.session.get(User, owner.id)
        user.slug, user.profile_published = "prof-owner", True
        db.session.commit()
        db.session.remove()
    return {
        "owner": owner,
        "hostile": hostile,
        "admin": admin,
        "position": position.id,
        "owner_client": login_client(app.test_client(), owner),
        "hostile_client": login_client(app.test_client(), hostile),
    }


def owner_export(groups) -> bytes:
    return groups["owner_client"].get("/group/export.csv?status=all").get_data()


def assert_nothing_stored_in(response, typed: tuple[str, ...] = ()) -> None:
    """No stored value in the response, but those the requester typed themselves (`typed`)."""
    page = response.get_data(as_text=True)
    for name, value in STORED.items():
        if name not in typed:
            assert value not in page, f"the response shows the stored {name}: {value}"


def upload(client, *rows: str):
    data = ("\r\n".join([ROSTER_HEADER, *rows]) + "\r\n").encode()
    return client.post(
        "/group/import",
        data={"file": (io.BytesIO(data), "roster.csv")},
        content_type="multipart/form-data",
    )


def confirm(client, preview):
    from tests.test_roster_import import confirm as confirm_import

    return confirm_import(client, preview)


def links_of(app, position_id: int) -> list[tuple]:
    with app.app_context():
        found = sorted(
            (link.supervisor_id, link.role.value)
            for link in db.session.scalars(
                select(Supervision).where(Supervision.position_id == position_id)
            )
        )
        db.session.remove()
        return found


# ---------------------------------------------------------------------------------------------
# 1. Attach by import.


def test_1_an_import_never_attaches_to_another_groups_position(app, groups, make_member):
    # A member whose every stored value is on the public profile (no end date, no outcome).
    plain = make_member(groups["owner"], "Plain Publicstudent", institution="McGill University")
    before = owner_export(groups)
    links_before = links_of(app, plain.id)
    client = groups["hostile_client"]
    # What the public profile shows: name, program, institution; the start date is guessed.
    preview = upload(
        client, ",Plain Publicstudent,,PhD,McGill University,co-supervisor,2024-09-01,,,"
    )
    assert preview.status_code == 200
    assert_nothing_stored_in(preview)
    assert confirm(client, preview).status_code == 302
    assert links_of(app, plain.id) == links_before
    with app.app_context():
        # The row became a record of the importer's own group, not a link to the owner's.
        mine = db.session.scalars(
            select(Position)
            .join(Supervision)
            .where(Supervision.supervisor_id == groups["hostile"].id)
        ).all()
        assert len(mine) == 1 and mine[0].id != plain.id
        assert mine[0].owner_id == groups["hostile"].id
        db.session.remove()
    # The edit form of the owner's record stays closed, and so does every write to it.
    assert client.get(f"/group/members/{plain.id}/edit").status_code == 404
    assert client.post(f"/group/members/{plain.id}/edit").status_code == 404
    assert client.post(f"/group/members/{plain.id}/archive").status_code == 404
    assert owner_export(groups) == before
    profile = app.test_client().get("/people/prof-owner").get_data(as_text=True)
    assert "Plain Publicstudent" in profile


def test_1_an_import_with_the_members_email_is_refused_without_attaching(app, groups):
    before = owner_export(groups)
    response = upload(
        groups["hostile_client"],
        f",{STUDENT},{STORED['email']},PhD,Elsewhere,principal,2024-09-01,,,",
    )
    assert response.status_code == 400
    assert "This person is recorded by another group; ask them to add you." in response.get_data(
        as_text=True
    )
    assert owner_export(groups) == before


# ---------------------------------------------------------------------------------------------
# 2. Probe by import.


@pytest.mark.parametrize(
    "guess",
    [
        "PhD,Université de Montréal,co-supervisor,2024-09-01,,,",  # institution differs
        "PhD,Hidden Institute of Technology,co-supervisor,2024-09-01,2030-01-01,,",  # end
        "PhD,Hidden Institute of Technology,co-supervisor,2024-09-01,,,Somewhere",  # outcome
        "PhD,Hidden Institute of Technology,co-supervisor,2023-09-01,,,",  # start date
    ],
)
def test_2_an_import_preview_reveals_no_stored_value(app, groups, guess):
    before = owner_export(groups)
    for email in ("", STORED["email"]):
        response = upload(groups["hostile_client"], f",{STUDENT},{email},{guess}")
        page = response.get_data(as_text=True)
        for name, value in STORED.items():
            if name == "email" and email:
                continue  # typed by the importer, not revealed by the portal
            if name == "institution" and value in guess:
                continue
            assert value not in page, f"the preview shows the stored {name}"
        assert "→" not in page  # no "stored → file" comparison of another group's record
    assert owner_export(groups) == before


# ---------------------------------------------------------------------------------------------
# 3. Link, then rewrite.


def test_3_the_email_check_names_nobody_and_linking_cannot_rewrite(app, groups):
    with app.app_context():  # a member not on any published profile
        user = db.session.get(User, groups["owner"].id)
        user.profile_published = False
        db.session.commit()
        db.session.remove()
    before = owner_export(groups)
    client = groups["hostile_client"]
    with app.app_context():
        program_id = db.session.scalar(select(Position.program_id))
        db.session.remove()
    data = {
        "full_name": "Someone Else",
        "email": STORED["email"],
        "program": str(program_id),
        "institution": "Concordia University",
        "role": "co-supervisor",
        "start_date": "2025-01-06",
    }
    refused = client.post("/group/members/new", data=data)
    assert refused.status_code == 400
    assert STUDENT not in refused.get_data(as_text=True)
    assert "This email is already on record." in refused.get_data(as_text=True)
    linked = client.post("/group/members/new", data={**data, "link_existing": "y"})
    assert linked.status_code == 302 and linked.headers["Location"] == "/group/requests"
    assert_nothing_stored_in(client.get("/group/requests"), typed=("email",))
    assert STUDENT not in client.get("/group/requests").get_data(as_text=True)
    with app.app_context():
        person = db.session.scalar(select(Person).where(Person.email == STORED["email"]))
        assert person.full_name == STUDENT and len(person.positions) == 1
        person_id = person.id
        db.session.remove()
    # No position of theirs holds the person: nothing to edit the identity through.
    assert client.get(f"/group/members/{groups['position']}/edit").status_code == 404
    assert owner_export(groups) == before
    with app.app_context():
        assert db.session.get(Person, person_id).full_name == STUDENT
        db.session.remove()


def test_3_a_member_on_a_published_profile_may_be_named(app, groups):
    with app.app_context():
        program_id = db.session.scalar(select(Position.program_id))
        db.session.remove()
    response = groups["hostile_client"].post(
        "/group/members/new",
        data={
            "full_name": "Someone Else",
            "email": STORED["email"],
            "program": str(program_id),
            "institution": "Concordia University",
            "role": "principal",
            "start_date": "2025-01-06",
        },
    )
    assert response.status_code == 400
    assert f"This email already belongs to {STUDENT}." in response.get_data(as_text=True)


def test_3_identity_is_kept_by_the_current_positions_owner_and_audited(
    app, groups, make_member, make_faculty
):
    """A former supervisor keeps their old position, not the person's identity."""
    owner = groups["owner"]
    former = make_faculty("former@example.org", "Prof. Former")
    with app.app_context():
        person = db.session.scalar(select(Person).where(Person.full_name == STUDENT))
        old = Position(
            person=person,
            program_id=db.session.scalar(select(Position.program_id)),
            institution_id=db.session.scalar(select(Position.institution_id)),
            start_date=date(2021, 9, 1),
            end_date=date(2023, 8, 31),
        )
        old.supervisions.append(Supervision(supervisor_id=former.id, role="principal", share=100))
        db.session.add(old)
        db.session.commit()
        old_id = old.id
        db.session.remove()
    former_client = login_client(app.test_client(), former)
    page = former_client.get(f"/group/members/{old_id}/edit").get_data(as_text=True)
    assert "kept by the group of the person’s current position" in page
    from tests.test_group_forms import edit_data

    data = edit_data(app, old_id, former_client, full_name="Renamed By Former")
    before = owner_export(groups)
    response = former_client.post(f"/group/members/{old_id}/edit", data=data)
    assert response.status_code == 400
    assert owner_export(groups) == before
    # The owner of the current position renames; the former supervisor sees it in the history.
    owner_client = groups["owner_client"]
    data = edit_data(app, groups["position"], owner_client, full_name="Ophélie Renamed")
    assert (
        owner_client.post(f"/group/members/{groups['position']}/edit", data=data).status_code == 302
    )
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "edit-identity"))
        assert (event.actor_id, event.after["full_name"]) == (owner.id, "Ophélie Renamed")
        db.session.remove()
    history = former_client.get(f"/group/members/{old_id}/edit").get_data(as_text=True)
    assert "changed the name, email or ORCID iD" in history and "Ophélie Renamed" in history


# ---------------------------------------------------------------------------------------------
# 4. Impose.


def test_4_naming_a_colleague_is_a_proposal_until_they_confirm(app, groups):
    owner, colleague = groups["hostile"], groups["owner"]  # Hostile names Owner on a new member
    proposer, named = groups["hostile_client"], groups["owner_client"]
    admin = login_client(app.test_client(), groups["admin"])
    before_export = owner_export(groups)
    before_coi = named.get("/group/coi.csv").get_data()
    before_profile = app.test_client().get("/people/prof-owner.json").get_data()
    with app.app_context():
        program_id = db.session.scalar(select(Position.program_id))
        db.session.remove()
    response = proposer.post(
        "/group/members/new",
        data={
            "full_name": "Imposed Student",
            "program": str(program_id),
            "institution": "Concordia University",
            "role": "co-supervisor",
            "start_date": (TODAY - timedelta(days=30)).isoformat(),
            "supervisors-0-supervisor": str(colleague.id),
            "supervisors-0-role": "principal",
        },
    )
    assert response.status_code == 302
    assert "awaiting Prof. Owner (principal)" in proposer.get("/group").get_data(as_text=True)
    assert "Imposed Student" not in named.get("/group").get_data(as_text=True)
    assert owner_export(groups) == before_export
    assert named.get("/group/coi.csv").get_data() == before_coi
    assert app.test_client().get("/people/prof-owner.json").get_data() == before_profile
    loads = csv_by_name(admin.get("/admin/loads.csv").get_data())
    assert loads["Prof. Owner"]["Principal"] == "1"  # only Ophélie, not the proposal
    loads_page = admin.get("/admin/loads").get_data(as_text=True)
    assert "1 proposal is pending and not counted" in loads_page
    # The named colleague sees the request (and its count in the navigation) and confirms.
    requests_page = named.get("/group/requests").get_data(as_text=True)
    assert "Imposed Student" in requests_page and 'class="badge">1' in requests_page
    with app.app_context():
        link_id = db.session.scalar(
            select(Supervision.id).where(
                Supervision.supervisor_id == colleague.id,
                Supervision.state == SupervisionState.PROPOSED,
            )
        )
        db.session.remove()
    assert (
        proposer.post(
            f"/group/requests/{link_id}", data=answer_data(app, link_id, "confirm")
        ).status_code
        == 404
    )
    answer = named.post(f"/group/requests/{link_id}", data=answer_data(app, link_id, "confirm"))
    assert answer.status_code == 302
    assert "Imposed Student" in named.get("/group").get_data(as_text=True)
    assert b"Imposed Student" in owner_export(groups)
    loads = csv_by_name(admin.get("/admin/loads.csv").get_data())
    assert loads["Prof. Owner"]["Principal"] == "2"
    with app.app_context():
        position = db.session.scalar(
            select(Position).join(Person).where(Person.full_name == "Imposed Student")
        )
        # The confirmed principal's group now owns the record; the move is in its history.
        assert position.owner_id == colleague.id
        actions = [
            event.action
            for event in db.session.scalars(
                select(AuditEvent)
                .where(AuditEvent.entity_type == "positions", AuditEvent.entity_id == position.id)
                .order_by(AuditEvent.id)
            )
        ]
        assert actions == ["create", "propose", "confirm", "transfer-owner"]
        db.session.remove()
    assert owner is not None


def test_4_a_declined_proposal_never_counts_and_the_proposer_sees_why(app, groups):
    proposer, named = groups["owner_client"], groups["hostile_client"]
    with app.app_context():
        program_id = db.session.scalar(select(Position.program_id))
        db.session.remove()
    proposer.post(
        "/group/members/new",
        data={
            "full_name": "Declined Student",
            "program": str(program_id),
            "institution": "Concordia University",
            "role": "principal",
            "start_date": "2025-01-06",
            "supervisors-0-supervisor": str(groups["hostile"].id),
            "supervisors-0-role": "co-supervisor",
        },
    )
    with app.app_context():
        link_id = db.session.scalar(
            select(Supervision.id).where(Supervision.supervisor_id == groups["hostile"].id)
        )
        db.session.remove()
    too_long = named.post(
        f"/group/requests/{link_id}", data=answer_data(app, link_id, "decline", message="x" * 501)
    )
    assert too_long.status_code == 303
    with app.app_context():
        assert db.session.get(Supervision, link_id).state == SupervisionState.PROPOSED
        db.session.remove()
    declined = named.post(
        f"/group/requests/{link_id}",
        data=answer_data(
            app, link_id, "decline", message="No funding for a co-supervision this year"
        ),
    )
    assert declined.status_code == 302
    again = named.post(f"/group/requests/{link_id}", data=answer_data(app, link_id, "confirm"))
    assert again.status_code == 409
    sent = proposer.get("/group/requests").get_data(as_text=True)
    assert "Declined by Prof. Hostile" in sent
    assert "No funding for a co-supervision this year" in sent
    assert "Declined Student" not in named.get("/group").get_data(as_text=True)


# ---------------------------------------------------------------------------------------------
# 5. One meaning of current.


def test_5_an_incoming_member_is_incoming_everywhere(app, groups, make_member):
    owner = groups["owner"]
    make_member(owner, "Next-Year Student", start_date=date(TODAY.year + 1, 9, 1))
    client = groups["owner_client"]
    page = client.get("/group").get_data(as_text=True)
    current_part, _, incoming_part = page.partition('id="incoming"')
    assert "Next-Year Student" not in current_part and "Next-Year Student" in incoming_part
    profile = app.test_client().get("/people/prof-owner").get_data(as_text=True)
    assert "Next-Year Student" not in profile
    rows = client.get("/group/export.csv?status=all").get_data(as_text=True).splitlines()
    assert [row.split(",")[8] for row in rows if "Next-Year Student" in row] == ["incoming"]
    current_export = client.get("/group/export.csv?status=current").get_data(as_text=True)
    assert "Next-Year Student" not in current_export
    incoming = client.get("/group/export.csv?status=incoming").get_data(as_text=True)
    assert "Next-Year Student" in incoming and STUDENT not in incoming
    assert "Next-Year Student" not in client.get("/group/coi.csv").get_data(as_text=True)
    admin = login_client(app.test_client(), groups["admin"])
    loads = csv_by_name(admin.get("/admin/loads.csv").get_data())
    assert loads["Prof. Owner"]["Principal"] == "1"


# ---------------------------------------------------------------------------------------------
# Agreement, ownership and their history, beyond the five findings.


def _propose(app, position_id: int, named: User, proposer: User, days_ago: int = 0) -> int:
    with app.app_context():
        link = Supervision(
            position_id=position_id,
            supervisor_id=named.id,
            role="co-supervisor",
            share=0,
            state=SupervisionState.PROPOSED,
            proposed_by_id=proposer.id,
            proposed_at=utcnow() - timedelta(days=days_ago),
        )
        db.session.add(link)
        db.session.commit()
        link_id = link.id
        db.session.remove()
    return link_id


def test_an_answer_to_terms_changed_since_the_page_was_shown_is_not_taken(app, groups):
    """The page carries the record's version: once the proposer changes the record (here the
    proposed share), the answer posted from the page shown before is a 409 and nothing changes."""
    link_id = _propose(app, groups["position"], groups["hostile"], groups["owner"])
    named = groups["hostile_client"]
    page = named.get("/group/requests").get_data(as_text=True)
    shown = re.search(r'name="version" value="(\d+)"', page).group(1)
    with app.app_context():
        link = db.session.get(Supervision, link_id)
        link.share = 25
        link.position.updated_at = utcnow()  # the owner's save: a new version of the record
        db.session.commit()
        db.session.remove()
    before = database_fingerprint(app)
    stale = named.post(f"/group/requests/{link_id}", data={"decision": "confirm", "version": shown})
    assert stale.status_code == 409
    assert "This request changed since the page was shown" in stale.get_data(as_text=True)
    assert database_fingerprint(app) == before
    fresh = named.post(f"/group/requests/{link_id}", data=answer_data(app, link_id, "confirm"))
    assert fresh.status_code == 302


def test_administrators_see_old_proposals_and_confirm_on_behalf(app, groups):
    old = _propose(app, groups["position"], groups["hostile"], groups["owner"], days_ago=15)
    admin = login_client(app.test_client(), groups["admin"])
    page = admin.get("/group/requests").get_data(as_text=True)
    assert f'data-link="{old}"' in page and "Confirm on behalf of Prof. Hostile" in page
    with app.app_context():  # a fresh proposal is not listed for administrators
        db.session.get(Supervision, old).proposed_at = utcnow() - timedelta(days=3)
        db.session.commit()
        db.session.remove()
    assert f'data-link="{old}"' not in admin.get("/group/requests").get_data(as_text=True)
    # An administrator may confirm, never decline, on someone's behalf.
    assert (
        admin.post(f"/group/requests/{old}", data=answer_data(app, old, "decline")).status_code
        == 403
    )
    assert (
        admin.post(f"/group/requests/{old}", data=answer_data(app, old, "confirm")).status_code
        == 302
    )
    with app.app_context():
        assert db.session.get(Supervision, old).state == SupervisionState.CONFIRMED
        event = db.session.scalar(
            select(AuditEvent).where(AuditEvent.action == "confirm-on-behalf")
        )
        assert event.actor_id == groups["admin"].id
        db.session.remove()
    history = groups["owner_client"].get(f"/group/members/{groups['position']}/edit")
    assert "confirmed the supervision on behalf of Prof. Hostile" in history.get_data(as_text=True)


def test_ending_ones_involvement_tells_the_owner_and_the_owner_cannot_leave(app, groups):
    link_id = _propose(app, groups["position"], groups["hostile"], groups["owner"])
    colleague = groups["hostile_client"]
    assert (
        colleague.post(
            f"/group/requests/{link_id}", data=answer_data(app, link_id, "confirm")
        ).status_code
        == 302
    )
    assert STUDENT in colleague.get("/group").get_data(as_text=True)
    owner = groups["owner_client"]
    refused = owner.post(f"/group/members/{groups['position']}/leave", data={})
    assert refused.status_code == 403
    left = colleague.post(
        f"/group/members/{groups['position']}/leave", data={"message": "Moving to Zurich"}
    )
    assert left.status_code == 302
    assert f"<td>{STUDENT}" not in colleague.get("/group").get_data(as_text=True)
    assert colleague.get(f"/group/members/{groups['position']}/edit").status_code == 404
    notices = owner.get("/group/requests").get_data(as_text=True)
    assert "Prof. Hostile ended their involvement (Co-supervisor): “Moving to Zurich”" in notices


def test_an_administrator_transfers_ownership_to_a_confirmed_supervisor_only(app, groups):
    link_id = _propose(app, groups["position"], groups["hostile"], groups["owner"])
    admin = login_client(app.test_client(), groups["admin"])
    path = f"/group/members/{groups['position']}/transfer"
    assert admin.post(path, data={"owner": str(groups["hostile"].id)}).status_code == 303
    with app.app_context():
        assert db.session.get(Position, groups["position"]).owner_id == groups["owner"].id
        db.session.remove()
    groups["hostile_client"].post(
        f"/group/requests/{link_id}", data=answer_data(app, link_id, "confirm")
    )
    assert admin.post(path, data={"owner": str(groups["hostile"].id)}).status_code == 302
    with app.app_context():
        assert db.session.get(Position, groups["position"]).owner_id == groups["hostile"].id
        db.session.remove()
    # The former owner now reads the record; the new owner changes it.
    page = groups["owner_client"].get(f"/group/members/{groups['position']}/edit")
    assert "This record belongs to the group of Prof. Hostile" in page.get_data(as_text=True)
    assert "ownership moved from Prof. Owner to Prof. Hostile" in page.get_data(as_text=True)


def test_a_later_confirmation_does_not_undo_an_administrators_transfer(app, groups, make_faculty):
    hostile_link = _propose(app, groups["position"], groups["hostile"], groups["owner"])
    groups["hostile_client"].post(
        f"/group/requests/{hostile_link}", data=answer_data(app, hostile_link, "confirm")
    )
    admin = login_client(app.test_client(), groups["admin"])
    transfer = f"/group/members/{groups['position']}/transfer"
    assert admin.post(transfer, data={"owner": str(groups["hostile"].id)}).status_code == 302
    # The new owner proposes a third colleague, who confirms: the owner stays as transferred.
    third = make_faculty("third@example.org", "Prof. Third")
    third_link = _propose(app, groups["position"], third, groups["hostile"])
    answer = login_client(app.test_client(), third).post(
        f"/group/requests/{third_link}", data=answer_data(app, third_link, "confirm")
    )
    assert answer.status_code == 302
    with app.app_context():
        assert db.session.get(Position, groups["position"]).owner_id == groups["hostile"].id
        moves = db.session.scalars(
            select(AuditEvent.action).where(AuditEvent.action == "transfer-owner")
        ).all()
        assert len(moves) == 1  # the administrator's, and no other
        db.session.remove()


def test_agreement_events_read_in_french(app, groups):
    link_id = _propose(app, groups["position"], groups["hostile"], groups["owner"])
    groups["hostile_client"].post(
        f"/group/requests/{link_id}",
        data=answer_data(app, link_id, "decline", message="Pas cette année"),
    )
    page = (
        groups["owner_client"]
        .get(
            f"/group/members/{groups['position']}/edit",
            headers={"Accept-Language": "fr-CA"},
        )
        .get_data(as_text=True)
    )
    assert "Prof. Hostile a refusé la supervision (Codirection) : « Pas cette année »" in page


def test_asking_to_join_a_record_nobody_owns_is_refused_clearly(app, groups):
    with app.app_context():
        template = db.session.get(Position, groups["position"])
        orphan = Position(
            person=Person(full_name="Orphan Record", email="orphan@example.org"),
            program_id=template.program_id,
            institution_id=template.institution_id,
            start_date=date(2024, 1, 8),
        )
        orphan.supervisions.append(
            Supervision(external_name="Prof. Elsewhere", role="principal", share=100)
        )
        db.session.add(orphan)
        db.session.commit()
        assert orphan.owner_id is None
        program_id = template.program_id
        db.session.remove()
    response = groups["hostile_client"].post(
        "/group/members/new",
        data={
            "full_name": "Orphan Record",
            "email": "orphan@example.org",
            "program": str(program_id),
            "institution": "Concordia University",
            "role": "co-supervisor",
            "start_date": "2025-01-06",
            "link_existing": "y",
        },
    )
    assert response.status_code == 400
    assert "ask them to add you" in response.get_data(as_text=True)
