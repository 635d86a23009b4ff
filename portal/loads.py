"""Supervision loads: the aggregate query, a faculty member's load against the caps, the warning.

The loads rules live here, below the feature packages: the administrators' loads report and
the group's "this would take you over your cap" warning both count the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import BigInteger, Select, and_, case, cast, func, select

from portal.catalogue import cached_gettext
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


# The loads filter's "Unknown" institution: positions without one (no database id is 0).
UNKNOWN_INSTITUTION = 0


def percent_from_units(units: int) -> Decimal:
    """Weighted load in percent, from the query's exact sum of share x weight in 1/10000ths."""
    return (Decimal(units) / HUNDREDTHS_PER_PERCENT_POINT).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass
class LoadRow:
    """One faculty member's supervision load on a given day."""

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

    @property
    def total(self) -> int:
        return self.principal + self.co_supervisor + self.host

    @property
    def principal_headroom(self) -> int | None:
        return None if self.principal_cap is None else self.principal_cap - self.principal

    @property
    def weighted_headroom(self) -> Decimal | None:
        return None if self.weighted_cap is None else self.weighted_cap - self.weighted

    @property
    def over_principal_cap(self) -> bool:
        return self.principal_cap is not None and self.principal > self.principal_cap

    @property
    def over_weighted_cap(self) -> bool:
        return self.weighted_cap is not None and self.weighted > self.weighted_cap

    @property
    def over_cap(self) -> bool:
        return self.over_principal_cap or self.over_weighted_cap

    @property
    def near_principal_cap(self) -> bool:
        headroom = self.principal_headroom
        return (
            headroom is not None and 0 <= headroom <= NEAR_PRINCIPAL_HEADROOM and self.principal > 0
        )

    @property
    def near_weighted_cap(self) -> bool:
        return (
            self.weighted_cap is not None
            and not self.over_weighted_cap
            and self.weighted > 0
            and self.weighted >= self.weighted_cap * NEAR_WEIGHTED_SHARE
        )

    @property
    def near_cap(self) -> bool:
        """Within a cap but close to it (and over none): worth a look before the next addition."""
        return not self.over_cap and (self.near_principal_cap or self.near_weighted_cap)

    @property
    def status(self) -> str:
        """The status in English, as the exports write it."""
        if self.over_cap:
            which = [
                label
                for over, label in (
                    (self.over_principal_cap, "principal"),
                    (self.over_weighted_cap, "weighted"),
                )
                if over
            ]
            return f"{OVER_CAP} ({' and '.join(which)})"
        if self.principal_cap is None and self.weighted_cap is None:
            return NO_CAP
        return NEAR_CAP if self.near_cap else WITHIN_CAP

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


def pending_proposals(as_of: date) -> int:
    """How many proposed links to current positions wait for their faculty's answer."""
    return db.session.scalar(
        select(func.count(Supervision.id))
        .join(Position, Position.id == Supervision.position_id)
        .where(
            Supervision.state == SupervisionState.PROPOSED,
            Position.archived_at.is_(None),
            Position.is_current_on(as_of),
        )
    )


def _hundredths(column):
    return cast(func.round(column * 100), BigInteger)


