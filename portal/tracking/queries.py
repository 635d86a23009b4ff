"""Reads of student tracking: a member's milestones, what is due, the calendar and the digests.

Every function takes the user it answers for (or is for administrators, checked by the view),
and loads what it returns in a fixed number of queries.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import and_, select
from sqlalchemy.orm import selectinload

from portal.extensions import db
from portal.milestones import (
    MilestoneRow,
    can_read_milestones,
    in_group,
    milestone_columns,
    milestone_row,
    milestone_rows,
    needs_attention,
    ordering,
    position_current_on,
)
from portal.models import (
    Milestone,
    MilestoneExtension,
    MilestonePlanItem,
    MilestoneStatus,
    Person,
    Position,
    Program,
    ReminderDigest,
    Supervision,
    SupervisionRole,
    User,
)


def group_open_milestones(faculty: User, today: date) -> list[MilestoneRow]:
    """Every open milestone of the group's current and incoming members (the calendar's events).

    Undated milestones are listed last; the calendar leaves them out (an event needs a day).
    """
    query = (
        milestone_columns()
        .where(
            in_group(faculty),
            Milestone.status == MilestoneStatus.OPEN,
            Position.archived_at.is_(None),
            ~Position.is_alumni_on(today),  # current or incoming (Position's one rule)
        )
        .order_by(*ordering())
    )
    return milestone_rows(query, today)


# ---------------------------------------------------------------------------------------------
# One member's milestones.


def _member_order() -> tuple:
    """Open milestones first by date, then done and waived ones: as a member's page lists them."""
    return ((Milestone.status != MilestoneStatus.OPEN), *ordering())


def milestones_of(position: Position) -> list[Milestone]:
    """A position's milestones with their extensions, open ones first by date, then the rest."""
    query = (
        select(Milestone)
        .where(Milestone.position_id == position.id)
        .options(selectinload(Milestone.extensions).selectinload(MilestoneExtension.recorded_by))
        .order_by(*_member_order())
    )
    return list(db.session.scalars(query))


def milestones_by_position(position_ids: Iterable[int]) -> dict[int, list[Milestone]]:
    """Position id -> its milestones in the member page's order, for many positions in one
    query (the API's member lists). Callers have checked that the positions are readable."""
    ids = list(position_ids)
    found: dict[int, list[Milestone]] = {position_id: [] for position_id in ids}
    if not ids:
        return found
    query = (
        select(Milestone)
        .where(Milestone.position_id.in_(ids))
        .order_by(Milestone.position_id, *_member_order())
    )
    for milestone in db.session.scalars(query):
        found[milestone.position_id].append(milestone)
    return found


def position_for(actor: User, position_id: int) -> Position | None:
    """A non-archived position whose milestones the actor may read, else None."""
    position = db.session.scalar(
        select(Position)
        .where(Position.id == position_id, Position.archived_at.is_(None))
        .options(
            selectinload(Position.person),
            selectinload(Position.program),
            selectinload(Position.supervisions),
        )
    )
    if position is None or not can_read_milestones(actor, position):
        return None
    return position


def milestone_for(actor: User, milestone_id: int) -> Milestone | None:
    """A milestone the actor may read (on a non-archived position), else None."""
    milestone = db.session.scalar(
        select(Milestone)
        .where(Milestone.id == milestone_id)
        .options(
            selectinload(Milestone.position).selectinload(Position.supervisions),
            selectinload(Milestone.position).selectinload(Position.person),
            selectinload(Milestone.plan_item),
        )
    )
    if milestone is None or milestone.position.archived_at is not None:
        return None
    if not can_read_milestones(actor, milestone.position):
        return None
    return milestone


# ---------------------------------------------------------------------------------------------
# Plans (administrators).


@dataclass
class ProgramPlan:
    """A program with its plan steps (active and retired), for the plans page."""

    program: Program
    items: list[MilestonePlanItem]


def program_plans() -> list[ProgramPlan]:
    """Every program in display order with its plan, in two queries."""
    programs = list(db.session.scalars(select(Program).order_by(Program.sort_order, Program.name)))
    items = db.session.scalars(
        select(MilestonePlanItem).order_by(
            MilestonePlanItem.program_id,
            MilestonePlanItem.is_active.desc(),
            MilestonePlanItem.sort_order,
            MilestonePlanItem.id,
        )
    )
    by_program: dict[int, list[MilestonePlanItem]] = {}
    for item in items:
        by_program.setdefault(item.program_id, []).append(item)
    return [ProgramPlan(program, by_program.get(program.id, [])) for program in programs]


# ---------------------------------------------------------------------------------------------
# Digests.


@dataclass
class Digest:
    """One faculty member's reminder: their students' milestones overdue or due within 30 days."""

    faculty: User
    rows: list[MilestoneRow]


def pending_digests(today: date) -> list[Digest]:
    """Digests still to send on `today`: active accounts with the digest on, something due,
    and no digest accepted by the mail server yet today. Two queries whatever the numbers."""
    already = select(ReminderDigest.user_id).where(ReminderDigest.sent_on == today)
    query = (
        milestone_columns()
        .add_columns(Supervision.supervisor_id)
        .join(Supervision, Supervision.position_id == Position.id)
        .join(User, User.id == Supervision.supervisor_id)
        .where(
            needs_attention(today),
            position_current_on(today),
            User.is_active.is_(True),
            User.milestone_digest.is_(True),
            User.id.not_in(already),
        )
        .order_by(Supervision.supervisor_id, Milestone.due_date, Person.full_name, Milestone.id)
    )
    by_faculty: dict[int, list[MilestoneRow]] = {}
    for row in db.session.execute(query):
        by_faculty.setdefault(row.supervisor_id, []).append(milestone_row(row, today))
    if not by_faculty:
        return []
    users = db.session.scalars(
        select(User).where(User.id.in_(list(by_faculty))).order_by(User.email)
    )
    return [Digest(user, by_faculty[user.id]) for user in users]


def principal_names(position_ids: Iterable[int]) -> dict[int, list[str]]:
    """Position id -> its supervisors' names, principal first (accounts and external)."""
    ids = list(position_ids)
    if not ids:
        return {}
    rows = db.session.execute(
        select(
            Supervision.position_id, Supervision.role, User.display_name, Supervision.external_name
        )
        .outerjoin(User, User.id == Supervision.supervisor_id)
        .where(Supervision.position_id.in_(ids), Supervision.role != SupervisionRole.NONE)
        .order_by(
            Supervision.position_id,
            and_(Supervision.role == SupervisionRole.PRINCIPAL).desc(),
            Supervision.id,
        )
    )
    names: dict[int, list[str]] = {}
    for position_id, _role, account, external in rows:
        names.setdefault(position_id, []).append(account or external or "")
    return names
