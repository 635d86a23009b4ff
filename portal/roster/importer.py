"""Roster import: read a file, check and match every row against the database, then apply it.

Three steps, each usable on its own (the web preview and `import-roster --dry-run` stop after
the second):

1. `read_roster_file(data, filename, max_bytes)` turns the bytes of a CSV (comma or semicolon,
   UTF-8 with or without BOM), XLSX or JSON file into `SourceRow`s. A file that cannot be read
   as a roster (other type, other encoding, over the size limit, wrong header) raises
   `RosterFileError` with the HTTP status to answer (400 or 413).
2. `plan_import(rows, actor, only_faculty=...)` validates each row, matches it to what the
   database holds and labels it new / updated / unchanged, collecting every problem with its
   line number and column. It writes nothing.
3. `apply_import(plan, actor)` writes a problem-free plan in the caller's transaction, with an
   audit event per record created or changed; the caller commits once, so all rows or none.

Matching, so that importing the same file twice creates nothing the second time:
- a person is matched by email; a row without email (or whose email is unknown) is matched to
  a person of the same name who holds a position in the same program with the same start date
  (and, for a row with an email, who has no email yet);
- a position is the matched person's position with the same program and start date;
- the supervision link is that position's link to the row's faculty account.
A blank email keeps the person's email; a blank end date means ongoing; a blank outcome clears it.
`status` is derived from the end date on export and ignored here.

Formula prefix: the export writes `'` before a cell a spreadsheet would run as a formula
(`formats.make_inert`). CSV and XLSX cells are passed through `formats.restore_inert`, which
strips exactly one leading `'` from a cell made of quotes followed by a trigger (=, +, -, @,
tab, CR). JSON is not read by spreadsheets, is exported without the prefix, and is imported as is.

Between preview and confirm the web import keeps the parsed rows in a hidden form field signed
with itsdangerous (`sign_rows` / `load_signed_rows`), not in a database table: nothing stays on
the server (any worker on any app server can take the confirm), no table to create, migrate or
purge of abandoned previews, and the signature (bound to the user, valid for an hour) means
the confirm writes exactly the rows the user previewed. The rows are re-checked against the
database at confirm time, so a change in between is reported, never silently applied. Session
cookies are too small for this; a form field compresses well and is limited only by the upload
size limit.
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import PurePath
from typing import Any

from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _
from flask_babel import ngettext
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from portal.audit import record_event
from portal.extensions import db
from portal.identifiers import clean_text, name_key
from portal.models import Institution, Person, Position, Program, Supervision, SupervisionRole, User
from portal.models.supervision import default_shares
from portal.roster.formats import restore_inert
from portal.roster.reports import ROSTER_COLUMNS

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


@dataclass(frozen=True)
class Problem:
    """Something wrong with one row: where (line, column) and what to do about it."""

    line: int
    column: str | None
    message: str


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
    unknown = [column for column in header if column and column not in ROSTER_COLUMNS]
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


# ---------------------------------------------------------------------------------------------
# Step 2: checking and matching (no writes).


@dataclass(eq=False)
class InstitutionTarget:
    existing: Institution | None
    name: str
    instance: Institution | None = None


@dataclass(eq=False)
class PersonTarget:
    existing: Person | None
    name: str
    email: str | None
    line: int
    instance: Person | None = None

    def changes(self) -> list[tuple[str, str]]:
        """(column, "old → new") for each value this import changes on an existing person."""
        if self.existing is None:
            return []
        found = []
        if self.existing.full_name != self.name:
            found.append(("name", f"name: {self.existing.full_name} → {self.name}"))
        if self.email is not None and self.existing.email != self.email:
            found.append(("email", f"email: {self.existing.email or '(none)'} → {self.email}"))
        return found


@dataclass(eq=False)
class PositionTarget:
    existing: Position | None
    person: PersonTarget
    program: Program
    start_date: date
    institution: InstitutionTarget
    end_date: date | None
    outcome: str | None
    line: int
    instance: Position | None = None

    def changes(self) -> list[tuple[str, str]]:
        """(column, "old → new") for each value this import changes on an existing position."""
        if self.existing is None:
            return []
        found = []
        if (
            self.institution.existing is None
            or self.existing.institution_id != self.institution.existing.id
        ):
            found.append(
                (
                    "institution",
                    f"institution: {self.existing.institution.name} → {self.institution.name}",
                )
            )
        if self.existing.end_date != self.end_date:
            found.append(
                ("end_date", f"end_date: {_show(self.existing.end_date)} → {_show(self.end_date)}")
            )
        if (self.existing.outcome or None) != self.outcome:
            found.append(
                ("outcome", f"outcome: {_show(self.existing.outcome)} → {_show(self.outcome)}")
            )
        return found


@dataclass(eq=False)
class LinkTarget:
    existing: Supervision | None
    position: PositionTarget
    faculty: User
    role: SupervisionRole
    line: int

    def changes(self) -> list[tuple[str, str]]:
        """("role", "old → new") when this import changes the faculty's role on the position."""
        if self.existing is None or self.existing.role == self.role:
            return []
        return [("role", f"role: {self.existing.role.value} → {self.role.value}")]


