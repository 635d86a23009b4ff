"""Writes to a group: add, edit, move to alumni, restore, archive. Each audits and flushes.

Every operation takes the acting user, changes the session, writes one audit event with the
values before and after, and flushes; the view commits once and redirects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from flask_babel import format_decimal
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from portal.audit import record_event
from portal.days import is_accepted_day, outside_days_message
from portal.extensions import db
from portal.group.queries import (
    answerer_id,
    find_institution,
    find_person_by_email,
    find_person_by_orcid,
    person_is_public,
)
from portal.identifiers import clean_text, name_key, normalise_orcid
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
    SupervisionState,
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


class NotAllowedError(PermissionError):
    """The actor may read the record but not make this change (answered with 403)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class ForeignPersonError(MemberError):
    """The email or ORCID iD belongs to a person recorded by another group: the form may not
    link them (that would hand over their record); it may ask that group's owner instead."""

    def __init__(self, field_name: str, message: str, person: Person):
        super().__init__(field_name, message)
        self.person = person


# How long a proposal may wait before administrators see it (and may confirm it for someone).
STALE_PROPOSAL_AGE = timedelta(days=14)
ANSWER_MESSAGE_LENGTH = 500
OWN_NOTE_LENGTH = 300


# ---------------------------------------------------------------------------------------------
# Ownership: who may change what. Every write path (forms, import, crafted POSTs) asks these.


def may_change(actor: User, position: Position) -> bool:
    """The owner's group and administrators change a position (dates, program, supervisors...)."""
    return position.changeable_by(actor)


def require_owner(actor: User, position: Position) -> None:
    """Raise NotAllowedError unless `actor` may change the position."""
    if not may_change(actor, position):
        raise NotAllowedError(
            _(
                "This record belongs to the group of %(owner)s: only they (or an administrator) "
                "can change it. You can change your own note or end your own involvement.",
                owner=position.owner.display_name if position.owner else _("nobody"),
            )
        )


def own_link(actor: User, position: Position) -> Supervision | None:
    """The actor's confirmed link to the position, if any."""
    return position.confirmed_link_of(actor.id)


def may_edit_identity(actor: User, person: Person, today: date) -> bool:
    """Administrators, and the owners of the person's current position (Person.identity_owner_ids)."""
    return actor.is_admin or actor.id in person.identity_owner_ids(today)


def _in_actor_records(actor: User, person: Person) -> bool:
    """Whether the person is already in the actor's records (a position they own or confirmed
    a link to), or in nobody's: only then may the actor's form link a new position to them."""
    return actor.is_admin or not person.positions or person.in_records_of(actor.id)


@dataclass(frozen=True)
class SupervisorEntry:
    """Another supervisor of the position: an account (supervisor_id) or an external name."""

    supervisor_id: int | None
    external_name: str | None
    role: SupervisionRole
    share: Decimal | None = None
    external_institution: str | None = None


@dataclass
class MemberData:
    """What the add/edit form submits, already checked for shape by the form."""

    full_name: str
    program_id: int
    institution: str | None  # None or "": unknown
    role: SupervisionRole
    start_date: date
    email: str | None = None
    orcid: str | None = None
    end_date: date | None = None
    note: str | None = None
    share: Decimal | None = None
    supervisors: list[SupervisorEntry] = field(default_factory=list)
    link_existing: bool = False
    # "Same person as ...?" answered yes: the person of the owner's group to add a position to.
    same_person_id: int | None = None


# ---------------------------------------------------------------------------------------------
# Snapshots for the audit trail and for the "changed by someone else" comparison.


def _share_text(share: Decimal | None) -> str:
    return "default" if share is None else f"{Decimal(share).normalize():f} %"


