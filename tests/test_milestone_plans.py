"""Plans and due dates: month arithmetic, repeating steps, end dates, program changes."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.group.operations import MemberData, add_member, move_to_alumni, update_member
from portal.milestones import (
    add_months,
    due_state,
    first_start_within_expected_duration,
    is_past_expected_duration,
    occurrence_due,
    sync_plan,
)
from portal.models import (
    DepartureReason,
    DueState,
    Milestone,
    MilestonePlanItem,
    MilestoneStatus,
    Position,
    Program,
    SupervisionRole,
    User,
)
from portal.roster.applying import apply_import
from portal.roster.planning import plan_import
from portal.roster.reading import read_roster_file
from portal.tracking import operations


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2025, 1, 31), 1, date(2025, 2, 28)),
        (date(2024, 1, 31), 1, date(2024, 2, 29)),  # leap year
        (date(2024, 1, 31), 2, date(2024, 3, 31)),
        (date(2024, 2, 29), 12, date(2025, 2, 28)),
        (date(2024, 2, 29), 48, date(2028, 2, 29)),
        (date(2025, 12, 15), 1, date(2026, 1, 15)),
        (date(2025, 3, 31), -1, date(2025, 2, 28)),
        (date(2025, 8, 31), 60, date(2030, 8, 31)),
    ],
)
def test_add_months_keeps_the_day_or_takes_the_last_of_a_shorter_month(start, months, expected):
    assert add_months(start, months) == expected


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(9999, 6, 1), 6, date(9999, 12, 1)),
        (date(9999, 6, 1), 7, date.max),
        (date(9999, 6, 30), 10_000, date.max),
        (date(1, 6, 15), -5, date(1, 1, 15)),
        (date(1, 6, 15), -6, date.min),
        (date(1, 1, 1), -10_000, date.min),
    ],
)
def test_add_months_stops_at_the_ends_of_the_calendar(start, months, expected):
    """Records saved before the portal's day range (portal/days.py) may start in year 1 or
    9999: their due dates stop at the calendar's ends instead of failing the page."""
    assert add_months(start, months) == expected


# The progress report's SQL picks the students past their expected duration by one cut-off start
# day per program; every day of 16 months, for these durations, checks it against the rule.
@pytest.mark.parametrize("months", [1, 11, 12, 13, 24, 59, 60])
def test_the_first_start_within_the_expected_duration_is_the_exact_cut_off(months):
    day = date(2023, 12, 1)
    while day < date(2025, 4, 1):
        cut_off = first_start_within_expected_duration(months, day)
        for offset in range(-40, 40):
            start = cut_off + timedelta(days=offset)
            assert is_past_expected_duration(start, months, day) == (start < cut_off), (day, start)
        day += timedelta(days=1)


def test_repeating_occurrences_count_from_the_start_not_from_each_other():
    item = MilestonePlanItem(name_en="Report", name_fr="Rapport", due_months=12, repeat_months=12)
    start = date(2024, 2, 29)
    assert [occurrence_due(start, item, n) for n in (1, 2, 3, 4)] == [
        date(2025, 2, 28),
        date(2026, 2, 28),
        date(2027, 2, 28),
        date(2028, 2, 29),  # chaining 28 Feb + 12 would have drifted to the 28th for good
    ]
    undated = MilestonePlanItem(name_en="Defense", name_fr="Soutenance", due_months=None)
    assert occurrence_due(start, undated, 1) is None


def test_due_state_on_a_given_day():
    today = date(2026, 3, 10)
    assert due_state(MilestoneStatus.OPEN, date(2026, 3, 9), today) == DueState.OVERDUE
    assert due_state(MilestoneStatus.OPEN, date(2026, 3, 10), today) == DueState.DUE_SOON
    assert due_state(MilestoneStatus.OPEN, date(2026, 4, 9), today) == DueState.DUE_SOON
    assert due_state(MilestoneStatus.OPEN, date(2026, 4, 10), today) == DueState.UPCOMING
    assert due_state(MilestoneStatus.OPEN, None, today) == DueState.UPCOMING
    assert due_state(MilestoneStatus.DONE, date(2020, 1, 1), today) == DueState.DONE
    assert due_state(MilestoneStatus.WAIVED, date(2020, 1, 1), today) == DueState.WAIVED


FUTURE_YEAR = date.today().year + 2


def _program(name: str) -> Program:
    return db.session.scalar(select(Program).where(Program.name == name))


