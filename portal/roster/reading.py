"""Roster import, step 1: read the bytes of a CSV, XLSX or JSON roster into `SourceRow`s.

A file that cannot be read as a roster (other type, other encoding, over the size limit, wrong
header) raises `RosterFileError` with the HTTP status to answer (400 or 413). Between preview
and confirm the rows travel signed (`sign_rows` / `load_signed_rows`), bound to the user.

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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import PurePath
from typing import Any

from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from portal.models import SupervisionRole, User
from portal.roster.reports import MILESTONE_COLUMNS, ROSTER_COLUMNS
from portal.spreadsheets import restore_inert

REQUIRED_COLUMNS = ("name", "program", "institution", "role", "start_date")
MAX_NAME_LENGTH = 200
MAX_EMAIL_LENGTH = 254
MAX_INSTITUTION_LENGTH = 200
MAX_OUTCOME_LENGTH = 300
LOOKUP_BATCH = 500
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
SIGNED_ROWS_SALT = "roster-import-rows"
SIGNED_ROWS_MAX_AGE = 3600
ROLE_VALUES = ", ".join(role.value for role in SupervisionRole)


class RosterFileError(ValueError):
    """The file cannot be read as a roster at all; `status` is the HTTP status to answer."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class SourceRow:
    """One data row of the file: its line number and a cell (possibly "") for every column."""

    line: int
    cells: dict[str, str]
    extra_cells: int = 0


# ---------------------------------------------------------------------------------------------
# Step 1: reading the file.


def read_roster_file(data: bytes, filename: str, max_bytes: int | None) -> list[SourceRow]:
    """The rows of a CSV, XLSX or JSON roster file; RosterFileError when it is not one."""
    if max_bytes is not None and len(data) > max_bytes:
        raise RosterFileError(
            _(
                "The file is %(size)s; the import accepts files up to %(size2)s. Split the roster "
                "into smaller files.",
                size=_size(len(data)),
                size2=_size(max_bytes),
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
    if extension == ".xlsx" or (is_zip and extension in ("", ".csv", ".txt")):
        if not is_zip:
            raise RosterFileError(_("The file is named .xlsx but is not an Excel workbook."))
        return _require_rows(_read_xlsx(data))
    if extension == ".json":
        return _require_rows(_read_json(_decode(data)))
    if extension in ("", ".csv", ".txt"):
        return _require_rows(_read_csv(_decode(data)))
    raise RosterFileError(
        _(
            "Files of type %(extension)s cannot be imported: upload a CSV (.csv) "
            "or Excel (.xlsx) file with the roster columns.",
            extension=extension,
        )
    )


def _require_rows(rows: list[SourceRow]) -> list[SourceRow]:
    if not rows:
        raise RosterFileError(_("The file has no roster rows under its header."))
    return rows


def _size(length: int) -> str:
    if length >= 1024 * 1024:
        return f"{length / (1024 * 1024):.1f} MB"
    return f"{max(1, round(length / 1024))} KB"


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


def _read_csv(text: str) -> list[SourceRow]:
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    records: list[tuple[int, list[str]]] = []
    next_line = 1
    try:
        for cells in reader:
            records.append((next_line, cells))
            next_line = reader.line_num + 1
    except csv.Error as error:
        raise RosterFileError(
            _(
                "Line %(line)s: the CSV cannot be read (%(error)s); check the quotes on that line.",
                line=next_line,
                error=error,
            )
        ) from None
    return _rows_from_records(records, restore=True)


def _read_xlsx(data: bytes) -> list[SourceRow]:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, ValueError, OSError):
        raise RosterFileError(_("The file is not a readable Excel workbook (.xlsx).")) from None
    try:
        sheet = workbook.worksheets[0]
        records = [
            (number, [_xlsx_text(value) for value in values])
            for number, values in enumerate(sheet.iter_rows(values_only=True), start=1)
        ]
    finally:
        workbook.close()
    return _rows_from_records(records, restore=True)


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


def _read_json(text: str) -> list[SourceRow]:
    try:
        items = json.loads(text)
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
    keys: list[str] = []
    for item in items:
        keys.extend(key for key in item if key not in keys)
    header = [key for key in ROSTER_COLUMNS if key in keys] + [
        k for k in keys if k not in ROSTER_COLUMNS
    ]
    if items:
        _check_header(header)
    # The export writes "[" then one object per line: record i is on line i + 2.
    return [
        SourceRow(
            line=index + 2,
            cells={column: _json_text(item.get(column)) for column in ROSTER_COLUMNS},
        )
        for index, item in enumerate(items)
    ]


def _json_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def _check_header(header: Sequence[str]) -> None:
    unknown = [
        column
        for column in header
        if column and column not in ROSTER_COLUMNS and column not in MILESTONE_COLUMNS
    ]
    missing = [column for column in REQUIRED_COLUMNS if column not in header]
    duplicated = sorted({column for column in header if column and header.count(column) > 1})
    messages = []
    if missing:
        messages.append(_("missing column(s) %(columns)s", columns=", ".join(missing)))
    if unknown:
        messages.append(
            _(
                "unknown column(s) %(columns)s",
                columns=", ".join(repr(column) for column in unknown),
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


def _rows_from_records(records: list[tuple[int, list[str]]], *, restore: bool) -> list[SourceRow]:
    if not records:
        raise RosterFileError(_("The file is empty."))
    _line, header_cells = records[0]
    header = [cell.strip().lower() for cell in header_cells]
    while header and not header[-1]:
        header.pop()
    _check_header(header)
    rows = []
    for line, cells in records[1:]:
        if not any(cell.strip() for cell in cells):
            continue  # blank lines (and trailing empty spreadsheet rows) are not rows
        values = [restore_inert(cell) if restore else cell for cell in cells]
        extra = sum(1 for cell in values[len(header) :] if cell.strip())
        by_column = dict(zip(header, values, strict=False))
        rows.append(
            SourceRow(
                line=line,
                cells={column: by_column.get(column, "") for column in ROSTER_COLUMNS},
                extra_cells=extra,
            )
        )
    return rows


# ---------------------------------------------------------------------------------------------
# Keeping the rows between preview and confirm.


def sign_rows(rows: Iterable[SourceRow], actor: User, secret_key: str) -> str:
    """The rows as a compact, signed token for a hidden form field, bound to the acting user."""
    payload = {
        "actor": actor.id,
        "rows": [[row.line, [row.cells[column] for column in ROSTER_COLUMNS]] for row in rows],
    }
    return URLSafeTimedSerializer(secret_key, salt=SIGNED_ROWS_SALT).dumps(payload)


def load_signed_rows(token: str, actor: User, secret_key: str) -> list[SourceRow]:
    """The rows signed by `sign_rows` for this user; RosterFileError when forged or expired."""
    serializer = URLSafeTimedSerializer(secret_key, salt=SIGNED_ROWS_SALT)
    try:
        payload = serializer.loads(token, max_age=SIGNED_ROWS_MAX_AGE)
    except SignatureExpired:
        raise RosterFileError(
            _("The preview is more than an hour old: upload the file again.")
        ) from None
    except BadSignature:
        raise RosterFileError(
            _("The confirmation does not match a preview: upload the file again.")
        ) from None
    if payload.get("actor") != actor.id:
        raise RosterFileError(
            _("The confirmation does not match a preview: upload the file again.")
        )
    return [
        SourceRow(line=line, cells=dict(zip(ROSTER_COLUMNS, cells, strict=True)))
        for line, cells in payload["rows"]
    ]
