"""Queries about a faculty member's group; every function takes the faculty it answers for."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from flask_babel import gettext
from sqlalchemy import Select, and_, func, or_, select, true
from sqlalchemy.orm import selectinload

from portal.extensions import db
from portal.identifiers import name_key
from portal.labels import KIND_LABELS
from portal.labels import lazy_gettext as _l
from portal.milestones import expected_end
from portal.models import (
    AuditEvent,
    DepartureReason,
    Institution,
    Person,
    Position,
    Program,
    ProgramKind,
    Supervision,
    SupervisionRole,
    User,
)


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
    departure_reason: DepartureReason | None = None
    outcome: str | None = None
    note: str | None = None
    # The day the program's expected duration runs out (None: the program has none).
    expected_end: date | None = None
    past_expected: bool = False


# The sections of the current-members page, in order: (title, program kinds it holds).
SECTIONS: tuple[tuple[Any, tuple[ProgramKind, ...]], ...] = (
    (KIND_LABELS[ProgramKind.PHD], (ProgramKind.PHD,)),
    (KIND_LABELS[ProgramKind.MASTERS], (ProgramKind.MASTERS,)),
    (KIND_LABELS[ProgramKind.POSTDOC], (ProgramKind.POSTDOC,)),
    (KIND_LABELS[ProgramKind.INTERN], (ProgramKind.INTERN,)),
    (
        _l("Collaborators and visitors"),
        (ProgramKind.COLLABORATOR, ProgramKind.VISITOR, ProgramKind.ALUMNI_COLLABORATOR),
    ),
)

SORT_KEYS = {
    "name": lambda row: name_key(row.name),
    "program": lambda row: name_key(row.program),
    "institution": lambda row: name_key(row.institution),
    "role": lambda row: list(SupervisionRole).index(row.role),
    "start": lambda row: row.start_date,
    "end": lambda row: (row.end_date is None, row.end_date or date.max),
}


@dataclass(frozen=True)
class ListFilter:
    """What the user asked the list to show: search text, filters and sort order."""

    search: str = ""
    program: str = ""
    institution: str = ""
    role: str = ""
    sort: str = "name"
    descending: bool = False
    past_expected: bool = False

    @classmethod
    def from_args(cls, args: Any, default_sort: str = "name") -> ListFilter:
        """Read the filter from query-string arguments, ignoring values it does not know."""
        sort = args.get("sort", default_sort)
        role = args.get("role", "")
        return cls(
            search=(args.get("q") or "")[:200].strip(),
            program=(args.get("program") or "")[:200],
            institution=(args.get("institution") or "")[:200],
            role=role if role in {r.value for r in SupervisionRole} else "",
            sort=sort if sort in SORT_KEYS else default_sort,
            descending=args.get("dir") == "desc",
            past_expected=args.get("past_expected") == "1",
        )

    @property
    def is_active(self) -> bool:
        return bool(
            self.search or self.program or self.institution or self.role or self.past_expected
        )

    def apply(self, rows: Iterable[MemberRow]) -> list[MemberRow]:
        """Rows that match, sorted; the search is case- and accent-insensitive."""
        needle = name_key(self.search)
        kept = [
            row
            for row in rows
            if (not needle or needle in name_key(row.name))
            and (not self.program or row.program == self.program)
            and (not self.institution or row.institution == self.institution)
            and (not self.role or row.role.value == self.role)
            and (not self.past_expected or row.past_expected)
        ]
        return sorted(kept, key=SORT_KEYS[self.sort], reverse=self.descending)


@dataclass
class GroupPage:
    """Everything a group list page shows, computed from one load of the group."""

    rows: list[MemberRow]
    total: int
    sections: list[tuple[str, list[MemberRow]]] = field(default_factory=list)
    kind_counts: list[tuple[str, int]] = field(default_factory=list)
    role_counts: list[tuple[SupervisionRole, int]] = field(default_factory=list)
    programs: list[str] = field(default_factory=list)
    institutions: list[str] = field(default_factory=list)


def current_filter(today: date):
    """SQL condition: the position is current on `today` (no end date, or not yet passed)."""
    return or_(Position.end_date.is_(None), Position.end_date >= today)


def alumni_filter(today: date):
    """SQL condition: the position ended before `today`."""
    return and_(Position.end_date.is_not(None), Position.end_date < today)


def _group_rows(faculty: User, condition, today: date) -> list[MemberRow]:
    """The faculty member's rows matching `condition`, in two plain-row queries.

    Rows are read as tuples rather than ORM objects: a group page is read-only, and building
    hundreds of tracked objects per request was most of the page's time.
    """
    positions = db.session.execute(
        select(
            Position.id,
            Position.person_id,
            Person.full_name,
            Program.name,
            Program.kind,
            Institution.name,
            Supervision.role,
            Position.start_date,
            Position.end_date,
            Position.departure_reason,
            Position.outcome,
            Position.note,
            Program.expected_duration_months,
        )
        .join(Position, Position.id == Supervision.position_id)
        .join(Person, Person.id == Position.person_id)
        .join(Program, Program.id == Position.program_id)
        .join(Institution, Institution.id == Position.institution_id)
        .where(Supervision.supervisor_id == faculty.id, Position.archived_at.is_(None), condition)
        .order_by(Program.sort_order, Person.full_name, Position.id)
    ).all()
    others = _other_supervisors(faculty, [row[0] for row in positions])
    return [_to_row(row, others.get(row[0], ()), today) for row in positions]


def _other_supervisors(faculty: User, position_ids: list[int]) -> dict[int, tuple[str, ...]]:
    """Position id -> descriptions of its other supervisors, in the order they were added."""
    if not position_ids:
        return {}
    links = db.session.execute(
        select(
            Supervision.position_id, Supervision.role, User.display_name, Supervision.external_name
        )
        .outerjoin(User, User.id == Supervision.supervisor_id)
        .where(
            Supervision.position_id.in_(position_ids),
            or_(Supervision.supervisor_id.is_(None), Supervision.supervisor_id != faculty.id),
        )
        .order_by(Supervision.position_id, Supervision.id)
    ).all()
    described: dict[int, list[str]] = {}
    for position_id, role, account_name, external_name in links:
        described.setdefault(position_id, []).append(_describe(role, account_name or external_name))
    return {position_id: tuple(names) for position_id, names in described.items()}


def current_members(faculty: User, today: date) -> list[MemberRow]:
    """The faculty member's current group, in a fixed number of queries whatever its size."""
    return _group_rows(faculty, current_filter(today), today)


