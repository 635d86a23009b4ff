"""Queries about a faculty member's group; every function takes the faculty it answers for."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

from flask_babel import gettext
from sqlalchemy import (
    Date,
    Integer,
    Select,
    String,
    and_,
    bindparam,
    case,
    func,
    or_,
    select,
    true,
    type_coerce,
)
from sqlalchemy.orm import aliased, selectinload

from portal.catalogue import cached_translations
from portal.extensions import db
from portal.i18n import N_, format_day, number_text
from portal.identifiers import name_key, normalise_email
from portal.kept_content import Read
from portal.labels import (
    KIND_LABELS,
    ROLE_LABELS,
    english,
    label_text,
    program_name,
    remember_program_names,
)
from portal.labels import lazy_gettext as _l
from portal.milestones import (
    MilestoneRow,
    MilestoneSummary,
    expected_end,
    first_per_position,
    in_group,
    milestone_columns,
    milestone_row,
    needs_attention_state,
    position_current_on,
)
from portal.milestones import ordering as milestone_ordering
from portal.models import (
    AuditEvent,
    DepartureReason,
    Institution,
    Milestone,
    MilestoneStatus,
    Person,
    Position,
    PositionStatus,
    Program,
    ProgramKind,
    Supervision,
    SupervisionRole,
    SupervisionState,
    User,
    is_proposal,
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
    status: PositionStatus = PositionStatus.CURRENT
    own_note: str | None = None  # the viewer's own note on their link
    owned: bool = True  # the viewer's group owns the record (else: shared, read-only)
    # The day the program's expected duration runs out (None: the program has none).
    expected_end: date | None = None
    past_expected: bool = False
    share: Decimal | None = None  # the viewer's share of the supervision, in percent


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
    incoming: list[MemberRow] = field(default_factory=list)  # start later: their own section
    incoming_total: int = 0
    # Every row read for the page (current and incoming members), before filtering, and what
    # they were made from (the queries' rows, the faculty member, the day, the catalogue).
    read: tuple[MemberRow, ...] = ()
    source: Read | None = None
    read_programs: frozenset[str] = frozenset()


# The group's statements are built once, with the faculty, the day and the status as bound
# parameters: building a statement and its cache key cost more than running it.
_FACULTY = bindparam("faculty_id", type_=Integer())
_TODAY = bindparam("today", type_=Date())
_status_today = Position.status_on(_TODAY)


def _text(column):
    """An enum column read as its stored value (the rows are kept under plain values; the
    enums are made only when a row is made)."""
    return type_coerce(column, String())


def _in_group(link, statuses: tuple[PositionStatus, ...]) -> tuple:
    """The conditions of the group's positions of `statuses`, on `link` (Supervision or an alias
    of it) joined to Position. The statuses are written into the statement (one statement per
    set of them): an expanding list would be rendered again on every request."""
    return (
        link.supervisor_id == _FACULTY,
        link.state == SupervisionState.CONFIRMED,
        Position.archived_at.is_(None),
        or_(*(_status_today == status.value for status in statuses)),
    )


# The group statement's columns: the position's 18, then its other supervisors' (one row per
# other link, in the order they were added; None when the position has none).
_POSITION_COLUMNS = 18


@lru_cache(maxsize=8)
def _group_statement(statuses: tuple[PositionStatus, ...]) -> Select:
    """The group's positions of `statuses` with their other supervisors, in one statement."""
    other = aliased(Supervision)
    return (
        select(
            Position.id,
            Position.person_id,
            Person.full_name,
            Program.name,
            _text(Program.kind),
            Institution.name,
            _text(Supervision.role),
            Position.start_date,
            Position.end_date,
            _text(Position.departure_reason),
            Position.outcome,
            Position.note,
            _status_today,
            Supervision.note,
            Position.owner_id,
            Program.expected_duration_months,
            Supervision.share,
            Program.name_fr,
            # The other supervisors (_POSITION_COLUMNS on).
            _text(other.role),
            User.display_name,
            other.external_name,
            other.external_institution,
            _text(other.state),
        )
        .join(Position, Position.id == Supervision.position_id)
        .join(Person, Person.id == Position.person_id)
        .join(Program, Program.id == Position.program_id)
        .outerjoin(Institution, Institution.id == Position.institution_id)
        .outerjoin(
            other,
            and_(
                other.position_id == Position.id,
                or_(other.supervisor_id.is_(None), other.supervisor_id != _FACULTY),
            ),
        )
        .outerjoin(User, User.id == other.supervisor_id)
        .where(*_in_group(Supervision, statuses))
        .order_by(Program.sort_order, Person.full_name, Position.id, other.id)
    )


