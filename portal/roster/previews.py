"""Keeping a checked import on the server between preview and confirm.

The preview page carries only a random token; the rows wait in `import_previews`, bound to the
account, its current session token (rotated at logout and password change) and a nonce of the
browser session, until they are confirmed, replaced, revoked at logout, or expire.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import zlib
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from flask import session
from flask_babel import gettext as _
from sqlalchemy import delete, select

from portal.extensions import db
from portal.models import ImportPreview, User, utcnow
from portal.roster.reading import RosterFileError, SourceRow
from portal.roster.reports import ROSTER_COLUMNS

SESSION_NONCE_KEY = "_import_nonce"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _session_key() -> str:
    """A hash of this browser session's nonce (made on first use; gone when the session is)."""
    nonce = session.get(SESSION_NONCE_KEY)
    if not nonce:
        nonce = session[SESSION_NONCE_KEY] = secrets.token_urlsafe(24)
    return _digest(nonce)


def store_preview(rows: Sequence[SourceRow], actor: User, minutes: int) -> str:
    """Keep `rows` for `actor` in this session; return the token the confirm form carries."""
    now = utcnow()
    db.session.execute(
        delete(ImportPreview).where(
            (ImportPreview.expires_at < now)
            | ((ImportPreview.user_id == actor.id) & (ImportPreview.session_key == _session_key()))
        )
    )  # expired previews, and this session's earlier one (one open preview per session)
    token = secrets.token_urlsafe(32)
    payload = json.dumps(
        [[row.line, [row.cells[column] for column in ROSTER_COLUMNS]] for row in rows],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    db.session.add(
        ImportPreview(
            token_hash=_digest(token),
            user_id=actor.id,
            session_token=actor.session_token,
            session_key=_session_key(),
            created_at=now,
            expires_at=now + timedelta(minutes=minutes),
            row_count=len(rows),
            rows=zlib.compress(payload.encode(), 6),
        )
    )
    db.session.flush()
    return token


def load_preview(token: str, actor: User) -> tuple[ImportPreview, list[SourceRow]]:
    """The rows previewed with `token` by `actor` in this session; RosterFileError otherwise."""
    mismatch = RosterFileError(
        _("The confirmation does not match a preview: upload the file again.")
    )
    if not token or len(token) > 100:
        raise mismatch
    preview = db.session.scalar(
        select(ImportPreview).where(ImportPreview.token_hash == _digest(token))
    )
    if (
        preview is None
        or preview.user_id != actor.id
        or not hmac.compare_digest(preview.session_token, actor.session_token)
        or not hmac.compare_digest(preview.session_key, _digest(session.get(SESSION_NONCE_KEY, "")))
    ):
        raise mismatch
    expires_at = preview.expires_at
    if expires_at.tzinfo is None:  # SQLite hands back naive UTC
        expires_at = expires_at.replace(tzinfo=UTC)
    if expires_at < datetime.now(UTC):
        raise RosterFileError(_("The preview has expired: upload the file again."))
    cells = json.loads(zlib.decompress(preview.rows))
    rows = [
        SourceRow(line=line, cells=dict(zip(ROSTER_COLUMNS, values, strict=True)))
        for line, values in cells
    ]
    return preview, rows


def discard_preview(preview: ImportPreview) -> None:
    """The preview was confirmed: it cannot be confirmed twice."""
    db.session.delete(preview)


def revoke_previews(user: User) -> None:
    """Every open preview of `user` (at logout)."""
    db.session.execute(delete(ImportPreview).where(ImportPreview.user_id == user.id))
