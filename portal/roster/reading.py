"""Roster import, step 1: read the bytes of a CSV, XLSX or JSON roster into `SourceRow`s.

A file that cannot be read as a roster (other type, other encoding, over the size limit or a
reading budget, wrong header) raises `RosterFileError` with the HTTP status to answer (400 or
413). Between preview and confirm the rows wait on the server (`portal/roster/previews.py`).

Formula prefix: the export writes `'` before a cell a spreadsheet would run as a formula
(`spreadsheets.make_inert`). CSV and XLSX cells are passed through `spreadsheets.restore_inert`,
which strips exactly one leading `'` from a cell made of quotes followed by a trigger (=, +, -,
@, tab, CR). JSON is not read by spreadsheets, is exported without the prefix, and is imported
as is.
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import PurePath
from typing import Any

from flask import current_app, has_app_context
from flask_babel import gettext as _

from portal.collector import collector_paused
from portal.file_budgets import (
    BudgetError,
    ReadBudget,
    cell_too_long,
    check_workbook_parts,
    inspect_archive,
    load_json,
    scan_shared_strings,
    scan_sheet,
    shared_string_parts,
    size_text,
    too_many_columns,
    too_many_rows,
)
from portal.identifiers import has_forbidden_characters
from portal.models import SupervisionRole
from portal.roster.reports import MILESTONE_COLUMNS, RECORD_COLUMNS, ROSTER_COLUMNS
from portal.roster.supervisors_text import (
    SupervisorsTextError,
    format_supervisors,
    supervisors_from_json,
)
from portal.spreadsheets import restore_inert

REQUIRED_COLUMNS = ("name", "program", "institution", "role", "start_date")
MAX_NAME_LENGTH = 200
MAX_EMAIL_LENGTH = 254
MAX_INSTITUTION_LENGTH = 200
MAX_OUTCOME_LENGTH = 300
LOOKUP_BATCH = 500
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
ROSTER_COLUMN_SET = frozenset(ROSTER_COLUMNS)
# An export "with milestones" adds read-only columns; reading it back ignores them.
KNOWN_COLUMN_SET = ROSTER_COLUMN_SET | frozenset(MILESTONE_COLUMNS)
ROLE_VALUES = ", ".join(role.value for role in SupervisionRole)


class RosterFileError(ValueError):
    """The file cannot be read as a roster at all; `status` is the HTTP status to answer."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class SourceRow:
    """One data row of the file: its line number and a cell (possibly "") for every column.

    A column of the extended format (RECORD_COLUMNS) that the file does not have is None, so
    that an old ten-column file keeps what it does not mention.
    """

    line: int
    cells: dict[str, str]
    extra_cells: int = 0


# ---------------------------------------------------------------------------------------------
# Step 1: reading the file, within its budget.


def read_roster_file(
    data: bytes, filename: str, max_bytes: int | None, budget: ReadBudget | None = None
) -> list[SourceRow]:
    """The rows of a CSV, XLSX or JSON roster file; RosterFileError when it is not one.

    `budget` (rows, columns, cell length, archive limits) defaults to the app's IMPORT_MAX_*
    settings; every limit is checked before or while the part it guards is read.
    """
    if budget is None:
        budget = ReadBudget.from_config(current_app.config) if has_app_context() else ReadBudget()
    with collector_paused():
        return _read_roster_file(data, filename, max_bytes, budget)


def _read_roster_file(
    data: bytes, filename: str, max_bytes: int | None, budget: ReadBudget
) -> list[SourceRow]:
    if max_bytes is not None and len(data) > max_bytes:
        raise RosterFileError(
            _(
                "The file is %(size)s; the import accepts files up to %(size2)s. Split the roster "
                "into smaller files.",
                size=size_text(len(data)),
                size2=size_text(max_bytes),
            ),
            status=413,
        )
    if not data.strip():
        raise RosterFileError(_("The file is empty."))
    extension = PurePath(filename or "").suffix.lower()
    is_zip = data.startswith(b"PK\x03\x04")
    if extension == ".xls":
        raise RosterFileError(
            _(
                "Old Excel files (.xls) cannot be read: save the sheet as .xlsx "
                "(Excel Workbook) or as CSV UTF-8 and upload it again."
            )
        )
    try:
        if extension == ".xlsx" or (is_zip and extension in ("", ".csv", ".txt")):
            if not is_zip:
                raise RosterFileError(_("The file is named .xlsx but is not an Excel workbook."))
            return _require_rows(_read_xlsx(data, budget))
        if extension == ".json":
            return _require_rows(_read_json(_decode(data), budget))
        if extension in ("", ".csv", ".txt"):
            return _require_rows(_read_csv(_decode(data), budget))
    except BudgetError as error:
        raise RosterFileError(error.message, error.status) from None
    raise RosterFileError(
        _(
            "Files of type %(extension)s cannot be imported: upload a CSV (.csv) "
            "or Excel (.xlsx) file with the roster columns.",
            extension=extension,
        )
    )