# The member rows made from what the group's two queries read, kept per process under all of
# it (see _group_rows); when full it starts over, which a plain dict does safely under threads.
MAX_KEPT_GROUPS = 32
_kept_groups: dict[Read, tuple[Read, tuple[MemberRow, ...]]] = {}


def _group_rows(
    faculty: User, today: date, statuses: tuple[PositionStatus, ...]
) -> list[MemberRow]:
    """The faculty member's confirmed rows of the given statuses (see _read_group)."""
    return list(_read_group(faculty, today, statuses)[1])


def _read_group(
    faculty: User, today: date, statuses: tuple[PositionStatus, ...]
) -> tuple[Read, tuple[MemberRow, ...]]:
    """What the group's statement read (everything its rows are made from), and the rows: the
    faculty member's confirmed rows of the given statuses (Position.status_on), with their
    other supervisors, in one plain-row query.

    Rows are read as tuples from the session's connection rather than as ORM objects: a group
    page is read-only, and building hundreds of tracked objects per request was most of the
    page's time. The MemberRows are a pure function of the rows read, the faculty member, the
    day and the catalogue (the other supervisors' words), so they are kept under all of these
    (with each share's text: Decimal("12.5") == Decimal("12.50") but they print apart): a write
    changes what is read, and the next page makes its rows afresh.
    """
    read_rows = db.session.connection().execute(
        _group_statement(statuses), {"faculty_id": faculty.id, "today": today}
    )
    read_rows = tuple(map(tuple, read_rows.all()))  # plain tuples: hashed and compared in C
    # The rows carry their programs' French names: French pages need no query of their own.
    remember_program_names((row[3], row[17]) for row in read_rows)
    translations = cached_translations()
    read = Read(
        (
            faculty.id,
            today,
            id(translations),
            read_rows,
            tuple([str(row[16]) for row in read_rows]),
        )
    )
    kept = _kept_groups.get(read)
    if kept is not None:
        return kept  # the kept Read: later keys holding it compare by identity
    positions: dict[int, tuple] = {}  # in the statement's order
    others: dict[int, list[str]] = {}
    translate = translations.ugettext
    for row in read_rows:
        position_id = row[0]
        if position_id not in positions:
            positions[position_id] = row[:_POSITION_COLUMNS]
            others[position_id] = []
        if row[_POSITION_COLUMNS] is not None:  # an other supervisor's role: a link
            others[position_id].append(_describe_other(row[_POSITION_COLUMNS:], translate))
    rows = tuple(
        [
            _to_row(row, tuple(others[position_id]), faculty, today)
            for position_id, row in positions.items()
        ]
    )
    if len(_kept_groups) >= MAX_KEPT_GROUPS:
        _kept_groups.clear()
    _kept_groups[read] = (read, rows)
    return read, rows


def _describe_other(link: tuple, translate) -> str:
    """An other supervisor's link (role, account name, external name and institution, state)
    as the group page says it."""
    role, account_name, external_name, institution, state = link
    name = account_name or external_name
    if institution:
        name = translate(N_("%(name)s (%(institution)s)")) % {
            "name": name,
            "institution": institution,
        }
    return describe_link(SupervisionRole(role), name, SupervisionState(state), translate)


@dataclass(frozen=True)
class GroupMilestones:
    """The /group page's milestones: the "What's due" panel and each row's next milestone."""

    due: list[MilestoneRow]
    next: dict[int, MilestoneSummary]


def group_milestones(faculty: User, today: date, position_ids: Iterable[int]) -> GroupMilestones:
    """The group's open milestones, read once: the "What's due" panel (the current members'
    milestones overdue or due within DUE_SOON_DAYS days, earliest first) and the next
    milestone (milestones.next_milestones' rule) of each of `position_ids` (a page's rows).

    One statement names the group rather than each position: a few hundred ids are a few
    hundred bound values to render and send on every request, and one round trip fewer.
    """
    rows = db.session.connection().execute(
        _group_milestones_statement(), {"faculty_id": faculty.id, "today": today}
    )
    due: list[MilestoneRow] = []
    firsts: list[tuple] = []
    wanted = set(position_ids)
    for row in rows:
        if row.current:
            item = milestone_row(row, today)
            if needs_attention_state(item.state):
                due.append(item)
        if row.position_id in wanted:
            firsts.append(
                (row.id, row.position_id, row.name_en, row.name_fr, row.due_date, row.status)
            )
    return GroupMilestones(due, first_per_position(firsts, today))


