"""Milestone rules shared by every feature: due dates, statuses, plans, and who may record them.

One place for each rule: the group pages, the roster export, the tracking pages, the reminders
and the calendar all read a milestone's status and a position's plan through these functions.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

from sqlalchemy import Select, and_, bindparam, case, false, func, or_, select

from portal.extensions import db
from portal.models import (
    DEFAULT_MILESTONE_PLANS,
    DueState,
    Milestone,
    MilestonePlanItem,
    MilestoneStatus,
    Person,
    Position,
    Program,
    Supervision,
    SupervisionState,
    User,
)

DUE_SOON_DAYS = 30
ONE_DAY = timedelta(days=1)


# ---------------------------------------------------------------------------------------------
# Dates.


def add_months(day: date, months: int) -> date:
    """`day` plus whole months; a day the month lacks becomes its last (31 Jan + 1 = 28/29 Feb).

    Past the calendar's ends it stops at date.min or date.max (still monotonic): the portal
    accepts days from 1950 to 2100 only (portal/days.py), but a record saved before that rule
    may start in year 1 or 9999, and its pages must still open."""
    index = day.year * 12 + (day.month - 1) + months
    if index < date.min.year * 12:
        return date.min
    if index > date.max.year * 12 + 11:
        return date.max
    year, month = divmod(index, 12)
    month += 1
    last = calendar.monthrange(year, month)[1]
    return date(year, month, min(day.day, last))


def occurrence_due(start: date, item: MilestonePlanItem, occurrence: int) -> date | None:
    """When the n-th occurrence of a plan item falls due, counted from the start (never chained,
    so that 29 February + 12 months is 28 February, and + 48 months is 29 February again)."""
    if item.due_months is None:
        return None
    months = item.due_months + (occurrence - 1) * (item.repeat_months or 0)
    return add_months(start, months)


def due_state(status: MilestoneStatus, due_date: date | None, today: date) -> DueState:
    """Upcoming, due within DUE_SOON_DAYS days, overdue, done or waived, on `today`."""
    if status == MilestoneStatus.DONE:
        return DueState.DONE
    if status == MilestoneStatus.WAIVED:
        return DueState.WAIVED
    if due_date is None:
        return DueState.UPCOMING
    if due_date < today:
        return DueState.OVERDUE
    if due_date <= today + timedelta(days=DUE_SOON_DAYS):
        return DueState.DUE_SOON
    return DueState.UPCOMING


def needs_attention(today: date):
    """SQL condition: an open milestone overdue or due within DUE_SOON_DAYS days on `today`
    (due_state's rule, as needs_attention_state says it of a state)."""
    return and_(
        Milestone.status == MilestoneStatus.OPEN,
        Milestone.due_date.is_not(None),
        Milestone.due_date <= today + timedelta(days=DUE_SOON_DAYS),
    )


def needs_attention_state(state: DueState) -> bool:
    """needs_attention's rule on a milestone's state: overdue or due within DUE_SOON_DAYS days."""
    return state in (DueState.OVERDUE, DueState.DUE_SOON)


def overdue(today: date):
    """SQL condition: an open milestone overdue on `today` (due_state's DueState.OVERDUE)."""
    return and_(
        Milestone.status == MilestoneStatus.OPEN,
        Milestone.due_date.is_not(None),
        Milestone.due_date < today,
    )


def position_current_on(today: date):
    """SQL condition: the position is current on `today` (Position.is_current_on, the one
    definition): an incoming student's milestones are not chased before they arrive."""
    return and_(Position.is_current_on(today), Position.archived_at.is_(None))


def expected_end(start: date, expected_months: int | None) -> date | None:
    """The day a program's expected duration runs out (None when it has no expected duration)."""
    if expected_months is None:
        return None
    return add_months(start, expected_months)


def is_past_expected_duration(start: date, expected_months: int | None, today: date) -> bool:
    """Whether a student is past their program's expected duration on `today`."""
    end = expected_end(start, expected_months)
    return end is not None and today > end


def first_start_within_expected_duration(expected_months: int, today: date) -> date:
    """The earliest start day not past `expected_months` on `today`. A later start never ends
    earlier (add_months is monotonic), so a student is past their expected duration exactly
    when they started before this day; found with is_past_expected_duration itself, a few days
    around the start that many months before `today` (end-of-month days share an end)."""
    start = add_months(today, -expected_months)
    while not is_past_expected_duration(start - ONE_DAY, expected_months, today):
        start -= ONE_DAY
    while is_past_expected_duration(start, expected_months, today):
        start += ONE_DAY
    return start


def past_expected_duration(today: date, expected_months: dict[int, int]):
    """SQL condition: the position is past its program's expected duration on `today`
    (is_past_expected_duration); `expected_months`: program id -> its expected duration."""
    return or_(
        false(),
        *(
            and_(
                Position.program_id == program_id,
                Position.start_date < first_start_within_expected_duration(months, today),
            )
            for program_id, months in expected_months.items()
        ),
    )


def ordering():
    """Open milestones first by date (undated last), then by plan order."""
    return (
        case((Milestone.due_date.is_(None), 1), else_=0),
        Milestone.due_date,
        Milestone.id,
    )


# ---------------------------------------------------------------------------------------------
# Who may do what. One function each: the trust rules (owner records, co-supervisors read)
# replace the body of these two, and every caller follows.


def can_read_milestones(actor: User, position: Position) -> bool:
    """Administrators, the owner's group and confirmed supervisors or hosts (not proposals)."""
    return position.changeable_by(actor) or position.confirmed_link_of(actor.id) is not None


def can_record_milestones(actor: User, position: Position) -> bool:
    """Who may mark done, waive, move a date or write a note: the owner's group and
    administrators (the ownership rule); confirmed co-supervisors read them."""
    return position.changeable_by(actor)


# ---------------------------------------------------------------------------------------------
# Plans.


def plan_items(program_id: int) -> list[MilestonePlanItem]:
    """The active steps of a program's plan, in order."""
    return list(
        db.session.scalars(
            select(MilestonePlanItem)
            .where(MilestonePlanItem.program_id == program_id, MilestonePlanItem.is_active)
            .order_by(MilestonePlanItem.sort_order, MilestonePlanItem.id)
        )
    )


def _within(position: Position, due: date | None) -> bool:
    """A milestone that would fall due after the position ends is not part of its plan."""
    return _before_end(position.end_date, due)


def _before_end(end_date: date | None, due: date | None) -> bool:
    return due is None or end_date is None or due <= end_date


def _new_milestone(position: Position, item: MilestonePlanItem, occurrence: int) -> Milestone:
    due = occurrence_due(position.start_date, item, occurrence)
    return Milestone(
        position=position,
        plan_item_id=item.id,
        occurrence=occurrence,
        name_en=item.name_en,
        name_fr=item.name_fr,
        planned_date=due,
        due_date=due,
    )


def first_occurrence_from(position: Position, item: MilestonePlanItem, today: date, after: int = 0):
    """The first occurrence number above `after` not already past on `today` (repeating items).

    Reports that fell due before the position was recorded are not chased; the next one is.
    """
    return _first_occurrence(position.start_date, item, today, after)


def _first_occurrence(start: date, item: MilestonePlanItem, today: date, after: int) -> int:
    occurrence = after + 1
    due = occurrence_due(start, item, occurrence)
    while due is not None and due < today:
        occurrence += 1
        due = occurrence_due(start, item, occurrence)
    return occurrence


def is_touched(milestone: Milestone) -> bool:
    """Whether someone recorded anything on a milestone (then plan changes leave it alone)."""
    return (
        milestone.status != MilestoneStatus.OPEN
        or bool(milestone.note)
        or bool(milestone.extensions)
        or milestone.due_date != milestone.planned_date
    )


def sync_plan(
    position: Position,
    today: date | None = None,
    *,
    fresh: bool = False,
    plans: dict[int, list[MilestonePlanItem]] | None = None,
) -> list[Milestone]:
    """Give a position the milestones of its program's plan; returns the ones added.

    Called when a position starts, and again when its program, start or end date change: the
    milestones nobody has touched are rebuilt from the plan (new dates, a different program's
    steps, none after the end date); anything recorded (done, waived, moved, noted) is kept.
    A program change recorded as a new position (a new stint) gets its own plan this way too.
    `fresh` says the position was just created (nothing to rebuild); `plans` caches plan_items
    by program id for callers that sync many positions.
    """
    today = today or date.today()
    existing = (
        []
        if fresh
        else list(db.session.scalars(select(Milestone).where(Milestone.position_id == position.id)))
    )
    kept = []
    for milestone in existing:
        if is_touched(milestone):
            kept.append(milestone)
        else:
            db.session.delete(milestone)
    db.session.flush()
    added = []
    if plans is None:
        items = plan_items(position.program_id)
    else:
        items = plans.setdefault(position.program_id, plan_items(position.program_id))
    for item, occurrence in _steps_to_add(
        position.start_date, position.end_date, items, kept, today
    ):
        milestone = _new_milestone(position, item, occurrence)
        db.session.add(milestone)
        added.append(milestone)
    db.session.flush()
    return added


def _steps_to_add(
    start: date,
    end: date | None,
    items: list[MilestonePlanItem],
    kept: list[Milestone],
    today: date,
) -> list[tuple[MilestonePlanItem, int]]:
    """(plan item, occurrence) of each milestone a position's plan lacks: the one rule of what
    a position gets, whether it was just created or its plan is rebuilt."""
    steps = []
    for item in items:
        mine = [m for m in kept if m.plan_item_id == item.id]
        if item.repeat_months is None:
            if mine:
                continue
            occurrence = 1
        else:
            if any(m.status == MilestoneStatus.OPEN for m in mine):
                continue
            last = max((m.occurrence for m in mine), default=0)
            occurrence = _first_occurrence(start, item, today, last)
        if _before_end(end, occurrence_due(start, item, occurrence)):
            steps.append((item, occurrence))
    return steps


def new_position_milestones(
    start: date,
    end: date | None,
    items: list[MilestonePlanItem],
    today: date,
) -> list[dict]:
    """The milestones a position starting on `start` gets when created (what
    `sync_plan(fresh=True)` adds), as column values for a bulk insert without the position's
    id; `items` are its program's `plan_items`."""
    rows = []
    for item, occurrence in _steps_to_add(start, end, items, [], today):
        due = occurrence_due(start, item, occurrence)
        rows.append(
            {
                "plan_item_id": item.id,
                "occurrence": occurrence,
                "name_en": item.name_en,
                "name_fr": item.name_fr,
                "planned_date": due,
                "due_date": due,
            }
        )
    return rows


def next_occurrence(milestone: Milestone) -> Milestone | None:
    """After a repeating milestone is closed, the next one (None past the end or not repeating)."""
    item = milestone.plan_item
    if item is None or item.repeat_months is None or not item.is_active:
        return None
    position = milestone.position
    if item.program_id != position.program_id:
        return None
    occurrence = milestone.occurrence + 1
    exists = db.session.scalar(
        select(func.count(Milestone.id)).where(
            Milestone.position_id == position.id,
            Milestone.plan_item_id == item.id,
            Milestone.occurrence >= occurrence,
        )
    )
    if exists:
        return None
    following = _new_milestone(position, item, occurrence)
    if not _within(position, following.due_date):
        return None
    db.session.add(following)
    return following


# ---------------------------------------------------------------------------------------------
# Reads the group pages and exports share.


@dataclass(frozen=True)
class MilestoneSummary:
    """A position's next open milestone, as a group list or an export shows it."""

    milestone_id: int
    position_id: int
    name_en: str
    name_fr: str
    due_date: date | None
    state: DueState

    def name(self, language: str) -> str:
        return self.name_fr if language.startswith("fr") else self.name_en


def next_milestones(position_ids: Iterable[int], today: date) -> dict[int, MilestoneSummary]:
    """Position id -> its next open milestone (earliest date, undated last), in one query."""
    ids = list(position_ids)
    if not ids:
        return {}
    rows = db.session.connection().execute(_next_milestones_statement(), {"ids": ids})
    return first_per_position(rows, today)


def first_per_position(rows, today: date) -> dict[int, MilestoneSummary]:
    """Each position's first row of next_milestone_columns() as its MilestoneSummary on
    `today`: the rows must come with each position's own in ordering()'s order (ordered by
    position, then ordering(); or in any order that keeps that within a position)."""
    found: dict[int, MilestoneSummary] = {}
    for milestone_id, position_id, name_en, name_fr, due, status in rows:
        if position_id not in found:
            found[position_id] = MilestoneSummary(
                milestone_id, position_id, name_en, name_fr, due, due_state(status, due, today)
            )
    return found


def next_milestone_columns() -> Select:
    return select(
        Milestone.id,
        Milestone.position_id,
        Milestone.name_en,
        Milestone.name_fr,
        Milestone.due_date,
        Milestone.status,
    )


@lru_cache(maxsize=1)
def _next_milestones_statement() -> Select:
    """next_milestones' statement, built once (the exports' next milestones)."""
    return (
        next_milestone_columns()
        .where(
            Milestone.position_id.in_(bindparam("ids", expanding=True)),
            Milestone.status == MilestoneStatus.OPEN,
        )
        .order_by(Milestone.position_id, *ordering())
    )


def expected_durations(position_ids: Iterable[int]) -> dict[int, int | None]:
    """Position id -> its program's expected duration in months (None: the program has none)."""
    ids = list(position_ids)
    if not ids:
        return {}
    rows = db.session.execute(
        select(Position.id, Program.expected_duration_months)
        .join(Program, Program.id == Position.program_id)
        .where(Position.id.in_(ids))
    )
    return dict(rows.all())


def default_plan_items(programs: Iterable[Program]) -> list[MilestonePlanItem]:
    """The default plans for these programs (by name), as new rows; what the migration seeds."""
    items = []
    for program in programs:
        steps = DEFAULT_MILESTONE_PLANS.get(program.name, ())
        for order, (name_en, name_fr, due, repeat) in enumerate(steps, start=1):
            items.append(
                MilestonePlanItem(
                    program=program,
                    sort_order=order * 10,
                    name_en=name_en,
                    name_fr=name_fr,
                    due_months=due,
                    repeat_months=repeat,
                )
            )
    return items


# ---------------------------------------------------------------------------------------------
# Open milestones in lists: the group's "What's due" panel, the calendar, the digests.


@dataclass(frozen=True)
class MilestoneRow:
    """An open milestone in a list: whose, which, when, and its state on the day asked."""

    milestone_id: int
    position_id: int
    person_name: str
    program: str
    name_en: str
    name_fr: str
    due_date: date | None
    state: DueState
    note: str | None = None

    def name(self, language: str) -> str:
        return self.name_fr if language.startswith("fr") else self.name_en


def milestone_row(row, today: date) -> MilestoneRow:
    """A result row of milestone_columns() as a MilestoneRow, its state on `today`."""
    return MilestoneRow(
        milestone_id=row.id,
        position_id=row.position_id,
        person_name=row.full_name,
        program=row.program,
        name_en=row.name_en,
        name_fr=row.name_fr,
        due_date=row.due_date,
        state=due_state(row.status, row.due_date, today),
        note=row.note,
    )


def milestone_rows(query: Select, today: date, parameters=None) -> list[MilestoneRow]:
    return [milestone_row(row, today) for row in db.session.execute(query, parameters)]


def milestone_columns() -> Select:
    return (
        select(
            Milestone.id,
            Milestone.position_id,
            Person.full_name,
            Program.name.label("program"),
            Milestone.name_en,
            Milestone.name_fr,
            Milestone.due_date,
            Milestone.status,
            Milestone.note,
        )
        .join(Position, Position.id == Milestone.position_id)
        .join(Person, Person.id == Position.person_id)
        .join(Program, Program.id == Position.program_id)
    )


def in_group(faculty: User | None, faculty_id=None):
    """SQL condition: the milestone's position is in the faculty member's group (a confirmed
    link: proposals and declined links are no one's group); `faculty_id` instead of `faculty`
    for a statement that binds it as a parameter."""
    return Position.id.in_(
        select(Supervision.position_id).where(
            Supervision.supervisor_id == (faculty.id if faculty is not None else faculty_id),
            Supervision.state == SupervisionState.CONFIRMED,
        )
    )
