"""Supervision loads: the aggregate query, a faculty member's load against the caps, the warning.

The loads rules live here, below the feature packages: the administrators' loads report and
the group's "this would take you over your cap" warning both count the same way.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from functools import cache, lru_cache
from typing import Any, NamedTuple

from sqlalchemy import (
    BigInteger,
    Date,
    Integer,
    Select,
    String,
    and_,
    bindparam,
    case,
    cast,
    func,
    select,
)

from portal.catalogue import cached_gettext
from portal.database import planned_for_its_values, read_before_transaction
from portal.extensions import db
from portal.i18n import number_text
from portal.models import (
    LoadPolicy,
    Position,
    Program,
    ProgramKind,
    Supervision,
    SupervisionRole,
    SupervisionState,
    User,
    is_proposal,
)

# Shares and weights are kept with two decimals; the query multiplies them as whole hundredths
# so that SQLite (floating point) and PostgreSQL (numeric) sum exactly the same integers.
HUNDREDTHS_PER_PERCENT_POINT = Decimal(10000)
CENT = Decimal("0.01")
KINDS: tuple[ProgramKind, ...] = tuple(ProgramKind)
OVER_CAP = "Over cap"
WITHIN_CAP = "Within cap"
NEAR_CAP = "Near cap"
NO_CAP = "No cap"
# "Near" a cap: one principal supervision from it, or nine tenths of the weighted cap used.
NEAR_PRINCIPAL_HEADROOM = 1
NEAR_WEIGHTED_SHARE = Decimal("0.9")


# A record of the loads statement, by position (`load_row` reads the whole of it): the faculty
# member and their own caps, then the counts summed per supervisor (principal, co-supervisor,
# host, then one per program kind), the weighted units and the number of links.
(
    RECORD_FACULTY_ID,
    RECORD_NAME,
    RECORD_DEPARTMENT,
    RECORD_PRINCIPAL_CAP,
    RECORD_WEIGHTED_CAP,
) = range(5)
RECORD_COUNTS = slice(5, 8 + len(KINDS))
RECORD_PRINCIPAL = RECORD_COUNTS.start
RECORD_WEIGHTED_UNITS = -2

# The loads filter's "Unknown" institution: positions without one (no database id is 0).
UNKNOWN_INSTITUTION = 0


@lru_cache(maxsize=4096)
def percent_from_units(units: int) -> Decimal:
    """Weighted load in percent, from the query's exact sum of share x weight in 1/10000ths."""
    return (Decimal(units) / HUNDREDTHS_PER_PERCENT_POINT).quantize(CENT, rounding=ROUND_HALF_UP)


@lru_cache(maxsize=1024)
def _cents(value) -> Decimal:
    """A cap kept with two decimals (caps are few distinct values: each is quantized once)."""
    return Decimal(value).quantize(CENT)


@lru_cache(maxsize=1024)
def _cents_from_hundredths(hundredths: int) -> Decimal:
    return (Decimal(hundredths) / 100).quantize(CENT)


def weighted_cap_of(record, default: Decimal | None) -> Decimal | None:
    """A record's weighted cap (read in hundredths, see `_loads_statement`), or the default."""
    hundredths = record[RECORD_WEIGHTED_CAP]
    if hundredths is None:
        return None if default is None else _cents(default)
    return _cents_from_hundredths(int(hundredths))


def cap_flags(
    principal: int, weighted: Decimal, principal_cap: int | None, weighted_cap: Decimal | None
) -> tuple[bool, bool, bool, bool]:
    """The caps' rule: over the principal cap, over the weighted cap, near the principal cap,
    near the weighted cap (a load within every cap but close to one: look before adding)."""
    over_principal = principal_cap is not None and principal > principal_cap
    over_weighted = weighted_cap is not None and weighted > weighted_cap
    near_principal = (
        principal_cap is not None
        and 0 <= principal_cap - principal <= NEAR_PRINCIPAL_HEADROOM
        and principal > 0
    )
    near_weighted = (
        weighted_cap is not None
        and not over_weighted
        and weighted > 0
        and weighted >= weighted_cap * NEAR_WEIGHTED_SHARE
    )
    return over_principal, over_weighted, near_principal, near_weighted


