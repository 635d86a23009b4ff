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

A new column of the roster is a new key in `_person_values` / `_position_values` and in the
matching snapshot; a new kind of link is a new list on `NewPosition` written next to `links`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask_babel import gettext as _
from flask_babel import ngettext

from portal.audit import record_event, record_events
from portal.database import bulk_insert, reserve_ids
from portal.extensions import db
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
from portal.models.supervision import default_shares
from portal.roster.planning import (
    ImportPlan,
    InstitutionTarget,
    LinkTarget,
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
    links: list[LinkTarget] = field(default_factory=list)


@dataclass
class ImportWrites:
    """What applying a plan does, decided row by row before anything is written."""

    # Principals of existing positions whose role changes: written first (one seat each).
    demoted: list[LinkTarget] = field(default_factory=list)
    new_institutions: list[InstitutionTarget] = field(default_factory=list)
    # Existing people of new positions whose name or email the file changes.
    changed_people: list[PersonTarget] = field(default_factory=list)
    # Links (new or changed) of positions on record: written through the ORM.
    on_existing_positions: list[LinkTarget] = field(default_factory=list)
    # Positions to create, with their people when new: written in batches.
    new_positions: list[NewPosition] = field(default_factory=list)


def decide_writes(plan: ImportPlan) -> ImportWrites:
    """Sort the plan's links into what is created and what is changed (no database access)."""
    writes = ImportWrites()
    institutions: set[int] = set()
    people: set[int] = set()
    new_positions: dict[int, NewPosition] = {}
    for link in plan.links:
        if (
            link.existing is not None
            and link.existing.role is SupervisionRole.PRINCIPAL
            and link.role != link.existing.role
        ):
            writes.demoted.append(link)
        target = link.position
        institution = target.institution
        if institution.existing is None and id(institution) not in institutions:
            institutions.add(id(institution))
            writes.new_institutions.append(institution)
        if target.existing is not None:
            writes.on_existing_positions.append(link)
            continue
        if id(target) not in new_positions:
            new_positions[id(target)] = NewPosition(target)
            writes.new_positions.append(new_positions[id(target)])
            person = target.person
            if person.existing is not None and person.changes() and id(person) not in people:
                people.add(id(person))
                writes.changed_people.append(person)
        new_positions[id(target)].links.append(link)
    return writes


def apply_import(
    plan: ImportPlan, actor: User | None, progress: Callable[[int], None] | None = None
) -> ImportSummary:
    """Write a problem-free plan in the current transaction (audit events included); no commit."""
    if not plan.ok:
        raise ValueError("An import plan with problems cannot be applied.")
    writes = decide_writes(plan)
    created = {
        "people": 0,
        "positions": len(writes.new_positions),
        "supervision links": 0,
        "institutions": len(writes.new_institutions),
    }
    actor_id = actor.id if actor is not None else None
    demoted_before = _demote_principals(writes.demoted)
    _insert_institutions(writes.new_institutions, actor_id)
    created["supervision links"] += _change_existing_records(
        writes, actor, demoted_before, progress
    )
    milestones = _NewMilestones()
    today = date.today()
    for start in range(0, len(writes.new_positions), WRITE_BATCH):
        batch = writes.new_positions[start : start + WRITE_BATCH]
        people, links = _insert_new_positions(batch, actor_id, milestones, today)
        created["people"] += people
        created["supervision links"] += links
        if progress:
            progress(links)
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


def _demote_principals(demoted: list[LinkTarget]) -> dict[int, dict]:
    """A principal leaving the seat is written before anyone else takes it: the database checks
    "one principal per position" at each statement. Returns each link's values before."""
    before = {id(link): _link_snapshot(link.existing)() for link in demoted}
    if demoted:
        for link in demoted:
            link.existing.role = link.role
        db.session.flush()
    return before


def _change_existing_records(
    writes: ImportWrites,
    actor: User | None,
    demoted_before: dict[int, dict],
    progress: Callable[[int], None] | None,
) -> int:
    """Changed people, and new or changed links of positions on record; returns the number of
    links created."""
    events: list[tuple[str, Any, dict | None, Callable[[], dict]]] = []
    created_links = 0
    touched_positions: dict[int, Position] = {}
    reshaped: dict[int, Position] = {}  # positions whose end date moves: milestones follow
    for person in writes.changed_people:
        _apply_person(person, events)
    for link in writes.on_existing_positions:
        target = link.position
        if target.instance is None and target.existing.end_date != target.end_date:
            reshaped[id(target)] = target.existing
        position = _apply_position(target, events)
        if link.existing is None:
            new_link = Supervision(supervisor_id=link.faculty.id, role=link.role, share=0)
            position.supervisions.append(new_link)
            events.append(("import-create", new_link, None, _link_snapshot(new_link)))
            created_links += 1
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
    plans: dict = {}
    for position in reshaped.values():
        sync_plan(position, fresh=False, plans=plans)
    return created_links


def _institution(target: InstitutionTarget) -> Institution:
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
    actor_id: int | None,
    milestones: _NewMilestones,
    today: date,
) -> tuple[int, int]:
    """People (when new), positions, links, audit events and milestones of a batch of new
    positions; returns how many people and links were created."""
    now = utcnow()
    new_people = list({id(entry.target.person): entry.target.person for entry in batch}.values())
    new_people = [
        person for person in new_people if person.existing is None and person.created_id is None
    ]
    person_rows = [_person_values(person, now) for person in new_people]
    for person, key in zip(new_people, _insert_with_ids(Person, person_rows), strict=True):
        person.created_id = key
    position_rows = [_position_values(entry, now) for entry in batch]
    position_ids = _insert_with_ids(Position, position_rows)
    link_rows = []
    for entry, position_id in zip(batch, position_ids, strict=True):
        entry.target.created_id = position_id
        shares = default_shares([link.role for link in entry.links])
        for link, share in zip(entry.links, shares, strict=True):
            link_rows.append(_link_values(link, position_id, share))
    link_ids = iter(_insert_with_ids(Supervision, link_rows))
    link_values = iter(link_rows)
    events = []
    first_seen = {id(person) for person in new_people}
    for entry, position_row, position_id in zip(batch, position_rows, position_ids, strict=True):
        person = entry.target.person
        if id(person) in first_seen:
            first_seen.discard(id(person))
            after = {"full_name": person.name, "email": person.email}
            events.append(("import-create", "persons", person.created_id, None, after))
        after = _position_created(entry.target, position_row)
        events.append(("import-create", "positions", position_id, None, after))
        for _link in entry.links:
            values = next(link_values)
            after = {
                "position_id": position_id,
                "supervisor_id": values["supervisor_id"],
                "role": values["role"].value,
                "share": str(values["share"]),
            }
            events.append(("import-create", "supervisions", next(link_ids), None, after))
    record_events(actor_id, events)
    milestone_rows = []
    for entry, position_id in zip(batch, position_ids, strict=True):
        for values in milestones.of(entry.target, today):
            milestone_rows.append(
                {**values, "position_id": position_id, "created_at": now, "updated_at": now}
            )
    bulk_insert(db.session, Milestone.__table__, milestone_rows)
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
        "email": person.email,
        "version": 1,
        "created_at": now,
        "updated_at": now,
    }