def _show(value: Any) -> str:
    if value is None or value == "":
        return "(none)"
    return value.isoformat() if isinstance(value, date) else str(value)


@dataclass
class PlannedRow:
    """A row as the preview shows it: its values, what importing it does, and its problems."""

    line: int
    cells: dict[str, str]
    action: str = "error"  # new | updated | unchanged | error
    changes: list[str] = field(default_factory=list)
    link: LinkTarget | None = None


@dataclass
class ImportPlan:
    """Every row with its action, and every problem; apply only when `problems` is empty."""

    rows: list[PlannedRow]
    problems: list[Problem]
    links: list[LinkTarget]

    @property
    def ok(self) -> bool:
        return not self.problems

    def count(self, action: str) -> int:
        """How many rows have this action (new, updated, unchanged, error)."""
        return sum(1 for row in self.rows if row.action == action)


@dataclass
class _Values:
    faculty_email: str
    name: str
    email: str | None
    program: Program
    institution: str
    role: SupervisionRole
    start_date: date
    end_date: date | None
    outcome: str | None


def plan_import(
    rows: Sequence[SourceRow],
    actor: User,
    *,
    only_faculty: User | None,
    progress: Callable[[int], None] | None = None,
) -> ImportPlan:
    """Check every row and match it to the database, without writing anything.

    `only_faculty`: rows must belong to this faculty member (a faculty importing into their own
    group; also the default for a blank faculty_email). None lets `actor` (an administrator)
    import for any account named in faculty_email.
    """
    return _Planner(actor, only_faculty).plan(rows, progress)


