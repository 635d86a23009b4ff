"""Roster import, step 3: write a problem-free plan in the caller's transaction.

`apply_import(plan, actor)` writes an audit event per record created or changed; the caller
commits once, so all rows or none.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from flask_babel import ngettext

from portal.audit import record_event
from portal.extensions import db
from portal.milestones import sync_plan
from portal.models import Institution, Person, Position, Supervision, SupervisionRole, User
from portal.models.supervision import default_shares
from portal.roster.planning import ImportPlan, InstitutionTarget, PersonTarget, PositionTarget

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
    # Positions whose milestones follow the import: (position, just created).
    reshaped: dict[int, tuple[Position, bool]] = {}
    for link in plan.links:
        target = link.position
        if target.instance is None:
            existing = target.existing
            if existing is None:
                reshaped[id(target)] = (None, True)
            elif existing.end_date != target.end_date:
                reshaped[id(target)] = (None, False)
        position = _apply_position(target, events, created)
        if id(target) in reshaped and reshaped[id(target)][0] is None:
            reshaped[id(target)] = (position, reshaped[id(target)][1])
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
    # New positions get their program's milestones; a changed end date reshapes the plan.
    plans: dict = {}
    for position, fresh in reshaped.values():
        sync_plan(position, fresh=fresh, plans=plans)
    changed = [
        row.link for row in plan.rows if row.action in ("new", "updated") and row.link is not None
    ]
    return ImportSummary(
        plan.count("new"),
        plan.count("updated"),
        plan.count("unchanged"),
        created,
        position_ids=tuple(dict.fromkeys(link.position.instance.id for link in changed)),
        faculty_ids=frozenset(link.faculty.id for link in changed),
    )


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