@lru_cache(maxsize=1)
def _group_milestones_statement() -> Select:
    """group_milestones' statement, built once (it runs on every /group page).

    Ordered as the due panel lists them (date, then name), undated last: within one position
    the name is the same, so each position's milestones come in milestones.ordering()'s order
    and its first is its next.
    """
    undated_last, due_date, milestone_id = milestone_ordering()
    return (
        milestone_columns()
        .add_columns(case((position_current_on(_TODAY), 1), else_=0).label("current"))
        .where(
            in_group(None, _FACULTY),  # the group's positions (confirmed links only)
            Milestone.status == MilestoneStatus.OPEN,
        )
        .order_by(undated_last, due_date, Person.full_name, milestone_id)
    )


def current_members(faculty: User, today: date) -> list[MemberRow]:
    """The faculty member's current group (Position.is_current_on), confirmed links only."""
    return _group_rows(faculty, today, (PositionStatus.CURRENT,))


def incoming_members(faculty: User, today: date) -> list[MemberRow]:
    """Members who start after `today` (Position.is_incoming_on), confirmed links only."""
    return _group_rows(faculty, today, (PositionStatus.INCOMING,))


def alumni_members(faculty: User, today: date) -> list[MemberRow]:
    """The faculty member's former members (Position.is_alumni_on), most recent departure first."""
    rows = _group_rows(faculty, today, (PositionStatus.ALUMNI,))
    return sorted(rows, key=lambda row: (row.end_date, row.name), reverse=True)


def current_page(faculty: User, today: date, wanted: ListFilter) -> GroupPage:
    """The current-members page: counts over the current group, sections of the filtered rows,
    and the incoming members (who start later) in a section of their own."""
    source, rows = _read_group(faculty, today, (PositionStatus.CURRENT, PositionStatus.INCOMING))
    page = _kept_pages.get((source, wanted))
    if page is None:
        page = _current_page(source, rows, wanted)
        if len(_kept_pages) >= MAX_KEPT_GROUPS:
            _kept_pages.clear()
        _kept_pages[source, wanted] = page
    return page


# Current-member pages (what current_page makes of the rows read and the filter), kept as the
# rows are: a pure function of the two. Shared between requests, so read-only.
_kept_pages: dict[tuple[Read, ListFilter], GroupPage] = {}


def _current_page(source: Read, rows: tuple[MemberRow, ...], wanted: ListFilter) -> GroupPage:
    everyone = [row for row in rows if row.status is PositionStatus.CURRENT]
    incoming = [row for row in rows if row.status is PositionStatus.INCOMING]
    page = _page(everyone, wanted)
    page.incoming = wanted.apply(incoming)
    page.incoming_total = len(incoming)
    page.read = rows
    page.source = source
    page.read_programs = frozenset(row.program for row in rows)
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
    page.institutions = sorted(
        {row.institution for row in everyone if row.institution}, key=name_key
    )
    return page


def _to_row(row, others: tuple[str, ...], faculty: User, today: date) -> MemberRow:
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
        status,
        own_note,
        owner_id,
        expected_months,
        share,
        _french_program_name,  # read by remember_program_names
    ) = row
    planned_end = expected_end(start_date, expected_months)
    return MemberRow(
        position_id=position_id,
        person_id=person_id,
        name=name,
        program=program,
        program_kind=kind,
        institution=institution or "",
        role=SupervisionRole(role),
        other_supervisors=others,
        start_date=start_date,
        end_date=end_date,
        departure_reason=DepartureReason(departure_reason) if departure_reason else None,
        outcome=outcome,
        note=note,
        status=PositionStatus(status),
        own_note=own_note,
        owned=owner_id == faculty.id,
        expected_end=planned_end,
        past_expected=planned_end is not None and today > planned_end,
        share=share,
    )


