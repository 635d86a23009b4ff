"""Supervision loads across all faculty: one aggregate query, caps, headroom, chart and exports."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from flask_babel import ngettext
from markupsafe import Markup, escape
from sqlalchemy import BigInteger, Select, and_, case, cast, func, select

from portal.extensions import db

# The loads page translates thousands of cells and chart titles: the request-cached gettext.
from portal.i18n import cached_gettext as gettext
from portal.i18n import format_day, number_text
from portal.labels import KIND_LABELS, english, label_text
from portal.labels import lazy_gettext as _l
from portal.models import (
    Institution,
    LoadPolicy,
    Position,
    Program,
    ProgramKind,
    Supervision,
    SupervisionRole,
    SupervisionState,
    User,
)
from portal.spreadsheets import as_text

# Shares and weights are kept with two decimals; the query multiplies them as whole hundredths
# so that SQLite (floating point) and PostgreSQL (numeric) sum exactly the same integers.
HUNDREDTHS_PER_PERCENT_POINT = Decimal(10000)
CENT = Decimal("0.01")
KINDS: tuple[ProgramKind, ...] = tuple(ProgramKind)


@dataclass(frozen=True)
class Column:
    """One column of the loads table and its exports; the label is translated on the page only."""

    key: str
    label: Any  # a lazy string: the reader's language on the page, English in the exports
    numeric: bool = True


COLUMNS: tuple[Column, ...] = (
    Column("name", _l("Faculty"), numeric=False),
    Column("department", _l("Department"), numeric=False),
    Column("principal", _l("Principal")),
    Column("co_supervisor", _l("Co-supervisor")),
    Column("host", _l("Host (no role)")),
    *(Column(kind.value, KIND_LABELS[kind]) for kind in KINDS),
    Column("total", _l("Total")),
    Column("weighted", _l("Weighted load (%)")),
    Column("principal_cap", _l("Principal cap")),
    Column("weighted_cap", _l("Weighted cap (%)")),
    Column("principal_headroom", _l("Principal headroom")),
    Column("weighted_headroom", _l("Weighted headroom (%)")),
    Column("status", _l("Status"), numeric=False),
)
COLUMN_KEYS = tuple(column.key for column in COLUMNS)
OVER_CAP = "Over cap"
WITHIN_CAP = "Within cap"
NO_CAP = "No cap"


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
    def status(self) -> str:
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
        return WITHIN_CAP

    def status_text(self) -> str:
        """The status in the reader's language (the exports keep `status` in English)."""
        if self.over_principal_cap and self.over_weighted_cap:
            return gettext("Over cap (principal and weighted)")
        if self.over_principal_cap:
            return gettext("Over cap (principal)")
        if self.over_weighted_cap:
            return gettext("Over cap (weighted)")
        if self.principal_cap is None and self.weighted_cap is None:
            return gettext("No cap")
        return gettext("Within cap")

    def value(self, key: str) -> Any:
        """The value of one column, by its key."""
        kind = ProgramKind._value2member_map_.get(key)
        if kind is not None:
            return self.by_kind[kind]
        return getattr(self, key)

    def cells(self) -> list[Any]:
        return [self.value(key) for key in COLUMN_KEYS]


