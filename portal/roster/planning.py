"""Roster import, step 2: check every row and match it against the database; writes nothing.

`plan_import(rows, actor, only_faculty=...)` validates each row, matches it to what the database
holds and labels it new / updated / unchanged, collecting every problem with its line number and
column.

Matching, so that importing the same file twice creates nothing the second time:
- a person is matched by email; a row without email (or whose email is unknown) is matched to
  a person of the same name who holds a position in the same program with the same start date
  (and, for a row with an email, who has no email yet);
- a position is the matched person's position with the same program and start date;
- the supervision link is that position's link to the row's faculty account.

Only the row's faculty's own records are ever matched: people and positions that faculty owns
or has a confirmed link to (Position.readable_by). Another group's member is never matched,
merged or attached to: a row without email that looks like one becomes a new record in the
faculty's own group; a row whose email belongs to another group's person is refused with a
message that names none of the stored values. A matched position another group owns (one the
faculty co-supervises) cannot be changed from the file, nor can the identity of a person whose
current position another group owns.
A blank email keeps the person's email; a blank end date means ongoing; a blank outcome clears it.
`status` is derived from the end date on export and ignored here.
"""

from __future__ import annotations

import enum
import inspect
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from portal.collector import collector_paused
from portal.days import is_accepted_day, outside_days_message
from portal.emails import is_valid_email
from portal.extensions import db
from portal.group.operations import kept_elsewhere_message
from portal.i18n import format_day
from portal.identifiers import clean_text, name_key, normalise_email, normalise_orcid
from portal.labels import label_text
from portal.labels import lazy_gettext as _l
from portal.loads import cap_breaches_after_adding
from portal.models import (
    DepartureReason,
    Institution,
    Person,
    Position,
    Program,
    Supervision,
    SupervisionRole,
    SupervisionState,
    User,
)
from portal.models.supervision import default_shares
from portal.roster.reading import (
    ISO_DATE,
    LOOKUP_BATCH,
    MAX_EMAIL_LENGTH,
    MAX_INSTITUTION_LENGTH,
    MAX_NAME_LENGTH,
    MAX_OUTCOME_LENGTH,
    ROLE_VALUES,
    SourceRow,
)
from portal.roster.supervisors_text import (
    ROLE_BY_TEXT,
    OtherSupervisor,
    SupervisorsTextError,
    parse_supervisors,
)

MAX_NOTE_LENGTH = 300
HUNDRED = Decimal("100.00")
# A column of the extended format the file does not have: what is stored stays as it is.
KEEP: Any = object()
DEPARTURE_VALUES = ", ".join(reason.value for reason in DepartureReason)
REASON_BY_VALUE = {reason.value: reason for reason in DepartureReason}


@dataclass(frozen=True)
class Problem:
    """Something wrong with one row: where (line, column) and what to do about it."""

    line: int
    column: str | None
    message: str


# ---------------------------------------------------------------------------------------------
# Step 2: checking and matching (no writes).


@dataclass(eq=False)
class InstitutionTarget:
    existing: Institution | None
    name: str
    instance: Institution | None = None
    created_id: int | None = None  # the id of the record the import inserted


@dataclass(eq=False)
class PersonTarget:
    existing: Person | None
    name: str
    email: str | None
    line: int
    instance: Person | None = None
    orcid: str | None = None  # None: keep the stored one
    created_id: int | None = None

    def changes(self) -> list[tuple[str, str]]:
        """(column, "old → new") for each value this import changes on an existing person."""
        if self.existing is None:
            return []
        found = []
        if self.existing.full_name != self.name:
            found.append(("name", _change(_("Name"), self.existing.full_name, self.name)))
        if self.email is not None and self.existing.email != self.email:
            found.append(("email", _change(_("Email"), self.existing.email, self.email)))
        if self.orcid is not None and self.existing.orcid != self.orcid:
            found.append(("orcid", _change(_("ORCID iD"), self.existing.orcid, self.orcid)))
        return found