def _supervision_text(
    name: str,
    role: SupervisionRole,
    share: Decimal | None,
    state: SupervisionState = SupervisionState.CONFIRMED,
    institution: str | None = None,
) -> str:
    if institution:
        name = f"{name} ({institution})"
    text = f"{name}: {english(ROLE_LABELS[SupervisionRole(role)])}, {_share_text(share)}"
    if state == SupervisionState.PROPOSED:
        return f"{text} (awaiting agreement)"
    if state == SupervisionState.DECLINED:
        return f"{text} (declined)"
    return text


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
            _supervision_text(
                link.supervisor_name, link.role, link.share, link.state, link.external_institution
            )
            for link in position.supervisions
        ],
        "owner": position.owner.display_name if position.owner else None,
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
        institution = None if entry.supervisor_id else entry.external_institution
        entries.append(_supervision_text(name, entry.role, share, institution=institution))
    return {
        **current,
        "full_name": data.full_name,
        "email": data.email,
        "orcid": data.orcid,
        "program": program_names.get(data.program_id),
        "institution": clean_text(data.institution) or None,
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


def check_day(field_name: str, day: date | None) -> None:
    """A position's day is one the portal accepts (portal/days.py): a typo such as 0024 for
    2024 is refused, and the plan's due dates counted from it stay within the calendar."""
    if day is not None and not is_accepted_day(day):
        raise MemberError(field_name, outside_days_message())


def check_end_after_start(start_date: date | None, end_date: date | None) -> None:
    """A position does not end before it starts (the database refuses it too)."""
    if start_date is not None and end_date is not None and end_date < start_date:
        raise MemberError("end_date", _("The end date cannot be before the start date."))


def check_dates(start_date: date | None, end_date: date | None) -> None:
    """A position's start and end: days the portal accepts, the end not before the start."""
    check_day("start_date", start_date)
    check_day("end_date", end_date)
    check_end_after_start(start_date, end_date)


def check_orcid(text: str | None) -> str | None:
    """The ORCID iD in its canonical form (None when empty), or MemberError when mistyped."""
    if not text:
        return None
    orcid = normalise_orcid(text)
    if orcid is None:
        raise MemberError(
            "orcid",
            _(
                "Enter a valid ORCID iD, like 0000-0002-1825-0097 "
                "(the last character is a checksum)."
            ),
        )
    return orcid


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
    if not Position(start_date=data.start_date, end_date=data.end_date).is_current_on(on):
        return []
    # A colleague named here counts once they confirm: warn now, before the proposal is sent.
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


SUPERVISING_ROLES = (SupervisionRole.PRINCIPAL, SupervisionRole.CO_SUPERVISOR)


def role_warnings(data: MemberData, position: Position | None = None) -> list[str]:
    """A supervising role on a program that does not count toward load asks for confirmation:
    such members (collaborators, visitors) are usually hosted, with no supervision role.

    On an edit, only a change of program or of roles asks (a record kept as it was does not).
    """
    program = _program(data.program_id)
    roles = [data.role] + [entry.role for entry in data.supervisors]
    if program.counts_toward_load or not any(role in SUPERVISING_ROLES for role in roles):
        return []
    if position is not None and position.program_id == program.id:
        saved = [link.role for link in position.supervisions if link.state != "declined"]
        if sorted(saved) == sorted(roles):
            return []
    return [
        _(
            "“%(program)s” does not count toward supervision load: its members are usually "
            "hosted, with the role “%(host)s”. A principal supervisor or co-supervisor here "
            "is recorded as a supervision.",
            program=program.name,
            host=ROLE_LABELS[SupervisionRole.NONE],
        )
    ]


def find_or_create_institution(name: str | None) -> Institution | None:
    """The institution matching `name` (any case or accents), created as typed when new;
    None for an empty name (the institution is unknown)."""
    name = clean_text(name)
    if not name:
        return None
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


def _duplicate(field_name: str, person: Person, actor: User) -> MemberError:
    """The email (or ORCID iD) is on record. The person's name is given only when the actor
    may see it already: in their own records, or on a published profile. A person of another
    group is never linked by the form: the offer is to ask that group's owner instead."""
    mine = _in_actor_records(actor, person)
    if mine or person_is_public(person):
        if field_name == "email":
            known = _("This email already belongs to %(name)s.", name=person.full_name)
        else:
            known = _("This ORCID iD already belongs to %(name)s.", name=person.full_name)
    elif field_name == "email":
        known = _("This email is already on record.")
    else:
        known = _("This ORCID iD is already on record.")
    if mine:
        return DuplicatePersonError(
            field_name,
            _(
                "%(known)s To add a position for that person instead of creating a duplicate, "
                "tick “Link the existing person” and save again.",
                known=known,
            ),
            person,
        )
    return ForeignPersonError(
        field_name,
        _(
            "%(known)s This person is recorded by another group. Tick “Link the existing "
            "person” and save again to ask that group to add you as a supervisor; nothing "
            "else is saved until they agree.",
            known=known,
        ),
        person,
    )


def _existing_person(data: MemberData, current: Person | None, actor: User) -> Person | None:
    """The person already on record with the submitted email or ORCID iD, other than `current`.

    Raises DuplicatePersonError (ours: offer to link) or ForeignPersonError (another group's:
    offer to ask its owner) unless the form asked to link and the person is in the actor's records.
    """
    for field_name, found in (
        ("email", find_person_by_email(data.email or "")),
        ("orcid", find_person_by_orcid(data.orcid)),
    ):
        if found is not None and found is not current:
            error = _duplicate(field_name, found, actor)
            if not data.link_existing or isinstance(error, ForeignPersonError):
                raise error
            _require_identity_keeper(actor, found)
            return found
    return None


def _require_identity_keeper(actor: User, person: Person) -> None:
    """A new position joins an existing person only as Person.takes_a_position_from says."""
    if not person.takes_a_position_from(actor, date.today()):
        raise NotAllowedError(kept_elsewhere_message(person))


def kept_elsewhere_message(person: Person) -> str:
    return _(
        "%(name)s's record is kept by the group that owns their position: ask its owner "
        "to add this position, or to transfer the record to you.",
        name=person.full_name,
    )


def _supervisor(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None or user.is_admin or not user.is_active:
        raise MemberError("supervisors", _("Choose a supervisor from the list."))
    return user


# ---------------------------------------------------------------------------------------------
# Operations.


def add_member(actor: User, owner: User, data: MemberData) -> Position:
    """Create a position in `owner`'s group (linking an existing person of the actor's records
    when asked). `owner`'s link is confirmed; every other faculty account named is proposed."""
    if not actor.is_admin and actor.id != owner.id:
        raise NotAllowedError(_("You can add members to your own group only."))
    check_dates(data.start_date, data.end_date)
    shares = check_supervision(data, owner)
    program = _program(data.program_id)
    _check_supervisors(data)
    if data.same_person_id is not None:
        person = _person_of_group(owner, data.same_person_id)
        _require_identity_keeper(actor, person)
    else:
        person = _existing_person(data, None, actor)
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
        owner_id=owner.id,
    )
    db.session.add(position)
    position.supervisions.append(
        Supervision(
            supervisor_id=owner.id,
            role=data.role,
            share=shares[0],
            state=SupervisionState.CONFIRMED,
        )
    )
    for entry, share in zip(data.supervisors, shares[1:], strict=True):
        position.supervisions.append(new_link(entry, share, actor))
    db.session.flush()
    record_event(actor, "create", position, before=None, after=snapshot(position))
    record_proposals(actor, position, position.supervisions)
    db.session.flush()
    sync_plan(position, fresh=True)
    return position


def _person_of_group(owner: User, person_id: int) -> Person:
    """The person a "same person" answer names: only someone already in the owner's group."""
    person = db.session.get(Person, person_id)
    if person is None or person.archived_at is not None or not person.in_records_of(owner.id):
        raise NotAllowedError(_("You can add a position only to a person of your own group."))
    return person


def _check_supervisors(data: MemberData, linked: frozenset[int] = frozenset()) -> None:
    """Every account named is a faculty account one may add; one already `linked` to the
    position stays on it even if deactivated since (as a re-imported export keeps it)."""
    for entry in data.supervisors:
        if entry.supervisor_id and entry.supervisor_id not in linked:
            _supervisor(entry.supervisor_id)


def new_link(entry: SupervisorEntry, share: Decimal, actor: User | None) -> Supervision:
    """A link to a faculty account other than the owner is a proposal until they confirm it.

    `actor` None is the command line (an operator, no account): its links are confirmed.
    """
    if entry.supervisor_id:
        if actor is None or entry.supervisor_id == actor.id:
            return Supervision(
                supervisor_id=entry.supervisor_id,
                role=entry.role,
                share=share,
                state=SupervisionState.CONFIRMED,
            )
        return Supervision(
            supervisor_id=entry.supervisor_id,
            role=entry.role,
            share=share,
            state=SupervisionState.PROPOSED,
            proposed_by_id=actor.id,
            proposed_at=utcnow(),
        )
    return Supervision(
        external_name=clean_text(entry.external_name),
        external_institution=clean_text(entry.external_institution) or None,
        role=entry.role,
        share=share,
        state=SupervisionState.CONFIRMED,
    )


def _link_facts(link: Supervision, **extra: Any) -> dict[str, Any]:
    """What an agreement event says about a link, in plain words (names, not ids)."""
    return {
        "supervisor": link.supervisor.display_name if link.supervisor else link.external_name,
        "supervisor_id": link.supervisor_id,
        "external_institution": link.external_institution,
        "role": SupervisionRole(link.role).value,
        "share": _share_text(link.share),
        **extra,
    }


def record_proposals(actor: User, position: Position, links) -> None:
    """Audit each link of `links` the actor has just proposed (a "propose" event)."""
    for link in links:
        if link.state == SupervisionState.PROPOSED and link.proposed_by_id == actor.id:
            record_event(actor, "propose", position, before=None, after=_link_facts(link))


def update_member(
    actor: User, position: Position, owner: User, data: MemberData, expected_version: int
) -> Position:
    """Save the edit form (the owner's group or an administrator only); raise StaleMemberError
    when the position changed since it was opened.

    Saving a form that changes nothing writes nothing: no new version, no audit event. The
    person's identity (name, email, ORCID iD) changes only for whoever keeps it
    (identity_owner_ids) and is audited on the person, where every other owner sees it.
    """
    require_owner(actor, position)
    if position.version != expected_version:
        raise StaleMemberError()
    check_dates(data.start_date, data.end_date)
    shares = check_supervision(data, owner)
    program = _program(data.program_id)
    _check_supervisors(
        data,
        frozenset(link.supervisor_id for link in position.supervisions if link.supervisor_id),
    )
    other = _existing_person(data, position.person, actor)
    institution = find_or_create_institution(data.institution)
    if not _differs(position, owner, data, shares, other, institution, program):
        return position
    person = position.person
    identity_before = _identity(person)
    identity_after = {
        "full_name": clean_text(data.full_name),
        "email": data.email,
        "orcid": data.orcid,
    }
    identity_changed = other is None and identity_before != identity_after
    if identity_changed and not may_edit_identity(actor, person, date.today()):
        raise MemberError(
            "full_name",
            _(
                "The name, email and ORCID iD are kept by the group of the person's current "
                "position; ask them to change these. Your other changes were not saved either."
            ),
        )
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
    elif identity_changed:
        person.full_name = identity_after["full_name"]
        person.email = identity_after["email"]
        person.orcid = identity_after["orcid"]
    position.program = program
    position.institution = institution
    position.start_date = data.start_date
    position.end_date = data.end_date
    position.note = clean_text(data.note) or None
    try:
        proposed = _sync_supervisions(position, owner, data, shares, actor)
        db.session.flush()
    except StaleDataError as error:
        raise StaleMemberError() from error
    record_event(actor, "update", position, before=before, after=snapshot(position))
    if identity_changed:
        record_event(
            actor, "edit-identity", person, before=identity_before, after=_identity(person)
        )
    record_proposals(actor, position, proposed)
    db.session.flush()
    if plan_changed:
        sync_plan(position)
    return position


def change_program(
    actor: User,
    position: Position,
    data: MemberData,
    from_date: date | None,
    expected_version: int,
) -> Position:
    """ "Change program from <date>": the position ends the day before and a linked new one
    starts with the same supervisors (same roles, shares and agreement), the same owner and
    person. History is kept: alumni, past loads and the conflict-of-interest list see both.

    The new stint takes the form's program, institution, end date and note; the person's
    identity is left as recorded.
    """
    require_owner(actor, position)
    if position.version != expected_version:
        raise StaleMemberError()
    program = _program(data.program_id)
    if program.id == position.program_id:
        raise MemberError(
            "program",
            _("Choose the new program, or choose “Correct a mistake” to edit in place."),
        )
    if from_date is None:
        raise MemberError("change_from", _("Enter the day the new program starts."))
    check_day("change_from", from_date)
    check_day("end_date", data.end_date)
    if from_date <= position.start_date:
        raise MemberError(
            "change_from",
            _(
                "The new program must start after the current one started (%(start)s).",
                start=position.start_date.isoformat(),
            ),
        )
    if position.end_date is not None and from_date - timedelta(days=1) > position.end_date:
        raise MemberError(
            "change_from",
            _(
                "The position ended on %(end)s: the new program can start at the latest the "
                "day after. For a later return, add a new position.",
                end=position.end_date.isoformat(),
            ),
        )
    if data.end_date is not None and data.end_date < from_date:
        raise MemberError(
            "end_date",
            _("The end date of the new program cannot be before it starts; empty it if ongoing."),
        )
    institution = find_or_create_institution(data.institution)
    before = snapshot(position)
    position.end_date = from_date - timedelta(days=1)
    position.updated_at = utcnow()
    following = Position(
        person=position.person,
        program=program,
        institution=institution,
        start_date=from_date,
        end_date=data.end_date,
        note=clean_text(data.note) or None,
        owner_id=position.owner_id,
        previous_position=position,
    )
    db.session.add(following)
    for link in position.supervisions:
        if link.state == SupervisionState.DECLINED:
            continue
        following.supervisions.append(
            Supervision(
                supervisor_id=link.supervisor_id,
                external_name=link.external_name,
                external_institution=link.external_institution,
                role=link.role,
                share=link.share,
                state=link.state,
                proposed_by_id=link.proposed_by_id,
                proposed_at=link.proposed_at,
                answered_at=link.answered_at,
                note=link.note,
            )
        )
    try:
        db.session.flush()
    except StaleDataError as error:
        raise StaleMemberError() from error
    record_event(actor, "change-program", position, before=before, after=snapshot(position))
    record_event(actor, "create", following, before=None, after=snapshot(following))
    db.session.flush()
    sync_plan(position)
    sync_plan(following, fresh=True)
    return following


def _identity(person: Person) -> dict[str, Any]:
    return {"full_name": person.full_name, "email": person.email, "orcid": person.orcid}


def _wanted_links(owner: User, data: MemberData, shares: list[Decimal]) -> dict[Any, tuple]:
    """(supervisor_id, external_name, role, share, external_institution) by supervisor key."""
    wanted = [(owner.id, None, data.role, shares[0], None)] + [
        (
            entry.supervisor_id,
            entry.external_name,
            entry.role,
            share,
            None if entry.supervisor_id else clean_text(entry.external_institution) or None,
        )
        for entry, share in zip(data.supervisors, shares[1:], strict=True)
    ]
    return {_link_key(values[0], values[1]): values for values in wanted}


def _differs(
    position: Position,
    owner: User,
    data: MemberData,
    shares: list[Decimal],
    other: Person | None,
    institution: Institution | None,
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
        _link_key(link.supervisor_id, link.external_name): (
            link.role,
            link.share,
            link.external_institution,
        )
        for link in position.supervisions
        if link.state != SupervisionState.DECLINED
    }
    wanted = {
        key: (role, share, external_institution)
        for key, (_sid, _name, role, share, external_institution) in _wanted_links(
            owner, data, shares
        ).items()
    }
    return existing != wanted


def _link_key(supervisor_id: int | None, external_name: str | None) -> Any:
    return supervisor_id if supervisor_id else ("external", name_key(external_name or ""))


def _sync_supervisions(
    position: Position, owner: User, data: MemberData, shares: list[Decimal], actor: User
) -> list[Supervision]:
    """Make the position's links match the form, keeping rows that stay (and their ids and
    agreement). A new faculty account is proposed; a declined proposal stays on record (so its
    proposer sees why) unless the form names that person again, which proposes anew.
    Returns the links proposed by this save."""
    wanted_by_key = _wanted_links(owner, data, shares)
    existing = {
        _link_key(link.supervisor_id, link.external_name): link for link in position.supervisions
    }
    # First drop links and demote principals, so that the one-principal index never sees two.
    demoted = False
    for key, link in existing.items():
        if key not in wanted_by_key:
            if link.state != SupervisionState.DECLINED:
                position.supervisions.remove(link)
                demoted = True
        elif link.role == SupervisionRole.PRINCIPAL and wanted_by_key[key][2] != link.role:
            link.role = wanted_by_key[key][2]
            demoted = True
    if demoted:
        db.session.flush()
    proposed = []
    for key, (supervisor_id, external_name, role, share, institution) in wanted_by_key.items():
        link = existing.get(key)
        if link is not None and link.state == SupervisionState.DECLINED:
            link.state = SupervisionState.PROPOSED
            link.proposed_by_id = actor.id
            link.proposed_at = utcnow()
            link.answered_at = None
            link.answer_message = None
            proposed.append(link)
        if link is not None:
            link.role = role
            link.share = share
            if link.supervisor_id is None:
                link.external_institution = institution
        else:
            entry = SupervisorEntry(supervisor_id, external_name, role, None, institution)
            link = new_link(entry, share, actor)
            if supervisor_id == owner.id:
                link.state = SupervisionState.CONFIRMED
                link.proposed_by_id = link.proposed_at = None
            position.supervisions.append(link)
            if link.state == SupervisionState.PROPOSED:
                proposed.append(link)
    return proposed


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
    require_owner(actor, position)  # before the dates: a reader learns nothing from them
    check_day("end_date", end_date)
    # Position's one rule: alumni from the day after the end date.
    if not Position(start_date=position.start_date, end_date=end_date).is_alumni_on(
        today or date.today()
    ):
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
    """Take an entry out of every list and export; its owner or an administrator can restore it."""
    return _change_position(actor, "archive", position, archived_at=utcnow())


def restore_archived(actor: User, position: Position) -> Position:
    """Bring an archived entry back into its groups (its owner's group or an administrator)."""
    return _change_position(actor, "restore-archived", position, archived_at=None)


def _change_position(actor: User, action: str, position: Position, **values: Any) -> Position:
    """Set `values` on the position and record the change as one audit event, before and after.

    Only the owner's group and administrators change a position (NotAllowedError otherwise).
    """
    require_owner(actor, position)
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


# ---------------------------------------------------------------------------------------------
# Agreement: proposals are answered by the person they name (or, for a request to join a
# record, by its owner); administrators may confirm on someone's behalf.


def may_answer(actor: User, link: Supervision) -> bool:
    return link.state == SupervisionState.PROPOSED and answerer_id(link) == actor.id


def _check_message(message: str | None) -> str | None:
    message = clean_text(message) or None
    if message is not None and len(message) > ANSWER_MESSAGE_LENGTH:
        raise MemberError(
            "message",
            _("The message must be at most %(limit)s characters.", limit=ANSWER_MESSAGE_LENGTH),
        )
    return message


def _check_terms_shown(link: Supervision, expected_version: int) -> None:
    """An answer is to the terms the answerer saw: the record's version they were shown (a
    role or a share changed since makes it a different proposal)."""
    if link.position.version != expected_version:
        raise StaleMemberError()


def confirm_proposal(
    actor: User, link: Supervision, message: str | None, expected_version: int
) -> Supervision:
    """The named person (or the record's owner, for a join request) agrees, to the record as it
    was at `expected_version`: the link counts from now on. An administrator may confirm on
    the answerer's behalf (audited as such)."""
    on_behalf = not may_answer(actor, link)
    if link.state != SupervisionState.PROPOSED or (on_behalf and not actor.is_admin):
        raise NotAllowedError(_("This request is not yours to answer, or was already answered."))
    _check_terms_shown(link, expected_version)
    message = _check_message(message)
    position = link.position
    join_request = link.supervisor_id == link.proposed_by_id
    if link.role == SupervisionRole.PRINCIPAL and any(
        other is not link
        and other.role == SupervisionRole.PRINCIPAL
        and other.state != SupervisionState.DECLINED
        for other in position.supervisions
    ):
        raise MemberError(
            "message",
            _(
                "This position already has a principal supervisor; ask its owner to change "
                "the roles first."
            ),
        )
    link.state = SupervisionState.CONFIRMED
    link.answered_at = utcnow()
    link.answer_message = message
    if join_request:
        # The requester asked without knowing the record's shares: back to the defaults.
        active = [other for other in position.supervisions if other.state != "declined"]
        for other, share in zip(
            active, default_shares([other.role for other in active]), strict=True
        ):
            other.share = share
    position.updated_at = utcnow()
    db.session.flush()
    record_event(
        actor,
        "confirm-on-behalf" if on_behalf else "confirm",
        position,
        before=None,
        after=_link_facts(link, message=message),
    )
    if link.role == SupervisionRole.PRINCIPAL and link.supervisor_id is not None:
        # The principal has just agreed: the record is theirs. Any other answer leaves the
        # owner as it is (an administrator may have transferred the record since).
        _settle_owner(actor, position)
    db.session.flush()
    return link


def decline_proposal(
    actor: User, link: Supervision, message: str | None, expected_version: int
) -> Supervision:
    """The named person (or the owner, for a join request) declines the record as it was at
    `expected_version`, with an optional message the proposer sees. The link stays on record
    as declined and never counts."""
    if not may_answer(actor, link):
        raise NotAllowedError(_("This request is not yours to answer, or was already answered."))
    _check_terms_shown(link, expected_version)
    message = _check_message(message)
    link.state = SupervisionState.DECLINED
    link.answered_at = utcnow()
    link.answer_message = message
    link.position.updated_at = utcnow()
    db.session.flush()
    record_event(
        actor, "decline", link.position, before=None, after=_link_facts(link, message=message)
    )
    db.session.flush()
    return link


def _settle_owner(actor: User, position: Position) -> None:
    """The owner is the principal's account once they have confirmed; record the move."""
    principal = next(
        (
            link
            for link in position.supervisions
            if link.role == SupervisionRole.PRINCIPAL
            and link.supervisor_id is not None
            and link.state == SupervisionState.CONFIRMED
        ),
        None,
    )
    if principal is not None and principal.supervisor_id != position.owner_id:
        _move_owner(actor, position, principal.supervisor)


def _move_owner(actor: User, position: Position, new_owner: User) -> None:
    before = {"owner": position.owner.display_name if position.owner else None}
    position.owner = new_owner
    position.updated_at = utcnow()
    db.session.flush()
    record_event(
        actor, "transfer-owner", position, before=before, after={"owner": new_owner.display_name}
    )


def transfer_owner(actor: User, position: Position, new_owner_id: int) -> Position:
    """Administrators: hand the record to another of its confirmed faculty supervisors."""
    if not actor.is_admin:
        raise NotAllowedError(_("Only an administrator can transfer a record to another group."))
    link = next(
        (
            link
            for link in position.supervisions
            if link.supervisor_id == new_owner_id and link.state == SupervisionState.CONFIRMED
        ),
        None,
    )
    if link is None:
        raise MemberError(
            "owner", _("Choose one of the record's confirmed supervisors as its new owner.")
        )
    if position.owner_id != new_owner_id:
        _move_owner(actor, position, link.supervisor)
        db.session.flush()
    return position


def request_to_join(
    actor: User, person: Person, role: SupervisionRole, message: str | None = None
) -> Supervision:
    """Ask the owner of another group's record to add the actor as a supervisor of the
    person's latest position. Nothing else is written; the owner confirms or declines."""
    message = _check_message(message)
    positions = [
        position
        for position in person.positions
        if position.archived_at is None and position.owner_id not in (None, actor.id)
    ]
    if not positions:
        raise MemberError(
            "email", _("This person is recorded by another group; ask them to add you.")
        )
    position = max(positions, key=lambda position: (position.start_date, position.id))
    existing = next(
        (link for link in position.supervisions if link.supervisor_id == actor.id), None
    )
    if existing is not None and existing.state != SupervisionState.DECLINED:
        return existing  # already asked (or already a supervisor): nothing new to send
    if role == SupervisionRole.PRINCIPAL:
        role = SupervisionRole.CO_SUPERVISOR  # the principal's seat is the owner's to give
    if existing is None:
        existing = Supervision(supervisor_id=actor.id, role=role, share=Decimal("0.00"))
        position.supervisions.append(existing)
    existing.role = role
    existing.state = SupervisionState.PROPOSED
    existing.proposed_by_id = actor.id
    existing.proposed_at = utcnow()
    existing.answered_at = None
    existing.answer_message = message
    db.session.flush()
    record_event(actor, "request-join", position, before=None, after=_link_facts(existing))
    db.session.flush()
    return existing


# ---------------------------------------------------------------------------------------------
# What a confirmed co-supervisor or host may do on a record they do not own.


def set_own_note(actor: User, position: Position, note: str | None) -> Supervision:
    """Change the actor's own note on their confirmed link to the position."""
    link = own_link(actor, position)
    if link is None:
        raise NotAllowedError(_("You are not a confirmed supervisor of this member."))
    note = clean_text(note) or None
    if note is not None and len(note) > OWN_NOTE_LENGTH:
        raise MemberError(
            "note", _("The note must be at most %(limit)s characters.", limit=OWN_NOTE_LENGTH)
        )
    if note == link.note:
        return link
    before = {"own_note": link.note, "supervisor": actor.display_name}
    link.note = note
    db.session.flush()
    record_event(
        actor,
        "own-note",
        position,
        before=before,
        after={"own_note": note, "supervisor": actor.display_name},
    )
    db.session.flush()
    return link


def end_involvement(actor: User, position: Position, message: str | None = None) -> None:
    """ "I no longer co-supervise": the actor's link ends; the owner sees it in the record's
    history and among their notices. The owner cannot leave their own record this way."""
    link = own_link(actor, position)
    if link is None:
        raise NotAllowedError(_("You are not a confirmed supervisor of this member."))
    if position.owner_id == actor.id:
        raise NotAllowedError(
            _(
                "This record belongs to your group: move the member to alumni, archive the "
                "entry, or ask an administrator to transfer it to another supervisor."
            )
        )
    message = _check_message(message)
    facts = _link_facts(link, message=message)
    position.supervisions.remove(link)
    position.updated_at = utcnow()
    db.session.flush()
    record_event(actor, "leave", position, before=None, after=facts)
    db.session.flush()
