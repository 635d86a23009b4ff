"""The API's agreement and tracking: link states and milestones on members, answering
co-supervision proposals and recording milestones with the same rules as the pages."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.milestones import sync_plan
from portal.models import AuditEvent, Milestone, MilestoneStatus, Position, Supervision
from portal.models.supervision import SupervisionState
from portal.tracking.queries import milestones_of
from tests.api_helpers import bearer, new_token
from tests.conftest import count_queries, login_client
from tests.routes import database_snapshot


@pytest.fixture
def shared(app, faculty, make_faculty, make_member):
    """A's member with a confirmed co-supervisor and a proposed one; the plan's milestones."""
    confirmed = make_faculty("confirmed@example.org", "Prof. Confirmed")
    proposed = make_faculty("proposed@example.org", "Prof. Proposed")
    stranger = make_faculty("stranger@example.org", "Prof. Stranger")
    member = make_member(
        faculty,
        "Ada Shared",
        others=[(confirmed, "co-supervisor"), (proposed, "co-supervisor")],
    )
    with app.app_context():
        link = db.session.scalar(
            select(Supervision).where(Supervision.supervisor_id == proposed.id)
        )
        link.state = SupervisionState.PROPOSED
        link.proposed_by_id = faculty.id
        position = db.session.get(Position, member.id)
        position.owner_id = faculty.id
        sync_plan(position)
        db.session.commit()
        link_id = link.id
        milestone_id = db.session.scalar(
            select(Milestone.id)
            .where(Milestone.position_id == member.id, Milestone.name_en == "Research plan")
            .limit(1)
        )
        db.session.remove()
    return {
        "member": member.id,
        "link": link_id,
        "milestone": milestone_id,
        "owner": new_token(app, faculty, "write"),
        "confirmed": new_token(app, confirmed, "write"),
        "proposed": new_token(app, proposed, "write"),
        "stranger": new_token(app, stranger, "write"),
        "proposed_user": proposed,
    }


def _writes(app):
    snapshot = database_snapshot(app)
    snapshot.pop("api_tokens")  # the last use of a token is noted on every request
    return snapshot


# ---------------------------------------------------------------------------------------------
# Members carry their links' states and their milestones.


@pytest.mark.both_backends
def test_member_shows_link_states_proposer_and_milestones(app, client, faculty, shared):
    response = client.get(
        f"/api/v1/group/members/{shared['member']}", headers=bearer(shared["owner"])
    )
    assert response.status_code == 200
    member = response.get_json()
    states = {link["name"]: link["state"] for link in member["supervisors"]}
    assert states == {
        "Prof. Hélène Faculty": "confirmed",
        "Prof. Confirmed": "confirmed",
        "Prof. Proposed": "proposed",
    }
    proposal = next(link for link in member["supervisors"] if link["state"] == "proposed")
    assert proposal["proposed_by"] == {"id": faculty.id, "name": "Prof. Hélène Faculty"}
    assert proposal["link_id"] == shared["link"]
    with app.app_context():
        expected = [
            (m.id, m.name_en, m.due_date.isoformat() if m.due_date else None, m.status.value)
            for m in milestones_of(db.session.get(Position, shared["member"]))
        ]
    got = [(m["id"], m["name_en"], m["due_date"], m["status"]) for m in member["milestones"]]
    assert got == expected and len(got) >= 4
    research_plan = member["milestones"][0]
    assert research_plan["plan_item_id"] is not None
    assert research_plan["due_state"] == "overdue"  # due 2025-09-01, nothing recorded


@pytest.mark.both_backends
def test_member_list_reads_milestones_in_a_fixed_number_of_queries(
    app, client, faculty, make_member
):
    token = new_token(app, faculty, "read")

    def count_for_listing() -> int:
        with count_queries(app) as statements:
            response = client.get("/api/v1/group/members", headers=bearer(token))
        assert response.status_code == 200
        return len(statements)

    make_member(faculty, "One Member")
    with app.app_context():
        for position in db.session.scalars(select(Position)):
            sync_plan(position)
        db.session.commit()
    count_for_listing()  # the token's first use of the minute is noted once
    one = count_for_listing()
    for number in range(4):
        make_member(faculty, f"More Member {number}")
    with app.app_context():
        for position in db.session.scalars(select(Position)):
            sync_plan(position)
        db.session.commit()
    listing = client.get("/api/v1/group/members", headers=bearer(token)).get_json()
    assert all(item["milestones"] for item in listing["items"])
    assert count_for_listing() == one


def test_recording_a_milestone_changes_the_members_etag(app, client, shared):
    url = f"/api/v1/group/members/{shared['member']}"
    etag = client.get(url, headers=bearer(shared["owner"])).headers["ETag"]
    milestone_url = f"/api/v1/group/milestones/{shared['milestone']}"
    milestone_etag = client.get(milestone_url, headers=bearer(shared["owner"])).headers["ETag"]
    done = client.post(
        f"{milestone_url}/done",
        json={"done_on": "2025-08-15"},
        headers={**bearer(shared["owner"]), "If-Match": milestone_etag},
    )
    assert done.status_code == 200, done.get_json()
    again = client.get(url, headers={**bearer(shared["owner"]), "If-None-Match": etag})
    assert again.status_code == 200
    assert again.headers["ETag"] != etag
    statuses = {m["id"]: m["status"] for m in again.get_json()["milestones"]}
    assert statuses[shared["milestone"]] == "done"


# ---------------------------------------------------------------------------------------------
# Proposals: listed for the person they name, confirmed or declined as on /group/requests.


def _proposal_etag(client, shared, token="proposed"):
    response = client.get(
        f"/api/v1/group/proposals/{shared['link']}", headers=bearer(shared[token])
    )
    assert response.status_code == 200, response.get_json()
    return response.headers["ETag"]


def test_incoming_proposals_are_listed_for_the_named_person(client, shared):
    listing = client.get("/api/v1/group/proposals", headers=bearer(shared["proposed"])).get_json()
    assert listing["total"] == 1
    (item,) = listing["items"]
    assert item["id"] == shared["link"] and item["person"] == "Ada Shared"
    assert item["state"] == "proposed" and item["proposed_by"] == "Prof. Hélène Faculty"
    assert item["role"] == "co-supervisor" and item["join_request"] is False
    for other in ("owner", "confirmed", "stranger"):
        assert (
            client.get("/api/v1/group/proposals", headers=bearer(shared[other])).get_json()["total"]
            == 0
        ), other


@pytest.mark.both_backends
def test_confirm_needs_if_match_and_follows_the_pages_rules(app, client, shared):
    url = f"/api/v1/group/proposals/{shared['link']}/confirm"
    before = _writes(app)
    missing = client.post(url, json={}, headers=bearer(shared["proposed"]))
    assert missing.status_code == 428
    stale = client.post(
        url, json={}, headers={**bearer(shared["proposed"]), "If-Match": '"proposal-0-x"'}
    )
    assert stale.status_code == 412
    assert _writes(app) == before

    etag = _proposal_etag(client, shared)
    response = client.post(
        url,
        json={"message": "Happy to co-supervise."},
        headers={**bearer(shared["proposed"]), "If-Match": etag},
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["state"] == "confirmed"
    assert response.headers["ETag"] != etag
    with app.app_context():
        link = db.session.get(Supervision, shared["link"])
        assert link.state == SupervisionState.CONFIRMED
        assert link.answer_message == "Happy to co-supervise."
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "confirm"))
        assert event.actor_id == shared["proposed_user"].id
        assert event.entity_id == shared["member"]
    # Now in their group, as on the pages.
    members = client.get("/api/v1/group/members", headers=bearer(shared["proposed"])).get_json()
    assert [item["id"] for item in members["items"]] == [shared["member"]]
    # Answered already: the old ETag is stale, the new one gets the page's 409.
    assert (
        client.post(
            url, json={}, headers={**bearer(shared["proposed"]), "If-Match": etag}
        ).status_code
        == 412
    )
    again = client.post(
        url,
        json={},
        headers={**bearer(shared["proposed"]), "If-Match": response.headers["ETag"]},
    )
    assert again.status_code == 409


def test_decline_with_a_message_the_proposer_sees(app, client, faculty, shared):
    url = f"/api/v1/group/proposals/{shared['link']}/decline"
    headers = {**bearer(shared["proposed"]), "If-Match": _proposal_etag(client, shared)}
    before = _writes(app)
    too_long = client.post(url, json={"message": "x" * 501}, headers=headers)
    assert too_long.status_code == 422
    assert "message" in too_long.get_json()["errors"]["json"]
    assert _writes(app) == before
    response = client.post(url, json={"message": "Not my field, sorry."}, headers=headers)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["state"] == "declined"
    with app.app_context():
        assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "decline"))
    page = login_client(app.test_client(), faculty).get("/group/requests")
    assert "Not my field, sorry." in page.get_data(as_text=True)
    member = client.get(
        f"/api/v1/group/members/{shared['member']}", headers=bearer(shared["owner"])
    ).get_json()
    assert {link["name"]: link["state"] for link in member["supervisors"]}[
        "Prof. Proposed"
    ] == "declined"


@pytest.mark.both_backends
def test_only_the_named_person_answers(app, client, admin, shared):
    link = shared["link"]
    read_only = new_token(app, shared["proposed_user"], "read")
    admin_token = new_token(app, admin, "write")
    before = _writes(app)
    for who in ("owner", "confirmed", "stranger"):
        for method, path in (
            ("GET", f"/api/v1/group/proposals/{link}"),
            ("POST", f"/api/v1/group/proposals/{link}/confirm"),
            ("POST", f"/api/v1/group/proposals/{link}/decline"),
        ):
            response = client.open(
                path,
                method=method,
                json={} if method == "POST" else None,
                headers={**bearer(shared[who]), "If-Match": "*"},
            )
            assert response.status_code == 404, (who, path, response.get_json())
            assert "Ada Shared" not in response.get_data(as_text=True)
    # A read-only token of the named person cannot answer either.
    response = client.post(
        f"/api/v1/group/proposals/{link}/confirm",
        json={},
        headers={**bearer(read_only), "If-Match": "*"},
    )
    assert response.status_code == 403
    # An administrator may not decline on someone's behalf (as on the page).
    response = client.post(
        f"/api/v1/group/proposals/{link}/decline",
        json={},
        headers={**bearer(admin_token), "If-Match": "*"},
    )
    assert response.status_code == 403
    assert _writes(app) == before


def test_an_administrator_confirms_on_behalf(app, client, admin, shared):
    token = new_token(app, admin, "write")
    response = client.post(
        f"/api/v1/group/proposals/{shared['link']}/confirm",
        json={},
        headers={**bearer(token), "If-Match": _proposal_etag(client, shared)},
    )
    assert response.status_code == 200, response.get_json()
    with app.app_context():
        event = db.session.scalar(
            select(AuditEvent).where(AuditEvent.action == "confirm-on-behalf")
        )
        assert event.actor_id == admin.id


# ---------------------------------------------------------------------------------------------
# Milestones: recorded by the owner's group and administrators, read by co-supervisors.


def _milestone_etag(client, shared, token="owner"):
    response = client.get(
        f"/api/v1/group/milestones/{shared['milestone']}", headers=bearer(shared[token])
    )
    assert response.status_code == 200, response.get_json()
    return response.headers["ETag"]


@pytest.mark.both_backends
def test_owner_records_a_milestone_as_the_page_does(app, client, faculty, shared):
    url = f"/api/v1/group/milestones/{shared['milestone']}"
    headers = {**bearer(shared["owner"]), "If-Match": _milestone_etag(client, shared)}
    before = _writes(app)
    future = (date.today() + timedelta(days=3)).isoformat()
    refused = client.post(f"{url}/done", json={"done_on": future}, headers=headers)
    assert refused.status_code == 422
    assert "done_on" in refused.get_json()["errors"]
    blank = client.post(f"{url}/waive", json={"waived_reason": "   "}, headers=headers)
    assert blank.status_code == 422
    missing = client.post(
        f"{url}/done", json={"done_on": "2025-08-01"}, headers=bearer(shared["owner"])
    )
    assert missing.status_code == 428
    assert _writes(app) == before

    extended = client.post(
        f"{url}/extend",
        json={"due_date": "2026-12-15", "reason": "Parental leave"},
        headers=headers,
    )
    assert extended.status_code == 200, extended.get_json()
    assert extended.get_json()["due_date"] == "2026-12-15"
    stale = client.post(f"{url}/note", json={"note": "Lost"}, headers=headers)
    assert stale.status_code == 412
    headers["If-Match"] = extended.headers["ETag"]
    noted = client.post(f"{url}/note", json={"note": "Draft sent"}, headers=headers)
    assert noted.status_code == 200 and noted.get_json()["note"] == "Draft sent"
    headers["If-Match"] = noted.headers["ETag"]
    done = client.post(f"{url}/done", json={"done_on": "2025-08-01"}, headers=headers)
    assert done.status_code == 200 and done.get_json()["status"] == "done"
    headers["If-Match"] = done.headers["ETag"]
    reopened = client.post(f"{url}/reopen", json={}, headers=headers)
    assert reopened.status_code == 200 and reopened.get_json()["status"] == "open"
    with app.app_context():
        actions = db.session.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.entity_id == shared["member"], AuditEvent.actor_id == faculty.id)
            .order_by(AuditEvent.id)
        ).all()
        assert actions[-4:] == [
            "milestone-extended",
            "milestone-note",
            "milestone-done",
            "milestone-reopened",
        ]
        milestone = db.session.get(Milestone, shared["milestone"])
        assert milestone.status == MilestoneStatus.OPEN
        assert [extension.reason for extension in milestone.extensions] == ["Parental leave"]


def test_co_supervisor_reads_but_cannot_record_others_see_404(app, client, shared):
    url = f"/api/v1/group/milestones/{shared['milestone']}"
    assert client.get(url, headers=bearer(shared["confirmed"])).status_code == 200
    before = _writes(app)
    for who, status in (("confirmed", 403), ("proposed", 404), ("stranger", 404)):
        for action, body in (
            ("done", {"done_on": "2025-08-01"}),
            ("waive", {"waived_reason": "Not needed"}),
            ("extend", {"due_date": "2027-01-01", "reason": "Later"}),
            ("note", {"note": "Mine"}),
            ("reopen", {}),
        ):
            response = client.post(
                f"{url}/{action}", json=body, headers={**bearer(shared[who]), "If-Match": "*"}
            )
            assert response.status_code == status, (who, action, response.get_json())
            assert "Ada Shared" not in response.get_data(as_text=True)
        if status == 404:
            assert client.get(url, headers=bearer(shared[who])).status_code == 404
    assert _writes(app) == before


def test_a_link_that_is_not_a_proposal_cannot_be_answered(app, client, admin, faculty, make_member):
    member = make_member(faculty, "Ext Supervised", others=[("Dr. External", "co-supervisor")])
    with app.app_context():
        external = db.session.scalar(
            select(Supervision.id).where(
                Supervision.position_id == member.id, Supervision.supervisor_id.is_(None)
            )
        )
        own = db.session.scalar(
            select(Supervision.id).where(
                Supervision.position_id == member.id, Supervision.supervisor_id == faculty.id
            )
        )
    token = new_token(app, admin, "write")
    before = _writes(app)
    assert (
        client.get(f"/api/v1/group/proposals/{external}", headers=bearer(token)).status_code == 404
    )
    response = client.post(
        f"/api/v1/group/proposals/{external}/confirm",
        json={},
        headers={**bearer(token), "If-Match": "*"},
    )
    assert response.status_code == 404
    # A confirmed link: an administrator may read it, but there is nothing left to answer.
    response = client.post(
        f"/api/v1/group/proposals/{own}/confirm",
        json={},
        headers={**bearer(token), "If-Match": "*"},
    )
    assert response.status_code == 409
    assert _writes(app) == before
