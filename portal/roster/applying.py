"""Roster import, step 3: write a problem-free plan in the caller's transaction.

`apply_import(plan, actor)` writes an audit event per record created or changed; the caller
commits once, so all rows or none.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from flask_babel import ngettext

from portal.audit import record_event
from portal.extensions import db
from portal.group.operations import (
    SupervisorEntry,
    confirm_proposal,
    new_link,
    record_proposals,
)
from portal.milestones import sync_plan
from portal.models import (
    Institution,
    Person,
    Position,
    Supervision,
    SupervisionRole,
    SupervisionState,
    User,
)
from portal.roster.planning import (
    KEEP,
    ImportPlan,
    InstitutionTarget,
    PersonTarget,
    PositionTarget,
)

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
    """Write a problem-free plan in the current transaction (audit events included); no commit.

    Links to other faculty accounts follow the agreement rules (portal/group/operations.py):
    a faculty member's import proposes them, an administrator's import confirms them (audited
    as confirmed on the person's behalf), and the command line (no account) records them.
    """
    if not plan.ok:
        raise ValueError("An import plan with problems cannot be applied.")
    events: list[tuple[str, Any, dict | None, Callable[[], dict]]] = []
    created = {"people": 0, "positions": 0, "supervision links": 0, "institutions": 0}
    targets = plan.positions
    # A faculty member's import records new positions in their own group, whoever else the
    # file names (those links are proposals until confirmed); otherwise the default owner.
    owner_id = actor.id if actor is not None and not actor.is_admin else None
    rows_of = Counter(id(link.position) for link in plan.links)
    _leave_principal_seats(targets, events)
    # Positions whose milestones follow the import: (position, just created).
    reshaped: list[tuple[Position, bool]] = []
    proposed: list[tuple[Position, list[Supervision]]] = []
    for target in targets:
        fresh = target.existing is None
        moved = not fresh and target.existing.end_date != target.end_date
        position = _apply_position(target, events, created, owner_id)
        if fresh or moved:
            reshaped.append((position, fresh))
        proposed.append((position, _apply_links(target, position, actor, events, created)))
        if progress:
            progress(rows_of[id(target)])
    db.session.flush()
    for action, entity, before, after in events:
        record_event(actor, action, entity, before=before, after=after())
    for position, links in proposed:
        if actor is None or not links:
            continue
        record_proposals(actor, position, links)
        if actor.is_admin:
            for link in links:
                confirm_proposal(actor, link)
    db.session.flush()
    # New positions get their program's milestones; a changed end date reshapes the plan.
    plans: dict = {}
    for position, fresh in reshaped:
        sync_plan(position, fresh=fresh, plans=plans)
    return ImportSummary(plan.count("new"), plan.count("updated"), plan.count("unchanged"), created)


def _leave_principal_seats(targets: list[PositionTarget], events: list) -> None:
    """A principal leaving the seat is written before anyone else takes it: the database
    checks "one principal per position" at each statement."""
    leaving = [
        item
        for target in targets
        for item in target.final_links
        if item.existing is not None
        and item.existing.role is SupervisionRole.PRINCIPAL
        and item.role is not SupervisionRole.PRINCIPAL
    ]
    for item in leaving:
        before = _link_snapshot(item.existing)()
        item.existing.role = item.role
        item.existing.share = item.share
        events.append(("import-update", item.existing, before, _link_snapshot(item.existing)))
    if leaving:
        db.session.flush()


def _apply_links(
    target: PositionTarget, position: Position, actor: User | None, events: list, created: dict
) -> list[Supervision]:
    """Give the position the links the plan settled on; returns the proposals it made."""
    proposed = []
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
        wanted = item.wanted
        if wanted.from_row:
            # The row's own faculty: their link is theirs (the importer's, or an administrator's
            # import for them).
            link = Supervision(supervisor_id=wanted.account.id, role=item.role, share=item.share)
        else:
            entry = SupervisorEntry(
                supervisor_id=wanted.account.id if wanted.account else None,
                external_name=wanted.external_name,
                role=item.role,
                share=item.share,
                external_institution=wanted.external_institution,
            )
            link = new_link(entry, item.share, actor)
            if link.state == SupervisionState.PROPOSED:
                proposed.append(link)
        position.supervisions.append(link)
        events.append(("import-create", link, None, _link_snapshot(link)))
        created["supervision links"] += 1
    return proposed


def _apply_institution(
    target: InstitutionTarget | None, events: list, created: dict
) -> Institution | None:
    if target is None:
        return None  # unknown
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
        target.instance = Person(full_name=target.name, email=target.email, orcid=target.orcid)
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
        if target.orcid is not None:
            person.orcid = target.orcid
        events.append(("import-update", person, before, _person_snapshot(person)))
    return person


def _apply_position(
    target: PositionTarget, events: list, created: dict, owner_id: int | None
) -> Position:
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
            note=None if target.note is KEEP else target.note,
            departure_reason=None if target.departure_reason is KEEP else target.departure_reason,
        )
        if owner_id is not None:
            position.owner_id = owner_id
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
            if target.note is not KEEP:
                position.note = target.note
            if target.departure_reason is not KEEP:
                position.departure_reason = target.departure_reason
            events.append(("import-update", position, before, _position_snapshot(position)))
    target.instance = position
    return position


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
