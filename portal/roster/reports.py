"""Export queries: roster rows (one per supervision link) and the conflict-of-interest list.

Each report returns its headers and an iterator of plain tuples that `portal/spreadsheets.py` turns
into a file. The rows are fetched in batches (`yield_per`; the CSV export's from the DB-API
cursor, `_driver_batches`), so that an institution-wide export of tens of thousands of rows runs
in fixed memory and can be streamed as it is read.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass, replace
from datetime import date
from itertools import groupby, islice
from operator import itemgetter

from flask_babel import gettext as _
from sqlalchemy import Select, String, and_, cast, func, or_, select, text, true, type_coerce

from portal.extensions import db
from portal.identifiers import name_key, normalise_email
from portal.milestones import next_milestones
from portal.models import (
    Institution,
    Person,
    Position,
    Program,
    Supervision,
    SupervisionRole,
    SupervisionState,
    User,
)
from portal.roster.supervisors_text import (
    OtherSupervisor,
    format_supervisors,
    other_supervisors_cells,
    supervisors_json,
)
from portal.spreadsheets import (
    csv_bytes_chunks,
    csv_text_bytes_chunks,
    json_chunks,
    two_decimals_as_text,
    xlsx_bytes,
)

# The first ten columns, unchanged since the first version of the format: a file with only
# these still imports.
BASE_COLUMNS = (
    "faculty_email",
    "name",
    "email",
    "program",
    "institution",
    "role",
    "start_date",
    "end_date",
    "status",
    "outcome",
)
# The whole record: the exporting faculty's share, everyone else (roster/supervisors_text.py),
# the person's ORCID iD, the position's note and how the person left.
RECORD_COLUMNS = ("share", "other_supervisors", "orcid", "note", "departure_reason")
ROSTER_COLUMNS = BASE_COLUMNS + RECORD_COLUMNS
# Added after every other column with ?with=milestones; the import ignores them.
MILESTONE_COLUMNS = ("next_milestone", "next_milestone_due", "next_milestone_status")
COI_COLUMNS = ("name", "email", "institution", "program", "role", "start_date", "end_date")
FETCH_BATCH = 1000
DEFAULT_COI_YEARS = 5
MIN_COI_YEARS, MAX_COI_YEARS = 1, 50


class RosterStatus(enum.StrEnum):
    """Which positions an export holds, by where they stand today (Position.status_on)."""

    CURRENT = "current"
    INCOMING = "incoming"
    ALUMNI = "alumni"
    ALL = "all"


class ReportError(ValueError):
    """A request for a report that cannot be answered as asked (bad status, years, faculty)."""


@dataclass(frozen=True)
class RosterExport:
    """What one export holds: whose roster (None = the whole institution) and which positions."""

    faculty: User | None
    status: RosterStatus
    today: date
    with_milestones: bool = False
    # JSON carries other_supervisors as a list of objects; CSV and XLSX as text.
    structured: bool = False

    @property
    def columns(self) -> tuple[str, ...]:
        """The file's header: the roster columns, then the milestone columns when asked."""
        return ROSTER_COLUMNS + MILESTONE_COLUMNS if self.with_milestones else ROSTER_COLUMNS

    def filename(self, extension: str) -> str:
        """roster-<faculty slug or "all">-<status>-<YYYY-MM-DD>.<ext>"""
        who = faculty_slug(self.faculty) if self.faculty is not None else "all"
        return f"roster-{who}-{self.status.value}-{self.today.isoformat()}.{extension}"


def parse_status(value: str | None) -> RosterStatus:
    """The ?status= parameter: current (the default), alumni or all; anything else is refused."""
    if value is None or value == "":
        return RosterStatus.CURRENT
    try:
        return RosterStatus(value)
    except ValueError:
        raise ReportError(
            _(
                "Unknown status %(value)s: use status=current, status=incoming, status=alumni "
                "or status=all.",
                value=repr(value),
            )
        ) from None


def parse_with(value: str | None) -> bool:
    """The ?with= parameter: empty, or "milestones" for the next-milestone columns."""
    if value is None or value == "":
        return False
    if value == "milestones":
        return True
    raise ReportError(
        _("Unknown with=%(value)s: the only extra is with=milestones.", value=repr(value))
    )