def _require_rows(rows: list[SourceRow]) -> list[SourceRow]:
    """The rows, when there are some and no cell holds a character that no text of the portal
    holds (portal.identifiers.FORBIDDEN_CHARACTERS), whatever the file's format."""
    if not rows:
        raise RosterFileError(_("The file has no roster rows under its header."))
    for row in rows:
        for column, text in row.cells.items():
            if text and has_forbidden_characters(text):
                raise RosterFileError(
                    _(
                        "Line %(line)s, column %(column)s holds a control character (such as a "
                        "vertical tab pasted from a word processor), which no text of the portal "
                        "holds. Remove it and upload the file again.",
                        line=row.line,
                        column=column,
                    )
                )
    return rows


def _decode(data: bytes) -> str:
    if b"\x00" in data:
        raise RosterFileError(
            _(
                "The file is not a text file: upload a CSV (.csv) or Excel (.xlsx) "
                "file with the roster columns."
            )
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise RosterFileError(
            _(
                "The file is not UTF-8 text (unreadable byte at line %(line)s). In your spreadsheet "
                'program choose "CSV UTF-8" when saving, then upload the file again.',
                line=line,
            )
        ) from None


def _read_csv(text: str, budget: ReadBudget) -> list[SourceRow]:
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)

    def records() -> Iterator[tuple[int, list[str]]]:
        next_line = 1
        try:
            for cells in reader:
                yield next_line, cells
                next_line = reader.line_num + 1
        except csv.Error as error:
            if "field larger than field limit" in str(error):
                raise cell_too_long(budget, next_line) from None
            raise RosterFileError(
                _(
                    "Line %(line)s: the CSV cannot be read (%(error)s); check the quotes on that "
                    "line.",
                    line=next_line,
                    error=error,
                )
            ) from None

    return _rows_from_records(records(), budget, restore=True)


def _read_xlsx(data: bytes, budget: ReadBudget) -> list[SourceRow]:
    """The first sheet, read as a stream after the archive and its XML passed their budgets."""
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException
    from openpyxl.worksheet._reader import WorkSheetParser

    unreadable = RosterFileError(_("The file is not a readable Excel workbook (.xlsx)."))
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError):
        raise unreadable from None
    with archive:
        try:
            inspect_archive(archive, len(data), budget)
            check_workbook_parts(archive)
            for part in shared_string_parts(archive):
                with archive.open(part) as source:
                    scan_shared_strings(source, budget)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError) as error:
            if isinstance(error, BudgetError):
                raise
            raise unreadable from None
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, ValueError, OSError, EOFError):
        raise unreadable from None
    try:
        if not workbook.worksheets:
            raise unreadable
        sheet = workbook.worksheets[0]
        try:
            with sheet._get_source() as source:
                scan_sheet(source, budget)
        except (zipfile.BadZipFile, OSError, EOFError, KeyError):
            raise unreadable from None

        def records() -> Iterator[tuple[int, list[str]]]:
            # The parser yields the rows the sheet holds, each with its cells' column numbers:
            # nothing is padded out to the sheet's declared dimension.
            with sheet._get_source() as source:
                parser = WorkSheetParser(
                    source,
                    workbook.shared_strings,
                    data_only=True,
                    epoch=workbook.epoch,
                    date_formats=workbook._date_formats,
                    timedelta_formats=workbook._timedelta_formats,
                )
                for number, cells in parser.parse():
                    values = [""] * budget.max_columns
                    width = 0
                    for cell in cells:
                        column = cell["column"]
                        text = _xlsx_text(cell["value"])
                        if not text:
                            continue
                        if column > budget.max_columns:
                            raise too_many_columns(budget, number)
                        values[column - 1] = text
                        width = max(width, column)
                    yield number, values[:width]

        try:
            return _rows_from_records(records(), budget, restore=True)
        except (ValueError, TypeError, KeyError) as error:
            if isinstance(error, RosterFileError | BudgetError):
                raise
            raise unreadable from None
    finally:
        workbook.close()