def alumni_members(faculty: User, today: date) -> list[MemberRow]:
    """The faculty member's former members (end date passed), most recent departure first."""
    rows = _group_rows(faculty, alumni_filter(today), today)
    return sorted(rows, key=lambda row: (row.end_date, row.name), reverse=True)


def current_page(faculty: User, today: date, wanted: ListFilter) -> GroupPage:
    """The current-members page: counts over the whole group, sections of the filtered rows."""
    everyone = current_members(faculty, today)
    page = _page(everyone, wanted)
    for title, kinds in SECTIONS:
        values = {kind.value for kind in kinds}
        members = [row for row in page.rows if row.program_kind in values]
        count = sum(1 for row in everyone if row.program_kind in values)
        page.kind_counts.append((title, count))
        if members:
            page.sections.append((title, members))
    return page


def alumni_page(faculty: User, today: date, wanted: ListFilter) -> GroupPage:
    """The alumni page: former members, filtered and sorted as asked."""
    return _page(alumni_members(faculty, today), wanted)


def _page(everyone: list[MemberRow], wanted: ListFilter) -> GroupPage:
    page = GroupPage(rows=wanted.apply(everyone), total=len(everyone))
    page.role_counts = [
        (role, sum(1 for row in everyone if row.role == role)) for role in SupervisionRole
    ]
    page.programs = sorted({row.program for row in everyone}, key=name_key)
    page.institutions = sorted({row.institution for row in everyone}, key=name_key)
    return page


