"""Writers for tabular exports (CSV, XLSX, JSON): formula-safe, and streaming where they can be.

A report hands over headers and an iterable of rows; these functions turn them into the bytes
of a file. Every text cell that a spreadsheet would run as a formula is made inert first.
"""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from itertools import chain
from typing import Any
from urllib.parse import quote

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import TYPE_STRING
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from sqlalchemy import ColumnElement, String, case, cast, func, null
from werkzeug.datastructures import Headers

from portal.identifiers import FORBIDDEN_CHARACTERS, has_forbidden_characters

# What a spreadsheet may run as a formula when a cell starts with it: the ASCII signs, their
# full-width and small forms (Excel and LibreOffice read "＝1+1" as "=1+1"), tab and CR.
FORMULA_TRIGGERS = (
    "=", "+", "-", "@", "\t", "\r",
    "\uff1d", "\uff0b", "\uff0d", "\uff20",  # ＝ ＋ － ＠
    "\ufe66", "\ufe62", "\ufe63", "\ufe6b",  # ﹦ ﹢ ﹣ ﹫
)  # fmt: skip
# Invisible characters a spreadsheet skips before a formula sign ("\u200b=cmd|...").
INVISIBLE_PREFIX = "\u200b\u200c\u200d\u2060\ufeff\u00ad"
CSV_MIMETYPE = "text/csv"
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
JSON_MIMETYPE = "application/json"
ROWS_PER_CHUNK = 500
DEFAULT_WIDTH = 12  # characters, for an XLSX column with a short header


def attachment_headers(filename: str) -> Headers:
    """Headers that make a browser save the response as `filename`, quoted by Werkzeug.

    A name that is not ASCII also goes in an RFC 5987 `filename*`, as werkzeug's send_file does.
    """
    names = {"filename": filename}
    if not filename.isascii():
        ascii_name = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode()
        names = {"filename": ascii_name, "filename*": "UTF-8''" + quote(filename, safe="")}
    headers = Headers()
    headers.set("Content-Disposition", "attachment", **names)
    headers.set("X-Content-Type-Options", "nosniff")
    return headers


def make_inert(value: Any) -> Any:
    """Prefix a text cell that a spreadsheet would evaluate (=, +, -, @, tab, CR) with a quote.

    A text that already starts with quotes followed by a trigger ("'=x") gets one more quote
    too, so that `restore_inert` can undo the prefix exactly: the round trip is lossless.
    """
    if isinstance(value, str) and _looks_like_formula(value.lstrip("'")):
        return "'" + value
    return value


def restore_inert(value: str) -> str:
    """Undo `make_inert` on a cell read back from a file: drop exactly one leading quote.

    The rule: a cell made of one or more quotes followed by a formula trigger loses its first
    quote ("'=SUM(A1)" -> "=SUM(A1)", "''=x" -> "'=x"); any other cell is kept as it is
    ("'quoted'" stays). With `make_inert`'s rule this gives restore_inert(make_inert(v)) == v.
    """
    if value.startswith("'") and _looks_like_formula(value.lstrip("'")):
        return value[1:]
    return value


def _looks_like_formula(value: str) -> bool:
    return value.lstrip(INVISIBLE_PREFIX).startswith(FORMULA_TRIGGERS)


# A cell starting with none of these is never a formula (the fast path of _csv_cell).
_SUSPECT_FIRST = frozenset(FORMULA_TRIGGERS) | frozenset(INVISIBLE_PREFIX) | {"'"}


def _csv_cell(value: Any) -> Any:
    """make_inert for text, as_text for the rest; inlined, since it runs for every cell."""
    if value.__class__ is str:
        if value[:1] in _SUSPECT_FIRST:
            return make_inert(value)
        return value
    if value is None:
        return ""
    return as_text(value)


def as_text(value: Any) -> str:
    """How a cell is written in CSV: ISO dates, plain decimals, empty for None."""
    if value is None:
        return ""
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value == value.to_integral() else str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def two_decimals_as_text(column: ColumnElement, dialect: str) -> ColumnElement:
    """`as_text` in SQL for a NUMERIC(p, 2) column (read as a Decimal of two places): the whole
    number when it is one ("100", "0"), else both places ("12.50"); NULL stays NULL."""
    if dialect == "postgresql":
        whole = func.trunc(column)
        return case((column == whole, cast(whole, String)), else_=cast(column, String))
    # SQLite keeps such a number as an integer or a float; SQLAlchemy reads it as the Decimal of
    # "%.2f" % value, which printf('%.2f') writes alike.
    fixed = func.printf("%.2f", column)
    return case(
        (column.is_(None), null()),
        (fixed.like("%.00"), func.substr(fixed, 1, func.length(fixed) - 3)),
        else_=fixed,
    )