def _xlsx_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return (
            value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
        )
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _read_json(text: str, budget: ReadBudget) -> list[SourceRow]:
    try:
        items = load_json(text, budget)
    except json.JSONDecodeError as error:
        raise RosterFileError(
            _(
                "The JSON cannot be read (line %(lineno)s: %(msg)s).",
                lineno=error.lineno,
                msg=error.msg,
            )
        ) from None
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise RosterFileError(_("The JSON must be a list of objects with the roster keys."))
    if len(items) > budget.max_rows:
        raise too_many_rows(budget)
    keys: dict[str, None] = {}
    for item in items:
        for key in item:
            keys.setdefault(key, None)
            if len(keys) > budget.max_columns:
                raise too_many_columns(budget, 1)
    header = [key for key in ROSTER_COLUMNS if key in keys] + [
        key for key in keys if key not in ROSTER_COLUMN_SET
    ]
    if items:
        _check_header(header)
    # The export writes "[" then one object per line: record i is on line i + 2.
    rows = []
    absent = {column for column in RECORD_COLUMNS if column not in keys}
    for index, item in enumerate(items):
        cells = {
            column: None if column in absent else _json_text(item.get(column))
            for column in ROSTER_COLUMNS
        }
        if "other_supervisors" not in absent:
            try:
                others = supervisors_from_json(item.get("other_supervisors"))
            except SupervisorsTextError as error:
                raise RosterFileError(
                    _("Record %(number)s: %(error)s", number=index + 1, error=str(error))
                ) from None
            cells["other_supervisors"] = format_supervisors(others)
        if any(len(value or "") > budget.max_cell_length for value in cells.values()):
            raise cell_too_long(budget, index + 2)
        rows.append(SourceRow(line=index + 2, cells=cells))
    return rows


def _json_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def _check_header(header: Sequence[str]) -> None:
    """Missing, unknown and repeated columns, found with sets: linear in the header's length."""
    present = set(header)
    seen: set[str] = set()
    repeated: set[str] = set()
    for column in header:
        if column in seen:
            repeated.add(column)
        seen.add(column)
    unknown = [column for column in present if column and column not in KNOWN_COLUMN_SET]
    missing = [column for column in REQUIRED_COLUMNS if column not in present]
    duplicated = sorted(column for column in repeated if column)
    messages = []
    if missing:
        messages.append(_("missing column(s) %(columns)s", columns=", ".join(missing)))
    if unknown:
        unknown_set = set(unknown)
        unknown = [column for column in dict.fromkeys(header) if column in unknown_set]
        messages.append(
            _(
                "unknown column(s) %(columns)s",
                columns=", ".join(repr(column[:40]) for column in unknown[:10])
                + (", …" if len(unknown) > 10 else ""),
            )
        )
    if duplicated:
        messages.append(_("repeated column(s) %(columns)s", columns=", ".join(duplicated)))
    if messages:
        raise RosterFileError(
            _(
                "Line 1 (header): %(problems)s. The columns are: %(columns)s.",
                problems="; ".join(messages),
                columns=",".join(ROSTER_COLUMNS),
            )
        )


def _rows_from_records(
    records: Iterable[tuple[int, list[str]]],
    budget: ReadBudget | None = None,
    *,
    restore: bool,
) -> list[SourceRow]:
    """Rows from (line, cells) records streamed in, each checked against the budget as read."""
    budget = budget or ReadBudget()
    iterator = iter(records)
    first = next(iterator, None)
    if first is None:
        raise RosterFileError(_("The file is empty."))
    _line, header_cells = first
    if len(header_cells) > budget.max_columns:
        raise too_many_columns(budget, 1)
    header = [cell.strip().lower() for cell in header_cells]
    while header and not header[-1]:
        header.pop()
    if any(len(column) > budget.max_cell_length for column in header):
        raise cell_too_long(budget, 1)
    _check_header(header)
    width = len(header)
    absent = {column for column in RECORD_COLUMNS if column not in header}
    # Where each roster column is in a row: its index in the header (the header has no repeated
    # column), None for a record column the file does not have, or past any row's last cell.
    place = {column: index for index, column in enumerate(header)}
    places = [
        (column, None if column in absent else place.get(column, budget.max_columns))
        for column in ROSTER_COLUMNS
    ]
    rows = []
    for line, cells in iterator:
        if len(cells) > budget.max_columns:
            raise too_many_columns(budget, line)
        if not "".join(cells).strip():
            continue  # blank lines (and trailing empty spreadsheet rows) are not rows
        if max(map(len, cells)) > budget.max_cell_length:
            raise cell_too_long(budget, line)
        if len(rows) >= budget.max_rows:
            raise too_many_rows(budget)
        # Only a cell that starts with a quote can carry the export's formula prefix.
        values = cells
        if restore and any(cell[:1] == "'" for cell in cells):
            values = [restore_inert(cell) if cell[:1] == "'" else cell for cell in cells]
        count = len(values)
        extra = sum(1 for cell in values[width:] if cell.strip()) if count > width else 0
        rows.append(
            SourceRow(
                line=line,
                cells={
                    column: None if index is None else values[index] if index < count else ""
                    for column, index in places
                },
                extra_cells=extra,
            )
        )
    return rows