def _to_row(row, others: tuple[str, ...], today: date) -> MemberRow:
    (
        position_id,
        person_id,
        name,
        program,
        kind,
        institution,
        role,
        start_date,
        end_date,
        departure_reason,
        outcome,
        note,
        expected_months,
    ) = row
    planned_end = expected_end(start_date, expected_months)
    return MemberRow(
        position_id=position_id,
        person_id=person_id,
        name=name,
        program=program,
        program_kind=kind.value,
        institution=institution,
        role=role,
        other_supervisors=others,
        start_date=start_date,
        end_date=end_date,
        departure_reason=departure_reason,
        outcome=outcome,
        note=note,
        expected_end=planned_end,
        past_expected=planned_end is not None and today > planned_end,
    )


def _describe(role: SupervisionRole, name: str) -> str:
    if role == SupervisionRole.CO_SUPERVISOR:
        return gettext("%(name)s (co-supervisor)", name=name)
    if role == SupervisionRole.PRINCIPAL:
        return gettext("%(name)s (principal)", name=name)
    return name


# ---------------------------------------------------------------------------------------------
# Single members, with the access rule: a faculty member reaches only their own group's rows.


def _member_query(position_id: int) -> Select:
    return (
        select(Position)
        .where(Position.id == position_id)
        .options(
            selectinload(Position.person),
            selectinload(Position.program),
            selectinload(Position.institution),
            selectinload(Position.supervisions).selectinload(Supervision.supervisor),
        )
    )


def member_for(actor: User, position_id: int, *, archived: bool = False) -> Position | None:
    """The position if `actor` may see it (their group, or any for an admin); None otherwise."""
    position = db.session.scalar(_member_query(position_id))
    if position is None or (position.archived_at is not None) != archived:
        return None
    if actor.is_admin:
        return position
    if any(link.supervisor_id == actor.id for link in position.supervisions):
        return position
    return None


def group_owner(actor: User, requested_id: int | None) -> User | None:
    """Whose group the actor is looking at: their own; an admin may name any account."""
    if requested_id is None or requested_id == actor.id:
        return actor
    if not actor.is_admin:
        return None
    return db.session.get(User, requested_id)


def perspective_of(actor: User, position: Position, requested_id: int | None) -> User | None:
    """The supervisor through whose eyes a member's form is shown ("my role" is theirs)."""
    accounts = [link for link in position.supervisions if link.supervisor_id is not None]
    wanted = requested_id if actor.is_admin and requested_id is not None else actor.id
    for link in accounts:
        if link.supervisor_id == wanted:
            return link.supervisor
    if not actor.is_admin or not accounts:
        return None
    principal = [link for link in accounts if link.role == SupervisionRole.PRINCIPAL]
    return (principal or accounts)[0].supervisor


# ---------------------------------------------------------------------------------------------
# Choices for the forms (the forms hold no database access; views pass these in).


def program_choices(current_program_id: int | None = None) -> list[tuple[int, str]]:
    """Active programs in their display order (plus the member's own, should it be retired)."""
    query = (
        select(Program.id, Program.name)
        .where(or_(Program.is_active.is_(True), Program.id == current_program_id))
        .order_by(Program.sort_order, Program.name)
    )
    return [(row.id, row.name) for row in db.session.execute(query)]


def faculty_accounts() -> list[tuple[int, str]]:
    """Active faculty accounts, for an administrator choosing whose group to look at."""
    query = (
        select(User.id, User.display_name)
        .where(User.is_active.is_(True), User.is_admin.is_(False))
        .order_by(User.display_name)
    )
    return [(row.id, row.display_name) for row in db.session.execute(query)]


def supervisor_choices(exclude: User, keep_ids: Iterable[int] = ()) -> list[tuple[int, str]]:
    """Faculty accounts one may add as supervisors (and anyone already linked)."""
    keep = list(keep_ids)
    query = (
        select(User.id, User.display_name)
        .where(
            User.id != exclude.id,
            or_(and_(User.is_active.is_(True), User.is_admin.is_(False)), User.id.in_(keep)),
        )
        .order_by(User.display_name)
    )
    return [(row.id, row.display_name) for row in db.session.execute(query)]


def institution_names() -> list[str]:
    """Every institution name, for the suggestions under the Institution field."""
    return list(db.session.scalars(select(Institution.name).order_by(Institution.name_key)))