def over_or_near(flags: tuple[bool, bool, bool, bool]) -> tuple[bool, bool]:
    """From `cap_flags`: over any cap; near one (within every cap but close to one)."""
    over_principal, over_weighted, near_principal, near_weighted = flags
    over = over_principal or over_weighted
    return over, not over and (near_principal or near_weighted)


@dataclass(slots=True)
class LoadRow:
    """One faculty member's supervision load on a given day.

    What is derived from the counts and caps (total, headroom, over and near each cap, status)
    is worked out once, when the row is made: a report reads each of them many times.
    """

    faculty_id: int
    name: str
    department: str | None
    principal: int
    co_supervisor: int
    host: int
    by_kind: dict[ProgramKind, int]
    weighted: Decimal
    principal_cap: int | None
    weighted_cap: Decimal | None

    total: int = field(init=False)
    principal_headroom: int | None = field(init=False)
    weighted_headroom: Decimal | None = field(init=False)
    over_principal_cap: bool = field(init=False)
    over_weighted_cap: bool = field(init=False)
    over_cap: bool = field(init=False)
    near_principal_cap: bool = field(init=False)
    near_weighted_cap: bool = field(init=False)
    near_cap: bool = field(init=False)  # within every cap but close to one: look before adding
    status: str = field(init=False)  # in English, as the exports write it

    def __post_init__(self) -> None:
        principal, weighted = self.principal, self.weighted
        principal_cap, weighted_cap = self.principal_cap, self.weighted_cap
        self.total = principal + self.co_supervisor + self.host
        self.principal_headroom = None if principal_cap is None else principal_cap - principal
        self.weighted_headroom = None if weighted_cap is None else weighted_cap - weighted
        flags = cap_flags(principal, weighted, principal_cap, weighted_cap)
        (
            over_principal,
            over_weighted,
            self.near_principal_cap,
            self.near_weighted_cap,
        ) = flags
        self.over_principal_cap, self.over_weighted_cap = over_principal, over_weighted
        over, near = self.over_cap, self.near_cap = over_or_near(flags)
        if over:
            which = " and ".join(
                label
                for is_over, label in ((over_principal, "principal"), (over_weighted, "weighted"))
                if is_over
            )
            self.status = f"{OVER_CAP} ({which})"
        elif principal_cap is None and weighted_cap is None:
            self.status = NO_CAP
        else:
            self.status = NEAR_CAP if near else WITHIN_CAP

    def status_text(self) -> str:
        """The status in the reader's language (the exports keep `status` in English)."""
        if self.over_principal_cap and self.over_weighted_cap:
            return cached_gettext("Over cap (principal and weighted)")
        if self.over_principal_cap:
            return cached_gettext("Over cap (principal)")
        if self.over_weighted_cap:
            return cached_gettext("Over cap (weighted)")
        if self.principal_cap is None and self.weighted_cap is None:
            return cached_gettext("No cap")
        if self.near_cap:
            return cached_gettext("Near cap")
        return cached_gettext("Within cap")

    def value(self, key: str) -> Any:
        """The value of one column, by its key (a program kind's value or an attribute)."""
        kind = ProgramKind._value2member_map_.get(key)
        if kind is not None:
            return self.by_kind[kind]
        return getattr(self, key)


def current_on(day: date):
    """A confirmed link to a position current on `day` (Position.is_current_on); archived
    positions and proposals (not yet agreed) never count."""
    return and_(
        Position.archived_at.is_(None),
        Position.is_current_on(day),
        Supervision.state == SupervisionState.CONFIRMED,
    )


def _hundredths(column):
    return cast(func.round(column * 100), BigInteger)