def _data(program: str, start: date, end: date | None = None, **fields) -> MemberData:
    values = {
        "full_name": "Ada Student",
        "email": "ada.student@example.org",
        "orcid": None,
        "program_id": _program(program).id,
        "institution": "Université de Montréal",
        "role": SupervisionRole.PRINCIPAL,
        "share": None,
        "start_date": start,
        "end_date": end,
        "note": "",
        "supervisors": [],
        "link_existing": False,
    }
    values.update(fields)
    return MemberData(**values)


def _milestones(position: Position) -> list[tuple[str, int, date | None, str]]:
    rows = db.session.execute(
        select(Milestone.name_en, Milestone.occurrence, Milestone.due_date, Milestone.status)
        .where(Milestone.position_id == position.id)
        .order_by(Milestone.due_date.is_(None), Milestone.due_date, Milestone.id)
    )
    return [(name, occurrence, due, status.value) for name, occurrence, due, status in rows]


@pytest.mark.both_backends
def test_a_phd_that_starts_gets_the_default_plan(app_context, faculty):
    actor = db.session.get(User, faculty.id)
    year = FUTURE_YEAR  # an incoming student: every step, the first report included, is ahead
    position = add_member(actor, actor, _data("PhD", date(year, 1, 31)))
    assert _milestones(position) == [
        ("Research plan", 1, date(year + 1, 1, 31), "open"),
        ("Progress report", 1, date(year + 1, 1, 31), "open"),
        ("Qualifying exam", 1, date(year + 2, 1, 31), "open"),
        ("Thesis proposal", 1, date(year + 2, 7, 31), "open"),
        ("Thesis submission", 1, date(year + 5, 1, 31), "open"),
        ("Defense", 1, None, "open"),
    ]


def test_interns_collaborators_and_visitors_have_no_plan(app_context, faculty):
    actor = db.session.get(User, faculty.id)
    for number, program in enumerate(
        ("Research Intern", "Collaborating researcher", "Independent visiting researcher")
    ):
        position = add_member(
            actor, actor, _data(program, date(2025, 1, 1), email=f"p{number}@example.org")
        )
        assert _milestones(position) == []


@pytest.mark.both_backends
def test_a_position_that_ends_before_a_milestone_does_not_get_it(app_context, faculty):
    actor = db.session.get(User, faculty.id)
    year = FUTURE_YEAR
    position = add_member(
        actor, actor, _data("Master's Research", date(year, 1, 31), end=date(year + 1, 1, 30))
    )
    # Research plan at 6 months falls inside; the report (12) and the submission (24) do not.
    assert _milestones(position) == [("Research plan", 1, date(year, 7, 31), "open")]


@pytest.mark.both_backends
def test_marking_a_repeating_milestone_done_gives_the_next_one(app_context, faculty):
    actor = db.session.get(User, faculty.id)
    position = add_member(actor, actor, _data("Postdoctorate", date(2024, 2, 29)))
    first = db.session.scalar(select(Milestone).where(Milestone.position_id == position.id))
    # Recorded today (2026-…): the reports already past were not chased; the next is pending.
    following = operations.mark_done(actor, first, date(2026, 3, 1), date(2026, 3, 1))
    assert following is not None
    assert following.occurrence == first.occurrence + 1
    assert following.due_date == add_months(position.start_date, 12 * following.occurrence)
    # Waiving the next one gives the one after it; nothing is ever created twice.
    after = operations.waive(actor, following, "On leave that year")
    assert after.occurrence == following.occurrence + 1
    assert operations.reopen(actor, following) is None
    again = operations.waive(actor, following, "On leave that year")
    assert again is None  # the one after already exists


def test_repeating_steps_are_not_chased_for_years_before_the_position_was_recorded(
    app_context, faculty
):
    actor = db.session.get(User, faculty.id)
    position = add_member(actor, actor, _data("Postdoctorate", date(2020, 5, 15)))
    (milestone,) = _milestones(position)
    assert milestone[0] == "Annual review"
    assert milestone[2] >= date.today()
    assert milestone[2] == add_months(date(2020, 5, 15), 12 * milestone[1])


def test_a_repeating_step_stops_at_the_end_date(app_context, faculty):
    actor = db.session.get(User, faculty.id)
    year = FUTURE_YEAR
    position = add_member(
        actor,
        actor,
        _data("Postdoctorate", date(year, 1, 10), end=date(year + 2, 1, 9), email="pd@example.org"),
    )
    first = db.session.scalar(select(Milestone).where(Milestone.position_id == position.id))
    assert first.due_date == date(year + 1, 1, 10)
    # The second review would be on the 10th, the day after the position ends.
    done_on = date(year + 1, 1, 10)
    assert operations.mark_done(actor, first, done_on, done_on) is None