def find_institution(name: str) -> Institution | None:
    """The institution whose name matches case-, accent- and spacing-insensitively."""
    return db.session.scalar(select(Institution).where(Institution.name_key == name_key(name)))


def find_person_by_email(email: str) -> Person | None:
    """The person on record with this email (emails are stored lower-case), if any."""
    email = (email or "").strip().lower()
    if not email:
        return None
    return db.session.scalar(select(Person).where(Person.email == email))


def find_person_by_orcid(orcid: str | None) -> Person | None:
    """The person on record with this (normalised) ORCID iD, if any."""
    if not orcid:
        return None
    return db.session.scalar(select(Person).where(Person.orcid == orcid))


# ---------------------------------------------------------------------------------------------
# History and archive.


@dataclass(frozen=True)
class HistoryEntry:
    """One audit event of a member, with the fields it changed."""

    occurred_at: datetime
    actor: str
    action: str
    changes: list[tuple[str, Any, Any]]


def member_history(position: Position) -> list[HistoryEntry]:
    """The audit events of a position, newest first, in one query."""
    query = (
        select(AuditEvent)
        .where(
            AuditEvent.entity_type == Position.__tablename__, AuditEvent.entity_id == position.id
        )
        .options(selectinload(AuditEvent.actor))
        .order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
    )
    entries = []
    for event in db.session.scalars(query):
        before, after = event.before or {}, event.after or {}
        keys = list(dict.fromkeys([*after.keys(), *before.keys()]))
        changes = [
            (key, before.get(key), after.get(key))
            for key in keys
            if before.get(key) != after.get(key)
        ]
        entries.append(
            HistoryEntry(
                occurred_at=event.occurred_at,
                actor=event.actor.display_name if event.actor else "system",
                action=event.action,
                changes=changes,
            )
        )
    return entries


@dataclass(frozen=True)
class ArchivedRow:
    """An archived position, for the administrators' restore list."""

    position_id: int
    name: str
    program: str
    institution: str
    supervisors: tuple[str, ...]
    archived_at: datetime


def archived_members() -> list[ArchivedRow]:
    """Every archived position, most recently archived first, in a fixed number of queries."""
    query = (
        select(Position)
        .where(Position.archived_at.is_not(None))
        .options(
            selectinload(Position.person),
            selectinload(Position.program),
            selectinload(Position.institution),
            selectinload(Position.supervisions).selectinload(Supervision.supervisor),
        )
        .order_by(Position.archived_at.desc(), Position.id.desc())
    )
    return [
        ArchivedRow(
            position_id=position.id,
            name=position.person.full_name,
            program=position.program.name,
            institution=position.institution.name,
            supervisors=tuple(link.supervisor_name for link in position.supervisions),
            archived_at=position.archived_at,
        )
        for position in db.session.scalars(query)
    ]


# ---------------------------------------------------------------------------------------------
# Pages of whole positions (the API's member resources), in a fixed number of queries.


def status_condition(status: str, today: date):
    """SQL condition for "current", "alumni" or "all" positions, by the one definition above."""
    if status == "current":
        return current_filter(today)
    if status == "alumni":
        return alumni_filter(today)
    return true()


def group_positions(
    faculty: User, status: str, today: date, *, offset: int, limit: int
) -> tuple[int, list[Position]]:
    """The faculty member's non-archived positions with `status`: the total and one page."""
    condition = and_(
        Position.archived_at.is_(None),
        status_condition(status, today),
        Position.id.in_(
            select(Supervision.position_id).where(Supervision.supervisor_id == faculty.id)
        ),
    )
    total = db.session.scalar(select(func.count(Position.id)).where(condition)) or 0
    page = db.session.scalars(
        _with_member_details(select(Position).where(condition))
        .order_by(Position.start_date.desc(), Position.id.desc())
        .offset(offset)
        .limit(limit)
    ).all()
    return total, list(page)


def _with_member_details(query: Select) -> Select:
    return query.options(
        selectinload(Position.person),
        selectinload(Position.program),
        selectinload(Position.institution),
        selectinload(Position.supervisions).selectinload(Supervision.supervisor),
    )
