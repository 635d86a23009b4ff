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
from operator import attrgetter
from typing import Any

from flask_babel import get_locale

from portal.catalogue import cached_gettext, cached_ngettext, cached_translations
from portal.extensions import db
from portal.i18n import format_day, number_text
from portal.labels import KIND_LABELS, english
from portal.labels import lazy_gettext as _l
from portal.loads import KINDS, UNKNOWN_INSTITUTION, LoadRow, load_rows, pending_proposals
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
    unknown_institution: bool = False  # only supervisees whose institution is unknown
    totals: list[Any] = field(default_factory=list)
    page: int = 1
    # Number texts by language and value: the page prints the same few numbers many times.
    _number_texts: dict[str, dict[str, str]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

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

    @cached_property
    def over_cap_count(self) -> int:
        return sum(map(attrgetter("over_cap"), self.rows))

    def headers(self) -> list[str]:
        """The export's column headers: always English, the file format does not change."""
        return [english(column.label) for column in COLUMNS]

    def export_rows(self) -> list[list[Any]]:
        """The rows exactly as the page shows them, then the totals row."""
        return [_cells(row) for row in self.rows] + [self.totals]

    def number_writer(self) -> Callable[[Any], str]:
        """`number_text` in the reader's language, each value formatted once per report."""
        language = str(get_locale())
        texts = self._number_texts.setdefault(language, {})

        def text(value: Any) -> str:
            # Equal numbers written alike (same digits and exponent) print alike, int or Decimal.
            key = str(value)
            found = texts.get(key)
            if found is None:
                found = texts[key] = number_text(value, language=language)
            return found

        return text

    def text_rows(
        self, columns: list[Column] | None = None
    ) -> list[tuple[LoadRow, dict[str, str]]]:
        """Each row of this page with its cells as the page prints them, by column key: the
        CSV's values in the reader's language (only `columns`' cells when given, and the
        name and status)."""
        keys = {"name", "status", *(column.key for column in columns)} if columns else None
        indexes = [
            (index, key)
            for index, key in enumerate(COLUMN_KEYS)
            if key != "status" and (keys is None or key in keys)
        ]
        number = self.number_writer()
        statuses: dict[str, str] = {}  # the status in English -> in the reader's language
        texts = []
        for row in self.shown:
            values = _cells(row)
            cells = {key: _page_text(values[index], number) for index, key in indexes}
            status = statuses.get(row.status)
            if status is None:
                status = statuses[row.status] = row.status_text()
            cells["status"] = status
            texts.append((row, cells))
        return texts

    def text_totals(self) -> dict[str, str]:
        """The totals row as the page prints it, by column key."""
        over = self.over_cap_count
        number = self.number_writer()
        texts = {}
        for key, value in zip(COLUMN_KEYS, self.totals, strict=True):
            if key == "name":
                texts[key] = cached_gettext("Total")
            elif key == "status":
                texts[key] = cached_ngettext("%(num)d over cap", "%(num)d over cap", over)
            else:
                texts[key] = _page_text(value, number)
        return texts

    def cap_notices(self) -> list[CapNotice]:
        """The answer first: who is over a cap (most over first), then who is near one."""
        over = [row for row in self.rows if row.over_cap]
        near = [row for row in self.rows if row.near_cap]
        over.sort(key=lambda row: (-_overshoot(row), row.name.casefold()))
        near.sort(key=lambda row: (-_used_share(row), row.name.casefold()))
        number = self.number_writer()
        return [CapNotice(row, True, _cap_sentences(row, number)) for row in over] + [
            CapNotice(row, False, _cap_sentences(row, number)) for row in near
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


def _cap_sentences(row: LoadRow, number: Callable[[Any], str] = number_text) -> list[str]:
    """What is over or near each cap, with the numbers and what they mean."""
    sentences = []
    if row.over_principal_cap or row.near_principal_cap:
        sentences.append(principal_sentence(row))
    if row.over_weighted_cap or row.near_weighted_cap:
        sentences.append(weighted_sentence(row, number))
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


def weighted_sentence(row: LoadRow, number: Callable[[Any], str] = number_text) -> str:
    """ "Weighted load 1,150 % (11.5 full-time students), cap 300 %: 850 points over the cap."

    `number` writes a number in the reader's language."""
    load = number(row.weighted)
    students = number((row.weighted / 100).quantize(Decimal("0.1")))
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
            cap=number(row.weighted_cap),
            excess=number(-headroom),
        )
    return cached_gettext(
        "Weighted load %(load)s %% (like %(students)s students supervised alone), cap "
        "%(cap)s %%: %(room)s points below the cap.",
        load=load,
        students=students,
        cap=number(row.weighted_cap),
        room=number(headroom),
    )


def _page_text(value: Any, number: Callable[[Any], str] = number_text) -> str:
    """A cell on the page: numbers with the reader's decimal mark, text as it is."""
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        return number(value)
    return as_text(value)


# Faculty members per page of the loads table and chart (counts, totals and exports cover all).
PAGE_SIZE = 200


def _cells(row: LoadRow) -> list[Any]:
    """A row's values in the order of COLUMNS (as `LoadRow.value` gives them, read directly)."""
    by_kind = row.by_kind
    return [
        row.name,
        row.department,
        row.principal,
        row.co_supervisor,
        row.host,
        *[by_kind[kind] for kind in KINDS],
        row.total,
        row.weighted,
        row.principal_cap,
        row.weighted_cap,
        row.principal_headroom,
        row.weighted_headroom,
        row.status,
    ]


def _column_value(key: str) -> Callable[[LoadRow], Any]:
    """A function reading one column of a row (what `LoadRow.value(key)` returns)."""
    kind = next((kind for kind in KINDS if kind.value == key), None)
    if kind is not None:
        return lambda row: row.by_kind[kind]
    return attrgetter(key)


def _sort_value(key: str) -> Callable[[LoadRow], Any]:
    read = _column_value(key)

    def value(row: LoadRow):
        item = read(row)
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
    report.totals = _totals(rows, report.over_cap_count)
    return report


SUMMED = frozenset(
    {"principal", "co_supervisor", "host", "total", "weighted", *(kind.value for kind in KINDS)}
)


def _totals(rows: list[LoadRow], over: int) -> list[Any]:
    """The totals row in the order of COLUMNS: each summed column added up once."""
    totals: list[Any] = []
    for key in COLUMN_KEYS:
        if key == "name":
            totals.append("Total")
        elif key == "status":
            totals.append(f"{over} over cap")
        elif key in SUMMED:
            start = Decimal("0.00") if key == "weighted" else 0
            totals.append(sum(map(_column_value(key), rows), start))
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
    translations = cached_translations()
    principal_words = translations.ugettext("Principal: %(count)s of %(cap)s")
    weighted_words = translations.ugettext("Weighted: %(load)s %% of %(cap)s %%")
    number = report.number_writer()
    bars = []
    for row in report.shown:
        principal_text = principal_words % {
            "count": row.principal,
            "cap": row.principal_cap if row.principal_cap is not None else "—",
        }
        weighted_text = weighted_words % {
            "load": number(row.weighted),
            "cap": number(row.weighted_cap) if row.weighted_cap is not None else "—",
        }
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