def csv_chunks(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    """CSV text in chunks of rows, so that a large export starts at once and memory stays flat."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(headers)
    pending = 0
    for row in rows:
        writer.writerow(map(_csv_cell, row))
        pending += 1
        if pending >= ROWS_PER_CHUNK:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            pending = 0
    yield buffer.getvalue()


# Joined by line breaks, cells of which none starts like a formula hold none of these.
_SUSPECT_AFTER_BREAK = re.compile("\n[" + re.escape("".join(sorted(_SUSPECT_FIRST))) + "]")


def _may_hold_formulas(batch: Iterable[Sequence[str | None]]) -> bool:
    """Whether a cell of `batch` may start like a formula: its cells are joined by line breaks
    and searched once, in C, with no Python call per cell. A line break inside a cell can only
    raise a false alarm, which costs time, not safety."""
    return bool(
        _SUSPECT_AFTER_BREAK.search("\n" + "\n".join(filter(None, chain.from_iterable(batch))))
    )


def csv_text_bytes_chunks(
    headers: Sequence[str], batches: Iterable[Sequence[Sequence[str | None]]]
) -> Iterator[bytes]:
    """csv_bytes_chunks for rows that hold only text and None, given in batches: the same bytes.

    Each batch is searched once for a cell that may start like a formula; only a batch where
    one may be goes through the formula check cell by cell.
    """
    yield "\ufeff".encode()
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(headers)
    for batch in batches:
        if _may_hold_formulas(batch):
            writer.writerows([[_csv_cell(cell) for cell in row] for row in batch])
        else:
            writer.writerows(batch)  # the csv module writes None as an empty cell
        yield buffer.getvalue().encode("utf-8")
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


def csv_bytes_chunks(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[bytes]:
    """UTF-8 CSV with a byte-order mark, which spreadsheet programs need to read accents right."""
    yield "\ufeff".encode()
    for chunk in csv_chunks(headers, rows):
        yield chunk.encode("utf-8")


def json_chunks(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[bytes]:
    """A JSON list of objects keyed by the headers, written row by row."""
    yield b"["
    first = True
    for row in rows:
        record = {key: _json_value(value) for key, value in zip(headers, row, strict=True)}
        prefix = "\n" if first else ",\n"
        first = False
        yield (prefix + json.dumps(record, ensure_ascii=False)).encode("utf-8")
    yield b"\n]\n"


def _json_value(value: Any) -> Any:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def xlsx_bytes(
    headers: Sequence[str],
    rows: Iterable[Sequence[Any]],
    sheet_title: str = "Roster",
    widths: dict[str, int] | None = None,
) -> bytes:
    """One sheet with the headers and rows; every text cell stays a string, never a formula.

    The header row is bold and frozen (it stays in view while scrolling); each column is as
    wide as `widths` says, else wide enough for its header.
    """
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=sheet_title[:31])
    sheet.freeze_panes = "A2"
    for index, header in enumerate(headers, start=1):
        width = (widths or {}).get(header, max(len(str(header)) + 2, DEFAULT_WIDTH))
        sheet.column_dimensions[get_column_letter(index)].width = width
    bold = Font(bold=True)
    header_cells = []
    for header in headers:
        cell = WriteOnlyCell(sheet, value=str(header))
        cell.font = bold
        header_cells.append(cell)
    sheet.append(header_cells)
    for row in rows:
        sheet.append([_xlsx_cell(sheet, value) for value in row])
    output = io.BytesIO()
    workbook.save(output)
    return output.getvalue()


def _xlsx_cell(sheet, value: Any):
    if isinstance(value, str):
        if has_forbidden_characters(value):
            # Text saved before the portal refused control characters: XLSX cannot hold them
            # (openpyxl refuses the whole file), so each becomes a space.
            value = FORBIDDEN_CHARACTERS.sub(" ", value)
        # openpyxl turns any string starting with "=" into a formula unless the type is forced.
        cell = WriteOnlyCell(sheet, value=None)
        cell.value = make_inert(value)
        cell.data_type = TYPE_STRING
        return cell
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, date) and not isinstance(value, datetime):
        # Shown as an ISO date in the spreadsheet rather than openpyxl's date-and-time format.
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = "yyyy-mm-dd"
        return cell
    return value