def loads_query(
    as_of: date,
    *,
    department: str | None = None,
    institution_id: int | None = None,
    faculty_id: int | None = None,
) -> Select:
    """One row per active faculty member, with counts and weighted units summed by the database."""
    link_conditions = [Supervision.supervisor_id.is_not(None), current_on(as_of)]
    if faculty_id is not None:
        # The same rows as filtering the result by account; the database then reads only the
        # account's links (through their index) rather than every current link.
        link_conditions.append(Supervision.supervisor_id == faculty_id)
    if institution_id == UNKNOWN_INSTITUTION:
        link_conditions.append(Position.institution_id.is_(None))
    elif institution_id is not None:
        link_conditions.append(Position.institution_id == institution_id)
    links = (
        select(
            Supervision.supervisor_id.label("faculty_id"),
            Supervision.role.label("role"),
            Supervision.share.label("share"),
            Program.kind.label("kind"),
            Program.weight.label("weight"),
            Program.counts_toward_load.label("counts"),
        )
        .join(Position, Position.id == Supervision.position_id)
        .join(Program, Program.id == Position.program_id)
        .where(*link_conditions)
        .subquery("current_links")
    )

    def count_where(condition):
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    weighted_units = func.coalesce(
        func.sum(
            case(
                (
                    links.c.counts.is_(True),
                    _hundredths(links.c.share) * _hundredths(links.c.weight),
                ),
                else_=0,
            )
        ),
        0,
    )
    query = (
        select(
            User.id,
            User.display_name,
            User.department,
            User.principal_cap,
            User.weighted_cap,
            count_where(links.c.role == SupervisionRole.PRINCIPAL).label("principal"),
            count_where(links.c.role == SupervisionRole.CO_SUPERVISOR).label("co_supervisor"),
            count_where(links.c.role == SupervisionRole.NONE).label("host"),
            *(
                count_where(links.c.kind == kind).label(f"kind_{index}")
                for index, kind in enumerate(KINDS)
            ),
            weighted_units.label("weighted_units"),
            func.count(links.c.faculty_id).label("links"),
        )
        .outerjoin(links, links.c.faculty_id == User.id)
        .where(User.is_admin.is_(False), User.is_active.is_(True))
        .group_by(
            User.id, User.display_name, User.department, User.principal_cap, User.weighted_cap
        )
    )
    if department:
        query = query.where(User.department == department)
    if faculty_id is not None:
        query = query.where(User.id == faculty_id)
    if institution_id is not None:
        # Filtering by the supervisees' institution: only faculty with someone there.
        query = query.having(func.count(links.c.faculty_id) > 0)
    return query


def load_policy() -> LoadPolicy:
    """The single row of default caps (created with the defaults if a database lacks it)."""
    policy = db.session.get(LoadPolicy, 1)
    if policy is None:
        policy = LoadPolicy(id=1)
        db.session.add(policy)
        db.session.flush()
    return policy


def load_row(record, policy: LoadPolicy) -> LoadRow:
    """A LoadRow from one record of `loads_query`, the default caps filling in the missing ones."""
    principal_cap = (
        record.principal_cap if record.principal_cap is not None else policy.default_principal_cap
    )
    weighted_cap = (
        record.weighted_cap if record.weighted_cap is not None else policy.default_weighted_cap
    )
    return LoadRow(
        faculty_id=record.id,
        name=record.display_name,
        department=record.department,
        principal=int(record.principal),
        co_supervisor=int(record.co_supervisor),
        host=int(record.host),
        by_kind={kind: int(getattr(record, f"kind_{index}")) for index, kind in enumerate(KINDS)},
        weighted=percent_from_units(int(record.weighted_units)),
        principal_cap=principal_cap,
        weighted_cap=None if weighted_cap is None else Decimal(weighted_cap).quantize(CENT),
    )


def load_rows(
    as_of: date, *, department: str | None = None, institution_id: int | None = None
) -> list[LoadRow]:
    """The load of every active faculty member on `as_of` (filtered), by name, in two queries."""
    policy = load_policy()
    records = db.session.execute(
        loads_query(as_of, department=department or None, institution_id=institution_id)
    ).all()
    rows = [load_row(record, policy) for record in records]
    rows.sort(key=lambda row: (row.name.casefold(), row.faculty_id))
    return rows


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
    record = db.session.execute(loads_query(on, faculty_id=faculty_id)).first()
    known = [item for item in additions if programs[item[0]] is not None]
    if not known or record is None:
        return []
    current = load_row(record, policy)
    warnings: list[str] = []
    roles = [SupervisionRole(role) for _, _, role in known]
    principal_after = current.principal + roles.count(SupervisionRole.PRINCIPAL)
    if (
        SupervisionRole.PRINCIPAL in roles
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
        int(Decimal(str(share)).quantize(CENT) * 100)
        * int(Decimal(programs[program_id].weight).quantize(CENT) * 100)
        for program_id, share, _ in known
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