class _Planner:
    def __init__(self, actor: User, only_faculty: User | None) -> None:
        self.actor = actor
        self.only_faculty = only_faculty
        self.default_faculty = only_faculty or actor
        self.programs = {
            program.name.casefold(): program
            for program in db.session.scalars(select(Program).order_by(Program.sort_order))
        }
        self.problems: list[Problem] = []
        self.faculty_by_email: dict[str, User] = {}
        self.persons_by_email: dict[str, Person] = {}
        self.persons_by_name: dict[str, list[Person]] = defaultdict(list)
        self.institutions_by_key: dict[str, Institution] = {}
        self.institution_targets: dict[str, InstitutionTarget] = {}
        self.person_targets_by_email: dict[str, PersonTarget] = {}
        self.person_targets_by_id: dict[int, PersonTarget] = {}
        self.person_targets_by_stint: dict[tuple[str, int, date], PersonTarget] = {}
        self.position_targets: dict[tuple, PositionTarget] = {}
        self.link_targets: dict[tuple[int, int], LinkTarget] = {}

    # -- per-row checks that need no lookups beyond the program list

    def _problem(self, line: int, column: str | None, message: str) -> None:
        self.problems.append(Problem(line, column, message))

    def _check_cells(self, row: SourceRow) -> _Values | None:
        cells = row.cells
        line = row.line
        before = len(self.problems)
        if row.extra_cells:
            self._problem(
                line,
                None,
                _(
                    "The row has %(count)s cell(s) beyond the last column of the header.",
                    count=row.extra_cells,
                ),
            )
        faculty_email = clean_text(cells["faculty_email"]).lower() or self.default_faculty.email
        name = clean_text(cells["name"])
        if not name:
            self._problem(line, "name", _("The name is empty."))
        elif len(name) > MAX_NAME_LENGTH:
            self._problem(
                line,
                "name",
                _(
                    "The name is %(length)s characters long; the limit is %(limit)s.",
                    length=len(name),
                    limit=MAX_NAME_LENGTH,
                ),
            )
        email = clean_text(cells["email"]).lower() or None
        if email is not None:
            if len(email) > MAX_EMAIL_LENGTH:
                self._problem(
                    line,
                    "email",
                    _("The email is longer than %(limit)s characters.", limit=MAX_EMAIL_LENGTH),
                )
            else:
                try:
                    validate_email(email, check_deliverability=False)
                except EmailNotValidError:
                    self._problem(
                        line,
                        "email",
                        _("%(email)s is not a valid email address.", email=repr(email)),
                    )
        program_name = clean_text(cells["program"])
        program = self.programs.get(program_name.casefold())
        if not program_name:
            self._problem(line, "program", _("The program is empty."))
        elif program is None:
            known = ", ".join(p.name for p in self.programs.values())
            self._problem(
                line,
                "program",
                _(
                    "Unknown program %(program)s; the programs are: %(known)s.",
                    program=repr(program_name),
                    known=known,
                ),
            )
        institution = clean_text(cells["institution"])
        if not institution:
            self._problem(line, "institution", _("The institution is empty."))
        elif len(institution) > MAX_INSTITUTION_LENGTH:
            self._problem(
                line,
                "institution",
                _(
                    "The institution name is longer than %(limit)s characters.",
                    limit=MAX_INSTITUTION_LENGTH,
                ),
            )
        role_text = clean_text(cells["role"]).casefold()
        role = next((r for r in SupervisionRole if r.value == role_text), None)
        if role is None:
            self._problem(
                line,
                "role",
                _(
                    "The role %(role)s is not one of: %(roles)s.",
                    role=repr(cells["role"]),
                    roles=ROLE_VALUES,
                ),
            )
        start = self._date(line, "start_date", cells["start_date"], required=True)
        end = self._date(line, "end_date", cells["end_date"], required=False)
        if start is not None and end is not None and end < start:
            self._problem(
                line,
                "end_date",
                _(
                    "The end date %(end)s is before the start date %(start)s.",
                    end=end.isoformat(),
                    start=start.isoformat(),
                ),
            )
        outcome = clean_text(cells["outcome"]) or None
        if outcome is not None and len(outcome) > MAX_OUTCOME_LENGTH:
            self._problem(
                line,
                "outcome",
                _("The outcome is longer than %(limit)s characters.", limit=MAX_OUTCOME_LENGTH),
            )
        if len(self.problems) > before:
            return None
        return _Values(faculty_email, name, email, program, institution, role, start, end, outcome)

    def _date(self, line: int, column: str, text: str, *, required: bool) -> date | None:
        text = text.strip()
        if not text:
            if required:
                self._problem(line, column, _("The start date is empty."))
            return None
        try:
            if not ISO_DATE.match(text):
                raise ValueError
            return date.fromisoformat(text)
        except ValueError:
            self._problem(
                line, column, _("%(text)s is not a date in the form YYYY-MM-DD.", text=repr(text))
            )
            return None

    # -- lookups, loaded once for all rows, in batches

    def _load(self, checked: list[tuple[SourceRow, _Values]]) -> None:
        emails = {values.faculty_email for _, values in checked}
        for batch in _batches(emails):
            for user in db.session.scalars(select(User).where(User.email.in_(batch))):
                self.faculty_by_email[user.email] = user
        with_positions = selectinload(Person.positions).selectinload(Position.supervisions)
        person_emails = {values.email for _, values in checked if values.email}
        for batch in _batches(person_emails):
            for person in db.session.scalars(
                select(Person).where(Person.email.in_(batch)).options(with_positions)
            ):
                self.persons_by_email[person.email] = person
        names = {values.name for _, values in checked}
        for batch in _batches(names):
            for person in db.session.scalars(
                select(Person).where(Person.full_name.in_(batch)).options(with_positions)
            ):
                self.persons_by_name[person.full_name].append(person)
        keys = {name_key(values.institution) for _, values in checked}
        for batch in _batches(keys):
            for institution in db.session.scalars(
                select(Institution).where(Institution.name_key.in_(batch))
            ):
                self.institutions_by_key[institution.name_key] = institution

    # -- matching

    def plan(self, rows: Sequence[SourceRow], progress: Callable[[int], None] | None) -> ImportPlan:
        planned = [PlannedRow(line=row.line, cells=row.cells) for row in rows]
        checked = []
        for row, plan_row in zip(rows, planned, strict=True):
            values = self._check_cells(row)
            if values is not None:
                checked.append((plan_row, values))
        self._load(checked)
        for plan_row, values in checked:
            plan_row.link = self._match(plan_row.line, values)
            if progress:
                progress(1)
        if progress and len(checked) < len(rows):
            progress(len(rows) - len(checked))
        self._check_principals()
        if self.only_faculty is not None:
            self._check_ownership()
        failed_lines = {problem.line for problem in self.problems}
        for plan_row in planned:
            if plan_row.line in failed_lines or plan_row.link is None:
                plan_row.action = "error"
                continue
            link = plan_row.link
            plan_row.changes = [
                text
                for _, text in (
                    link.position.person.changes() + link.position.changes() + link.changes()
                )
            ]
            if link.existing is None:
                plan_row.action = "new"
            elif plan_row.changes:
                plan_row.action = "updated"
            else:
                plan_row.action = "unchanged"
        self.problems.sort(key=lambda problem: problem.line)
        return ImportPlan(
            rows=planned, problems=self.problems, links=list(self.link_targets.values())
        )

    def _match(self, line: int, values: _Values) -> LinkTarget | None:
        faculty = self._faculty(line, values.faculty_email)
        if faculty is None:
            return None
        person = self._person(line, values)
        if person is None:
            return None
        position = self._position(line, values, person)
        if position is None:
            return None
        key = (id(position), faculty.id)
        if key in self.link_targets:
            self._problem(
                line,
                None,
                _(
                    "The same person, program, start date and faculty_email "
                    "appear on line %(line)s.",
                    line=self.link_targets[key].line,
                ),
            )
            return None
        existing = None
        if position.existing is not None:
            existing = next(
                (
                    link
                    for link in position.existing.supervisions
                    if link.supervisor_id == faculty.id
                ),
                None,
            )
        target = LinkTarget(existing, position, faculty, values.role, line)
        self.link_targets[key] = target
        return target

    def _faculty(self, line: int, email: str) -> User | None:
        if self.only_faculty is not None and email != self.only_faculty.email:
            self._problem(
                line,
                "faculty_email",
                _(
                    "This import is for %(faculty)s's group only: faculty_email must be "
                    "%(faculty)s or empty, not %(email)s.",
                    faculty=self.only_faculty.email,
                    email=email,
                ),
            )
            return None
        faculty = self.faculty_by_email.get(email)
        if faculty is None:
            self._problem(
                line,
                "faculty_email",
                _("There is no account with the email %(email)s.", email=email),
            )
        return faculty

    def _person(self, line: int, values: _Values) -> PersonTarget | None:
        stint = (values.name, values.program.id, values.start_date)
        if values.email is not None:
            target = self.person_targets_by_email.get(values.email)
            if target is None:
                existing = self.persons_by_email.get(values.email)
                if existing is None:
                    existing = self._person_by_name(values, without_email=True)
                target = self._target_for(existing, values, line)
                self.person_targets_by_email[values.email] = target
            elif target.name != values.name:
                self._problem(
                    line,
                    "name",
                    _(
                        "Line %(line)s has the same email with the name %(name)s.",
                        line=target.line,
                        name=repr(target.name),
                    ),
                )
                return None
            self.person_targets_by_stint.setdefault(stint, target)
            return target
        # Without an email: the person of an earlier row of this file with the same name,
        # program and start date, else such a person in the database, else a new person.
        target = self.person_targets_by_stint.get(stint)
        if target is None:
            existing = self._person_by_name(values, without_email=False)
            target = (
                self._target_for(existing, values, line)
                if existing is not None
                else PersonTarget(None, values.name, None, line)
            )
            self.person_targets_by_stint[stint] = target
        return target

    def _target_for(self, existing: Person | None, values: _Values, line: int) -> PersonTarget:
        if existing is None:
            return PersonTarget(None, values.name, values.email, line)
        target = self.person_targets_by_id.get(existing.id)
        if target is None:
            target = PersonTarget(existing, values.name, values.email, line)
            self.person_targets_by_id[existing.id] = target
        elif values.email is not None and target.email is None:
            target.email = values.email
        return target

    def _person_by_name(self, values: _Values, *, without_email: bool) -> Person | None:
        for person in self.persons_by_name.get(values.name, ()):
            if without_email and person.email is not None:
                continue
            if any(_same_stint(position, values) for position in person.positions):
                return person
        return None

    def _institution(self, name: str) -> InstitutionTarget:
        key = name_key(name)
        if key not in self.institution_targets:
            self.institution_targets[key] = InstitutionTarget(
                self.institutions_by_key.get(key), name
            )
        return self.institution_targets[key]

    def _position(self, line: int, values: _Values, person: PersonTarget) -> PositionTarget | None:
        existing = None
        if person.existing is not None:
            existing = next(
                (
                    position
                    for position in person.existing.positions
                    if _same_stint(position, values)
                ),
                None,
            )
        key = (
            ("position", existing.id)
            if existing is not None
            else ("new", id(person), values.program.id, values.start_date)
        )
        institution = self._institution(values.institution)
        target = self.position_targets.get(key)
        if target is None:
            target = PositionTarget(
                existing,
                person,
                values.program,
                values.start_date,
                institution,
                values.end_date,
                values.outcome,
                line,
            )
            self.position_targets[key] = target
            return target
        differences = [
            column
            for column, same in (
                ("institution", target.institution is institution),
                ("end_date", target.end_date == values.end_date),
                ("outcome", target.outcome == values.outcome),
            )
            if not same
        ]
        for column in differences:
            self._problem(
                line,
                column,
                _(
                    "Line %(line)s describes the same position with another %(column)s.",
                    line=target.line,
                    column=column,
                ),
            )
        return None if differences else target

    def _check_principals(self) -> None:
        links_by_position: dict[int, list[LinkTarget]] = defaultdict(list)
        for link in self.link_targets.values():
            links_by_position[id(link.position)].append(link)
        for links in links_by_position.values():
            position = links[0].position
            in_file = {link.faculty.id for link in links}
            principals = [link for link in links if link.role is SupervisionRole.PRINCIPAL]
            kept = []
            if position.existing is not None:
                kept = [
                    link
                    for link in position.existing.supervisions
                    if link.role is SupervisionRole.PRINCIPAL
                    and (link.supervisor_id is None or link.supervisor_id not in in_file)
                ]
            if len(principals) + len(kept) <= 1:
                continue
            holders = [link.supervisor_name for link in kept] + [
                f"{link.faculty.email} (line {link.line})" for link in principals
            ]
            for link in principals:
                self._problem(
                    link.line,
                    "role",
                    _(
                        "A position has at most one principal supervisor; this one would have "
                        "%(holders)s.",
                        holders=", ".join(holders),
                    ),
                )

    def _check_ownership(self) -> None:
        """A faculty member may link themselves to a person or position already in another
        group (a shared student), but not change its values: that is the other group's record."""
        faculty_id = self.only_faculty.id
        for link in self.link_targets.values():
            position = link.position
            if position.existing is not None and link.existing is None:
                for column, text in position.changes():
                    self._problem(
                        link.line,
                        column,
                        _(
                            "This position is in another faculty "
                            "member's group; its %(column)s cannot be "
                            "changed from your file (%(text)s).",
                            column=column,
                            text=text,
                        ),
                    )
            person = position.person.existing
            if person is not None and not any(
                other.supervisor_id == faculty_id
                for stint in person.positions
                for other in stint.supervisions
            ):
                for column, text in position.person.changes():
                    self._problem(
                        link.line,
                        column,
                        _(
                            "This person is in another faculty "
                            "member's group; their %(column)s cannot "
                            "be changed from your file (%(text)s).",
                            column=column,
                            text=text,
                        ),
                    )


