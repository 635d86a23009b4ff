"""The administrators' progress report: overdue milestones, students past their program's
expected duration, and each program's completion figures, with a small SVG chart and exports.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import Select, and_, exists, func, select

from portal.catalogue import cached_gettext
from portal.extensions import db
from portal.i18n import format_day, number_text
from portal.milestones import (
    add_months,
    due_state,
    expected_end,
    ordering,
    overdue,
    past_expected_duration,
    position_current_on,
)
from portal.models import (
    DepartureReason,
    DueState,
    Milestone,
    MilestoneStatus,
    Person,
    Position,
    Program,
    Supervision,
    SupervisionRole,
    SupervisionState,
    User,
)

COMPLETION_YEARS = 5
OPEN_MILESTONE_COLUMNS = (
    "student",
    "program",
    "milestone",
    "due_date",
    "status",
    "days_overdue",
    "supervisors",
    "start_date",
    "expected_end",
)


def months_between(start: date, end: date) -> int:
    """Whole months from `start` to `end` (as an age counts years): 15 Jan -> 14 Mar is 1."""
    months = (end.year - start.year) * 12 + (end.month - start.month)
    if add_months(start, months) > end:
        months -= 1
    return months


@dataclass(frozen=True)
class ProgressFilter:
    """What the report is asked for: the day, and optionally one department and one program."""

    as_of: date
    department: str | None = None
    program_id: int | None = None


@dataclass(frozen=True)
class OpenMilestoneRow:
    student: str
    program: str
    name_en: str
    name_fr: str
    due_date: date | None
    state: DueState
    supervisors: tuple[str, ...]
    start_date: date
    expected_end: date | None

    def name(self, language: str) -> str:
        return self.name_fr if language.startswith("fr") else self.name_en

    def days_overdue(self, as_of: date) -> int | None:
        if self.state != DueState.OVERDUE or self.due_date is None:
            return None
        return (as_of - self.due_date).days


@dataclass(frozen=True)
class PastDurationRow:
    student: str
    program: str
    start_date: date
    expected_end: date
    months_over: int
    supervisors: tuple[str, ...]


@dataclass(frozen=True)
class CompletionRow:
    """A program's alumni of the last five years: how many graduated, how long it took them."""

    program: str
    graduated: int
    left_without_degree: int
    median_months: Decimal | None

    @property
    def completion_rate(self) -> Decimal | None:
        """Graduated out of graduated + left without a degree, in percent (one decimal)."""
        total = self.graduated + self.left_without_degree
        if not total:
            return None
        return (Decimal(100) * self.graduated / total).quantize(
            Decimal("0.1"), rounding=ROUND_HALF_UP
        )


@dataclass
class ProgressReport:
    """What the page shows: counts, the overdue milestones, the students past their duration
    and the completion figures; the open milestones themselves are read only for exports."""

    wanted: ProgressFilter
    open_count: int = 0
    overdue: list[OpenMilestoneRow] = field(default_factory=list)
    past_duration: list[PastDurationRow] = field(default_factory=list)
    completion: list[CompletionRow] = field(default_factory=list)

    @property
    def completion_since(self) -> date:
        return add_months(self.wanted.as_of, -12 * COMPLETION_YEARS)


def export_rows(wanted: ProgressFilter) -> Iterator[list]:
    """One row per open milestone, in OPEN_MILESTONE_COLUMNS order (English values): read from
    the database now, turned into export rows as the export streams them."""
    return (_export_row(row, wanted.as_of) for row in open_milestones(wanted))


def _export_row(row: OpenMilestoneRow, as_of: date) -> list:
    return [
        row.student,
        row.program,
        row.name_en,
        row.due_date,
        row.state.value,
        row.days_overdue(as_of),
        "; ".join(row.supervisors),
        row.start_date,
        row.expected_end,
    ]


def _scope(wanted: ProgressFilter):
    """SQL conditions for the department and program filters, on Position."""
    conditions = []
    if wanted.program_id is not None:
        conditions.append(Position.program_id == wanted.program_id)
    if wanted.department:
        conditions.append(
            exists(
                select(Supervision.id)
                .join(User, User.id == Supervision.supervisor_id)
                .where(
                    Supervision.position_id == Position.id,
                    Supervision.state == SupervisionState.CONFIRMED,  # a proposal counts nowhere
                    User.department == wanted.department,
                )
            )
        )
    return and_(True, *conditions)