def describe_link(
    role: SupervisionRole,
    name: str,
    state: SupervisionState = SupervisionState.CONFIRMED,
    translate=None,
) -> str:
    """ "Prof. X (co-supervisor)"; a proposal reads "awaiting Prof. X (...)", a refusal
    "declined by Prof. X (...)". `translate` is a catalogue's gettext, for callers that describe
    many links in one request."""
    translate = translate or cached_translations().ugettext
    if role == SupervisionRole.CO_SUPERVISOR:
        text = translate(N_("%(name)s (co-supervisor)")) % {"name": name}
    elif role == SupervisionRole.PRINCIPAL:
        text = translate(N_("%(name)s (principal)")) % {"name": name}
    else:
        text = name
    if state == SupervisionState.PROPOSED:
        return translate(N_("awaiting %(supervisor)s")) % {"supervisor": text}
    if state == SupervisionState.DECLINED:
        return translate(N_("declined by %(supervisor)s")) % {"supervisor": text}
    return text


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
            selectinload(Position.supervisions).selectinload(Supervision.proposed_by),
        )
    )


def may_read(actor: User, position: Position) -> bool:
    """Who reads a record and its history: administrators, the owner's group, and confirmed
    supervisors (Position.readable_by). A proposal gives no access until it is confirmed."""
    return position.readable_by(actor)


def member_for(actor: User, position_id: int, *, archived: bool = False) -> Position | None:
    """The position if `actor` may read it (may_read); None otherwise (the view answers 404)."""
    position = db.session.scalar(_member_query(position_id))
    if position is None or (position.archived_at is not None) != archived:
        return None
    return position if may_read(actor, position) else None


def person_is_public(person: Person) -> bool:
    """Whether the person appears on a published profile (a confirmed link to a published,
    active account, on a position that is not archived and has started)."""
    today = date.today()
    return bool(
        db.session.scalar(
            select(Supervision.id)
            .join(Position, Position.id == Supervision.position_id)
            .join(User, User.id == Supervision.supervisor_id)
            .where(
                Position.person_id == person.id,
                Position.archived_at.is_(None),
                ~Position.is_incoming_on(today),
                Supervision.state == SupervisionState.CONFIRMED,
                User.profile_published.is_(True),
                User.is_active.is_(True),
                User.slug.is_not(None),
            )
            .limit(1)
        )
    )


def perspective_of(actor: User, position: Position, requested_id: int | None) -> User | None:
    """The supervisor through whose eyes a member's form is shown ("my role" is theirs): the
    actor's own confirmed link; for an administrator the one asked for, else the owner's."""
    accounts = [
        link
        for link in position.supervisions
        if link.supervisor_id is not None and link.state == SupervisionState.CONFIRMED
    ]
    wanted = requested_id if actor.is_admin and requested_id is not None else actor.id
    for link in accounts:
        if link.supervisor_id == wanted:
            return link.supervisor
    if not actor.is_admin or not accounts:
        return None
    owners = [link for link in accounts if link.supervisor_id == position.owner_id]
    principal = [link for link in accounts if link.role == SupervisionRole.PRINCIPAL]
    return (owners or principal or accounts)[0].supervisor


# ---------------------------------------------------------------------------------------------
# Requests: proposals to answer, proposals sent, and what others did to records I own.


@dataclass(frozen=True)
class RequestRow:
    """A proposal as its answerer (or its proposer) sees it."""

    link_id: int
    position_id: int
    person: str  # the person's name, or for a join request sent, the email the proposer typed
    program: str
    institution: str
    start_date: date | None
    role: SupervisionRole
    share: Any
    proposer: str
    named: str  # the account the proposal names
    state: SupervisionState
    proposed_at: datetime | None
    answered_at: datetime | None
    message: str | None
    join_request: bool  # the named account asked to join a record of another group
    position_version: int = 0  # changes whenever the record (and so the proposal) changes


def _request_query() -> Select:
    proposer = aliased(User)
    named = aliased(User)
    return (
        select(
            Supervision.id,
            Position.id,
            Person.full_name,
            Person.email,
            Program.name,
            Institution.name,
            Position.start_date,
            Supervision.role,
            Supervision.share,
            proposer.display_name,
            named.display_name,
            Supervision.state,
            Supervision.proposed_at,
            Supervision.answered_at,
            Supervision.answer_message,
            Supervision.supervisor_id,
            Supervision.proposed_by_id,
            Position.version,
        )
        .select_from(Supervision)
        .join(Position, Position.id == Supervision.position_id)
        .join(Person, Person.id == Position.person_id)
        .join(Program, Program.id == Position.program_id)
        .outerjoin(Institution, Institution.id == Position.institution_id)
        .join(named, named.id == Supervision.supervisor_id)
        .outerjoin(proposer, proposer.id == Supervision.proposed_by_id)
        .where(Position.archived_at.is_(None))
        .order_by(Supervision.proposed_at.desc(), Supervision.id.desc())
    )