def _position_values(entry: NewPosition, now) -> dict:
    target = entry.target
    person = target.person
    institution = target.institution
    return {
        "person_id": person.existing.id if person.existing is not None else person.created_id,
        "program_id": target.program.id,
        "institution_id": (
            institution.existing.id if institution.existing is not None else institution.created_id
        ),
        "start_date": target.start_date,
        "end_date": target.end_date,
        "outcome": target.outcome,
        # The owning group, as a position saved with these links gets it (Position's rule).
        "owner_id": default_owner_choice(entry.links).faculty.id,
        "version": 1,
        "created_at": now,
        "updated_at": now,
    }


def _link_values(link: LinkTarget, position_id: int, share) -> dict:
    return {
        "position_id": position_id,
        "supervisor_id": link.faculty.id,
        "role": link.role,
        "share": share,
        "state": SupervisionState.CONFIRMED,
    }


def _position_created(target: PositionTarget, values: dict) -> dict:
    """The audit snapshot of a position inserted with `values` (as `_position_snapshot`)."""
    institution = target.institution
    return {
        "person_id": values["person_id"],
        "program": target.program.name,
        "institution": (
            institution.existing.name
            if institution.existing is not None
            else clean_text(institution.name)
        ),
        "start_date": target.start_date.isoformat(),
        "end_date": target.end_date.isoformat() if target.end_date else None,
        "outcome": target.outcome,
    }


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