# The loads statements are built once (per shape of filter), with bound parameters: building one
# and its cache key cost more than running it, on every request.
AS_OF = bindparam("as_of", type_=Date)
DEPARTMENT = bindparam("department", type_=String)
INSTITUTION_ID = bindparam("institution_id", type_=Integer)
FACULTY_ID = bindparam("faculty_id", type_=Integer)


def pending_proposals(as_of: date) -> int:
    """How many proposed links to current positions wait for their faculty's answer."""
    return db.session.scalar(_pending_proposals_statement(), {"as_of": as_of})


@cache
def _pending_proposals_statement() -> Select:
    return (
        select(func.count(Supervision.id))
        .join(Position, Position.id == Supervision.position_id)
        .where(
            is_proposal(),  # served by the partial index of proposals
            Position.archived_at.is_(None),
            Position.is_current_on(AS_OF),
        )
    )


@cache
def _loads_statement(by_department: bool, institution: str | None, by_faculty: bool) -> Select:
    """The aggregate statement for one shape of filter; `institution` is None, "unknown" or
    "id". The values are bound when it runs (see `loads_parameters`).

    The current links are summed per supervisor inside the subquery, then joined to the faculty
    by key: joined first and summed after, SQLite scanned every link once per faculty member.
    """
    link_conditions = [Supervision.supervisor_id.is_not(None), current_on(AS_OF)]
    if by_faculty:
        # The same rows as filtering the result by account; the database then reads only the
        # account's links (through their index) rather than every current link.
        link_conditions.append(Supervision.supervisor_id == FACULTY_ID)
    if institution == "unknown":
        link_conditions.append(Position.institution_id.is_(None))
    elif institution == "id":
        link_conditions.append(Position.institution_id == INSTITUTION_ID)
    if by_department:
        # Only the department's links are summed (the faculty are filtered again below).
        link_conditions.append(
            Supervision.supervisor_id.in_(select(User.id).where(User.department == DEPARTMENT))
        )

    def count_where(condition):
        return func.sum(case((condition, 1), else_=0))

    weighted_units = func.sum(
        case(
            (
                Program.counts_toward_load.is_(True),
                _hundredths(Supervision.share) * _hundredths(Program.weight),
            ),
            else_=0,
        )
    )
    sums = (
        select(
            Supervision.supervisor_id.label("faculty_id"),
            count_where(Supervision.role == SupervisionRole.PRINCIPAL).label("principal"),
            count_where(Supervision.role == SupervisionRole.CO_SUPERVISOR).label("co_supervisor"),
            count_where(Supervision.role == SupervisionRole.NONE).label("host"),
            *(
                count_where(Program.kind == kind).label(f"kind_{index}")
                for index, kind in enumerate(KINDS)
            ),
            weighted_units.label("weighted_units"),
            func.count(Supervision.supervisor_id).label("links"),
        )
        .join(Position, Position.id == Supervision.position_id)
        .join(Program, Program.id == Position.program_id)
        .where(*link_conditions)
        .group_by(Supervision.supervisor_id)
        .subquery("current_loads")
    )
    summed = [column for column in sums.c if column.key != "faculty_id"]
    # The columns' order is what `load_row` reads by position; a faculty member without a
    # current link has no row in the sums and counts zero everywhere.
    # The weighted cap comes in hundredths, like the weighted units: an integer that both
    # databases' drivers give as is, so that `read_load_records` keeps their own tuples.
    query = select(
        User.id,
        User.display_name,
        User.department,
        User.principal_cap,
        _hundredths(User.weighted_cap).label("weighted_cap_hundredths"),
        *(func.coalesce(column, 0).label(column.key) for column in summed),
    ).where(User.is_admin.is_(False), User.is_active.is_(True))
    if institution is None:
        query = query.outerjoin(sums, sums.c.faculty_id == User.id)
    else:
        # Filtering by the supervisees' institution: only faculty with someone there.
        query = query.join(sums, sums.c.faculty_id == User.id)
    if by_department:
        query = query.where(User.department == DEPARTMENT)
    if by_faculty:
        query = query.where(User.id == FACULTY_ID)
    return query