@dataclass(eq=False)
class PositionTarget:
    existing: Position | None
    person: PersonTarget
    program: Program
    start_date: date
    institution: InstitutionTarget | None  # None: unknown
    end_date: date | None
    outcome: str | None
    line: int
    instance: Position | None = None
    note: Any = KEEP  # KEEP, None or the text
    departure_reason: Any = KEEP  # KEEP, None or a DepartureReason
    # Everyone the file names as a supervisor of this position, by supervisor key.
    wanted: dict[Any, WantedLink] = field(default_factory=dict)
    # What the links become (worked out once every row is read): see _Planner._settle_links.
    final_links: list[FinalLink] = field(default_factory=list)
    created_id: int | None = None  # the id of the position the import inserted

    def changes(self) -> list[tuple[str, str]]:
        """(column, "old → new") for each value this import changes on an existing position."""
        if self.existing is None:
            return []
        found = []
        stored = self.existing.institution
        wanted = self.institution
        if (stored is None) != (wanted is None) or (
            wanted is not None and (wanted.existing is None or stored.id != wanted.existing.id)
        ):
            found.append(
                (
                    "institution",
                    _change(
                        _("Institution"),
                        stored.name if stored else None,
                        wanted.name if wanted else None,
                    ),
                )
            )
        if self.note is not KEEP and (self.existing.note or None) != self.note:
            found.append(("note", _change(_("Note"), self.existing.note, self.note)))
        if self.departure_reason is not KEEP and self.existing.departure_reason != (
            self.departure_reason
        ):
            found.append(
                (
                    "departure_reason",
                    _change(
                        _("Departure reason"),
                        self.existing.departure_reason,
                        self.departure_reason,
                    ),
                )
            )
        if self.existing.end_date != self.end_date:
            found.append(
                ("end_date", _change(_("End date"), self.existing.end_date, self.end_date))
            )
        if (self.existing.outcome or None) != self.outcome:
            found.append(("outcome", _change(_("Outcome"), self.existing.outcome, self.outcome)))
        return found


@dataclass(eq=False)
class LinkTarget:
    existing: Supervision | None
    position: PositionTarget
    faculty: User
    role: SupervisionRole
    line: int
    share: Decimal | None = None  # None: keep the stored share (or the defaults)

    def changes(self) -> list[tuple[str, str]]:
        """("role", "old → new") when this import changes the faculty's role on the position."""
        if self.existing is None or self.existing.role == self.role:
            return []
        return [("role", _change(_("Role"), label_text(self.existing.role), label_text(self.role)))]


@dataclass(eq=False)
class WantedLink:
    """A supervisor the file names for a position: a row's faculty or one of its
    other_supervisors (an account, or an external person by name)."""

    account: User | None
    external_name: str | None
    external_institution: str | None
    role: SupervisionRole
    share: Decimal | None
    line: int
    from_row: bool  # the row's own faculty (else named in other_supervisors)


@dataclass(eq=False)
class FinalLink:
    """One link of a position after the import: the stored one (changed or not) or a new one."""

    existing: Supervision | None
    wanted: WantedLink | None  # None: a stored link the file does not mention (kept as is)
    role: SupervisionRole
    share: Decimal

    def changes(self) -> list[str]:
        """ "Share of X: old → new" for a stored link whose role, share or institution
        changes."""
        if self.existing is None or self.wanted is None:
            return []
        who = self.existing.supervisor_name
        found = []
        if self.existing.share != self.share:
            found.append(_change(_("Share of %(name)s", name=who), self.existing.share, self.share))
        if not self.wanted.from_row and self.existing.role != self.role:
            found.append(_change(_("Role of %(name)s", name=who), self.existing.role, self.role))
        if self.existing.supervisor_id is None and (
            self.existing.external_institution != self.wanted.external_institution
        ):
            found.append(
                _change(
                    _("Institution of %(name)s", name=who),
                    self.existing.external_institution,
                    self.wanted.external_institution,
                )
            )
        return found


def _change(what: str, old: Any, new: Any) -> str:
    """ "End date: 1 June 2026 → none", in the reader's language, for the preview."""
    return _("%(what)s: %(old)s → %(new)s", what=what, old=_shown(old), new=_shown(new))