def answerer_id(link: Supervision) -> int | None:
    """Who answers a proposal: the account it names, unless that account asked to join the
    record itself (a join request), which the record's owner answers."""
    if link.supervisor_id is not None and link.supervisor_id == link.proposed_by_id:
        return link.position.owner_id
    return link.supervisor_id


def _answerer_condition(user_id: int):
    """SQL: the proposal is for `user_id` to answer (answerer_id, in SQL)."""
    join_request = Supervision.supervisor_id == Supervision.proposed_by_id
    return or_(
        and_(Supervision.supervisor_id == user_id, ~join_request),
        and_(
            Supervision.supervisor_id == user_id,
            Supervision.proposed_by_id.is_(None),
        ),
        and_(join_request, Position.owner_id == user_id),
    )


def _request_rows(query: Select, *, hide_foreign: bool = False) -> list[RequestRow]:
    rows = []
    for (
        link_id,
        position_id,
        name,
        email,
        program,
        institution,
        start_date,
        role,
        share,
        proposer,
        named,
        state,
        proposed_at,
        answered_at,
        message,
        supervisor_id,
        proposed_by_id,
        position_version,
    ) in db.session.execute(query):
        join_request = supervisor_id is not None and supervisor_id == proposed_by_id
        if hide_foreign and join_request:
            # The proposer asked to join a record they cannot read: show only what they typed.
            name, program, institution, start_date = email or "—", "—", "—", None
        rows.append(
            RequestRow(
                link_id,
                position_id,
                name,
                program,
                institution,
                start_date,
                role,
                share,
                proposer or "—",
                named,
                state,
                proposed_at,
                answered_at,
                message,
                join_request,
                position_version,
            )
        )
    return rows


def requests_to_answer(user: User) -> list[RequestRow]:
    """Proposals waiting for `user`'s answer."""
    return _request_rows(_request_query().where(is_proposal(), _answerer_condition(user.id)))


def requests_sent(user: User) -> list[RequestRow]:
    """Proposals `user` made that are still waiting, or were declined (with the message)."""
    return _request_rows(
        _request_query().where(
            Supervision.proposed_by_id == user.id,
            Supervision.state.in_([SupervisionState.PROPOSED, SupervisionState.DECLINED]),
        ),
        hide_foreign=True,
    )


def stale_requests(now: datetime, age) -> list[RequestRow]:
    """Administrators: proposals waiting longer than `age`."""
    return _request_rows(_request_query().where(is_proposal(), Supervision.proposed_at < now - age))


def request_count(user: User) -> int:
    """How many proposals wait for `user`'s answer (the number in the navigation)."""
    return db.session.connection().scalar(_request_count_statement(), {"user_id": user.id})


@lru_cache(maxsize=1)
def _request_count_statement() -> Select:
    """request_count's statement, built once (when the session's user was not read with it)."""
    return pending_requests_of(bindparam("user_id", type_=Integer()))


def pending_requests_of(user_id) -> Select:
    """SQL: how many proposals wait for `user_id`'s answer (a bound id, or a column of a
    statement about users, for which `.scalar_subquery()` gives one number a user)."""
    return (
        select(func.count(Supervision.id))
        .join(Position, Position.id == Supervision.position_id)
        .where(
            Position.archived_at.is_(None),
            is_proposal(),
            _answerer_condition(user_id),
        )
    )


def proposal(link_id: int) -> Supervision | None:
    """A link by id, with its position loaded (for answering it)."""
    return db.session.scalar(
        select(Supervision)
        .where(Supervision.id == link_id)
        .options(
            selectinload(Supervision.position).selectinload(Position.supervisions),
            selectinload(Supervision.supervisor),
        )
    )


def proposal_for(actor: User, link_id: int) -> Supervision | None:
    """A link on a non-archived record that `actor` answers, or any for an administrator (who
    may confirm on the answerer's behalf); None otherwise: not even its existence is told."""
    link = proposal(link_id)
    if link is None or link.position.archived_at is not None:
        return None
    if answerer_id(link) != actor.id and not actor.is_admin:
        return None
    return link


