"""The navigation's count of proposals waiting for the user, read with the session's user."""

from __future__ import annotations

import re

import pytest

from portal.extensions import db
from portal.models import Supervision, SupervisionState, utcnow
from tests.conftest import login_client
from tests.group_helpers import answer_data

pytestmark = pytest.mark.both_backends

BADGE = re.compile(r'class="badge">(\d+)<')


def badge(page: str) -> int | None:
    found = BADGE.search(page)
    return int(found.group(1)) if found else None


def propose(app, position_id: int, named_id: int, proposer_id: int) -> int:
    with app.app_context():
        link = Supervision(
            position_id=position_id,
            supervisor_id=named_id,
            role="co-supervisor",
            share=0,
            state=SupervisionState.PROPOSED,
            proposed_by_id=proposer_id,
            proposed_at=utcnow(),
        )
        db.session.add(link)
        db.session.commit()
        link_id = link.id
        db.session.remove()
    return link_id


def standalone_counts(statements: list[str]) -> list[str]:
    """The statements that asked the navigation's count on their own (not with the user)."""
    return [sql for sql in statements if sql.startswith("SELECT count(supervisions.id)")]


@pytest.fixture
def proposals(app, faculty, make_faculty, make_member):
    """Two proposals from `faculty` waiting for Prof. Named's answer."""
    named = make_faculty("named@example.org", "Prof. Named")
    links = [
        propose(app, make_member(faculty, f"Proposed {number}").id, named.id, faculty.id)
        for number in range(2)
    ]
    return named, links


def test_the_badge_counts_what_waits_for_the_user_and_follows_each_answer(
    app, faculty_client, proposals
):
    named, links = proposals
    client = login_client(app.test_client(), named)
    assert badge(client.get("/group").get_data(as_text=True)) == 2
    # The proposer waits for no one's answer: no badge on their pages.
    assert badge(faculty_client.get("/group").get_data(as_text=True)) is None
    answered = client.post(
        f"/group/requests/{links[0]}", data=answer_data(app, links[0], "confirm")
    )
    assert answered.status_code == 302
    assert badge(client.get("/group/requests").get_data(as_text=True)) == 1
    client.post(f"/group/requests/{links[1]}", data=answer_data(app, links[1], "decline"))
    assert badge(client.get("/group").get_data(as_text=True)) is None


def test_an_administrator_sees_their_own_count_on_anothers_group(app, admin, proposals):
    named, _links = proposals
    page = login_client(app.test_client(), admin).get(f"/group?faculty={named.id}")
    assert page.status_code == 200
    assert badge(page.get_data(as_text=True)) is None


def test_a_page_read_asks_no_separate_count(app, proposals, query_counter):
    named, _links = proposals
    client = login_client(app.test_client(), named)
    client.get("/group")  # the first request of a client may store its CSRF token
    with query_counter() as statements:
        page = client.get("/group").get_data(as_text=True)
    assert badge(page) == 2
    assert statements and not standalone_counts(statements)


def test_a_page_shown_by_a_post_counts_afresh(app, proposals, query_counter):
    """A request that writes may change the count after the user was read: it asks again."""
    named, links = proposals
    client = login_client(app.test_client(), named)
    client.post(f"/group/requests/{links[0]}", data=answer_data(app, links[0], "confirm"))
    with query_counter() as statements:
        again = client.post(
            f"/group/requests/{links[0]}", data=answer_data(app, links[0], "confirm")
        )
    assert again.status_code == 409  # already answered: an error page with the navigation
    assert badge(again.get_data(as_text=True)) == 1
    assert len(standalone_counts(statements)) == 1
