"""Writing audit events: who did what to which record, with the values before and after."""

from __future__ import annotations

from typing import Any

from portal.extensions import db
from portal.models import AuditEvent, Base, User


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