def request_row(link_id: int) -> RequestRow | None:
    """One proposal as its answerer sees it (the same row as on the requests page)."""
    rows = _request_rows(_request_query().where(Supervision.id == link_id))
    return rows[0] if rows else None


NOTICE_ACTIONS = ("confirm", "confirm-on-behalf", "decline", "leave", "request-join", "own-note")


def notices_for(owner: User, limit: int = 20) -> list[HistoryEntry]:
    """What others did lately to records `owner` owns: answers, departures, notes."""
    # The events are looked up by the owner's positions (entity type and id: the audit index).
    # Joined on the type alone, SQLite without statistics read every position event there is.
    owned = select(Position.id).where(Position.owner_id == owner.id)
    query = (
        select(AuditEvent, Person.full_name)
        .join(Position, AuditEvent.entity_id == Position.id)
        .join(Person, Person.id == Position.person_id)
        .where(
            AuditEvent.entity_type == Position.__tablename__,
            AuditEvent.entity_id.in_(owned),
            AuditEvent.action.in_(NOTICE_ACTIONS),
            or_(AuditEvent.actor_id.is_(None), AuditEvent.actor_id != owner.id),
        )
        .options(selectinload(AuditEvent.actor))
        .order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
        .limit(limit)
    )
    return [_history_entry(event, subject=name) for event, name in db.session.execute(query)]


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


def programs_not_counting_toward_load() -> list[int]:
    """Ids of the programs whose members are usually hosted (the form defaults their role)."""
    return list(
        db.session.scalars(
            select(Program.id).where(Program.counts_toward_load.is_(False)).order_by(Program.id)
        )
    )


# How many faculty accounts a search lists; more matches ask for more of the name.
FACULTY_SEARCH_LIMIT = 20


def find_faculty(text: str) -> list[tuple[int, str, str]]:
    """Active faculty accounts whose name or email contains `text` (case-insensitive), by name,
    for an administrator choosing whose group to look at: (id, name, email), at most
    FACULTY_SEARCH_LIMIT + 1 (one more says there are more)."""
    needle = text.strip().lower()
    if not needle:
        return []
    query = (
        select(User.id, User.display_name, User.email)
        .where(
            User.is_active.is_(True),
            User.is_admin.is_(False),
            User.matching(needle),
        )
        .order_by(User.display_name, User.id)
        .limit(FACULTY_SEARCH_LIMIT + 1)
    )
    return [tuple(row) for row in db.session.execute(query)]


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
    """The person on record with this email (stored as normalise_email writes it), if any."""
    email = normalise_email(email)
    if not email:
        return None
    return db.session.scalar(select(Person).where(Person.email == email))


@dataclass(frozen=True)
class SameNameRow:
    """A person in the group whose name matches a new entry's, with their latest position."""

    person_id: int
    position_id: int
    name: str
    program: str
    start_date: date


def same_name_in_group(owner: User, full_name: str) -> list[SameNameRow]:
    """People of `owner`'s group (owned or confirmed, not archived) with the same name, case,
    accents and spacing ignored: one indexed query on persons.name_key, however big the group."""
    key = name_key(full_name or "")
    if not key:
        return []
    in_group = or_(
        Position.owner_id == owner.id,
        Position.id.in_(
            select(Supervision.position_id).where(
                Supervision.supervisor_id == owner.id,
                Supervision.state == SupervisionState.CONFIRMED,
            )
        ),
    )
    query = (
        select(Person.id, Position.id, Person.full_name, Program.name, Position.start_date)
        .join(Position, Position.person_id == Person.id)
        .join(Program, Position.program_id == Program.id)
        .where(Person.name_key == key, Position.archived_at.is_(None), in_group)
        .order_by(Person.id, Position.start_date.desc(), Position.id.desc())
    )
    rows: dict[int, SameNameRow] = {}
    for person_id, position_id, name, program, start in db.session.execute(query):
        rows.setdefault(person_id, SameNameRow(person_id, position_id, name, program, start))
    return list(rows.values())


def find_person_by_orcid(orcid: str | None) -> Person | None:
    """The person on record with this (normalised) ORCID iD, if any."""
    if not orcid:
        return None
    return db.session.scalar(select(Person).where(Person.orcid == orcid))


# ---------------------------------------------------------------------------------------------
# History and archive.