def parse_coi_years(value: str | None) -> int:
    """The ?years= parameter of the conflict-of-interest list: a whole number from 1 to 50."""
    if value is None or value == "":
        return DEFAULT_COI_YEARS
    text = value.strip()
    if not (text.isascii() and text.isdigit()) or not MIN_COI_YEARS <= int(text) <= MAX_COI_YEARS:
        raise ReportError(
            _(
                "years must be a whole number from %(min)s to %(max)s (got %(value)s).",
                min=MIN_COI_YEARS,
                max=MAX_COI_YEARS,
                value=repr(value),
            )
        )
    return int(value)


def faculty_slug(user: User) -> str:
    """A file-name-safe label for a faculty member: their profile slug, else from their email."""
    if user.slug:
        return user.slug
    local_part = user.email.split("@", 1)[0]
    return re.sub(r"[^a-z0-9]+", "-", name_key(local_part)).strip("-") or f"user-{user.id}"


def find_faculty(email: str) -> User:
    """The account with this email (case-insensitive), or ReportError naming the email."""
    user = db.session.scalar(select(User).where(User.email == normalise_email(email)))
    if user is None:
        raise ReportError(_("There is no account with the email %(email)s.", email=repr(email)))
    return user


def status_filter(status: RosterStatus, today: date):
    """SQL condition: the positions of this status today (the one definition, on Position)."""
    if status is RosterStatus.CURRENT:
        return Position.is_current_on(today)
    if status is RosterStatus.INCOMING:
        return Position.is_incoming_on(today)
    if status is RosterStatus.ALUMNI:
        return Position.is_alumni_on(today)
    return true()


# The query's order: by (faculty, program) run, each run then put in name order (in_name_order).
RUN_ORDER = (User.email, Program.sort_order, Program.name)
WITHIN_RUN_ORDER = (
    Person.full_name,
    Person.email,
    Position.start_date,
    Institution.name,
    Position.id,
)


def roster_query(export: RosterExport, *, dates_as_text: bool = False) -> Select:
    """One row per (non-archived position, supervisor account) link, in a stable order;
    `dates_as_text` reads the dates as ISO text."""
    start_date, end_date = Position.start_date, Position.end_date
    if dates_as_text:
        start_date, end_date = cast(start_date, String), cast(end_date, String)
    query = (
        select(
            User.email,
            Person.full_name,
            Person.email,
            Program.name,
            Institution.name,
            # The stored text ('principal', ...) is what the file holds: no enum round trip.
            type_coerce(Supervision.role, String).label("role"),
            start_date,
            end_date,
            Position.status_on(export.today).label("status"),
            Position.outcome,
            Supervision.share,
            Supervision.supervisor_id,  # replaced by the other supervisors in roster_rows
            Person.orcid,
            Position.note,
            type_coerce(Position.departure_reason, String).label("departure_reason"),
            Position.id,
        )
        .select_from(Supervision)
        .join(User, Supervision.supervisor_id == User.id)
        .join(Position, Supervision.position_id == Position.id)
        .join(Person, Position.person_id == Person.id)
        .join(Program, Position.program_id == Program.id)
        .outerjoin(Institution, Position.institution_id == Institution.id)
        .where(
            Position.archived_at.is_(None),
            Supervision.state == SupervisionState.CONFIRMED,
            status_filter(export.status, export.today),
        )
        .order_by(*RUN_ORDER, *WITHIN_RUN_ORDER)
    )
    if export.faculty is not None:
        query = query.where(Supervision.supervisor_id == export.faculty.id)
    return query