@dataclass
class LoadsReport:
    """The loads table for one day and filter, sorted, with its totals."""

    as_of: date
    rows: list[LoadRow]
    sort: str
    descending: bool
    institution: Institution | None = None
    department: str | None = None
    totals: list[Any] = field(default_factory=list)
    page: int = 1
    pending_proposals: int = 0  # proposed links not yet agreed: never counted in the loads

    @property
    def page_count(self) -> int:
        return max(1, -(-len(self.rows) // PAGE_SIZE))

    @property
    def first_shown(self) -> int:
        """Index (0-based) of the first row on this page."""
        return (self.page - 1) * PAGE_SIZE

    @property
    def shown(self) -> list[LoadRow]:
        """The rows of this page; counts, totals and exports always cover every row."""
        return self.rows[self.first_shown : self.first_shown + PAGE_SIZE]

    @property
    def over_cap_count(self) -> int:
        return sum(1 for row in self.rows if row.over_cap)

    def headers(self) -> list[str]:
        """The export's column headers: always English, the file format does not change."""
        return [english(column.label) for column in COLUMNS]

    def export_rows(self) -> list[list[Any]]:
        """The rows exactly as the page shows them, then the totals row."""
        return [row.cells() for row in self.rows] + [self.totals]

    def text_rows(self) -> list[tuple[LoadRow, list[str]]]:
        """Each row with its cells as the page prints them: the CSV's values, in the reader's language."""
        return [
            (
                row,
                [
                    _page_text(key, value) if key != "status" else row.status_text()
                    for key, value in zip(COLUMN_KEYS, row.cells(), strict=True)
                ],
            )
            for row in self.shown
        ]

    def text_totals(self) -> list[str]:
        """The totals row as the page prints it."""
        over = self.over_cap_count
        texts = []
        for key, value in zip(COLUMN_KEYS, self.totals, strict=True):
            if key == "name":
                texts.append(gettext("Total"))
            elif key == "status":
                texts.append(ngettext("%(num)d over cap", "%(num)d over cap", over))
            else:
                texts.append(_page_text(key, value))
        return texts


def _page_text(key: str, value: Any) -> str:
    """A cell on the page: numbers with the reader's decimal mark, text as it is."""
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        return number_text(value)
    return as_text(value)


# Faculty members per page of the loads table and chart (counts, totals and exports cover all).
PAGE_SIZE = 200


# ---------------------------------------------------------------------------------------------
# The aggregate query.


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


def _loads_query(
    as_of: date,
    *,
    department: str | None = None,
    institution_id: int | None = None,
    faculty_id: int | None = None,
) -> Select:
    """One row per active faculty member, with counts and weighted units summed by the database."""
    link_conditions = [Supervision.supervisor_id.is_not(None), current_on(as_of)]
    if institution_id is not None:
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


def _to_row(record, policy: LoadPolicy) -> LoadRow:
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


def _sort_value(key: str) -> Callable[[LoadRow], Any]:
    def value(row: LoadRow):
        item = row.value(key)
        if isinstance(item, str):
            item = item.casefold()
        # Empty values (no cap, no department) sort last in ascending order.
        return (item is None, item if item is not None else 0)

    return value


def loads_report(
    as_of: date,
    *,
    sort: str | None = None,
    descending: bool = False,
    department: str | None = None,
    institution_id: int | None = None,
    page: int = 1,
) -> LoadsReport:
    """The loads of every active faculty member on `as_of`, in two queries whatever their number.

    An unknown sort key falls back to sorting by name.
    """
    policy = load_policy()
    institution = db.session.get(Institution, institution_id) if institution_id else None
    records = db.session.execute(
        _loads_query(as_of, department=department or None, institution_id=institution_id)
    ).all()
    rows = [_to_row(record, policy) for record in records]
    sort_key = sort if sort in COLUMN_KEYS else "name"
    rows.sort(key=lambda row: (row.name.casefold(), row.faculty_id))
    rows.sort(key=_sort_value(sort_key), reverse=descending)
    report = LoadsReport(
        as_of=as_of,
        rows=rows,
        sort=sort_key,
        descending=descending,
        institution=institution,
        department=department or None,
        pending_proposals=pending_proposals(as_of),
    )
    report.page = min(max(page, 1), report.page_count)  # an out-of-range page shows the nearest
    report.totals = _totals(rows)
    return report


def _totals(rows: list[LoadRow]) -> list[Any]:
    summed = {
        "principal",
        "co_supervisor",
        "host",
        "total",
        "weighted",
        *(kind.value for kind in KINDS),
    }
    totals: list[Any] = []
    for key in COLUMN_KEYS:
        if key == "name":
            totals.append("Total")
        elif key == "status":
            over = sum(1 for row in rows if row.over_cap)
            totals.append(f"{over} over cap")
        elif key in summed:
            totals.append(
                sum((row.value(key) for row in rows), Decimal("0.00") if key == "weighted" else 0)
            )
        else:
            totals.append(None)
    return totals


def department_choices() -> list[str]:
    """The departments of active faculty, for the filter."""
    return list(
        db.session.scalars(
            select(User.department)
            .where(
                User.is_admin.is_(False),
                User.is_active.is_(True),
                User.department.is_not(None),
                User.department != "",
            )
            .distinct()
            .order_by(User.department)
        )
    )


def institution_choices() -> list[tuple[int, str]]:
    """Every institution, for the filter."""
    return [
        (row.id, row.name)
        for row in db.session.execute(
            select(Institution.id, Institution.name).order_by(Institution.name)
        )
    ]


# ---------------------------------------------------------------------------------------------
# Warning before a new supervision takes someone over a cap.


def cap_breaches_after(
    faculty_id: int,
    program_id: int,
    share: Decimal | int | str,
    role: SupervisionRole | str,
    on: date,
) -> list[str]:
    """Human-readable warnings when adding this supervision would put the faculty over a cap.

    Empty when no cap would be exceeded (or the faculty or program is unknown).
    """
    program = db.session.get(Program, program_id)
    policy = load_policy()
    record = db.session.execute(_loads_query(on, faculty_id=faculty_id)).first()
    if program is None or record is None:
        return []
    current = _to_row(record, policy)
    role = SupervisionRole(role)
    share = Decimal(str(share)).quantize(CENT)
    warnings: list[str] = []
    principal_after = current.principal + (1 if role == SupervisionRole.PRINCIPAL else 0)
    if (
        role == SupervisionRole.PRINCIPAL
        and current.principal_cap is not None
        and principal_after > current.principal_cap
    ):
        warnings.append(
            gettext(
                "%(name)s would be principal supervisor of %(count)s people, over their cap of %(cap)s.",
                name=current.name,
                count=principal_after,
                cap=current.principal_cap,
            )
        )
    if program.counts_toward_load:
        added_units = int(share * 100) * int(Decimal(program.weight).quantize(CENT) * 100)
        weighted_after = current.weighted + percent_from_units(added_units)
        if (
            added_units
            and current.weighted_cap is not None
            and weighted_after > current.weighted_cap
        ):
            warnings.append(
                gettext(
                    "%(name)s's weighted load would be %(load)s%%, over their cap of %(cap)s%%.",
                    name=current.name,
                    load=number_text(weighted_after),
                    cap=number_text(current.weighted_cap),
                )
            )
    return warnings


# ---------------------------------------------------------------------------------------------
# The chart: one horizontal stacked bar per faculty member, drawn on the server as SVG.

KIND_COLOURS = {
    ProgramKind.PHD: "#1f5fa8",
    ProgramKind.MASTERS: "#5b9bd5",
    ProgramKind.POSTDOC: "#2e7d32",
    ProgramKind.INTERN: "#9ccc65",
    ProgramKind.COLLABORATOR: "#8d6e63",
    ProgramKind.VISITOR: "#ffb300",
    ProgramKind.ALUMNI_COLLABORATOR: "#9e9e9e",
}
CHART_LABEL_WIDTH = 220
CHART_BAR_WIDTH = 480
CHART_ROW_HEIGHT = 18
CHART_NOTE_WIDTH = 200  # room for "30 ⚠ au-delà du plafond"
CHART_NAME_CHARACTERS = 30


def _short(name: str) -> str:
    return name if len(name) <= CHART_NAME_CHARACTERS else name[: CHART_NAME_CHARACTERS - 1] + "…"


def _bar_title(row: LoadRow) -> str:
    parts = [
        gettext("%(count)s %(kind)s", count=row.by_kind[kind], kind=label_text(kind))
        for kind in KINDS
        if row.by_kind[kind]
    ]
    summary = ", ".join(parts) if parts else gettext("nobody")
    load = number_text(row.weighted)
    if row.over_cap:
        return gettext(
            "%(name)s: %(summary)s (weighted load %(load)s%%; %(status)s)",
            name=row.name,
            summary=summary,
            load=load,
            status=row.status_text(),
        )
    return gettext(
        "%(name)s: %(summary)s (weighted load %(load)s%%)",
        name=row.name,
        summary=summary,
        load=load,
    )


def loads_chart_svg(report: LoadsReport) -> Markup:
    """An accessible SVG: a bar per faculty stacked by program kind, a <title> per bar.

    Every name is escaped here; the result is safe to insert into a page as it is.
    """
    largest = max((row.total for row in report.rows), default=0) or 1
    scale = CHART_BAR_WIDTH / largest
    width = CHART_LABEL_WIDTH + CHART_BAR_WIDTH + CHART_NOTE_WIDTH
    height = CHART_ROW_HEIGHT * max(len(report.shown), 1) + 24
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="loads-chart" role="img"'
        f' aria-labelledby="loads-chart-title" viewBox="0 0 {width} {height}"'
        f' width="{width}" height="{height}" font-size="12">',
        f'<title id="loads-chart-title">{escape(chart_title(report))}</title>',
    ]
    for index, row in enumerate(report.shown):
        y = index * CHART_ROW_HEIGHT
        out.append(f'<g class="loads-chart__bar"><title>{escape(_bar_title(row))}</title>')
        out.append(
            f'<text x="{CHART_LABEL_WIDTH - 6}" y="{y + 13}" text-anchor="end">'
            f"{escape(_short(row.name))}</text>"
        )
        x = float(CHART_LABEL_WIDTH)
        for kind in KINDS:
            count = row.by_kind[kind]
            if not count:
                continue
            length = count * scale
            out.append(
                f'<rect x="{x:.1f}" y="{y + 2}" width="{length:.1f}"'
                f' height="{CHART_ROW_HEIGHT - 4}" fill="{KIND_COLOURS[kind]}"'
                f' stroke="#ffffff" stroke-width="1"/>'
            )
            x += length
        note = gettext("%(total)s ⚠ over cap", total=row.total) if row.over_cap else str(row.total)
        weight = ' font-weight="bold"' if row.over_cap else ""
        out.append(f'<text x="{x + 4:.1f}" y="{y + 13}"{weight}>{escape(note)}</text></g>')
    axis_y = CHART_ROW_HEIGHT * max(len(report.shown), 1) + 16
    out.append(f'<text x="{CHART_LABEL_WIDTH}" y="{axis_y}" fill="#5a6472">0</text>')
    out.append(
        f'<text x="{CHART_LABEL_WIDTH + CHART_BAR_WIDTH}" y="{axis_y}" text-anchor="end"'
        f' fill="#5a6472">{escape(ngettext("%(num)d person", "%(num)d people", largest))}</text>'
    )
    out.append("</svg>")
    return Markup("".join(out))


def chart_legend() -> list[tuple[str, str]]:
    """(colour, label) per program kind, for the text legend beside the chart."""
    return [(KIND_COLOURS[kind], str(KIND_LABELS[kind])) for kind in KINDS]


def chart_title(report: LoadsReport) -> str:
    """What the chart shows, in the reader's language."""
    return gettext(
        "People supervised or hosted by each faculty member on %(day)s, by program kind",
        day=format_day(report.as_of),
    )