@dataclass(frozen=True)
class HistoryEntry:
    """One audit event of a member, in words, with the fields it changed."""

    occurred_at: datetime
    actor: str
    action: str
    changes: list[tuple[str, str | None, str | None]]  # field, before and after in words
    sentence: str = ""  # agreement and ownership events, said in the reader's language
    subject: str = ""  # the member's name (notices list several members)
    position_id: int | None = None


def describe_event(action: str, before: dict, after: dict) -> str:
    """An agreement, ownership or identity event in words (the reader's language)."""
    supervisor = after.get("supervisor") or before.get("supervisor") or ""
    role = after.get("role")
    role_text = (
        label_text(SupervisionRole(role)) if role in {r.value for r in SupervisionRole} else ""
    )
    message = after.get("message")
    sentences = {
        "propose": lambda: gettext(
            "proposed %(supervisor)s as %(role)s, awaiting their agreement",
            supervisor=supervisor,
            role=role_text,
        ),
        "confirm": lambda: gettext(
            "%(supervisor)s confirmed the supervision (%(role)s)",
            supervisor=supervisor,
            role=role_text,
        ),
        "confirm-on-behalf": lambda: gettext(
            "confirmed the supervision on behalf of %(supervisor)s (%(role)s)",
            supervisor=supervisor,
            role=role_text,
        ),
        "decline": lambda: gettext(
            "%(supervisor)s declined the supervision (%(role)s)",
            supervisor=supervisor,
            role=role_text,
        ),
        "leave": lambda: gettext(
            "%(supervisor)s ended their involvement (%(role)s)",
            supervisor=supervisor,
            role=role_text,
        ),
        "request-join": lambda: gettext(
            "%(supervisor)s asked to be added as %(role)s", supervisor=supervisor, role=role_text
        ),
        "transfer-owner": lambda: gettext(
            "ownership moved from %(before)s to %(after)s",
            before=before.get("owner") or "—",
            after=after.get("owner") or "—",
        ),
        "edit-identity": lambda: gettext("changed the name, email or ORCID iD"),
        "own-note": lambda: gettext("%(supervisor)s changed their own note", supervisor=supervisor),
    }
    if action not in sentences:
        return ""
    text = sentences[action]()
    if message:
        text = gettext("%(text)s: “%(message)s”", text=text, message=message)
    return text


# Audit values are stored language-neutral (codes, ISO dates, English labels); the history
# says them in the reader's words.
_ENUM_FIELDS = {"departure_reason": DepartureReason, "status": MilestoneStatus}
_DATE_FIELDS = {"start_date", "end_date", "due_date", "done_on"}
_SUPERVISION_TEXT = re.compile(
    r"^(?P<name>.*): (?P<role>[^,]+), (?P<share>default|[0-9.]+ %)"
    r"(?: \((?P<state>awaiting agreement|declined)\))?$"
)


def _supervision_in_words(text: str) -> str:
    """'Name: Co-supervisor, 40 % (awaiting agreement)' from the trail, in the reader's words."""
    match = _SUPERVISION_TEXT.match(text)
    roles = {english(label): role for role, label in ROLE_LABELS.items()}
    if match is None or match["role"] not in roles:
        return text
    share = match["share"]
    share_text = (
        gettext("default share")
        if share == "default"
        else gettext("%(share)s %%", share=number_text(Decimal(share.removesuffix(" %"))))
    )
    words = gettext(
        "%(name)s: %(role)s, %(share)s",
        name=match["name"],
        role=label_text(roles[match["role"]]),
        share=share_text,
    )
    if match["state"] == "awaiting agreement":
        return gettext("%(text)s (awaiting agreement)", text=words)
    if match["state"] == "declined":
        return gettext("%(text)s (declined)", text=words)
    return words


def history_value(key: str, value: Any) -> str | None:
    """A recorded value in the reader's words; None when there is none to say."""
    if value is None or value == "" or value == []:
        return None
    if isinstance(value, bool):
        return gettext("Yes") if value else gettext("No")
    if isinstance(value, list):
        return "; ".join(_supervision_in_words(str(item)) for item in value)
    if key in _ENUM_FIELDS:
        try:
            return label_text(_ENUM_FIELDS[key](value))
        except ValueError:
            return str(value)
    if key == "program":
        return program_name(value)
    if key in _DATE_FIELDS:
        try:
            return format_day(date.fromisoformat(value))
        except (TypeError, ValueError):
            return str(value)
    return str(value)