@pytest.mark.both_backends
def test_a_program_change_is_a_new_stint_with_its_own_plan(app_context, faculty):
    actor = db.session.get(User, faculty.id)
    masters = add_member(
        actor, actor, _data("Master's Research", date(2023, 9, 1), end=date(2025, 9, 30))
    )
    phd = add_member(
        actor,
        actor,
        _data("PhD", date(2025, 10, 1), link_existing=True),
    )
    assert phd.person_id == masters.person_id
    # The master's keeps its own plan (its yearly reports, all past when recorded, are not
    # chased); the PhD stint gets the PhD plan, counted from its own start.
    assert [row[0] for row in _milestones(masters)] == ["Research plan", "Thesis submission"]
    assert ("Research plan", 1, date(2026, 10, 1), "open") in _milestones(phd)
    assert {row[0] for row in _milestones(phd)} == {
        "Research plan",
        "Qualifying exam",
        "Thesis proposal",
        "Progress report",
        "Thesis submission",
        "Defense",
    }


@pytest.mark.both_backends
def test_editing_the_program_rebuilds_untouched_milestones_and_keeps_recorded_ones(
    app_context, faculty
):
    actor = db.session.get(User, faculty.id)
    data = _data("Master's Research", date(2025, 1, 31))
    position = add_member(actor, actor, data)
    plan = db.session.scalar(
        select(Milestone).where(
            Milestone.position_id == position.id, Milestone.name_en == "Research plan"
        )
    )
    operations.mark_done(actor, plan, date(2025, 7, 20), date(2025, 8, 1))
    version = position.version
    update_member(actor, position, actor, _data("PhD", date(2025, 1, 31)), version)
    names = [(row[0], row[3]) for row in _milestones(position)]
    # The done master's research plan stays; the PhD's own research plan is added.
    assert ("Research plan", "done") in names
    assert ("Research plan", "open") in names
    assert ("Thesis submission", "open") in names
    assert ("Qualifying exam", "open") in names
    dates = {row[0]: row[2] for row in _milestones(position) if row[3] == "open"}
    assert dates["Thesis submission"] == date(2030, 1, 31)  # the PhD's 60 months, not 24


def test_moving_to_alumni_drops_the_untouched_milestones_after_the_end(app_context, faculty):
    actor = db.session.get(User, faculty.id)
    position = add_member(actor, actor, _data("PhD", date(2020, 1, 15)))
    proposal = db.session.scalar(
        select(Milestone).where(
            Milestone.position_id == position.id, Milestone.name_en == "Thesis proposal"
        )
    )
    operations.extend(actor, proposal, date(2030, 1, 1), "Kept: recorded by hand")
    move_to_alumni(actor, position, date(2022, 6, 30), DepartureReason.LEFT_WITHOUT_DEGREE, None)
    names = [row[0] for row in _milestones(position)]
    assert "Research plan" in names  # due 2021-01-15, before the end
    assert "Qualifying exam" in names  # due 2022-01-15, before the end
    assert "Thesis submission" not in names
    assert "Thesis proposal" in names  # someone moved it: kept, never silently deleted


@pytest.mark.both_backends
def test_an_import_gives_new_positions_their_plan(app_context, faculty):
    actor = db.session.get(User, faculty.id)
    text = (
        "faculty_email,name,email,program,institution,role,start_date,end_date,status,outcome\n"
        f"{actor.email},Imported Student,imported@example.org,Master's Research,"
        "McGill University,principal,2025-01-31,,current,\n"
    )
    rows = read_roster_file(text.encode("utf-8"), "roster.csv", None)
    plan = plan_import(rows, actor, only_faculty=actor)
    assert plan.ok, plan.problems
    apply_import(plan, actor)
    imported = db.session.scalar(
        select(Position).join(Position.person).where(Position.start_date == date(2025, 1, 31))
    )
    assert [row[0] for row in _milestones(imported)] == [
        "Research plan",
        "Progress report",
        "Thesis submission",
    ]


@pytest.mark.both_backends
def test_sync_plan_is_idempotent(app_context, faculty):
    actor = db.session.get(User, faculty.id)
    position = add_member(actor, actor, _data("PhD", date(2025, 1, 31)))
    before = _milestones(position)
    sync_plan(position)
    sync_plan(position)
    assert _milestones(position) == before