def _supervisors(position_ids: list[int]) -> dict[int, tuple[str, ...]]:
    """Position id -> its supervisors' names, principal first (one query, even for none: the
    page's statement count does not depend on what it finds)."""
    rows = db.session.execute(
        select(
            Supervision.position_id,
            Supervision.role,
            User.display_name,
            Supervision.external_name,
        )
        .outerjoin(User, User.id == Supervision.supervisor_id)
        .where(
            Supervision.position_id.in_(position_ids),
            Supervision.state == SupervisionState.CONFIRMED,
        )
        .order_by(Supervision.position_id, Supervision.id)
    )
    found: dict[int, list[tuple[int, str]]] = {}
    for position_id, role, account, external in rows:
        rank = 0 if role == SupervisionRole.PRINCIPAL else 1
        found.setdefault(position_id, []).append((rank, account or external or ""))
    return {key: tuple(name for _, name in sorted(names)) for key, names in found.items()}


def _student_columns() -> tuple:
    """What both lists read of a student: position id, name, program, its expected duration
    in months, start day."""
    return (
        Position.id,
        Person.full_name,
        Program.name,
        Program.expected_duration_months,
        Position.start_date,
    )


def _with_student(statement: Select) -> Select:
    """`statement` joined from Position to its person and program."""
    return statement.join(Person, Person.id == Position.person_id).join(
        Program, Program.id == Position.program_id
    )


def _open_milestones_statement(wanted: ProgressFilter) -> Select:
    """The open milestones of the report's scope (current positions only), in list order."""
    return (
        _with_student(
            select(
                *_student_columns(),
                Milestone.name_en,
                Milestone.name_fr,
                Milestone.due_date,
                Milestone.status,
            )
            .select_from(Milestone)
            .join(Position, Position.id == Milestone.position_id)
        )
        .where(
            Milestone.status == MilestoneStatus.OPEN,
            position_current_on(wanted.as_of),
            _scope(wanted),
        )
        .order_by(*ordering(), Person.full_name)
    )


def _open_milestone_rows(milestones, as_of: date, names) -> list[OpenMilestoneRow]:
    """Result rows of an _open_milestones_statement as OpenMilestoneRow, with the supervisors
    `names` holds by position id."""
    return [
        OpenMilestoneRow(
            student=student,
            program=program,
            name_en=name_en,
            name_fr=name_fr,
            due_date=due,
            state=due_state(status, due, as_of),
            supervisors=names.get(position_id, ()),
            start_date=start,
            expected_end=expected_end(start, months),
        )
        for position_id, student, program, months, start, name_en, name_fr, due, status in (
            milestones
        )
    ]


def open_milestones(wanted: ProgressFilter) -> list[OpenMilestoneRow]:
    """Every open milestone of the report's scope, for the exports."""
    milestones = db.session.execute(_open_milestones_statement(wanted)).all()
    names = _supervisors(sorted({row[0] for row in milestones}))
    return _open_milestone_rows(milestones, wanted.as_of, names)


def _expected_durations() -> dict[int, int]:
    """Program id -> expected duration in months, for the programs that have one."""
    return dict(
        db.session.execute(
            select(Program.id, Program.expected_duration_months).where(
                Program.expected_duration_months.is_not(None)
            )
        ).all()
    )


def _past_duration(wanted: ProgressFilter) -> list[tuple]:
    """(position id, student, program, start, expected end) of the current students past their
    program's expected duration, the test done by the database."""
    as_of = wanted.as_of
    rows = db.session.execute(
        _with_student(select(*_student_columns()))
        .where(
            position_current_on(as_of),
            past_expected_duration(as_of, _expected_durations()),
            _scope(wanted),
        )
        .order_by(Position.start_date, Person.full_name, Position.id)
    )
    return [
        (position_id, student, program, start, expected_end(start, months))
        for position_id, student, program, months, start in rows
    ]


def progress_report(wanted: ProgressFilter) -> ProgressReport:
    """Everything the progress page shows, in a fixed number of queries; only the rows it lists
    are read (the open milestones are counted by the database)."""
    report = ProgressReport(wanted)
    as_of = wanted.as_of
    statement = _open_milestones_statement(wanted)
    report.open_count = db.session.scalar(statement.with_only_columns(func.count()).order_by(None))
    overdue_milestones = db.session.execute(statement.where(overdue(as_of))).all()
    past = _past_duration(wanted)
    names = _supervisors(sorted({row[0] for row in overdue_milestones} | {row[0] for row in past}))
    report.overdue = _open_milestone_rows(overdue_milestones, as_of, names)
    report.past_duration = [
        PastDurationRow(
            student=student,
            program=program,
            start_date=start,
            expected_end=end,
            months_over=months_between(end, as_of),
            supervisors=names.get(position_id, ()),
        )
        for position_id, student, program, start, end in past
    ]
    report.completion = _completion(wanted, report.completion_since, _scope(wanted))
    return report


