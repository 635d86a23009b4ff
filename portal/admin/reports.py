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
from typing import Any, NamedTuple

from flask_babel import get_locale

from portal.catalogue import cached_gettext, cached_ngettext, cached_translations
from portal.extensions import db
from portal.i18n import format_day, number_text
from portal.labels import KIND_LABELS, english
from portal.labels import lazy_gettext as _l
from portal.loads import (
    KINDS,
    RECORD_COUNTS,
    RECORD_NAME,
    UNKNOWN_INSTITUTION,
    DefaultCaps,
    LoadRow,
    by_name,
    default_caps,
    load_row,
    load_standings,
    pending_proposals,
    read_load_records,
)
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
    """The loads table for one day and filter, sorted, with its totals.

    It holds every faculty member's record as read (plain, by name); the table's order, each
    record's standing (weighted load, over or near a cap: `portal.loads.load_standings`) and the
    totals are worked out when first read, and a record is made a `LoadRow` only when read: the
    page reads the rows it shows and those over or near a cap, the exports all. A page whose
    content is kept reads none of these.
    """

    as_of: date
    read: list  # the records as the loads statement read them (sorted when first needed)
    policy: DefaultCaps
    sort: str
    descending: bool
    institution: Institution | None = None
    department: str | None = None
    unknown_institution: bool = False  # only supervisees whose institution is unknown
    page: int = 1
    # How the proposals pending on the day are counted (the page keeps the count; see views).
    count_pending: Callable[[date], int] = field(
        default=pending_proposals, repr=False, compare=False
    )
    # Rows already made, by position in the table.
    _made: dict[int, LoadRow] = field(default_factory=dict, repr=False, compare=False)
    # Number texts by language and value: the page prints the same few numbers many times.
    _number_texts: dict[str, dict[str, str]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    @cached_property
    def records(self) -> list:
        """Every record in the table's order (an unknown sort key sorts by name)."""
        records = by_name(list(self.read))
        if self.sort == "name":
            # The records come by name already; reversed, equal names keep their order.
            if self.descending:
                return sorted(
                    records, key=lambda record: record[RECORD_NAME].casefold(), reverse=True
                )
            return records
        # Any other column is read from every row, so every row is made.
        rows = [load_row(record, self.policy) for record in records]
        sort_value = _sort_value(self.sort)
        order = sorted(
            range(len(rows)), key=lambda index: sort_value(rows[index]), reverse=self.descending
        )
        self._made.update((position, rows[index]) for position, index in enumerate(order))
        return [records[index] for index in order]

    @cached_property
    def standings(self) -> list[tuple[Decimal, bool, bool]]:
        return load_standings(self.records, self.policy)

    @cached_property
    def totals(self) -> list[Any]:
        return _totals(self.records, self.standings, self.over_cap_count)

    @cached_property
    def pending_proposals(self) -> int:
        """Proposed links not yet agreed: never counted in the loads (read by the page only)."""
        return self.count_pending(self.as_of)

    def _row(self, index: int) -> LoadRow:
        records = self.records  # sorting by a column other than the name makes every row
        row = self._made.get(index)
        if row is None:
            row = self._made[index] = load_row(records[index], self.policy)
        return row

    @cached_property
    def rows(self) -> list[LoadRow]:
        """Every row, in the table's order (what the exports write)."""
        return [self._row(index) for index in range(len(self.records))]

    @property
    def row_count(self) -> int:
        return len(self.read)

    @property
    def page_count(self) -> int:
        return max(1, -(-self.row_count // PAGE_SIZE))

    @property
    def first_shown(self) -> int:
        """Index (0-based) of the first row on this page."""
        return (self.page - 1) * PAGE_SIZE

    @cached_property
    def shown(self) -> list[LoadRow]:
        """The rows of this page; counts, totals and exports always cover every row."""
        first = self.first_shown
        return [self._row(index) for index in range(first, min(first + PAGE_SIZE, self.row_count))]

    @cached_property
    def over_cap_count(self) -> int:
        return sum(over for _, over, _ in self.standings)

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

    def table_rows(
        self, columns: list[Column], link: Callable[[int], str]
    ) -> list[tuple[bool, bool, str, str, list[tuple[str, str]]]]:
        """Each row of this page as the table prints it: over a cap, near one, the faculty
        member's link (`link(faculty_id)`) and name, then a (kind, text) per cell of `columns` after the name, kind
        "number", "text" or "status" (the CSV's values in the reader's language)."""
        readers = [
            ("status", None)
            if column.key == "status"
            else ("number" if column.numeric else "text", _column_value(column.key))
            for column in columns[1:]
        ]
        number = self.number_writer()
        statuses: dict[str, str] = {}  # the status in English -> in the reader's language
        lines = []
        for row in self.shown:
            cells = []
            for kind, read in readers:
                if read is None:
                    text = statuses.get(row.status)
                    if text is None:
                        text = statuses[row.status] = row.status_text()
                else:
                    text = _page_text(read(row), number)
                cells.append((kind, text))
            lines.append(
                (row.over_cap, row.near_cap, link(row.faculty_id), as_text(row.name), cells)
            )
        return lines

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

    def cap_notices(self, link: Callable[[int], str]) -> list[CapNotice]:
        """The answer first: who is over a cap (most over first), then who is near one, each
        with `link(faculty_id)`."""
        over, near = [], []
        for index, (_, is_over, is_near) in enumerate(self.standings):
            if is_over:
                over.append(self._row(index))
            elif is_near:
                near.append(self._row(index))
        over.sort(key=lambda row: (-_overshoot(row), row.name.casefold()))
        near.sort(key=lambda row: (-_used_share(row), row.name.casefold()))
        number = self.number_writer()
        return [_notice(row, True, link, number) for row in over] + [
            _notice(row, False, link, number) for row in near
        ]


class CapNotice(NamedTuple):
    """One faculty member over or near a cap, and by how much, in the reader's words (a tuple,
    which the page's loop unpacks)."""

    over: bool
    link: str  # to the faculty member's group
    name: str
    department: str | None
    sentences: list[str]


def _notice(
    row: LoadRow, over: bool, link: Callable[[int], str], number: Callable[[Any], str]
) -> CapNotice:
    return CapNotice(
        over, link(row.faculty_id), row.name, row.department, _cap_sentences(row, number)
    )


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
    count_pending: Callable[[date], int] = pending_proposals,
    read_caps: Callable[[], DefaultCaps] = default_caps,
) -> LoadsReport:
    """The loads of every active faculty member on `as_of`, in two queries whatever their number
    (sorted, weighed and added up when read). An unknown sort key falls back to sorting by name.
    `count_pending` and `read_caps` read the proposals pending and the default caps (the page
    keeps them under the data state).
    """
    institution = db.session.get(Institution, institution_id) if institution_id else None
    report = LoadsReport(
        as_of=as_of,
        read=read_load_records(as_of, department=department or None, institution_id=institution_id),
        policy=read_caps(),
        sort=sort if sort in COLUMN_KEYS else "name",
        descending=descending,
        institution=institution,
        department=department or None,
        unknown_institution=institution_id == UNKNOWN_INSTITUTION,
        count_pending=count_pending,
    )
    report.page = min(max(page, 1), report.page_count)  # an out-of-range page shows the nearest
    return report


# The counts of a record (`portal.loads.RECORD_COUNTS`), by column key.
COUNT_KEYS = ("principal", "co_supervisor", "host", *(kind.value for kind in KINDS))
SUMMED = frozenset({*COUNT_KEYS, "total", "weighted"})


def _totals(records: list, standings: list[tuple[Decimal, bool, bool]], over: int) -> list[Any]:
    """The totals row in the order of COLUMNS: each summed column added up once, from the
    records (what every row would show, without making the rows)."""
    sums = [
        int(sum(column))
        for column in zip(*(record[RECORD_COUNTS] for record in records), strict=True)
    ]
    counted = dict(zip(COUNT_KEYS, sums or [0] * len(COUNT_KEYS), strict=True))
    counted["total"] = counted["principal"] + counted["co_supervisor"] + counted["host"]
    counted["weighted"] = sum((weighted for weighted, _, _ in standings), Decimal("0.00"))
    totals: list[Any] = []
    for key in COLUMN_KEYS:
        if key == "name":
            totals.append("Total")
        elif key == "status":
            totals.append(f"{over} over cap")
        else:
            totals.append(counted.get(key))
    return totals


# ---------------------------------------------------------------------------------------------
# The chart: each faculty member's counted load against each cap, as a share of that cap.

CHART_UNITS = 1000  # a bar's viewBox width: the bar is drawn in thousandths of the scale


class ChartMeasure(NamedTuple):
    """One cap of one faculty member: the words, and the bar (None without a cap); a tuple,
    which the page's loop unpacks."""

    text: str
    over: bool
    width: int | None  # the bar's length in CHART_UNITS


class ChartBar(NamedTuple):
    """One faculty member in the chart (a tuple, which the page's loop unpacks)."""

    name: str
    over_cap: bool
    measures: tuple[ChartMeasure, ChartMeasure]


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


def _width(share: Decimal | None, scale: Decimal) -> int | None:
    return None if share is None else int(min(share / scale, Decimal(1)) * CHART_UNITS)


def loads_chart(report: LoadsReport) -> Chart:
    """The chart of the report's page: principal supervisions and weighted load, each against
    its cap (people hosted without a role count toward neither, so they are not drawn)."""
    rows = report.shown
    shares = [
        (
            _share_of_cap(row.principal, row.principal_cap),
            _share_of_cap(row.weighted, row.weighted_cap),
        )
        for row in rows
    ]
    # The longest bar fills the width; the cap shows.
    scale = max(
        [Decimal("1.25"), *(share for pair in shares for share in pair if share is not None)]
    )
    translations = cached_translations()
    principal_words = translations.ugettext("Principal: %(count)s of %(cap)s")
    weighted_words = translations.ugettext("Weighted: %(load)s %% of %(cap)s %%")
    number = report.number_writer()
    bars = []
    for row, (principal_share, weighted_share) in zip(rows, shares, strict=True):
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
                row.name,
                row.over_cap,
                (
                    ChartMeasure(
                        principal_text, row.over_principal_cap, _width(principal_share, scale)
                    ),
                    ChartMeasure(
                        weighted_text, row.over_weighted_cap, _width(weighted_share, scale)
                    ),
                ),
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
