"""Queries about a faculty member's group; every function takes the faculty it answers for."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import contains_eager, selectinload

from portal.extensions import db
from portal.models import Person, Position, Program, Supervision, SupervisionRole, User


@dataclass(frozen=True)
class MemberRow:
    """One line of a group list, as seen by the faculty member whose group it is."""

    position_id: int
    person_id: int
    name: str
    program: str
    program_kind: str
    institution: str
    role: SupervisionRole
    other_supervisors: tuple[str, ...]
    start_date: date
    end_date: date | None


def current_filter(today: date):
    return or_(Position.end_date.is_(None), Position.end_date >= today)


def _group_query(faculty: User) -> Select:
    return (
        select(Supervision)
        .join(Supervision.position)
        .join(Position.person)
        .join(Position.program)
        .where(Supervision.supervisor_id == faculty.id, Position.archived_at.is_(None))
        .options(
            contains_eager(Supervision.position).contains_eager(Position.person),
            contains_eager(Supervision.position).contains_eager(Position.program),
            contains_eager(Supervision.position).selectinload(Position.institution),
            contains_eager(Supervision.position)
            .selectinload(Position.supervisions)
            .selectinload(Supervision.supervisor),
        )
        .order_by(Program.sort_order, Person.full_name, Position.id)
    )


def current_members(faculty: User, today: date) -> list[MemberRow]:
    """The faculty member's current group, in a fixed number of queries whatever its size."""
    query = _group_query(faculty).where(current_filter(today))
    return [_to_row(link, faculty) for link in db.session.scalars(query).unique()]


def _to_row(link: Supervision, faculty: User) -> MemberRow:
    position = link.position
    others = tuple(
        other.supervisor_name
        for other in position.supervisions
        if other.supervisor_id != faculty.id
    )
    return MemberRow(
        position_id=position.id,
        person_id=position.person_id,
        name=position.person.full_name,
        program=position.program.name,
        program_kind=position.program.kind.value,
        institution=position.institution.name,
        role=link.role,
        other_supervisors=others,
        start_date=position.start_date,
        end_date=position.end_date,
    )
