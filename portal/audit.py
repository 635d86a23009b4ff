"""Writing audit events: who did what to which record, with the values before and after."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from portal.database import bulk_insert_columns, json_text
from portal.extensions import db
from portal.models import AuditEvent, Base, User, utcnow

NULL_TEXT = json_text(None)  # `before` of a creation: the JSON null, as the column writes None
EventValues = tuple[str, str, int, dict[str, Any] | None, dict[str, Any] | None]


def record_event(
    actor: User | None,
    action: str,
    entity: Base,
    *,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> AuditEvent:
    """Add an audit event for `entity` (which must already have an id) to the session."""
    event = AuditEvent(
        actor_id=actor.id if actor is not None else None,
        action=action,
        entity_type=entity.__tablename__,
        entity_id=getattr(entity, "id", None),
        before=before,
        after=after,
    )
    db.session.add(event)
    return event


def record_events(actor_id: int | None, events: Iterable[EventValues]) -> None:
    """Write many audit events at once with Core (a bulk import's): each is what `record_event`
    writes for (action, table name of the entity, entity id, before, after). The values before
    and after are written as the JSON columns write them (`json_text`)."""
    events = list(events)
    if not events:
        return
    now = utcnow()
    columns = {
        "occurred_at": [now] * len(events),
        "actor_id": [actor_id] * len(events),
        "action": [event[0] for event in events],
        "entity_type": [event[1] for event in events],
        "entity_id": [event[2] for event in events],
        "before": [NULL_TEXT if event[3] is None else json_text(event[3]) for event in events],
        "after": [NULL_TEXT if event[4] is None else json_text(event[4]) for event in events],
    }
    bulk_insert_columns(db.session, AuditEvent.__table__, columns, stored=("before", "after"))
