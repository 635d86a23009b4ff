"""The administrators' loads report: columns, sorting, totals, page text, exports and the chart.

The counting itself (the aggregate query, caps, headroom) is `portal.loads`; this module lays
the rows out as the page, the chart and the exports show them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import cached_property
from typing import Any

from flask import render_template
from markupsafe import Markup

from portal.catalogue import cached_gettext, cached_ngettext
from portal.extensions import db
from portal.i18n import format_day, number_text
from portal.labels import KIND_LABELS, english, label_text
from portal.labels import lazy_gettext as _l
from portal.loads import KINDS, UNKNOWN_INSTITUTION, LoadRow, load_rows, pending_proposals
from portal.models import Institution, ProgramKind
from portal.spreadsheets import as_text


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


@dataclass
class LoadsReport:
    """The loads table for one day and filter, sorted, with its totals."""

    as_of: date
    rows: list[LoadRow]
    sort: str
    descending: bool
    institution: Institution | None = None
    department: str | None = None
    unknown_institution: bool = False  # only supervisees whose institution is unknown
    totals: list[Any] = field(default_factory=list)
    page: int = 1

    @cached_property
    def pending_proposals(self) -> int:
        """Proposed links not yet agreed: never counted in the loads (read by the page only)."""
        return pending_proposals(self.as_of)

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
        return [_cells(row) for row in self.rows] + [self.totals]

    def text_rows(self) -> list[tuple[LoadRow, list[str]]]:
        """Each row with its cells as the page prints them: the CSV's values, in the reader's language."""
        return [
            (
                row,
                [
                    _page_text(key, value) if key != "status" else row.status_text()
                    for key, value in zip(COLUMN_KEYS, _cells(row), strict=True)
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
                texts.append(cached_gettext("Total"))
            elif key == "status":
                texts.append(cached_ngettext("%(num)d over cap", "%(num)d over cap", over))
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


def _cells(row: LoadRow) -> list[Any]:
    """A row's values in the order of COLUMNS."""
    return [row.value(key) for key in COLUMN_KEYS]


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
    institution = db.session.get(Institution, institution_id) if institution_id else None
    unknown_institution = institution_id == UNKNOWN_INSTITUTION
    rows = load_rows(as_of, department=department, institution_id=institution_id)
    sort_key = sort if sort in COLUMN_KEYS else "name"
    rows.sort(key=_sort_value(sort_key), reverse=descending)
    report = LoadsReport(
        as_of=as_of,
        rows=rows,
        sort=sort_key,
        descending=descending,
        institution=institution,
        department=department or None,
        unknown_institution=unknown_institution,
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
        cached_gettext("%(count)s %(kind)s", count=row.by_kind[kind], kind=label_text(kind))
        for kind in KINDS
        if row.by_kind[kind]
    ]
    summary = ", ".join(parts) if parts else cached_gettext("nobody")
    load = number_text(row.weighted)
    if row.over_cap:
        return cached_gettext(
            "%(name)s: %(summary)s (weighted load %(load)s%%; %(status)s)",
            name=row.name,
            summary=summary,
            load=load,
            status=row.status_text(),
        )
    return cached_gettext(
        "%(name)s: %(summary)s (weighted load %(load)s%%)",
        name=row.name,
        summary=summary,
        load=load,
    )


@dataclass(frozen=True)
class ChartSegment:
    """One program kind's part of a bar."""

    x: float
    width: float
    colour: str


@dataclass(frozen=True)
class ChartBar:
    """One faculty member's bar: where it stands, what it says, its segments."""

    y: int
    title: str
    name: str
    segments: list[ChartSegment]
    note: str
    note_x: float
    over_cap: bool


@dataclass(frozen=True)
class Chart:
    """What templates/admin/_loads_chart.svg draws: sizes, titles and bars, all computed here."""

    width: int
    height: int
    title: str
    bars: list[ChartBar]
    axis_y: int
    axis_label: str
    label_width: int = CHART_LABEL_WIDTH
    bar_width: int = CHART_BAR_WIDTH
    row_height: int = CHART_ROW_HEIGHT


def _chart_bar(index: int, row: LoadRow, scale: float) -> ChartBar:
    x = float(CHART_LABEL_WIDTH)
    segments = []
    for kind in KINDS:
        if row.by_kind[kind]:
            length = row.by_kind[kind] * scale
            segments.append(ChartSegment(x=x, width=length, colour=KIND_COLOURS[kind]))
            x += length
    note = (
        cached_gettext("%(total)s ⚠ over cap", total=row.total) if row.over_cap else str(row.total)
    )
    return ChartBar(
        y=index * CHART_ROW_HEIGHT,
        title=_bar_title(row),
        name=_short(row.name),
        segments=segments,
        note=note,
        note_x=x + 4,
        over_cap=row.over_cap,
    )


def loads_chart(report: LoadsReport) -> Chart:
    """The chart of the report's page: a bar per faculty stacked by program kind."""
    largest = max((row.total for row in report.rows), default=0) or 1
    scale = CHART_BAR_WIDTH / largest
    rows_height = CHART_ROW_HEIGHT * max(len(report.shown), 1)
    return Chart(
        width=CHART_LABEL_WIDTH + CHART_BAR_WIDTH + CHART_NOTE_WIDTH,
        height=rows_height + 24,
        title=chart_title(report),
        bars=[_chart_bar(index, row, scale) for index, row in enumerate(report.shown)],
        axis_y=rows_height + 16,
        axis_label=cached_ngettext("%(num)d person", "%(num)d people", largest),
    )


def loads_chart_svg(report: LoadsReport) -> Markup:
    """An accessible SVG (a <title> per bar), rendered from the Jinja template, names escaped."""
    return Markup(render_template("admin/_loads_chart.svg", chart=loads_chart(report)))


def chart_legend() -> list[tuple[str, str]]:
    """(colour, label) per program kind, for the text legend beside the chart."""
    return [(KIND_COLOURS[kind], str(KIND_LABELS[kind])) for kind in KINDS]


def chart_title(report: LoadsReport) -> str:
    """What the chart shows, in the reader's language."""
    return cached_gettext(
        "People supervised or hosted by each faculty member on %(day)s, by program kind",
        day=format_day(report.as_of),
    )
