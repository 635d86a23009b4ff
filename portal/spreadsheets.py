"""Writers for tabular exports (CSV, XLSX, JSON): formula-safe, and streaming where they can be.

A report hands over headers and an iterable of rows; these functions turn them into the bytes
of a file. Every text cell that a spreadsheet would run as a formula is made inert first.
"""

from __future__ import annotations

import csv
import io
import json
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import TYPE_STRING
from werkzeug.datastructures import Headers

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


# A batch whose text has none of these after a line break holds no cell a spreadsheet could
# run (each cell is checked after a line break of its own, so a false alarm only costs time).
_SUSPECT_AFTER_BREAK = tuple("\n" + first for first in sorted(_SUSPECT_FIRST))


def _may_hold_formulas(batch: Sequence[Sequence[str | None]], text_columns: Sequence[int]) -> bool:
    """Whether a cell of the text columns of `batch` may start like a formula (checked per
    column, in C: joining and searching the column's text, without a Python call per cell)."""
    columns = list(zip(*batch, strict=True))
    for index in text_columns:
        text = "\n" + "\n".join(filter(None, columns[index]))
        if any(suspect in text for suspect in _SUSPECT_AFTER_BREAK):
            return True
    return False


def csv_text_bytes_chunks(
    headers: Sequence[str],
    batches: Iterable[Sequence[Sequence[str | None]]],
    text_columns: Sequence[int],
) -> Iterator[bytes]:
    """csv_bytes_chunks for rows that hold only text and None, given in batches: the same bytes.

    Cells outside `text_columns` are trusted to be plain (ISO dates, fixed words): only the text
    columns of a batch are checked, and only a batch that may hold a formula goes cell by cell.
    """
    yield "\ufeff".encode()
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(headers)
    for batch in batches:
        if batch and _may_hold_formulas(batch, text_columns):
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
    headers: Sequence[str], rows: Iterable[Sequence[Any]], sheet_title: str = "Roster"
) -> bytes:
    """One sheet with the headers and rows; every text cell stays a string, never a formula."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=sheet_title[:31])
    sheet.append(list(headers))
    for row in rows:
        sheet.append([_xlsx_cell(sheet, value) for value in row])
    output = io.BytesIO()
    workbook.save(output)
    return output.getvalue()


def _xlsx_cell(sheet, value: Any):
    if isinstance(value, str):
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
