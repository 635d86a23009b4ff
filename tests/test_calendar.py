"""The calendar of open milestones: the .ics download, the secret feed and its revocation."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from icalendar import Calendar
from sqlalchemy import select

from portal.extensions import db
from portal.milestones import add_months, sync_plan
from portal.models import Milestone, Position, User


@pytest.fixture
def group(app, faculty, make_member):
    """Two students with plans; one milestone done (not in the calendar), one undated."""
    today = date.today()
    first = make_member(faculty, "Ana Étudiante", start_date=add_months(today, -13))
    second = make_member(
        faculty, "Bo Master", program="Master's Research", start_date=add_months(today, -2)
    )
    with app.app_context():
        for position_id in (first.id, second.id):
            sync_plan(db.session.get(Position, position_id))
        done = db.session.scalar(
            select(Milestone).where(
                Milestone.position_id == first.id, Milestone.name_en == "Research plan"
            )
        )
        done.status, done.done_on = "done", today - timedelta(days=3)
        db.session.commit()
        db.session.remove()
    return first, second


def _events(body: bytes) -> list[tuple[str, date]]:
    calendar = Calendar.from_ical(body)
    return sorted(
        (str(event["SUMMARY"]), event.decoded("DTSTART")) for event in calendar.walk("VEVENT")
    )


def _page_rows(html: str) -> list[tuple[str, date]]:
    """(member: milestone, due) for each dated row of the open-milestones table."""
    rows = []
    for row in re.findall(r"<tr>(.*?)</tr>", html, flags=re.S):
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S)
        if len(cells) < 4:
            continue
        member = re.sub(r"<[^>]+>", "", cells[0]).strip()
        due = cells[3].strip()
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", due):
            rows.append((f"{member}: {cells[2].strip()}", date.fromisoformat(due)))
    return sorted(rows)


def test_the_ics_parses_and_matches_the_page(faculty_client, group):
    response = faculty_client.get("/group/milestones.ics")
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    assert response.headers["Content-Disposition"] == "attachment; filename=milestones.ics"
    events = _events(response.data)
    page = faculty_client.get("/group/milestones").get_data(as_text=True)
    assert events == _page_rows(page)
    assert ("Ana Étudiante: Research plan", events[0][1]) not in events  # done: not an event
    assert any(summary == "Bo Master: Research plan" for summary, _ in events)
    assert not any("Defense" in summary for summary, _ in events)  # undated: no event
    calendar = Calendar.from_ical(response.data)
    uids = [str(event["UID"]) for event in calendar.walk("VEVENT")]
    assert len(uids) == len(set(uids))


def test_the_download_needs_a_login(client, group):
    response = client.get("/group/milestones.ics")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_the_feed_works_without_login_until_revoked(app, faculty, faculty_client, client, group):
    page = faculty_client.post("/group/milestones/feed")
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"
    feed_url = re.search(r'value="(http://[^"]+/calendar/[^"]+\.ics)"', page.get_data(as_text=True))
    assert feed_url, "the new feed URL is shown once"
    path = feed_url.group(1).split("localhost", 1)[-1]
    token = path.rsplit("/", 1)[1].removesuffix(".ics")
    with app.app_context():
        stored = db.session.get(User, faculty.id).calendar_feed_hash
        assert stored and token not in stored  # only a hash is kept
    feed = client.get(path)
    assert feed.status_code == 200
    assert _events(feed.data) == _events(faculty_client.get("/group/milestones.ics").data)
    # A new URL replaces the old one.
    second = faculty_client.post("/group/milestones/feed").get_data(as_text=True)
    new_path = re.search(r'value="http://[^"]+(/calendar/[^"]+\.ics)"', second).group(1)
    assert client.get(path).status_code == 404
    assert client.get(new_path).status_code == 200
    # Revoked: 404.
    assert faculty_client.post("/group/milestones/feed/revoke").status_code == 302
    assert client.get(new_path).status_code == 404
    assert client.get("/calendar/not-a-token.ics").status_code == 404


def test_a_deactivated_account_has_no_feed(app, faculty, faculty_client, client, group):
    page = faculty_client.post("/group/milestones/feed").get_data(as_text=True)
    path = re.search(r'value="http://[^"]+(/calendar/[^"]+\.ics)"', page).group(1)
    with app.app_context():
        db.session.get(User, faculty.id).is_active = False
        db.session.commit()
    assert client.get(path).status_code == 404


def test_a_reactivated_account_does_not_get_its_old_feed_back(
    app, faculty, faculty_client, admin_client, client, group
):
    page = faculty_client.post("/group/milestones/feed").get_data(as_text=True)
    path = re.search(r'value="http://[^"]+(/calendar/[^"]+\.ics)"', page).group(1)
    assert admin_client.post(f"/admin/accounts/{faculty.id}/deactivate").status_code == 302
    assert admin_client.post(f"/admin/accounts/{faculty.id}/reactivate").status_code == 302
    assert client.get(path).status_code == 404
    with app.app_context():
        assert db.session.get(User, faculty.id).calendar_feed_hash is None


def test_the_feed_speaks_its_owner_language(app, faculty, faculty_client, client, group):
    with app.app_context():
        db.session.get(User, faculty.id).locale = "fr_CA"
        db.session.commit()
    page = faculty_client.post("/group/milestones/feed").get_data(as_text=True)
    path = re.search(r'value="http://[^"]+(/calendar/[^"]+\.ics)"', page).group(1)
    summaries = [summary for summary, _ in _events(client.get(path).data)]
    assert "Bo Master: Plan de recherche" in summaries


def test_another_faculty_cannot_see_the_calendar_of_a_group(app, make_faculty, faculty, group):
    from tests.conftest import login_client

    other = login_client(app.test_client(), make_faculty("someone@example.org"))
    assert other.get(f"/group/milestones.ics?faculty={faculty.id}").status_code == 404
    own = other.get("/group/milestones.ics")
    assert _events(own.data) == []


@pytest.mark.both_backends
def test_the_calendar_keeps_current_and_incoming_members_only(app, faculty, make_member):
    """Position's one rule: a member is current through their end date, alumni the day after."""
    from portal.tracking.queries import group_open_milestones

    today = date.today()
    people = {
        "Ends Today": {"start_date": add_months(today, -12), "end_date": today},
        "Ended Yesterday": {"start_date": add_months(today, -12), "end_date": today - timedelta(1)},
        "Starts Later": {"start_date": today + timedelta(30)},
    }
    for name, dates in people.items():
        position = make_member(faculty, name, **dates)
        with app.app_context():
            sync_plan(db.session.get(Position, position.id))
            db.session.commit()
            db.session.remove()

    def listed(day: date) -> set[str]:
        with app.app_context():
            owner = db.session.get(User, faculty.id)
            return {row.person_name for row in group_open_milestones(owner, day)}

    assert listed(today) == {"Ends Today", "Starts Later"}
    assert listed(today - timedelta(1)) == set(people)  # the day before, all three have one