def roster_text_query(export: RosterExport) -> Select:
    """roster_query for a CSV file: every cell as the file writes it, in the file's order.

    The dates and status come as ISO text, the share as `as_text` writes it and the other
    supervisors as `format_supervisors` writes them (NULL where their order needs Python, see
    `other_supervisors_cells`); each (faculty, program) run is ordered by the stored name key,
    as `in_name_order` orders it. Then the position and the link's supervisor, for those cells.
    """
    dialect = db.session.get_bind().dialect.name
    query = roster_query(export, dates_as_text=True)
    columns = list(query.selected_columns)
    columns[SHARE_INDEX] = two_decimals_as_text(Supervision.share, dialect).label("share")
    faculty_id = export.faculty.id if export.faculty is not None else None
    others = other_supervisors_cells(dialect, faculty_id)
    columns[OTHERS_INDEX] = others.c.cell.label("other_supervisors")
    columns.append(Supervision.supervisor_id)
    # The key Person's validator stores (name_key), in code point order as Python compares it,
    # right after the program: the order in_name_order gives each (faculty, program) run.
    name_order = Person.name_key.collate("C") if dialect == "postgresql" else Person.name_key
    return (
        query.with_only_columns(*columns)
        .outerjoin(others, others.c.link_id == Supervision.id)
        .order_by(None)
        .order_by(*RUN_ORDER, name_order, *WITHIN_RUN_ORDER)
    )


OTHERS_INDEX = ROSTER_COLUMNS.index("other_supervisors")
CONFIRMED = SupervisionState.CONFIRMED.value  # as stored
ROLES = {role.value: role for role in SupervisionRole}  # by stored text
SHARE_INDEX = ROSTER_COLUMNS.index("share")
# XLSX column widths (characters) for the roster's columns; the others get a default.
ROSTER_WIDTHS = {
    "faculty_email": 30,
    "name": 28,
    "email": 30,
    "program": 24,
    "institution": 30,
    "role": 14,
    "start_date": 12,
    "end_date": 12,
    "status": 10,
    "outcome": 30,
    "share": 8,
    "other_supervisors": 60,
    "orcid": 21,
    "note": 30,
    "departure_reason": 20,
}


def roster_file(export: RosterExport, extension: str) -> Iterator[bytes]:
    """The export as the bytes of a CSV or JSON file, in chunks, or of an XLSX in one piece."""
    if extension == "json":
        return json_chunks(export.columns, roster_rows(replace(export, structured=True)))
    if extension == "xlsx":
        # An XLSX file is a zip archive written at the end; it cannot be streamed row by row.
        rows = roster_rows(export)
        return iter([xlsx_bytes(export.columns, rows, widths=ROSTER_WIDTHS)])
    return csv_chunks_of(export)


def roster_rows(export: RosterExport) -> Iterator[tuple]:
    """The export's rows in ROSTER_COLUMNS order (then the milestone columns when asked),
    fetched in batches (fixed memory), each run sorted by name as the pages sort it."""
    plan_for_every_row()
    batches = _record_batches(export, roster_query(export))
    yield from in_name_order(row for batch in batches for row in batch)


def in_name_order(rows: Iterable[tuple]) -> Iterator[tuple]:
    """Each (faculty, program) run of rows sorted by name as the pages sort it (`name_key`:
    "Élodie" among the E's, not after "Zoé" as the database's byte order has it).

    The database orders by faculty and program; one run is one faculty's members in one
    program, so the export still streams in bounded memory. Equal keys keep the query's order.
    """
    for _run, members in groupby(rows, key=lambda row: (row[0], row[3])):
        yield from sorted(members, key=lambda row: name_key(row[1]))


def roster_text_batches(export: RosterExport) -> Iterator[list[tuple]]:
    """roster_rows for a CSV file, in batches, every cell already text or None, as
    `roster_text_query` reads them: no Python per row, but for the rare cell of other
    supervisors that SQL leaves to `format_supervisors`."""
    # Read before the rows: on PostgreSQL the connection streams them until the last one.
    others = _other_supervisors(_positions_left_to_python(export))
    for batch in _driver_batches(roster_text_query(export), FETCH_BATCH):
        if None in map(OTHERS_CELL, batch):
            batch = _with_others_formatted(batch, others)
        yield list(map(ROSTER_CELLS, batch))


def _positions_left_to_python(export: RosterExport) -> set[int]:
    """The positions whose cell of other supervisors roster_text_query leaves NULL (two
    confirmed external supervisors share a role), among the export's faculty's when it has one."""
    query = (
        select(Supervision.position_id)
        .where(Supervision.supervisor_id.is_(None), Supervision.state == SupervisionState.CONFIRMED)
        .group_by(Supervision.position_id, Supervision.role)
        .having(func.count() > 1)
    )
    if export.faculty is not None:
        own = select(Supervision.position_id).where(Supervision.supervisor_id == export.faculty.id)
        query = query.where(Supervision.position_id.in_(own))
    return set(db.session.connection().execute(query).scalars())


