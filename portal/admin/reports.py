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

from portal.catalogue import cached_gettext, cached_ngettext
from portal.extensions import db
from portal.i18n import format_day, number_text
from portal.labels import KIND_LABELS, english
from portal.labels import lazy_gettext as _l
from portal.loads import KINDS, LoadRow, load_rows, pending_proposals
from portal.models import Institution
from portal.spreadsheets import as_text

ANSWER, ROLES, PROGRAMS = "answer", "roles", "programs"


@dataclass(frozen=True)
class Column:
    """One column of the loads table and its exports; the label is translated on the page only.

    `group` says when the page shows it: "answer" always, the others on demand (?show=).
    """

    key: str
    label: Any  # a lazy string: the reader's language on the page, English in the exports
    numeric: bool = True
    group: str = ANSWER


COLUMNS: tuple[Column, ...] = (
    Column("name", _l("Faculty"), numeric=False),
    Column("department", _l("Department"), numeric=False),
    Column("principal", _l("Principal")),
    Column("co_supervisor", _l("Co-supervisor"), group=ROLES),
    Column("host", _l("Host (no role)"), group=ROLES),
    *(Column(kind.value, KIND_LABELS[kind], group=PROGRAMS) for kind in KINDS),
    Column("total", _l("Total"), group=ROLES),
    Column("weighted", _l("Weighted load (%)")),
    Column("principal_cap", _l("Principal cap")),
    Column("weighted_cap", _l("Weighted cap (%)")),
    Column("principal_headroom", _l("Principal headroom")),
    Column("weighted_headroom", _l("Weighted headroom (%)")),
    Column("status", _l("Status"), numeric=False),
)
# The page leads with the answer: each cap next to what is compared to it, then the status.
PAGE_ORDER = (
    "name",
    "department",
    "principal",
    "principal_cap",
    "principal_headroom",
    "weighted",
    "weighted_cap",
    "weighted_headroom",
    "status",
)
# Column groups shown on demand, in this order, after the answer's columns.
DETAIL_GROUPS: dict[str, Any] = {
    ROLES: _l("the roles (co-supervisions, people hosted, total)"),
    PROGRAMS: _l("the people by program kind"),
}


def page_columns(show: frozenset[str] | set[str] = frozenset()) -> list[Column]:
    """The columns the page shows: the answer's, then each detail group asked for."""
    by_key = {column.key: column for column in COLUMNS}
    columns = [by_key[key] for key in PAGE_ORDER]
    for group in DETAIL_GROUPS:
        if group in show:
            columns += [column for column in COLUMNS if column.group == group]
    return columns


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

    def text_rows(self) -> list[tuple[LoadRow, dict[str, str]]]:
        """Each row of this page with its cells as the page prints them, by column key: the
        CSV's values in the reader's language."""
        return [
            (
                row,
                {
                    key: _page_text(key, value) if key != "status" else row.status_text()
                    for key, value in zip(COLUMN_KEYS, _cells(row), strict=True)
                },
            )
            for row in self.shown
        ]

    def text_totals(self) -> dict[str, str]:
        """The totals row as the page prints it, by column key."""
        over = self.over_cap_count
        texts = {}
        for key, value in zip(COLUMN_KEYS, self.totals, strict=True):
            if key == "name":
                texts[key] = cached_gettext("Total")
            elif key == "status":
                texts[key] = cached_ngettext("%(num)d over cap", "%(num)d over cap", over)
            else:
                texts[key] = _page_text(key, value)
        return texts

    def cap_notices(self) -> list[CapNotice]:
        """The answer first: who is over a cap (most over first), then who is near one."""
        over = [row for row in self.rows if row.over_cap]
        near = [row for row in self.rows if row.near_cap]
        over.sort(key=lambda row: (-_overshoot(row), row.name.casefold()))
        near.sort(key=lambda row: (-_used_share(row), row.name.casefold()))
        return [CapNotice(row, True, _cap_sentences(row)) for row in over] + [
            CapNotice(row, False, _cap_sentences(row)) for row in near
        ]


@dataclass(frozen=True)
class CapNotice:
    """One faculty member over or near a cap, and by how much, in the reader's words."""

    row: LoadRow
    over: bool
    sentences: list[str]


def _overshoot(row: LoadRow) -> Decimal:
    """How far past its caps a row is, as a share of the cap (for ordering the notices)."""
    return max(
        (
            Decimal(-headroom) / cap
            for headroom, cap in (
                (row.principal_headroom, row.principal_cap),
                (row.weighted_headroom, row.weighted_cap),
            )
            if headroom is not None and cap and headroom < 0
        ),
        default=Decimal(0),
    )


def _used_share(row: LoadRow) -> Decimal:
    """The larger share of a cap the row uses (for ordering the "near" notices)."""
    return max(
        (
            Decimal(load) / cap
            for load, cap in ((row.principal, row.principal_cap), (row.weighted, row.weighted_cap))
            if cap
        ),
        default=Decimal(0),
    )


def _cap_sentences(row: LoadRow) -> list[str]:
    """What is over or near each cap, with the numbers and what they mean."""
    sentences = []
    if row.over_principal_cap or row.near_principal_cap:
        sentences.append(principal_sentence(row))
    if row.over_weighted_cap or row.near_weighted_cap:
        sentences.append(weighted_sentence(row))
    return sentences


