"""Writes to a group: add, edit, move to alumni, restore, archive. Each audits and flushes.

Every operation takes the acting user, changes the session, writes one audit event with the
values before and after, and flushes; the view commits once and redirects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from flask_babel import format_decimal
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from portal.audit import record_event
from portal.extensions import db
from portal.group.queries import find_institution, find_person_by_email, find_person_by_orcid
from portal.identifiers import clean_text, name_key
from portal.labels import ROLE_LABELS, english
from portal.loads import cap_breaches_after
from portal.milestones import sync_plan
from portal.models import (
    DepartureReason,
    Institution,
    Person,
    Position,
    Program,
    Supervision,
    SupervisionRole,
    User,
    utcnow,
)
from portal.models.supervision import default_shares

HUNDRED = Decimal("100.00")


class MemberError(ValueError):
    """The data cannot be saved as given; `field` names the form field the message belongs to."""

    def __init__(self, field_name: str, message: str):
        super().__init__(message)
        self.field_name = field_name
        self.message = message


class DuplicatePersonError(MemberError):
    """The email (or ORCID iD) belongs to a person already on record; offer to link them."""

    def __init__(self, field_name: str, message: str, person: Person):
        super().__init__(field_name, message)
        self.person = person


class StaleMemberError(RuntimeError):
    """The position changed since the form was opened; nothing was written."""


@dataclass(frozen=True)
class SupervisorEntry:
    """Another supervisor of the position: an account (supervisor_id) or an external name."""

    supervisor_id: int | None
    external_name: str | None
    role: SupervisionRole
    share: Decimal | None = None


@dataclass
class MemberData:
    """What the add/edit form submits, already checked for shape by the form."""

    full_name: str
    program_id: int
    institution: str
    role: SupervisionRole
    start_date: date
    email: str | None = None
    orcid: str | None = None
    end_date: date | None = None
    note: str | None = None
    share: Decimal | None = None
    supervisors: list[SupervisorEntry] = field(default_factory=list)
    link_existing: bool = False


# ---------------------------------------------------------------------------------------------
# Snapshots for the audit trail and for the "changed by someone else" comparison.


def _share_text(share: Decimal | None) -> str:
    return "default" if share is None else f"{Decimal(share).normalize():f} %"


def _supervision_text(name: str, role: SupervisionRole, share: Decimal | None) -> str:
    return f"{name}: {english(ROLE_LABELS[SupervisionRole(role)])}, {_share_text(share)}"


def snapshot(position: Position) -> dict[str, Any]:
    """The values of a position (and its person) as plain JSON-ready data."""
    person = position.person
    return {
        "full_name": person.full_name,
        "email": person.email,
        "orcid": person.orcid,
        "program": position.program.name if position.program else None,
        "institution": position.institution.name if position.institution else None,
        "start_date": position.start_date.isoformat() if position.start_date else None,
        "end_date": position.end_date.isoformat() if position.end_date else None,
        "departure_reason": position.departure_reason.value if position.departure_reason else None,
        "outcome": position.outcome,
        "note": position.note,
        "archived": position.archived_at is not None,
        "supervisors": [
            _supervision_text(link.supervisor_name, link.role, link.share)
            for link in position.supervisions
        ],
    }


def describe_submission(
    data: MemberData,
    owner: User,
    program_names: dict[int, str],
    supervisor_names: dict[int, str],
    current: dict[str, Any],
) -> dict[str, Any]:
    """The submitted values in the shape of `snapshot`, to show next to the saved ones."""
    shares = resolve_shares(data)
    entries = [_supervision_text(owner.display_name, data.role, shares[0])]
    for entry, share in zip(data.supervisors, shares[1:], strict=True):
        name = (
            supervisor_names.get(entry.supervisor_id, "?")
            if entry.supervisor_id
            else entry.external_name or ""
        )
        entries.append(_supervision_text(name, entry.role, share))
    return {
        **current,
        "full_name": data.full_name,
        "email": data.email,
        "orcid": data.orcid,
        "program": program_names.get(data.program_id),
        "institution": data.institution,
        "start_date": data.start_date.isoformat(),
        "end_date": data.end_date.isoformat() if data.end_date else None,
        "note": data.note,
        "supervisors": entries,
    }


# ---------------------------------------------------------------------------------------------
# Rules shared by add and edit.


def typed_shares(typed: list[Decimal | None]) -> list[Decimal] | None:
    """The shares as typed, or None when every one was left empty (the defaults apply)."""
    if all(share is None for share in typed):
        return None
    if any(share is None for share in typed):
        raise MemberError(
            "share", _("Give every supervisor a share, or leave all shares empty for the defaults.")
        )
    return [Decimal(share).quantize(Decimal("0.01")) for share in typed]


def check_share_total(shares: list[Decimal]) -> None:
    """Typed shares must add up to exactly 100 %."""
    total = sum(shares, Decimal("0"))
    if total != HUNDRED:
        raise MemberError(
            "share",
            _("Shares must total 100 %%; they total %(total)s %%.", total=format_decimal(total)),
        )


def check_one_principal(roles: list[SupervisionRole | str]) -> None:
    """A position has at most one principal supervisor."""
    if roles.count(SupervisionRole.PRINCIPAL) > 1:
        raise MemberError(
            "role",
            _(
                "Only one supervisor can be the principal supervisor; "
                "make the others co-supervisors."
            ),
        )


def supervisor_key(supervisor_id: int | None, external_name: str | None) -> Any:
    """Who a supervision row names: an account, or an external name (any case or accents)."""
    return supervisor_id or ("external", name_key(external_name or ""))


def check_distinct_supervisors(keys: list[Any]) -> None:
    """Nobody is listed twice (keys from supervisor_key, the owner's id among them)."""
    if len(keys) != len(set(keys)):
        raise MemberError("supervisors", _("The same supervisor is listed twice."))


def resolve_shares(data: MemberData) -> list[Decimal]:
    """Shares for [owner, *others]: as typed, or the defaults when every share was left empty."""
    roles = [data.role] + [entry.role for entry in data.supervisors]
    shares = typed_shares([data.share] + [entry.share for entry in data.supervisors])
    return default_shares(roles) if shares is None else shares


def check_supervision(data: MemberData, owner: User) -> list[Decimal]:
    """Apply the supervision rules; return the shares to store.

    The member form's validators call the same checks, so a rule and its message live here only.
    """
    check_one_principal([data.role] + [entry.role for entry in data.supervisors])
    check_distinct_supervisors(
        [owner.id]
        + [supervisor_key(entry.supervisor_id, entry.external_name) for entry in data.supervisors]
    )
    shares = resolve_shares(data)
    check_share_total(shares)
    return shares


def cap_warnings(owner: User, data: MemberData, on: date) -> list[str]:
    """Warnings when the new position would take any of its faculty supervisors over a cap.

    Only a position that is current on `on` adds to today's loads. Raises MemberError when the
    supervision itself is invalid, exactly as add_member would.
    """
    shares = check_supervision(data, owner)
    if data.start_date > on or (data.end_date is not None and data.end_date < on):
        return []
    links = [(owner.id, data.role, shares[0])] + [
        (entry.supervisor_id, entry.role, share)
        for entry, share in zip(data.supervisors, shares[1:], strict=True)
        if entry.supervisor_id
    ]
    return [
        warning
        for faculty_id, role, share in links
        for warning in cap_breaches_after(faculty_id, data.program_id, share, role, on)
    ]


def find_or_create_institution(name: str) -> Institution:
    """The institution matching `name` (any case or accents), created as typed when new."""
    name = clean_text(name)
    existing = find_institution(name)
    if existing is not None:
        return existing
    try:
        with db.session.begin_nested():
            institution = Institution(name=name)
            db.session.add(institution)
    except IntegrityError:
        # Someone created the same institution a moment ago: use theirs.
        existing = find_institution(name)
        if existing is None:
            raise
        return existing
    return institution


def _program(program_id: int) -> Program:
    program = db.session.get(Program, program_id)
    if program is None:
        raise MemberError("program", _("Choose a program from the list."))
    return program


def _duplicate(field_name: str, person: Person) -> DuplicatePersonError:
    if field_name == "email":
        message = _(
            "This email already belongs to %(name)s. To add a position for that person "
            "instead of creating a duplicate, tick “Link the existing person” and save "
            "again.",
            name=person.full_name,
        )
    else:
        message = _(
            "This ORCID iD already belongs to %(name)s. To add a position for that person "
            "instead of creating a duplicate, tick “Link the existing person” and save "
            "again.",
            name=person.full_name,
        )
    return DuplicatePersonError(field_name, message, person)


def _existing_person(data: MemberData, current: Person | None) -> Person | None:
    """The person already on record with the submitted email or ORCID iD, other than `current`."""
    for field_name, found in (
        ("email", find_person_by_email(data.email or "")),
        ("orcid", find_person_by_orcid(data.orcid)),
    ):
        if found is not None and found is not current:
            if not data.link_existing:
                raise _duplicate(field_name, found)
            return found
    return None


def _supervisor(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise MemberError("supervisors", _("Choose a supervisor from the list."))
    return user


# ---------------------------------------------------------------------------------------------
# Operations.


def add_member(actor: User, owner: User, data: MemberData) -> Position:
    """Create a position in `owner`'s group (linking an existing person when asked)."""
    shares = check_supervision(data, owner)
    program = _program(data.program_id)
    _check_supervisors(data)
    person = _existing_person(data, None)
    institution = find_or_create_institution(data.institution)
    if person is None:
        person = Person(full_name=clean_text(data.full_name), email=data.email, orcid=data.orcid)
    position = Position(
        person=person,
        program=program,
        institution=institution,
        start_date=data.start_date,
        end_date=data.end_date,
        note=clean_text(data.note) or None,
    )
    db.session.add(position)
    position.supervisions.append(
        Supervision(supervisor_id=owner.id, role=data.role, share=shares[0])
    )
    for entry, share in zip(data.supervisors, shares[1:], strict=True):
        position.supervisions.append(_new_link(entry, share))
    db.session.flush()
    record_event(actor, "create", position, before=None, after=snapshot(position))
    sync_plan(position, fresh=True)
    return position


def _check_supervisors(data: MemberData) -> None:
    for entry in data.supervisors:
        if entry.supervisor_id:
            _supervisor(entry.supervisor_id)


def _new_link(entry: SupervisorEntry, share: Decimal) -> Supervision:
    if entry.supervisor_id:
        return Supervision(supervisor_id=entry.supervisor_id, role=entry.role, share=share)
    return Supervision(external_name=clean_text(entry.external_name), role=entry.role, share=share)


def update_member(
    actor: User, position: Position, owner: User, data: MemberData, expected_version: int
) -> Position:
    """Save the edit form; raise StaleMemberError when the position changed since it was opened.

    Saving a form that changes nothing writes nothing: no new version, no audit event.
    """
    if position.version != expected_version:
        raise StaleMemberError()
    shares = check_supervision(data, owner)
    program = _program(data.program_id)
    _check_supervisors(data)
    other = _existing_person(data, position.person)
    institution = find_or_create_institution(data.institution)
    if not _differs(position, owner, data, shares, other, institution, program):
        return position
    before = snapshot(position)
    plan_changed = (position.program_id, position.start_date, position.end_date) != (
        program.id,
        data.start_date,
        data.end_date,
    )
    # Set first, so that the position's row is updated (and its version bumped) exactly once.
    position.updated_at = utcnow()
    if other is not None:
        position.person = other
    else:
        person = position.person
        person.full_name = clean_text(data.full_name)
        person.email = data.email
        person.orcid = data.orcid
    position.program = program
    position.institution = institution
    position.start_date = data.start_date
    position.end_date = data.end_date
    position.note = clean_text(data.note) or None
    try:
        _sync_supervisions(position, owner, data, shares)
        db.session.flush()
    except StaleDataError as error:
        raise StaleMemberError() from error
    record_event(actor, "update", position, before=before, after=snapshot(position))
    db.session.flush()
    if plan_changed:
        sync_plan(position)
    return position


def _wanted_links(owner: User, data: MemberData, shares: list[Decimal]) -> dict[Any, tuple]:
    wanted = [(owner.id, None, data.role, shares[0])] + [
        (entry.supervisor_id, entry.external_name, entry.role, share)
        for entry, share in zip(data.supervisors, shares[1:], strict=True)
    ]
    return {_link_key(sid, name): (sid, name, role, share) for sid, name, role, share in wanted}


def _differs(
    position: Position,
    owner: User,
    data: MemberData,
    shares: list[Decimal],
    other: Person | None,
    institution: Institution,
    program: Program,
) -> bool:
    """Whether saving `data` would change anything about the position, its person or links."""
    person = position.person
    if other is not None or (person.full_name, person.email, person.orcid) != (
        clean_text(data.full_name),
        data.email,
        data.orcid,
    ):
        return True
    if (
        position.program_id,
        position.institution,
        position.start_date,
        position.end_date,
        position.note,
    ) != (program.id, institution, data.start_date, data.end_date, clean_text(data.note) or None):
        return True
    existing = {
        _link_key(link.supervisor_id, link.external_name): (link.role, link.share)
        for link in position.supervisions
    }
    wanted = {
        key: (role, share)
        for key, (_sid, _name, role, share) in _wanted_links(owner, data, shares).items()
    }
    return existing != wanted


def _link_key(supervisor_id: int | None, external_name: str | None) -> Any:
    return supervisor_id if supervisor_id else ("external", name_key(external_name or ""))


def _sync_supervisions(
    position: Position, owner: User, data: MemberData, shares: list[Decimal]
) -> None:
    """Make the position's links match the form, keeping rows that stay (and their ids)."""
    wanted_by_key = _wanted_links(owner, data, shares)
    existing = {
        _link_key(link.supervisor_id, link.external_name): link for link in position.supervisions
    }
    # First drop links and demote principals, so that the one-principal index never sees two.
    demoted = False
    for key, link in existing.items():
        if key not in wanted_by_key:
            position.supervisions.remove(link)
            demoted = True
        elif link.role == SupervisionRole.PRINCIPAL and wanted_by_key[key][2] != link.role:
            link.role = wanted_by_key[key][2]
            demoted = True
    if demoted:
        db.session.flush()
    for key, (supervisor_id, external_name, role, share) in wanted_by_key.items():
        link = existing.get(key)
        if link is not None:
            link.role = role
            link.share = share
        else:
            entry = SupervisorEntry(supervisor_id, external_name, role)
            position.supervisions.append(_new_link(entry, share))


def move_to_alumni(
    actor: User,
    position: Position,
    end_date: date,
    reason: DepartureReason,
    outcome: str | None,
    *,
    today: date | None = None,
) -> Position:
    """Record that the member left: end date, how they left, where they went next.

    A member stays current through their end date, so it must be before `today` (default: the
    day of the call): a later departure is the edit form's expected End date.
    """
    if end_date >= (today or date.today()):
        raise MemberError(
            "end_date",
            _(
                "A member stays current through their end date, so it "
                "must be before today: for a later departure, set the "
                "expected End date on the edit form."
            ),
        )
    if end_date < position.start_date:
        raise MemberError(
            "end_date",
            _(
                "The end date cannot be before the start date (%(start)s).",
                start=position.start_date.isoformat(),
            ),
        )
    return _change_position(
        actor,
        "move-to-alumni",
        position,
        end_date=end_date,
        departure_reason=reason,
        outcome=clean_text(outcome) or None,
    )


def restore_member(actor: User, position: Position) -> Position:
    """Undo "move to alumni": the member is current again."""
    return _change_position(
        actor, "restore", position, end_date=None, departure_reason=None, outcome=None
    )


def archive_member(actor: User, position: Position) -> Position:
    """Take an entry out of every list and export; an administrator can restore it."""
    return _change_position(actor, "archive", position, archived_at=utcnow())


def restore_archived(actor: User, position: Position) -> Position:
    """Bring an archived entry back into its groups (administrators only, checked by the view)."""
    return _change_position(actor, "restore-archived", position, archived_at=None)


def _change_position(actor: User, action: str, position: Position, **values: Any) -> Position:
    """Set `values` on the position and record the change as one audit event, before and after."""
    before = snapshot(position)
    dates_before = (position.start_date, position.end_date)
    for name, value in values.items():
        setattr(position, name, value)
    db.session.flush()
    record_event(actor, action, position, before=before, after=snapshot(position))
    db.session.flush()
    if (position.start_date, position.end_date) != dates_before:
        sync_plan(position)
    return position
