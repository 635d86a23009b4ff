"""Roster import, step 3: write a problem-free plan in the caller's transaction.

`apply_import(plan, actor)` writes an audit event per record created or changed; the caller
commits once, so all rows or none. It works in two steps kept apart on purpose:

- deciding (`decide_writes`): from the plan alone, without the database, which institutions,
  people, positions and supervision links the import creates and which existing records it
  changes;
- writing: records that exist already are changed through the ORM (few, and the ownership
  rules checked by planning hold for them as for a form); new records are inserted with Core
  `insert()` in batches of WRITE_BATCH, with keys reserved first
  (`portal.database.reserve_ids`, SQLite and PostgreSQL) so that each batch is one executemany,
  with the same audit events and milestones the ORM path would write, in bulk.

A position's links are those planning settled on (`PositionTarget.final_links`: the row's
faculty, the other supervisors the file names, each with its share, and on a position on record
the stored links the file does not mention). Links to other faculty accounts follow the
agreement rules (`new_link` / `record_proposals` in portal/group/operations.py): a faculty
member's import proposes them, an administrator's import confirms them (audited as confirmed on
the person's behalf), and the command line (no account) records them.

A new column of the roster is a new key in `_person_values` / `_position_values` and in the
matching snapshot.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask_babel import gettext as _
from flask_babel import ngettext

from portal.audit import record_event, record_events
from portal.collector import collector_paused
from portal.database import bulk_insert, bulk_insert_repeated, reserve_ids
from portal.extensions import db
from portal.group.operations import (
    SupervisorEntry,
    confirm_proposal,
    new_link,
    record_proposals,
)
from portal.identifiers import clean_text, name_key
from portal.milestones import new_position_milestones, plan_items, sync_plan
from portal.models import (
    Institution,
    Milestone,
    MilestonePlanItem,
    MilestoneStatus,
    Person,
    Position,
    Supervision,
    SupervisionRole,
    SupervisionState,
    User,
    utcnow,
)
from portal.models.position import default_owner_choice
from portal.roster.planning import (
    KEEP,
    FinalLink,
    ImportPlan,
    InstitutionTarget,
    PersonTarget,
    PositionTarget,
)

# ---------------------------------------------------------------------------------------------
# Step 3: writing.


@dataclass(frozen=True)
class ImportSummary:
    """What an applied import did, by row and by record, and which records it added or changed."""

    new_rows: int
    updated_rows: int
    unchanged_rows: int
    created: dict[str, int]
    position_ids: tuple[int, ...] = ()  # positions of the new and updated rows
    faculty_ids: frozenset[int] = frozenset()  # whose groups they are in

    def describe(self) -> str:
        """Plain sentences for a flash message or the command line."""
        sentences = []
        if self.new_rows:
            sentences.append(
                ngettext(
                    "Added %(num)d person to the group.",
                    "Added %(num)d people to the group.",
                    self.new_rows,
                )
            )
        if self.updated_rows:
            sentences.append(
                ngettext(
                    "Updated the record of %(num)d person.",
                    "Updated the records of %(num)d people.",
                    self.updated_rows,
                )
            )
        if self.unchanged_rows:
            sentences.append(
                ngettext(
                    "%(num)d person was already up to date.",
                    "%(num)d people were already up to date.",
                    self.unchanged_rows,
                )
            )
        if self.created.get("institutions"):
            sentences.append(
                ngettext(
                    "%(num)d new institution was added to the list.",
                    "%(num)d new institutions were added to the list.",
                    self.created["institutions"],
                )
            )
        if not sentences:
            sentences.append(_("The file held no rows: nothing changed."))
        return " ".join(sentences)


WRITE_BATCH = 1_000


@dataclass
class NewPosition:
    """A position the import creates, with its links in the order of the file."""

    target: PositionTarget
    links: list[FinalLink] = field(default_factory=list)


@dataclass
class ImportWrites:
    """What applying a plan does, decided position by position before anything is written."""

    # Principals of existing positions whose role changes: written first (one seat each).
    demoted: list[FinalLink] = field(default_factory=list)
    new_institutions: list[InstitutionTarget] = field(default_factory=list)
    # Existing people of new positions whose name, email or ORCID iD the file changes.
    changed_people: list[PersonTarget] = field(default_factory=list)
    # Positions on record (their values, and their new or changed links): through the ORM.
    on_existing_positions: list[PositionTarget] = field(default_factory=list)
    # Positions to create, with their people when new and all their links: written in batches.
    new_positions: list[NewPosition] = field(default_factory=list)


def decide_writes(plan: ImportPlan) -> ImportWrites:
    """Sort the plan's positions into what is created and what is changed (no database
    access)."""
    writes = ImportWrites()
    institutions: set[int] = set()
    people: set[int] = set()
    for target in plan.positions:
        writes.demoted += [
            item
            for item in target.final_links
            if item.existing is not None
            and item.existing.role is SupervisionRole.PRINCIPAL
            and item.role is not SupervisionRole.PRINCIPAL
        ]
        institution = target.institution  # None: unknown
        if (
            institution is not None
            and institution.existing is None
            and id(institution) not in institutions
        ):
            institutions.add(id(institution))
            writes.new_institutions.append(institution)
        if target.existing is not None:
            writes.on_existing_positions.append(target)
            continue
        writes.new_positions.append(NewPosition(target, list(target.final_links)))
        person = target.person
        if person.existing is not None and person.changes() and id(person) not in people:
            people.add(id(person))
            writes.changed_people.append(person)
    return writes


def apply_import(
    plan: ImportPlan, actor: User | None, progress: Callable[[int], None] | None = None
) -> ImportSummary:
    """Write a problem-free plan in the current transaction (audit events included); no commit."""
    if not plan.ok:
        raise ValueError("An import plan with problems cannot be applied.")
    with collector_paused():
        return _apply(plan, actor, progress)


def _apply(
    plan: ImportPlan, actor: User | None, progress: Callable[[int], None] | None
) -> ImportSummary:
    writes = decide_writes(plan)
    created = {
        "people": 0,
        "positions": len(writes.new_positions),
        "supervision links": 0,
        "institutions": len(writes.new_institutions),
    }
    actor_id = actor.id if actor is not None else None
    # A faculty member's import records new positions in their own group, whoever else the
    # file names (those links are proposals until confirmed); otherwise the default owner.
    owner_id = actor.id if actor is not None and not actor.is_admin else None
    rows_of = Counter(id(link.position) for link in plan.links)
    events: list[tuple[str, Any, dict | None, Callable[[], dict]]] = []
    _leave_principal_seats(writes.demoted, events)
    _insert_institutions(writes.new_institutions, actor_id)
    proposed: list[tuple[Position, list[Supervision]]] = []
    created["supervision links"] += _change_existing_records(
        writes, actor, events, proposed, lambda target: progress and progress(rows_of[id(target)])
    )
    milestones = _NewMilestones()
    today = date.today()
    proposed_ids: list[tuple[int, list[int]]] = []
    for start in range(0, len(writes.new_positions), WRITE_BATCH):
        batch = writes.new_positions[start : start + WRITE_BATCH]
        people, links = _insert_new_positions(
            batch, actor, owner_id, milestones, today, proposed_ids
        )
        created["people"] += people
        created["supervision links"] += links
        if progress:
            progress(sum(rows_of[id(entry.target)] for entry in batch))
    proposed += [
        (
            db.session.get(Position, position_id),
            [db.session.get(Supervision, link_id) for link_id in link_ids],
        )
        for position_id, link_ids in proposed_ids
    ]
    _agree(actor, proposed)
    changed = [
        row.link for row in plan.rows if row.action in ("new", "updated") and row.link is not None
    ]
    return ImportSummary(
        plan.count("new"),
        plan.count("updated"),
        plan.count("unchanged"),
        created,
        position_ids=tuple(dict.fromkeys(_position_id(link.position) for link in changed)),
        faculty_ids=frozenset(link.faculty.id for link in changed),
    )


def _position_id(target: PositionTarget) -> int:
    """The id of the position a row wrote or matched, however it was written."""
    if target.instance is not None:
        return target.instance.id
    if target.existing is not None:
        return target.existing.id
    return target.created_id


# ---------------------------------------------------------------------------------------------
# Existing records: through the ORM, as a form would change them.


def _leave_principal_seats(demoted: list[FinalLink], events: list) -> None:
    """A principal leaving the seat is written before anyone else takes it: the database checks
    "one principal per position" at each statement."""
    for item in demoted:
        before = _link_snapshot(item.existing)()
        item.existing.role = item.role
        item.existing.share = item.share
        events.append(("import-update", item.existing, before, _link_snapshot(item.existing)))
    if demoted:
        db.session.flush()


def _change_existing_records(
    writes: ImportWrites,
    actor: User | None,
    events: list,
    proposed: list[tuple[Position, list[Supervision]]],
    done: Callable[[PositionTarget], Any],
) -> int:
    """Changed people, and positions on record with their new or changed links; returns the
    number of links created. The proposals made are added to `proposed`."""
    created_links = 0
    reshaped: dict[int, Position] = {}  # positions whose end date moves: milestones follow
    for person in writes.changed_people:
        _apply_person(person, events)
    for target in writes.on_existing_positions:
        if target.instance is None and target.existing.end_date != target.end_date:
            reshaped[id(target)] = target.existing
        position = _apply_position(target, events)
        links, created = _apply_links(target, position, actor, events)
        created_links += created
        if links:
            proposed.append((position, links))
        done(target)
    db.session.flush()
    for action, entity, before, after in events:
        record_event(actor, action, entity, before=before, after=after())
    db.session.flush()
    plans: dict = {}
    for position in reshaped.values():
        sync_plan(position, fresh=False, plans=plans)
    return created_links


def _apply_links(
    target: PositionTarget, position: Position, actor: User | None, events: list
) -> tuple[list[Supervision], int]:
    """Give a position on record the links the plan settled on: stored links whose role, share
    or external institution change, and new ones. Returns the proposals made and the number
    of links created."""
    proposed = []
    created = 0
    for item in target.final_links:
        link = item.existing
        if link is not None:
            institution = link.external_institution
            if item.wanted is not None and link.supervisor_id is None:
                institution = item.wanted.external_institution
            if (link.role, link.share, link.external_institution) != (
                item.role,
                item.share,
                institution,
            ):
                before = _link_snapshot(link)()
                link.role, link.share, link.external_institution = (
                    item.role,
                    item.share,
                    institution,
                )
                events.append(("import-update", link, before, _link_snapshot(link)))
            continue
        link = _new_link(item, actor)
        if link.state == SupervisionState.PROPOSED:
            proposed.append(link)
        position.supervisions.append(link)
        events.append(("import-create", link, None, _link_snapshot(link)))
        created += 1
    return proposed, created


def _new_link(item: FinalLink, actor: User | None) -> Supervision:
    """A new link (not yet in the session): the row's own faculty's is theirs (the importer's,
    or an administrator's import for them); the others follow `new_link`'s agreement rule."""
    wanted = item.wanted
    if wanted.from_row:
        return Supervision(
            supervisor_id=wanted.account.id,
            role=item.role,
            share=item.share,
            state=SupervisionState.CONFIRMED,
        )
    entry = SupervisorEntry(
        supervisor_id=wanted.account.id if wanted.account else None,
        external_name=wanted.external_name,
        role=item.role,
        share=item.share,
        external_institution=wanted.external_institution,
    )
    return new_link(entry, item.share, actor)


def _agree(actor: User | None, proposed: list[tuple[Position, list[Supervision]]]) -> None:
    """Audit the proposals the import made; an administrator's are confirmed at once."""
    if actor is None:
        return
    for position, links in proposed:
        record_proposals(actor, position, links)
        if actor.is_admin:
            for link in links:  # the import's own proposals, as it just wrote them
                confirm_proposal(actor, link, None, link.position.version)
    db.session.flush()


def _institution(target: InstitutionTarget | None) -> Institution | None:
    if target is None:
        return None  # unknown
    if target.instance is None:
        target.instance = target.existing or db.session.get(Institution, target.created_id)
    return target.instance


def _apply_person(target: PersonTarget, events: list) -> Person:
    if target.instance is not None:
        return target.instance
    person = target.instance = target.existing
    if target.changes():
        before = _person_snapshot(person)()
        person.full_name = target.name
        if target.email is not None:
            person.email = target.email
        if target.orcid is not None:
            person.orcid = target.orcid
        events.append(("import-update", person, before, _person_snapshot(person)))
    return person


def _apply_position(target: PositionTarget, events: list) -> Position:
    if target.instance is not None:
        return target.instance
    _apply_person(target.person, events)
    position = target.existing
    if target.changes():
        before = _position_snapshot(position)()
        position.institution = _institution(target.institution)
        position.end_date = target.end_date
        position.outcome = target.outcome
        if target.note is not KEEP:
            position.note = target.note
        if target.departure_reason is not KEEP:
            position.departure_reason = target.departure_reason
        events.append(("import-update", position, before, _position_snapshot(position)))
    target.instance = position
    return position


# ---------------------------------------------------------------------------------------------
# New records: Core inserts in batches, with their audit events and milestones.


def _insert_institutions(targets: list[InstitutionTarget], actor_id: int | None) -> None:
    now = utcnow()
    rows = [
        {"name": clean_text(target.name), "created_at": now, "updated_at": now}
        for target in targets
    ]
    for row in rows:
        row["name_key"] = name_key(row["name"])
    ids = _insert_with_ids(Institution, rows)
    for target, key in zip(targets, ids, strict=True):
        target.created_id = key
    record_events(
        actor_id,
        (
            ("import-create", "institutions", key, None, {"name": row["name"]})
            for row, key in zip(rows, ids, strict=True)
        ),
    )


def _insert_new_positions(
    batch: list[NewPosition],
    actor: User | None,
    owner_id: int | None,
    milestones: _NewMilestones,
    today: date,
    proposed: list[tuple[int, list[int]]],
) -> tuple[int, int]:
    """People (when new), positions, links, audit events and milestones of a batch of new
    positions; returns how many people and links were created. The proposals made are added
    to `proposed` as (position id, link ids)."""
    actor_id = actor.id if actor is not None else None
    now = utcnow()
    new_people = list({id(entry.target.person): entry.target.person for entry in batch}.values())
    new_people = [
        person for person in new_people if person.existing is None and person.created_id is None
    ]
    person_rows = [_person_values(person, now) for person in new_people]
    for person, key in zip(new_people, _insert_with_ids(Person, person_rows), strict=True):
        person.created_id = key
    position_rows = [_position_values(entry, owner_id, now) for entry in batch]
    position_ids = _insert_with_ids(Position, position_rows)
    link_rows = []
    for entry, position_id in zip(batch, position_ids, strict=True):
        entry.target.created_id = position_id
        link_rows += [_link_values(item, position_id, actor) for item in entry.links]
    link_ids = iter(_insert_with_ids(Supervision, link_rows))
    link_values = iter(link_rows)
    events = []
    first_seen = {id(person) for person in new_people}
    for entry, position_row, position_id in zip(batch, position_rows, position_ids, strict=True):
        person = entry.target.person
        if id(person) in first_seen:
            first_seen.discard(id(person))
            after = {"full_name": person.name, "email": person.email, "orcid": person.orcid}
            events.append(("import-create", "persons", person.created_id, None, after))
        after = _position_created(entry.target, position_row)
        events.append(("import-create", "positions", position_id, None, after))
        proposals = []
        for _item in entry.links:
            values, link_id = next(link_values), next(link_ids)
            events.append(("import-create", "supervisions", link_id, None, _link_created(values)))
            if values["state"] == SupervisionState.PROPOSED:
                proposals.append(link_id)
        if proposals:
            proposed.append((position_id, proposals))
    record_events(actor_id, events)
    stamped: dict[int, list[dict]] = {}  # each plan's milestones with this batch's times
    milestone_rows = []
    for entry, position_id in zip(batch, position_ids, strict=True):
        plan = milestones.of(entry.target, today)
        if id(plan) not in stamped:
            stamped[id(plan)] = [
                {**values, "created_at": now, "updated_at": now} for values in plan
            ]
        milestone_rows.append((position_id, stamped[id(plan)]))
    bulk_insert_repeated(db.session, Milestone.__table__, "position_id", milestone_rows)
    return len(new_people), len(link_rows)


class _NewMilestones:
    """The milestones of new positions (`new_position_milestones`), worked out once per
    program, start and end date: an institution's roster repeats them thousands of times."""

    def __init__(self) -> None:
        self.plans: dict[int, list[MilestonePlanItem]] = {}
        self.values: dict[tuple, list[dict]] = {}

    def of(self, target: PositionTarget, today: date) -> list[dict]:
        key = (target.program.id, target.start_date, target.end_date)
        if key not in self.values:
            program_id = target.program.id
            if program_id not in self.plans:
                self.plans[program_id] = plan_items(program_id)
            self.values[key] = [
                {**values, "status": MilestoneStatus.OPEN, "version": 1}
                for values in new_position_milestones(
                    target.start_date, target.end_date, self.plans[program_id], today
                )
            ]
        return self.values[key]


def _insert_with_ids(model: type, rows: list[dict]) -> list[int]:
    """Insert `rows` into the model's table with one `executemany`; their new ids, in order."""
    if not rows:
        return []
    table = model.__table__
    ids = reserve_ids(db.session, table, len(rows))
    for row, key in zip(rows, ids, strict=True):
        row["id"] = key
    bulk_insert(db.session, table, rows)
    return ids


def _person_values(person: PersonTarget, now) -> dict:
    return {
        "full_name": person.name,
        "name_key": name_key(person.name),  # as Person's validator sets it
        "email": person.email,
        "orcid": person.orcid,
        "version": 1,
        "created_at": now,
        "updated_at": now,
    }


def _position_values(entry: NewPosition, owner_id: int | None, now) -> dict:
    target = entry.target
    person = target.person
    institution = target.institution
    if owner_id is None:
        # The owning group, as a position saved with these links gets it (Position's rule).
        accounts = [item for item in entry.links if item.wanted.account is not None]
        owner_id = default_owner_choice(accounts).wanted.account.id
    return {
        "person_id": person.existing.id if person.existing is not None else person.created_id,
        "program_id": target.program.id,
        "institution_id": (
            None
            if institution is None
            else institution.existing.id
            if institution.existing is not None
            else institution.created_id
        ),
        "start_date": target.start_date,
        "end_date": target.end_date,
        "outcome": target.outcome,
        "note": None if target.note is KEEP else target.note,
        "departure_reason": None if target.departure_reason is KEEP else target.departure_reason,
        "owner_id": owner_id,
        "version": 1,
        "created_at": now,
        "updated_at": now,
    }


def _link_values(item: FinalLink, position_id: int, actor: User | None) -> dict:
    """The columns of a new link, as `_new_link` makes it (the agreement rule included)."""
    if item.wanted.from_row:  # the row's own faculty's link, confirmed (`_new_link`)
        return {
            "position_id": position_id,
            "supervisor_id": item.wanted.account.id,
            "external_name": None,
            "external_institution": None,
            "role": item.role,
            "share": item.share,
            "state": SupervisionState.CONFIRMED,
            "proposed_by_id": None,
            "proposed_at": None,
        }
    link = _new_link(item, actor)
    return {
        "position_id": position_id,
        "supervisor_id": link.supervisor_id,
        "external_name": link.external_name,
        "external_institution": link.external_institution,
        "role": SupervisionRole(link.role),
        "share": link.share,
        "state": SupervisionState(link.state),
        "proposed_by_id": link.proposed_by_id,
        "proposed_at": link.proposed_at,
    }


def _link_created(values: dict) -> dict:
    """The audit snapshot of a link inserted with `values` (as `_link_snapshot`)."""
    return {
        "position_id": values["position_id"],
        "supervisor_id": values["supervisor_id"],
        "external_name": values["external_name"],
        "external_institution": values["external_institution"],
        "role": values["role"].value,
        "share": str(values["share"]),
        "state": values["state"].value,
    }


def _position_created(target: PositionTarget, values: dict) -> dict:
    """The audit snapshot of a position inserted with `values` (as `_position_snapshot`)."""
    institution = target.institution
    reason = values["departure_reason"]
    return {
        "person_id": values["person_id"],
        "program": target.program.name,
        "institution": (
            None
            if institution is None
            else institution.existing.name
            if institution.existing is not None
            else clean_text(institution.name)
        ),
        "start_date": target.start_date.isoformat(),
        "end_date": target.end_date.isoformat() if target.end_date else None,
        "outcome": target.outcome,
        "note": values["note"],
        "departure_reason": reason.value if reason else None,
    }


# Snapshots are taken after the flush (ids known), hence the callables.


def _person_snapshot(person: Person) -> Callable[[], dict]:
    return lambda: {"full_name": person.full_name, "email": person.email, "orcid": person.orcid}


def _position_snapshot(position: Position) -> Callable[[], dict]:
    return lambda: {
        "person_id": position.person_id,
        "program": position.program.name,
        "institution": position.institution.name if position.institution else None,
        "start_date": position.start_date.isoformat(),
        "end_date": position.end_date.isoformat() if position.end_date else None,
        "outcome": position.outcome,
        "note": position.note,
        "departure_reason": position.departure_reason.value if position.departure_reason else None,
    }


def _link_snapshot(link: Supervision) -> Callable[[], dict]:
    return lambda: {
        "position_id": link.position_id,
        "supervisor_id": link.supervisor_id,
        "external_name": link.external_name,
        "external_institution": link.external_institution,
        "role": SupervisionRole(link.role).value,
        "share": str(link.share),
        "state": SupervisionState(link.state).value if link.state else None,
    }