def principal_sentence(row: LoadRow) -> str:
    """ "Principal supervisor of 9 people, cap 8: 1 over the cap." and the like."""
    headroom = row.principal_headroom
    if headroom is None:
        return cached_ngettext(
            "Principal supervisor of %(num)d person; no cap.",
            "Principal supervisor of %(num)d people; no cap.",
            row.principal,
        )
    if headroom < 0:
        return cached_ngettext(
            "Principal supervisor of %(num)d person, cap %(cap)d: %(excess)d over the cap.",
            "Principal supervisor of %(num)d people, cap %(cap)d: %(excess)d over the cap.",
            row.principal,
            cap=row.principal_cap,
            excess=-headroom,
        )
    if headroom == 0:
        return cached_ngettext(
            "Principal supervisor of %(num)d person, cap %(cap)d: at the cap.",
            "Principal supervisor of %(num)d people, cap %(cap)d: at the cap.",
            row.principal,
            cap=row.principal_cap,
        )
    return cached_ngettext(
        "Principal supervisor of %(num)d person, cap %(cap)d: room for %(room)d more.",
        "Principal supervisor of %(num)d people, cap %(cap)d: room for %(room)d more.",
        row.principal,
        cap=row.principal_cap,
        room=headroom,
    )


def weighted_sentence(row: LoadRow) -> str:
    """ "Weighted load 1,150 % (11.5 full-time students), cap 300 %: 850 points over the cap." """
    load = number_text(row.weighted)
    students = number_text((row.weighted / 100).quantize(Decimal("0.1")))
    headroom = row.weighted_headroom
    if headroom is None:
        return cached_gettext(
            "Weighted load %(load)s %% (like %(students)s students supervised alone); no cap.",
            load=load,
            students=students,
        )
    if headroom < 0:
        return cached_gettext(
            "Weighted load %(load)s %% (like %(students)s students supervised alone), cap "
            "%(cap)s %%: %(excess)s points over the cap.",
            load=load,
            students=students,
            cap=number_text(row.weighted_cap),
            excess=number_text(-headroom),
        )
    return cached_gettext(
        "Weighted load %(load)s %% (like %(students)s students supervised alone), cap "
        "%(cap)s %%: %(room)s points below the cap.",
        load=load,
        students=students,
        cap=number_text(row.weighted_cap),
        room=number_text(headroom),
    )


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
# The chart: each faculty member's counted load against each cap, as a share of that cap.

CHART_UNITS = 1000  # a bar's viewBox width: the bar is drawn in thousandths of the scale


@dataclass(frozen=True)
class ChartMeasure:
    """One cap of one faculty member: the words, and the bar (None without a cap)."""

    text: str
    over: bool
    width: int | None  # the bar's length in CHART_UNITS


@dataclass(frozen=True)
class ChartBar:
    """One faculty member in the chart."""

    faculty_id: int
    name: str
    over_cap: bool
    measures: list[ChartMeasure]


@dataclass(frozen=True)
class Chart:
    """What the loads page draws: a bar per cap, the cap as a line at `cap_x`."""

    title: str
    bars: list[ChartBar]
    cap_x: int
    scale_label: str


def _share_of_cap(load: Decimal | int, cap: Decimal | int | None) -> Decimal | None:
    if not cap:
        return None
    return Decimal(load) / Decimal(cap)


def _measure(text: str, over: bool, share: Decimal | None, scale: Decimal) -> ChartMeasure:
    width = None if share is None else int(min(share / scale, Decimal(1)) * CHART_UNITS)
    return ChartMeasure(text=text, over=over, width=width)


def loads_chart(report: LoadsReport) -> Chart:
    """The chart of the report's page: principal supervisions and weighted load, each against
    its cap (people hosted without a role count toward neither, so they are not drawn)."""
    shares = [
        share
        for row in report.shown
        for share in (
            _share_of_cap(row.principal, row.principal_cap),
            _share_of_cap(row.weighted, row.weighted_cap),
        )
        if share is not None
    ]
    scale = max([Decimal("1.25"), *shares])  # the longest bar fills the width; the cap shows
    bars = []
    for row in report.shown:
        principal_text = cached_gettext(
            "Principal: %(count)s of %(cap)s",
            count=row.principal,
            cap=row.principal_cap if row.principal_cap is not None else "—",
        )
        weighted_text = cached_gettext(
            "Weighted: %(load)s %% of %(cap)s %%",
            load=number_text(row.weighted),
            cap=number_text(row.weighted_cap) if row.weighted_cap is not None else "—",
        )
        bars.append(
            ChartBar(
                faculty_id=row.faculty_id,
                name=row.name,
                over_cap=row.over_cap,
                measures=[
                    _measure(
                        principal_text,
                        row.over_principal_cap,
                        _share_of_cap(row.principal, row.principal_cap),
                        scale,
                    ),
                    _measure(
                        weighted_text,
                        row.over_weighted_cap,
                        _share_of_cap(row.weighted, row.weighted_cap),
                        scale,
                    ),
                ],
            )
        )
    return Chart(
        title=chart_title(report),
        bars=bars,
        cap_x=int(CHART_UNITS / scale),
        scale_label=cached_gettext(
            "The whole width is %(share)s %% of a cap.", share=number_text(int(scale * 100))
        ),
    )


def chart_title(report: LoadsReport) -> str:
    """What the chart shows, in the reader's language."""
    return cached_gettext("Counted load against the caps on %(day)s", day=format_day(report.as_of))
