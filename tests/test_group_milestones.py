"""The /group page's milestones, read once: the "What's due" panel and each row's next one."""

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.group.queries import group_milestones
from portal.milestones import sync_plan
from portal.models import DueState, Milestone, MilestoneStatus, Position

pytestmark = pytest.mark.both_backends  # the panel's order by name is the database's

TODAY = date(2026, 11, 30)


def _add(app, position, name: str, due: date | None, status=MilestoneStatus.OPEN) -> None:
    with app.app_context():
        db.session.add(
            Milestone(
                position_id=position.id,
                name_en=name,
                name_fr=f"{name} (fr)",
                planned_date=due,
                due_date=due,
                status=status,
                done_on=TODAY - timedelta(days=1) if status == MilestoneStatus.DONE else None,
            )
        )
        db.session.commit()


def test_the_panel_and_the_next_milestones_come_from_one_statement(
    app, make_faculty, make_member, query_counter
):
    faculty = make_faculty("panel@example.org")
    colleague = make_faculty("colleague@example.org")
    zoe = make_member(faculty, "Zoé Current")
    adam = make_member(faculty, "Adam Current")
    una = make_member(faculty, "Una Undated")
    incoming = make_member(faculty, "Ines Incoming", start_date=TODAY + timedelta(days=40))
    alumna = make_member(
        faculty, "Alma Alumna", start_date=date(2020, 9, 1), end_date=date(2025, 8, 31)
    )
    outsider = make_member(colleague, "Olga Other")
    day = timedelta(days=1)
    _add(app, zoe, "Z soon", TODAY + 5 * day)
    _add(app, zoe, "Z overdue", TODAY - 10 * day)
    _add(app, zoe, "Z same day", TODAY + 5 * day)
    _add(app, adam, "A soon", TODAY + 5 * day)  # Zoé's day: the panel orders by name
    _add(app, adam, "A later", TODAY + 31 * day)  # beyond the 30 days
    _add(app, adam, "A undated", None)
    _add(app, adam, "A done", TODAY - 3 * day, MilestoneStatus.DONE)
    _add(app, una, "U undated", None)
    _add(app, incoming, "I soon", TODAY + 20 * day)  # not started: not chased yet
    _add(app, alumna, "Al overdue", TODAY - 100 * day)  # left
    _add(app, outsider, "O overdue", TODAY - day)  # another group

    shown = [zoe.id, adam.id, una.id, incoming.id]
    with app.app_context(), query_counter() as statements:
        found = group_milestones(faculty, TODAY, shown)

    assert len([sql for sql in statements if sql.startswith("SELECT")]) == 1, statements
    assert [(row.person_name, row.name_en, row.state) for row in found.due] == [
        ("Zoé Current", "Z overdue", DueState.OVERDUE),
        ("Adam Current", "A soon", DueState.DUE_SOON),
        ("Zoé Current", "Z soon", DueState.DUE_SOON),
        ("Zoé Current", "Z same day", DueState.DUE_SOON),
    ]
    assert [row.program for row in found.due] == ["PhD"] * 4
    assert {position: summary.name_en for position, summary in found.next.items()} == {
        zoe.id: "Z overdue",
        adam.id: "A soon",
        una.id: "U undated",  # undated comes last, but it is all Una has
        incoming.id: "I soon",
    }
    assert found.next[una.id].state == DueState.UPCOMING
    # Only the positions asked for (a page's rows) get their next milestone.
    with app.app_context():
        assert set(group_milestones(faculty, TODAY, [adam.id]).next) == {adam.id}
        assert group_milestones(faculty, TODAY, []).next == {}


def test_records_saved_before_the_day_range_still_open(app, faculty, faculty_client, make_member):
    """Before portal/days.py bounded a position's days, year 1 and year 9999 could be saved:
    their plans' due dates stop at the calendar's ends, and every page of theirs opens."""
    late = make_member(faculty, "Late Start", start_date=date(9999, 6, 1))
    early = make_member(
        faculty, "Early Start", start_date=date(1, 1, 1), end_date=date(9999, 12, 31)
    )
    with app.app_context():
        for record in (late, early):
            sync_plan(db.session.get(Position, record.id), TODAY)
        db.session.commit()
        late_dues = set(
            db.session.scalars(
                select(Milestone.due_date).where(
                    Milestone.position_id == late.id, Milestone.due_date.is_not(None)
                )
            )
        )
    assert late_dues and max(late_dues) == date.max
    for path in (
        "/group",
        "/group?format=xlsx",
        f"/group/members/{late.id}/milestones",
        f"/group/members/{early.id}/milestones",
        f"/group/members/{late.id}/edit",
    ):
        assert faculty_client.get(path).status_code == 200, path