def _driver_batches(query: Select, size: int) -> Iterator[list[tuple]]:
    """The rows of `query` in lists of up to `size`, read from the DB-API cursor: plain tuples.

    Why not `Connection.execute`: its Result makes a Row of every row and buffers them, which
    was most of what the CSV export spent beyond its query and the `csv` module, and the
    export's cells are text already (roster_text_query): there is nothing to convert. The SQL
    and its parameters are still SQLAlchemy's (compiled for the session's connection, each
    parameter through its type's bind processor), in the session's transaction.

    Fixed memory on both databases: sqlite3 steps through the rows as they are fetched; on
    PostgreSQL psycopg's `stream` receives them in chunks of `size` (libpq 17 or later) as the
    server sends them, while the rows before are written: one query, planned as any query (a
    server-side cursor is planned for its first rows, and is read in one round trip a batch).
    """
    connection = db.session.connection()
    dialect = connection.dialect
    compiled = query.compile(dialect=dialect)
    values = compiled.construct_params()
    for bind, name in compiled.bind_names.items():
        process = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            values[name] = process(values[name])
    parameters = (
        tuple(values[name] for name in compiled.positiontup) if compiled.positional else values
    )
    cursor = connection.connection.cursor()
    try:
        if dialect.name == "postgresql":
            # Closed first if the download stops early: psycopg then cancels the query.
            with closing(cursor.stream(str(compiled), parameters, size=size)) as rows:
                while batch := list(islice(rows, size)):
                    yield batch
        else:
            cursor.execute(str(compiled), parameters)
            while batch := cursor.fetchmany(size):
                yield batch
    finally:
        cursor.close()


OTHERS_CELL = itemgetter(OTHERS_INDEX)
ROSTER_CELLS = itemgetter(slice(len(ROSTER_COLUMNS)))  # without the position and supervisor


def _with_others_formatted(
    batch: Sequence[Sequence], others: dict[int, list[tuple[int | None, OtherSupervisor]]]
) -> list[tuple]:
    """The rows of roster_text_query with the other supervisors SQL left out written, from
    `others` (_other_supervisors of their positions)."""
    rows = []
    for row in batch:
        if row[OTHERS_INDEX] is None:
            *values, position_id, supervisor_id = row
            listed = [
                other
                for account_id, other in others.get(position_id, ())
                if account_id != supervisor_id
            ]
            values[OTHERS_INDEX] = format_supervisors(listed)
            row = (*values, position_id, supervisor_id)
        rows.append(row)
    return rows


def csv_chunks_of(export: RosterExport) -> Iterator[bytes]:
    """The export as CSV bytes (UTF-8 with a byte-order mark), streamed batch by batch."""
    if export.with_milestones:
        return csv_bytes_chunks(export.columns, roster_rows(export))
    return csv_text_bytes_chunks(export.columns, roster_text_batches(export))


def plan_for_every_row() -> None:
    """On PostgreSQL, plan the next streamed query for reading all its rows.

    A streamed query runs through a server-side cursor, which PostgreSQL plans for the first 10%
    of the rows (nested loops) unless told otherwise; an export reads them all. SET LOCAL lasts
    until the end of the transaction.
    """
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SET LOCAL cursor_tuple_fraction = 1.0"))


def _record_batches(export: RosterExport, query: Select) -> Iterator[list[tuple]]:
    """The rows of `query` (a roster_query) in batches, in ROSTER_COLUMNS order (then the
    milestone columns when asked): one more query per batch for the other supervisors, and one
    for the next milestones when asked."""
    # Plain rows from the session's connection: no ORM loading step for columns that map
    # to no object.
    result = db.session.connection().execute(query.execution_options(yield_per=FETCH_BATCH))
    for batch in result.partitions():
        position_ids = {row[-1] for row in batch}
        others = _other_supervisors(position_ids)
        upcoming = next_milestones(position_ids, export.today) if export.with_milestones else {}
        rows = []
        for *values, position_id in batch:
            supervisor_id = values[OTHERS_INDEX]
            listed = [
                other
                for account_id, other in others.get(position_id, ())
                if account_id != supervisor_id
            ]
            values[OTHERS_INDEX] = (
                supervisors_json(listed)
                if export.structured
                else format_supervisors(listed)
                if listed
                else ""  # format_supervisors of nobody
            )
            if export.with_milestones:
                milestone = upcoming.get(position_id)
                values += (
                    [milestone.name_en, milestone.due_date, milestone.state.value]
                    if milestone is not None
                    else [None, None, None]
                )
            rows.append(tuple(values))
        yield rows