def _same_stint(position: Position, values: _Values) -> bool:
    return (
        position.archived_at is None
        and position.program_id == values.program.id
        and position.start_date == values.start_date
    )


def _batches(values: Iterable[str]) -> Iterable[list[str]]:
    ordered = sorted(values)
    for start in range(0, len(ordered), LOOKUP_BATCH):
        yield ordered[start : start + LOOKUP_BATCH]


# ---------------------------------------------------------------------------------------------
# Step 3: writing.


@dataclass(frozen=True)
class ImportSummary:
    """What an applied import did, by row and by record."""

    new_rows: int
    updated_rows: int
    unchanged_rows: int
    created: dict[str, int]

    def describe(self) -> str:
        """One sentence for a flash message or the command line."""
        rows = _(
            "%(new)d new, %(updated)d updated, %(unchanged)d unchanged row(s)",
            new=self.new_rows,
            updated=self.updated_rows,
            unchanged=self.unchanged_rows,
        )
        created = ", ".join(
            _created_text(kind, count) for kind, count in self.created.items() if count
        )
        if created:
            return _("%(rows)s; created %(created)s.", rows=rows, created=created)
        return _("%(rows)s.", rows=rows)


def _created_text(kind: str, count: int) -> str:
    """'3 people', '1 institution', ... in the reader's language."""
    texts = {
        "people": ngettext("%(num)d person", "%(num)d people", count),
        "positions": ngettext("%(num)d position", "%(num)d positions", count),
        "supervision links": ngettext(
            "%(num)d supervision link", "%(num)d supervision links", count
        ),
        "institutions": ngettext("%(num)d institution", "%(num)d institutions", count),
    }
    return texts[kind]