def loads_parameters(
    as_of: date,
    *,
    department: str | None = None,
    institution_id: int | None = None,
    faculty_id: int | None = None,
) -> tuple[Select, dict[str, Any]]:
    """The prepared loads statement for these filters, and the values to run it with."""
    parameters: dict[str, Any] = {"as_of": as_of}
    if department:
        parameters["department"] = department
    if institution_id == UNKNOWN_INSTITUTION:
        institution = "unknown"
    elif institution_id is not None:
        institution = "id"
        parameters["institution_id"] = institution_id
    else:
        institution = None
    if faculty_id is not None:
        parameters["faculty_id"] = faculty_id
    statement = _loads_statement(bool(department), institution, faculty_id is not None)
    return statement, parameters


def loads_query(
    as_of: date,
    *,
    department: str | None = None,
    institution_id: int | None = None,
    faculty_id: int | None = None,
) -> Select:
    """One row per active faculty member, with counts and weighted units summed by the database
    (the prepared statement with its values bound, e.g. to print or compile it)."""
    statement, parameters = loads_parameters(
        as_of, department=department, institution_id=institution_id, faculty_id=faculty_id
    )
    return statement.params(**parameters)


def load_policy() -> LoadPolicy:
    """The single row of default caps (created with the defaults if a database lacks it)."""
    policy = db.session.get(LoadPolicy, 1)
    if policy is None:
        policy = LoadPolicy(id=1)
        db.session.add(policy)
        db.session.flush()
    return policy


class DefaultCaps(NamedTuple):
    """The load policy's default caps as plain values: what a page may keep between requests
    (an ORM object belongs to one session)."""

    default_principal_cap: int
    default_weighted_cap: Decimal | None


def default_caps() -> DefaultCaps:
    """The default caps of the load policy (`load_policy`)."""
    policy = load_policy()
    return DefaultCaps(policy.default_principal_cap, policy.default_weighted_cap)


def load_row(record, policy: LoadPolicy | DefaultCaps) -> LoadRow:
    """A LoadRow from one record of `loads_query` (read by position), the default caps filling
    in the missing ones."""
    (
        faculty_id,
        name,
        department,
        principal_cap,
        _weighted_cap_hundredths,
        principal,
        co_supervisor,
        host,
        *kind_counts,
        weighted_units,
        _links,
    ) = record
    if principal_cap is None:
        principal_cap = policy.default_principal_cap
    return LoadRow(
        faculty_id,
        name,
        department,
        int(principal),
        int(co_supervisor),
        int(host),
        dict(zip(KINDS, map(int, kind_counts), strict=True)),
        percent_from_units(int(weighted_units)),
        principal_cap,
        weighted_cap_of(record, policy.default_weighted_cap),
    )


def read_load_records(as_of: date, **filters) -> list[tuple]:
    """The plain records of `loads_query` for these filters, in the order the database gives
    them (tuples, read by position as `load_row` does; hashed and compared in C when a page
    keeps its content under them)."""
    # Pending changes are flushed first, as the session would before a query of its own.
    statement, parameters = loads_parameters(as_of, **filters)
    session = db.session
    if session.autoflush:
        session.flush()
    connection = session.connection()
    # On a page whose other reads are kept, this is its only statement after the session's
    # user: read before any transaction, it costs no BEGIN and no ROLLBACK (two round trips).
    with read_before_transaction(connection), planned_for_its_values(connection):
        result = connection.execute(statement, parameters)
    # Every column is an integer or a text that SQLAlchemy gives as the driver read it (no
    # result processor: tests/test_admin_loads.py checks it on both databases), so the driver's
    # own tuples are the records: 2,000 rows are not made twice (a Row, then a tuple).
    try:
        return result.cursor.fetchall()
    finally:
        result.close()


def load_records(as_of: date, **filters) -> list[tuple]:
    """The plain records of `loads_query` for these filters (see `read_load_records`), by name."""
    return by_name(read_load_records(as_of, **filters))


def by_name(records: list[tuple]) -> list[tuple]:
    """Records sorted by name (then id), in place."""
    records.sort(key=_name_order)
    return records