# The keys of agreement events that are facts about the event, not changed fields.
_EVENT_FACTS = {"supervisor", "supervisor_id", "role", "share", "message", "owner"}


def _history_entry(event: AuditEvent, subject: str = "") -> HistoryEntry:
    before, after = event.before or {}, event.after or {}
    sentence = describe_event(event.action, before, after)
    keys = list(dict.fromkeys([*after.keys(), *before.keys()]))
    changes = [
        (key, history_value(key, before.get(key)), history_value(key, after.get(key)))
        for key in keys
        if before.get(key) != after.get(key) and not (sentence and key in _EVENT_FACTS)
    ]
    changes = [(key, old, new) for key, old, new in changes if old != new]
    return HistoryEntry(
        occurred_at=event.occurred_at,
        actor=event.actor.display_name if event.actor else "system",
        action=event.action,
        changes=changes,
        sentence=sentence,
        subject=subject,
        position_id=event.entity_id if event.entity_type == Position.__tablename__ else None,
    )


MAX_STINTS = 20  # a person's chain of program changes; far more than any real career


def linked_stints(position: Position) -> list[Position]:
    """The positions linked to this one by program changes (Master's -> PhD), oldest first;
    empty when the position stands alone. One query per stint, a handful at most."""
    chain = [position]
    earlier = position.previous_position
    while earlier is not None and len(chain) < MAX_STINTS:
        chain.insert(0, earlier)
        earlier = earlier.previous_position
    later = position
    while len(chain) < MAX_STINTS:
        later = db.session.scalar(
            select(Position)
            .where(Position.previous_position_id == later.id, Position.archived_at.is_(None))
            .order_by(Position.id)
            .limit(1)
        )
        if later is None:
            break
        chain.append(later)
    return chain if len(chain) > 1 else []


def member_history(position: Position) -> list[HistoryEntry]:
    """The audit events of a position and of its person (identity edits, which every owner of
    the person's positions sees), newest first, in one query."""
    query = (
        select(AuditEvent)
        .where(
            or_(
                and_(
                    AuditEvent.entity_type == Position.__tablename__,
                    AuditEvent.entity_id == position.id,
                ),
                and_(
                    AuditEvent.entity_type == Person.__tablename__,
                    AuditEvent.entity_id == position.person_id,
                    AuditEvent.action == "edit-identity",
                ),
            )
        )
        .options(selectinload(AuditEvent.actor))
        .order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
    )
    return [_history_entry(event) for event in db.session.scalars(query)]


@dataclass(frozen=True)
class ArchivedRow:
    """An archived position, for the administrators' restore list."""

    position_id: int
    name: str
    program: str
    institution: str
    supervisors: tuple[str, ...]
    archived_at: datetime


def archived_members(owner_id: int | None = None) -> list[ArchivedRow]:
    """Archived positions (of one owning group, or every one when `owner_id` is None), most
    recently archived first, in a fixed number of queries."""
    query = (
        select(Position)
        .where(
            Position.archived_at.is_not(None),
            true() if owner_id is None else Position.owner_id == owner_id,
        )
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
            institution=position.institution.name if position.institution else "",
            supervisors=tuple(link.supervisor_name for link in position.supervisions),
            archived_at=position.archived_at,
        )
        for position in db.session.scalars(query)
    ]


# ---------------------------------------------------------------------------------------------
# Pages of whole positions (the API's member resources), in a fixed number of queries.


def status_condition(status: str, today: date):
    """SQL condition for "current", "incoming", "alumni" or "all" positions (Position.status_on)."""
    if status == "current":
        return Position.is_current_on(today)
    if status == "incoming":
        return Position.is_incoming_on(today)
    if status == "alumni":
        return Position.is_alumni_on(today)
    return true()


def group_positions(
    faculty: User, status: str, today: date, *, offset: int, limit: int
) -> tuple[int, list[Position]]:
    """The faculty member's non-archived positions with `status`: the total and one page."""
    condition = and_(
        Position.archived_at.is_(None),
        status_condition(status, today),
        Position.id.in_(
            select(Supervision.position_id).where(
                Supervision.supervisor_id == faculty.id,
                Supervision.state == SupervisionState.CONFIRMED,
            )
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
        selectinload(Position.supervisions).selectinload(Supervision.proposed_by),
    )