def apply_import(
    plan: ImportPlan, actor: User | None, progress: Callable[[int], None] | None = None
) -> ImportSummary:
    """Write a problem-free plan in the current transaction (audit events included); no commit."""
    if not plan.ok:
        raise ValueError("An import plan with problems cannot be applied.")
    events: list[tuple[str, Any, dict | None, Callable[[], dict]]] = []
    created = {"people": 0, "positions": 0, "supervision links": 0, "institutions": 0}
    touched_positions: dict[int, Position] = {}
    # A principal leaving the seat is written before anyone else takes it: the database checks
    # "one principal per position" at each statement.
    demoted = [
        link
        for link in plan.links
        if link.existing is not None
        and link.existing.role is SupervisionRole.PRINCIPAL
        and link.role != link.existing.role
    ]
    demoted_before = {id(link): _link_snapshot(link.existing)() for link in demoted}
    if demoted:
        for link in demoted:
            link.existing.role = link.role
        db.session.flush()
    for link in plan.links:
        position = _apply_position(link.position, events, created)
        if link.existing is None:
            new_link = Supervision(supervisor_id=link.faculty.id, role=link.role, share=0)
            position.supervisions.append(new_link)
            events.append(("import-create", new_link, None, _link_snapshot(new_link)))
            created["supervision links"] += 1
            touched_positions[id(position)] = position
        elif id(link) in demoted_before or link.existing.role != link.role:
            before = demoted_before.get(id(link)) or _link_snapshot(link.existing)()
            link.existing.role = link.role
            events.append(("import-update", link.existing, before, _link_snapshot(link.existing)))
            touched_positions[id(position)] = position
        if progress:
            progress(1)
    for position in touched_positions.values():
        shares = default_shares([link.role for link in position.supervisions])
        for link, share in zip(position.supervisions, shares, strict=True):
            link.share = share
    db.session.flush()
    for action, entity, before, after in events:
        record_event(actor, action, entity, before=before, after=after())
    db.session.flush()
    return ImportSummary(plan.count("new"), plan.count("updated"), plan.count("unchanged"), created)