def _shown(value: Any) -> str:
    if value is None or value == "":
        return _("none")
    if isinstance(value, Decimal):
        return f"{value.normalize():f} %"
    if isinstance(value, enum.Enum):
        return label_text(value)
    return format_day(value) if isinstance(value, date) else str(value)


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
    # Caps the import would take faculty over (the form's "Save anyway" rule): confirming
    # the import needs the same explicit agreement.
    cap_warnings: list[str] = field(default_factory=list)

    @property
    def positions(self) -> list[PositionTarget]:
        """Each position the file describes, once, in the file's order."""
        return list({id(link.position): link.position for link in self.links}.values())

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
    institution: str | None
    role: SupervisionRole
    start_date: date
    end_date: date | None
    outcome: str | None
    share: Decimal | None = None
    others: list[OtherSupervisor] = field(default_factory=list)
    orcid: str | None = None
    note: Any = KEEP
    departure_reason: Any = KEEP


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
    with collector_paused():
        return _Planner(actor, only_faculty).plan(rows, progress)


class _Planner:
    def __init__(self, actor: User, only_faculty: User | None) -> None:
        self.actor = actor
        self.today = date.today()
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
        self.persons_by_orcid: dict[str, Person] = {}
        self.person_targets_by_orcid: dict[str, PersonTarget] = {}
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
        faculty_email = normalise_email(cells["faculty_email"]) or self.default_faculty.email
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
        email = normalise_email(cells["email"]) or None
        if email is not None:
            if len(email) > MAX_EMAIL_LENGTH:
                self._problem(
                    line,
                    "email",
                    _("The email is longer than %(limit)s characters.", limit=MAX_EMAIL_LENGTH),
                )
            elif not is_valid_email(email):
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
        # An empty institution is an unknown one (the institute page lists visitors without).
        institution = clean_text(cells["institution"]) or None
        if institution is not None and len(institution) > MAX_INSTITUTION_LENGTH:
            self._problem(
                line,
                "institution",
                _(
                    "The institution name is longer than %(limit)s characters.",
                    limit=MAX_INSTITUTION_LENGTH,
                ),
            )
        role_text = clean_text(cells["role"]).casefold()
        role = ROLE_BY_TEXT.get(role_text)
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
        extended = self._check_record_cells(row)
        if len(self.problems) > before:
            return None
        return _Values(
            faculty_email, name, email, program, institution, role, start, end, outcome, **extended
        )

    def _check_record_cells(self, row: SourceRow) -> dict[str, Any]:
        """The columns after the first ten (absent in old files: what is stored is kept)."""
        cells, line = row.cells, row.line
        found: dict[str, Any] = {}
        share_text = clean_text(cells.get("share"))
        if share_text:
            found["share"] = self._share(line, "share", share_text)
        others_text = clean_text(cells.get("other_supervisors"))
        if others_text:
            try:
                others = parse_supervisors(others_text)
            except SupervisorsTextError as error:
                self._problem(line, "other_supervisors", str(error))
            else:
                found["others"] = others
                for other in others:
                    self._check_other(line, other)
        orcid_text = clean_text(cells.get("orcid"))
        if orcid_text:
            found["orcid"] = normalise_orcid(orcid_text)
            if found["orcid"] is None:
                self._problem(
                    line,
                    "orcid",
                    _(
                        "%(orcid)s is not a valid ORCID iD, like 0000-0002-1825-0097 (the last "
                        "character is a checksum).",
                        orcid=repr(orcid_text),
                    ),
                )
        if cells.get("note") is not None:
            found["note"] = clean_text(cells["note"]) or None
            if found["note"] is not None and len(found["note"]) > MAX_NOTE_LENGTH:
                self._problem(
                    line,
                    "note",
                    _("The note is longer than %(limit)s characters.", limit=MAX_NOTE_LENGTH),
                )
        if cells.get("departure_reason") is not None:
            reason_text = clean_text(cells["departure_reason"]).casefold()
            found["departure_reason"] = None
            if reason_text:
                found["departure_reason"] = REASON_BY_VALUE.get(reason_text)
                if found["departure_reason"] is None:
                    self._problem(
                        line,
                        "departure_reason",
                        _(
                            "The departure reason %(reason)s is not one of: %(reasons)s.",
                            reason=repr(reason_text),
                            reasons=DEPARTURE_VALUES,
                        ),
                    )
        return found

    def _share(self, line: int, column: str, text: str) -> Decimal | None:
        try:
            share = Decimal(text.rstrip("%").strip())
        except InvalidOperation:
            share = None
        if share is None or not share.is_finite() or not 0 <= share <= 100:
            self._problem(
                line,
                column,
                _("%(text)s is not a share: give a percentage from 0 to 100.", text=repr(text)),
            )
            return None
        return share.quantize(Decimal("0.01"))

    def _check_other(self, line: int, other: OtherSupervisor) -> None:
        if other.is_account:
            if not is_valid_email(other.email):
                self._problem(
                    line,
                    "other_supervisors",
                    _("%(email)s is not a valid email address.", email=repr(other.email)),
                )
            return
        for text in (other.name, other.institution):
            if text and len(clean_text(text)) > MAX_NAME_LENGTH:
                self._problem(
                    line,
                    "other_supervisors",
                    _(
                        "A name or institution in other_supervisors is longer than %(limit)s "
                        "characters.",
                        limit=MAX_NAME_LENGTH,
                    ),
                )

    def _date(self, line: int, column: str, text: str, *, required: bool) -> date | None:
        text = text.strip()
        if not text:
            if required:
                self._problem(line, column, _("The start date is empty."))
            return None
        try:
            if not ISO_DATE.match(text):
                raise ValueError
            day = date.fromisoformat(text)
        except ValueError:
            self._problem(
                line, column, _("%(text)s is not a date in the form YYYY-MM-DD.", text=repr(text))
            )
            return None
        if not is_accepted_day(day):
            self._problem(line, column, outside_days_message())
            return None
        return day

    # -- lookups, loaded once for all rows, in batches

    def _load(self, checked: list[tuple[SourceRow, _Values]]) -> None:
        emails = {values.faculty_email for _, values in checked} | {
            other.email for _, values in checked for other in values.others if other.is_account
        }
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
        # By the indexed name_key (Person keeps it from full_name), then the exact name.
        names = {values.name for _, values in checked}
        for batch in _batches({name_key(name) for name in names}):
            for person in db.session.scalars(
                select(Person)
                .where(Person.name_key.in_(batch))
                .order_by(Person.id)
                .options(with_positions)
            ):
                if person.full_name in names:
                    self.persons_by_name[person.full_name].append(person)
        orcids = {values.orcid for _, values in checked if values.orcid}
        for batch in _batches(orcids):
            for person in db.session.scalars(
                select(Person).where(Person.orcid.in_(batch)).options(with_positions)
            ):
                self.persons_by_orcid[person.orcid] = person
        keys = {name_key(values.institution) for _, values in checked if values.institution}
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
        positions = list(
            {id(link.position): link.position for link in self.link_targets.values()}.values()
        )
        for position in positions:
            self._settle_links(position)
        if self.only_faculty is not None:
            self._check_ownership()
        cap_warnings = self._cap_warnings(positions)
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
            if link.position.line == plan_row.line:
                plan_row.changes += _link_changes(link.position)
            if link.existing is None:
                plan_row.action = "new"
            elif plan_row.changes:
                plan_row.action = "updated"
            else:
                plan_row.action = "unchanged"
        self.problems.sort(key=lambda problem: problem.line)
        return ImportPlan(
            rows=planned,
            problems=self.problems,
            links=list(self.link_targets.values()),
            cap_warnings=cap_warnings,
        )

    def _match(self, line: int, values: _Values) -> LinkTarget | None:
        faculty = self._faculty(line, values.faculty_email)
        if faculty is None:
            return None
        person = self._person(line, values, faculty)
        if person is None or not self._orcid(line, values, person, faculty):
            return None
        position = self._position(line, values, person, faculty)
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
        target = LinkTarget(existing, position, faculty, values.role, line, values.share)
        self.link_targets[key] = target
        self._want(
            position,
            ("account", faculty.id),
            WantedLink(faculty, None, None, values.role, values.share, line, from_row=True),
        )
        for other in values.others:
            wanted = self._other_link(line, other, faculty)
            if wanted is not None:
                key = (
                    ("account", wanted.account.id)
                    if wanted.account
                    else ("external", name_key(wanted.external_name))
                )
                self._want(position, key, wanted)
        return target

    def _other_link(self, line: int, other: OtherSupervisor, faculty: User) -> WantedLink | None:
        """A supervisor named in other_supervisors, as a link to want (None: a problem)."""
        if not other.is_account:
            return WantedLink(
                None,
                clean_text(other.name),
                clean_text(other.institution) or None,
                other.role,
                other.share,
                line,
                from_row=False,
            )
        account = self.faculty_by_email.get(other.email)
        # A deactivated account may stay on a link it already has (the export lists it, and the
        # same file imports again); a new link to it is refused where links are settled.
        if account is None or account.is_admin:
            self._problem(
                line,
                "other_supervisors",
                _("There is no faculty account with the email %(email)s.", email=other.email),
            )
            return None
        if account.id == faculty.id:
            self._problem(
                line,
                "other_supervisors",
                _("other_supervisors lists the row's own faculty_email; list the others only."),
            )
            return None
        return WantedLink(account, None, None, other.role, other.share, line, from_row=False)

    def _want(self, position: PositionTarget, key: Any, wanted: WantedLink) -> None:
        """Every row naming the same supervisor of a position must say the same of them."""
        earlier = position.wanted.get(key)
        if earlier is None:
            position.wanted[key] = wanted
            return
        if earlier.role != wanted.role or (
            earlier.share is not None and wanted.share is not None and earlier.share != wanted.share
        ):
            self._problem(
                wanted.line,
                "other_supervisors" if not wanted.from_row else "role",
                _(
                    "Line %(line)s gives the same supervisor of this position another role or "
                    "share.",
                    line=earlier.line,
                ),
            )
        elif earlier.share is None:
            earlier.share = wanted.share
        if wanted.from_row and not earlier.from_row:
            wanted.share = earlier.share if wanted.share is None else wanted.share
            position.wanted[key] = wanted

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

    def _person(self, line: int, values: _Values, faculty: User) -> PersonTarget | None:
        stint = (values.name, values.program.id, values.start_date)
        if values.email is not None:
            known = self.persons_by_email.get(values.email)
            if known is not None and not _in_records_of(known, faculty):
                # Another group's person: say so without a single stored value.
                self._problem(line, "email", FOREIGN_PERSON)
                return None
            target = self.person_targets_by_email.get(values.email)
            if target is None:
                existing = known
                if existing is None:
                    existing = self._person_by_name(values, faculty, without_email=True)
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
            if target.existing is not None and not _in_records_of(target.existing, faculty):
                self._problem(line, "email", FOREIGN_PERSON)
                return None
            self.person_targets_by_stint.setdefault(stint, target)
            return target
        # Without an email: the person of an earlier row of this file with the same name,
        # program and start date, else such a person in the database, else a new person.
        target = self.person_targets_by_stint.get(stint)
        if (
            target is not None
            and target.existing is not None
            and not _in_records_of(target.existing, faculty)
        ):
            # Matched for another faculty of the file: this faculty gets their own record.
            stint = (*stint, faculty.id)
            target = self.person_targets_by_stint.get(stint)
        if target is None:
            existing = self._person_by_name(values, faculty, without_email=False)
            target = (
                self._target_for(existing, values, line)
                if existing is not None
                else PersonTarget(None, values.name, None, line)
            )
            self.person_targets_by_stint[stint] = target
        return target

    def _orcid(self, line: int, values: _Values, person: PersonTarget, faculty: User) -> bool:
        """The row's ORCID iD goes to its person, unless someone else holds it."""
        if values.orcid is None:
            return True
        holder = self.persons_by_orcid.get(values.orcid)
        if holder is not None and (person.existing is None or holder.id != person.existing.id):
            if not _in_records_of(holder, faculty):
                self._problem(line, "orcid", FOREIGN_PERSON)
            else:
                self._problem(
                    line,
                    "orcid",
                    _("This ORCID iD is recorded for %(name)s.", name=holder.full_name),
                )
            return False
        claimed = self.person_targets_by_orcid.setdefault(values.orcid, person)
        if claimed is not person or (person.orcid not in (None, values.orcid)):
            self._problem(
                line,
                "orcid",
                _("Another line gives this ORCID iD to another person, or this person another."),
            )
            return False
        person.orcid = values.orcid
        return True

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

    def _person_by_name(
        self, values: _Values, faculty: User, *, without_email: bool
    ) -> Person | None:
        """A person of the faculty's own records with this name and a position of this stint."""
        for person in self.persons_by_name.get(values.name, ()):
            if without_email and person.email is not None:
                continue
            if any(
                _same_stint(position, values) and _readable(position, faculty)
                for position in person.positions
            ):
                return person
        return None

    def _institution(self, name: str | None) -> InstitutionTarget | None:
        if name is None:
            return None
        key = name_key(name)
        if key not in self.institution_targets:
            self.institution_targets[key] = InstitutionTarget(
                self.institutions_by_key.get(key), name
            )
        return self.institution_targets[key]

    def _position(
        self, line: int, values: _Values, person: PersonTarget, faculty: User
    ) -> PositionTarget | None:
        existing = None
        if person.existing is not None:
            existing = next(
                (
                    position
                    for position in person.existing.positions
                    if _same_stint(position, values) and _readable(position, faculty)
                ),
                None,
            )
        if (
            existing is None
            and person.existing is not None
            and not person.existing.takes_a_position_from(self.actor, self.today)
        ):
            # A new position on a person whose identity another group keeps (a confirmed
            # co-supervisor's own row): the form and the API refuse it too.
            self._problem(line, "name", kept_elsewhere_message(person.existing))
            return None
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
                note=values.note,
                departure_reason=values.departure_reason,
            )
            self.position_targets[key] = target
            return target
        differences = [
            column
            for column, same in (
                ("institution", target.institution is institution),
                ("end_date", target.end_date == values.end_date),
                ("outcome", target.outcome == values.outcome),
                ("note", target.note is KEEP or target.note == values.note),
                (
                    "departure_reason",
                    target.departure_reason is KEEP
                    or target.departure_reason == values.departure_reason,
                ),
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

    def _settle_links(self, position: PositionTarget) -> None:
        """What the position's links become: the stored ones (with what the file says of
        them) and the new ones, each with its share. Typed shares are kept unless the file
        gives new ones; shares that were the defaults follow the defaults."""
        stored = []
        if position.existing is not None:
            stored = [
                link
                for link in position.existing.supervisions
                if link.state != SupervisionState.DECLINED
            ]
        final = []
        for link in stored:
            key = (
                ("account", link.supervisor_id)
                if link.supervisor_id
                else ("external", name_key(link.external_name or ""))
            )
            wanted = position.wanted.get(key)
            final.append(
                FinalLink(link, wanted, wanted.role if wanted else link.role, None)  # type: ignore[arg-type]
            )
        known = {id(item.wanted) for item in final if item.wanted is not None}
        declined = set()
        if position.existing is not None:
            declined = {
                link.supervisor_id
                for link in position.existing.supervisions
                if link.state == SupervisionState.DECLINED
            }
        for wanted in position.wanted.values():
            if wanted.account is not None and wanted.account.id in declined:
                self._problem(
                    wanted.line,
                    "other_supervisors",
                    _(
                        "%(email)s declined this co-supervision; propose it again from the "
                        "member's edit page.",
                        email=wanted.account.email,
                    ),
                )
                continue
            if id(wanted) not in known:
                if wanted.account is not None and not wanted.account.is_active:
                    self._problem(
                        wanted.line,
                        "other_supervisors",
                        _(
                            "There is no faculty account with the email %(email)s.",
                            email=wanted.account.email,
                        ),
                    )
                    continue
                final.append(FinalLink(None, wanted, wanted.role, None))  # type: ignore[arg-type]
        position.final_links = final
        first_line = min(wanted.line for wanted in position.wanted.values())
        principals = [item for item in final if item.role is SupervisionRole.PRINCIPAL]
        if len(principals) > 1:
            holders = ", ".join(_who(item) for item in principals)
            for item in principals:
                line = item.wanted.line if item.wanted else first_line
                self._problem(
                    line,
                    "role",
                    _(
                        "A position has at most one principal supervisor; this one would have "
                        "%(holders)s.",
                        holders=holders,
                    ),
                )
            return
        given = any(item.wanted and item.wanted.share is not None for item in final)
        stored_defaults = [link.share for link in stored] == default_shares(
            [link.role for link in stored]
        )
        if not given and stored_defaults:
            for item, share in zip(
                final, default_shares([item.role for item in final]), strict=True
            ):
                item.share = share
            return
        for item in final:
            if item.wanted is not None and item.wanted.share is not None:
                item.share = item.wanted.share
            elif item.existing is not None:
                item.share = item.existing.share
        if any(item.share is None for item in final):
            self._problem(
                first_line,
                "share",
                _(
                    "This position's shares were typed, not the defaults: give the share of "
                    "every supervisor in the share and other_supervisors columns."
                ),
            )
            return
        total = sum((item.share for item in final), Decimal("0"))
        if total != HUNDRED:
            self._problem(
                first_line,
                "share",
                _(
                    "The shares of this position total %(total)s %%; they must total 100 %%.",
                    total=f"{total.normalize():f}",
                ),
            )

    def _cap_warnings(self, positions: list[PositionTarget]) -> list[str]:
        """The form's cap rule (portal/loads.py) over every link the import adds to a position
        current today, summed per faculty member."""
        today = date.today()
        additions: dict[int, list[tuple[int, Decimal, SupervisionRole]]] = defaultdict(list)
        for position in positions:
            if not _is_current_on(position, today):
                continue
            for item in position.final_links:
                account = item.wanted.account if item.wanted else None
                if item.existing is None and account is not None and item.share is not None:
                    additions[account.id].append((position.program.id, item.share, item.role))
        return [
            warning
            for faculty_id, added in additions.items()
            for warning in cap_breaches_after_adding(faculty_id, added, today)
        ]

    def _check_ownership(self) -> None:
        """A matched record the faculty does not own (a position they co-supervise, a person
        whose current position another group owns) cannot be changed from their file. The
        messages name the column only: the file's values are the importer's own, the stored
        ones are not repeated."""
        today = date.today()
        for link in self.link_targets.values():
            position = link.position
            faculty = link.faculty
            if position.existing is not None and position.existing.owner_id != faculty.id:
                for column, _text in position.changes():
                    self._problem(
                        link.line,
                        column,
                        _(
                            "This position is recorded by another group; its %(column)s "
                            "cannot be changed from your file. Ask that group to change it.",
                            column=column,
                        ),
                    )
                if _link_changes(position) and link.line == position.line:
                    self._problem(
                        link.line,
                        "other_supervisors",
                        _(
                            "This position is recorded by another group; its supervisors and "
                            "shares cannot be changed from your file. Ask that group to change "
                            "them."
                        ),
                    )
            person = position.person.existing
            if person is not None and faculty.id not in person.identity_owner_ids(today):
                for column, _text in position.person.changes():
                    self._problem(
                        link.line,
                        column,
                        _(
                            "This person's %(column)s is kept by the group of their current "
                            "position; it cannot be changed from your file.",
                            column=column,
                        ),
                    )


FOREIGN_PERSON = _l(
    "This person is recorded by another group; ask them to add you. Nothing about them is "
    "shown or changed from your file."
)


def _who(item: FinalLink) -> str:
    if item.existing is not None:
        return item.existing.supervisor_name
    wanted = item.wanted
    return wanted.account.email if wanted.account else wanted.external_name


def _link_changes(position: PositionTarget) -> list[str]:
    """What the import changes in the position's links beyond the row's own role: shares,
    other supervisors' roles and institutions, and the supervisors it adds."""
    found = []
    for item in position.final_links:
        found += item.changes()
        if item.existing is None and item.wanted is not None and not item.wanted.from_row:
            found.append(
                _(
                    "New supervisor: %(name)s (%(role)s)",
                    name=_who(item),
                    role=label_text(item.role),
                )
            )
    return found


def _readable(position: Position, faculty: User) -> bool:
    """The row's faculty may match this position: they own it or confirmed a link to it."""
    return position.owner_id == faculty.id or position.confirmed_link_of(faculty.id) is not None


def _in_records_of(person: Person, faculty: User) -> bool:
    return person.in_records_of(faculty.id)


def _same_stint(position: Position, values: _Values) -> bool:
    return (
        position.archived_at is None
        and position.program_id == values.program.id
        and position.start_date == values.start_date
    )


# Position's rule for "current" (a hybrid method), applied to a position not yet created.
_is_current_on = inspect.getattr_static(Position, "is_current_on").func


def _batches(values: Iterable[str]) -> Iterable[list[str]]:
    ordered = sorted(values)
    for start in range(0, len(ordered), LOOKUP_BATCH):
        yield ordered[start : start + LOOKUP_BATCH]