def _other_supervisors(
    position_ids: set[int],
) -> dict[int, list[tuple[int | None, OtherSupervisor]]]:
    """Position id -> its confirmed supervisors as (account id, OtherSupervisor), in the file's
    order: by role, accounts (by email) before external supervisors (by name)."""
    if not position_ids:
        return {}
    query = (
        select(
            Supervision.position_id,
            Supervision.supervisor_id,
            User.email,
            Supervision.external_name,
            Supervision.external_institution,
            type_coerce(Supervision.role, String),
            Supervision.share,
            type_coerce(Supervision.state, String),
        )
        .outerjoin(User, User.id == Supervision.supervisor_id)
        # The state is checked below: given "state = 'confirmed'", SQLite reads every confirmed
        # link through the index on state instead of the position's few through its key.
        .where(Supervision.position_id.in_(position_ids))
    )
    found: dict[int, list[tuple[int | None, OtherSupervisor]]] = {}
    for position_id, account_id, email, name, institution, role, share, state in (
        db.session.connection().execute(query).all()
    ):
        if state != CONFIRMED:
            continue
        other = OtherSupervisor(
            ROLES[role],
            share,
            email=email,
            name=None if email else name,
            institution=None if email else institution,
        )
        found.setdefault(position_id, []).append((account_id, other))
    order = list(SupervisionRole)
    for listed in found.values():
        if len(listed) < 2:
            continue
        listed.sort(
            key=lambda item: (
                order.index(item[1].role),
                not item[1].is_account,
                item[1].email or name_key(item[1].name or ""),
                item[1].name or "",
                item[1].institution or "",
            )
        )
    return found


def coi_since(today: date, years: int) -> date:
    """The day `years` years before `today` (28 February for a 29 February)."""
    try:
        return today.replace(year=today.year - years)
    except ValueError:
        return today.replace(year=today.year - years, day=28)


def coi_rows(faculty: User, today: date, years: int) -> Iterator[tuple]:
    """Everyone `faculty` supervised, co-supervised or hosted in the last `years` years."""
    since = coi_since(today, years)
    query = (
        select(
            Person.full_name,
            Person.email,
            Institution.name,
            Program.name,
            Supervision.role,
            Position.start_date,
            Position.end_date,
        )
        .select_from(Supervision)
        .join(Position, Supervision.position_id == Position.id)
        .join(Person, Position.person_id == Person.id)
        .join(Program, Position.program_id == Program.id)
        .outerjoin(Institution, Position.institution_id == Institution.id)
        .where(
            Supervision.supervisor_id == faculty.id,
            Supervision.state == SupervisionState.CONFIRMED,
            Position.archived_at.is_(None),
            # Current today, or alumni who left within the period; incoming members not yet.
            or_(
                Position.is_current_on(today),
                and_(Position.is_alumni_on(today), Position.end_date >= since),
            ),
        )
        .order_by(Person.full_name, Position.start_date, Position.id)
        .execution_options(yield_per=FETCH_BATCH)
    )
    rows = [
        (name, email, institution, program, role.value, start, end)
        for name, email, institution, program, role, start, end in db.session.execute(query)
    ]  # one faculty member's list: sorted by name as the pages sort it
    yield from sorted(rows, key=lambda row: name_key(row[0]))


def roster_page(export: RosterExport, *, offset: int, limit: int) -> tuple[int, list[tuple]]:
    """The number of rows of the export, and one page of them in ROSTER_COLUMNS order."""
    query = roster_query(export)
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    # The rows of one page, in ROSTER_COLUMNS order, other supervisors included.
    paged = RosterExport(export.faculty, export.status, export.today, structured=True)
    rows = [
        row for batch in _record_batches(paged, query.offset(offset).limit(limit)) for row in batch
    ]
    return total or 0, rows