def _apply_institution(target: InstitutionTarget, events: list, created: dict) -> Institution:
    if target.instance is None:
        if target.existing is not None:
            target.instance = target.existing
        else:
            target.instance = Institution(name=target.name)
            db.session.add(target.instance)
            events.append(
                (
                    "import-create",
                    target.instance,
                    None,
                    lambda inst=target.instance: {"name": inst.name},
                )
            )
            created["institutions"] += 1
    return target.instance


def _apply_person(target: PersonTarget, events: list, created: dict) -> Person:
    if target.instance is not None:
        return target.instance
    if target.existing is None:
        target.instance = Person(full_name=target.name, email=target.email)
        db.session.add(target.instance)
        events.append(("import-create", target.instance, None, _person_snapshot(target.instance)))
        created["people"] += 1
        return target.instance
    person = target.instance = target.existing
    if target.changes():
        before = _person_snapshot(person)()
        person.full_name = target.name
        if target.email is not None:
            person.email = target.email
        events.append(("import-update", person, before, _person_snapshot(person)))
    return person


def _apply_position(target: PositionTarget, events: list, created: dict) -> Position:
    if target.instance is not None:
        return target.instance
    person = _apply_person(target.person, events, created)
    institution = _apply_institution(target.institution, events, created)
    if target.existing is None:
        position = Position(
            person=person,
            program=target.program,
            institution=institution,
            start_date=target.start_date,
            end_date=target.end_date,
            outcome=target.outcome,
        )
        db.session.add(position)
        events.append(("import-create", position, None, _position_snapshot(position)))
        created["positions"] += 1
    else:
        position = target.existing
        if target.changes():
            before = _position_snapshot(position)()
            position.institution = institution
            position.end_date = target.end_date
            position.outcome = target.outcome
            events.append(("import-update", position, before, _position_snapshot(position)))
    target.instance = position
    return position


# Snapshots are taken after the flush (ids known), hence the callables.


def _person_snapshot(person: Person) -> Callable[[], dict]:
    return lambda: {"full_name": person.full_name, "email": person.email}


def _position_snapshot(position: Position) -> Callable[[], dict]:
    return lambda: {
        "person_id": position.person_id,
        "program": position.program.name,
        "institution": position.institution.name,
        "start_date": position.start_date.isoformat(),
        "end_date": position.end_date.isoformat() if position.end_date else None,
        "outcome": position.outcome,
    }


def _link_snapshot(link: Supervision) -> Callable[[], dict]:
    return lambda: {
        "position_id": link.position_id,
        "supervisor_id": link.supervisor_id,
        "role": link.role.value,
        "share": str(link.share),
    }