def _completion(wanted: ProgressFilter, since: date, scope) -> list[CompletionRow]:
    """Per student program: alumni whose position ended in the five years before the day."""
    rows = db.session.execute(
        select(
            Program.name,
            Program.sort_order,
            Position.start_date,
            Position.end_date,
            Position.departure_reason,
        )
        .join(Program, Program.id == Position.program_id)
        .where(
            Position.archived_at.is_(None),
            Position.end_date.is_not(None),
            Position.end_date >= since,
            Position.end_date < wanted.as_of,
            Position.departure_reason.in_(
                [DepartureReason.GRADUATED, DepartureReason.LEFT_WITHOUT_DEGREE]
            ),
            scope,
        )
        .order_by(Program.sort_order, Program.name)
    ).all()
    grouped: dict[str, list] = {}
    for name, _order, start, end, reason in rows:
        grouped.setdefault(name, []).append((start, end, reason))
    result = []
    for name, stints in grouped.items():
        durations = [
            months_between(start, end)
            for start, end, reason in stints
            if reason == DepartureReason.GRADUATED
        ]
        median = (
            Decimal(str(statistics.median(durations))).quantize(Decimal("0.1"))
            if durations
            else None
        )
        result.append(
            CompletionRow(
                program=name,
                graduated=len(durations),
                left_without_degree=len(stints) - len(durations),
                median_months=median,
            )
        )
    return result


# ---------------------------------------------------------------------------------------------
# The chart: one bar per program, its completion rate, the median time written beside it.

CHART_LABEL_WIDTH = 180
CHART_BAR_WIDTH = 300
CHART_NOTE_WIDTH = 260
CHART_ROW_HEIGHT = 22
BAR_COLOUR = "#1f6f43"
TRACK_COLOUR = "#d9dee5"


def chart_title(report: ProgressReport) -> str:
    return cached_gettext(
        "Completion rate by program, alumni who left between %(since)s and %(day)s",
        since=format_day(report.completion_since),
        day=format_day(report.wanted.as_of),
    )


def _bar_text(row: CompletionRow) -> str:
    rate = number_text(row.completion_rate, 1) if row.completion_rate is not None else "—"
    if row.median_months is None:
        return cached_gettext(
            "%(program)s: %(rate)s %% completed (%(graduated)s graduated, %(left)s left without "
            "a degree)",
            program=row.program,
            rate=rate,
            graduated=row.graduated,
            left=row.left_without_degree,
        )
    return cached_gettext(
        "%(program)s: %(rate)s %% completed (%(graduated)s graduated, %(left)s left without "
        "a degree); median %(median)s months",
        program=row.program,
        rate=rate,
        graduated=row.graduated,
        left=row.left_without_degree,
        median=number_text(row.median_months, 1),
    )


@dataclass(frozen=True)
class CompletionBar:
    """One program's row of the chart, in the chart's own units (templates/tracking/_completion_chart.svg)."""

    y: int
    program: str
    description: str  # the bar's <title>: every figure in words
    length: str  # the completed part of the bar, one decimal
    note: str  # written beside the bar: the rate, and the median time where there is one


@dataclass(frozen=True)
class CompletionChart:
    """What the completion chart draws; the template writes the SVG (and escapes every text)."""

    title: str
    width: int
    height: int
    bars: list[CompletionBar]
    label_width: int = CHART_LABEL_WIDTH
    bar_width: int = CHART_BAR_WIDTH
    bar_height: int = CHART_ROW_HEIGHT - 8
    bar_colour: str = BAR_COLOUR
    track_colour: str = TRACK_COLOUR


def _bar_note(row: CompletionRow) -> str:
    note = (
        cached_gettext("%(rate)s %%", rate=number_text(row.completion_rate, 1))
        if row.completion_rate is not None
        else "—"
    )
    if row.median_months is not None:
        note = cached_gettext(
            "%(rate)s; median %(median)s months",
            rate=note,
            median=number_text(row.median_months, 1),
        )
    return note


def completion_chart(report: ProgressReport) -> CompletionChart:
    """The accessible chart's content: a title for the chart and one for each bar."""
    rows = report.completion
    return CompletionChart(
        title=chart_title(report),
        width=CHART_LABEL_WIDTH + CHART_BAR_WIDTH + CHART_NOTE_WIDTH,
        height=CHART_ROW_HEIGHT * max(len(rows), 1) + 8,
        bars=[
            CompletionBar(
                y=index * CHART_ROW_HEIGHT,
                program=row.program,
                description=_bar_text(row),
                length=f"{CHART_BAR_WIDTH * float(row.completion_rate or 0) / 100:.1f}",
                note=_bar_note(row),
            )
            for index, row in enumerate(rows)
        ],
    )


def department_choices() -> list[str]:
    """Departments named on faculty accounts, for the filter."""
    return list(
        db.session.scalars(
            select(User.department)
            .where(User.department.is_not(None), User.department != "")
            .distinct()
            .order_by(User.department)
        )
    )


def program_choices() -> list[tuple[int, str]]:
    return [
        (row.id, row.name)
        for row in db.session.execute(
            select(Program.id, Program.name).order_by(Program.sort_order, Program.name)
        )
    ]