def _name_order(record) -> tuple[str, int]:
    return record[RECORD_NAME].casefold(), record[RECORD_FACULTY_ID]


def load_standings(
    records: list, policy: LoadPolicy | DefaultCaps
) -> list[tuple[Decimal, bool, bool]]:
    """Each record's weighted load, whether it is over a cap and whether near one (what its
    `LoadRow` would say, by `cap_flags`), in one pass over the plain records: a report reads
    these of every faculty member but makes rows only of those it shows."""
    default_principal_cap = policy.default_principal_cap
    default_weighted_cap = policy.default_weighted_cap
    standings = []
    for record in records:
        principal_cap = record[RECORD_PRINCIPAL_CAP]
        if principal_cap is None:
            principal_cap = default_principal_cap
        weighted = percent_from_units(int(record[RECORD_WEIGHTED_UNITS]))
        over, near = over_or_near(
            cap_flags(
                int(record[RECORD_PRINCIPAL]),
                weighted,
                principal_cap,
                weighted_cap_of(record, default_weighted_cap),
            )
        )
        standings.append((weighted, over, near))
    return standings


def load_rows(
    as_of: date, *, department: str | None = None, institution_id: int | None = None
) -> list[LoadRow]:
    """The load of every active faculty member on `as_of` (filtered), by name, in two queries."""
    policy = load_policy()
    records = load_records(as_of, department=department or None, institution_id=institution_id)
    return [load_row(record, policy) for record in records]


def cap_breaches_after(
    faculty_id: int,
    program_id: int,
    share: Decimal | int | str,
    role: SupervisionRole | str,
    on: date,
) -> list[str]:
    """Warnings, in the reader's language, when adding this supervision would pass a cap.

    Empty when no cap would be exceeded (or the faculty or program is unknown).
    """
    return cap_breaches_after_adding(faculty_id, [(program_id, share, role)], on)


def cap_breaches_after_adding(
    faculty_id: int,
    additions: list[tuple[int, Decimal | int | str, SupervisionRole | str]],
    on: date,
) -> list[str]:
    """Warnings when adding all these (program id, share, role) supervisions to the faculty
    member at once (an import) would pass a cap; the same rule as one addition."""
    programs = {
        program_id: db.session.get(Program, program_id)
        for program_id in {program_id for program_id, _, _ in additions}
    }
    policy = load_policy()
    records = load_records(on, faculty_id=faculty_id)
    record = records[0] if records else None
    # An import adds thousands of links of a few kinds: each kind is weighed once.
    kinds = Counter(item for item in additions if programs[item[0]] is not None)
    if not kinds or record is None:
        return []
    current = load_row(record, policy)
    warnings: list[str] = []
    principal_added = sum(
        count
        for (_, _, role), count in kinds.items()
        if SupervisionRole(role) is SupervisionRole.PRINCIPAL
    )
    principal_after = current.principal + principal_added
    if (
        principal_added
        and current.principal_cap is not None
        and principal_after > current.principal_cap
    ):
        warnings.append(
            cached_gettext(
                "%(name)s would be principal supervisor of %(count)s people, over their cap of %(cap)s.",
                name=current.name,
                count=principal_after,
                cap=current.principal_cap,
            )
        )
    added_units = sum(
        count
        * int(Decimal(str(share)).quantize(CENT) * 100)
        * int(Decimal(programs[program_id].weight).quantize(CENT) * 100)
        for (program_id, share, _), count in kinds.items()
        if programs[program_id].counts_toward_load
    )
    if added_units:
        weighted_after = current.weighted + percent_from_units(added_units)
        if (
            added_units
            and current.weighted_cap is not None
            and weighted_after > current.weighted_cap
        ):
            warnings.append(
                cached_gettext(
                    "%(name)s's weighted load would be %(load)s%%, over their cap of %(cap)s%%.",
                    name=current.name,
                    load=number_text(weighted_after),
                    cap=number_text(current.weighted_cap),
                )
            )
    return warnings
