"""One record per submission: the one-time key every create form carries, kept once used.

A double click, or a browser retrying a POST after a dropped connection, sends the same key
again. The first request claims the key (a row bound to the account) in its own transaction
and records what it created; a later request with the key finds that record and shows it.
Two requests at the same moment both try to claim: the database's unique key lets one win,
the other's work is rolled back and it shows the winner's record.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import timedelta
from typing import TypeVar

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from portal.extensions import db
from portal.models import SubmissionKey, User, utcnow

KEY_LIFETIME = timedelta(days=2)  # far longer than any retry; older keys are removed
KEY_LENGTH = 64

Created = TypeVar("Created")


class AlreadySubmittedError(RuntimeError):
    """Another request with the same key claimed it first; roll back and show its record."""


def new_submission_key() -> str:
    """A fresh random key for a rendered create form."""
    return secrets.token_urlsafe(24)


def _usable(key: str | None) -> str | None:
    key = (key or "").strip()
    return key if 0 < len(key) <= KEY_LENGTH else None


def earlier_record_id(actor: User, key: str | None, table: str) -> int | None:
    """The id of the `table` record an earlier post of this key (same account) created."""
    key = _usable(key)
    if key is None:
        return None
    return db.session.scalar(
        select(SubmissionKey.entity_id).where(
            SubmissionKey.user_id == actor.id,
            SubmissionKey.key == key,
            SubmissionKey.entity_type == table,
            SubmissionKey.created_at >= utcnow() - KEY_LIFETIME,
        )
    )


def create_once(actor: User, key: str | None, create: Callable[[], Created]) -> Created:
    """Run `create` (an operation returning the new record) under the form's one-time key.

    Raises AlreadySubmittedError when another request holds the key: the caller rolls back and
    shows that request's record (earlier_record_id)."""
    claim = claim_submission(actor, key)
    record = create()
    record_created(claim, record)
    return record


def claim_submission(actor: User, key: str | None) -> SubmissionKey | None:
    """Claim the key before creating anything (None for a form without a key). Raises
    AlreadySubmittedError when a concurrent request holds it; removes expired keys."""
    key = _usable(key)
    if key is None:
        return None
    db.session.execute(
        delete(SubmissionKey).where(SubmissionKey.created_at < utcnow() - KEY_LIFETIME)
    )
    claim = SubmissionKey(key=key, user_id=actor.id)
    try:
        with db.session.begin_nested():
            db.session.add(claim)
    except IntegrityError as error:
        raise AlreadySubmittedError() from error
    return claim


def record_created(claim: SubmissionKey | None, record) -> None:
    """Note what the claimed key created (the view commits both together)."""
    if claim is None:
        return
    claim.entity_type = record.__tablename__
    claim.entity_id = record.id
    db.session.flush()
