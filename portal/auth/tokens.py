"""Personal access tokens: create (shown once), find by secret, list, revoke."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.orm import selectinload

from portal.audit import record_event
from portal.extensions import db
from portal.identifiers import clean_text, is_one_line_text
from portal.models import ApiToken, TokenScope, User, utcnow

TOKEN_PREFIX = "rgp_"
MAX_EXPIRY_DAYS = 3650
MAX_NAME_LENGTH = 100
# last_used_at is written at most this often per token, so that reads do not all become writes.
LAST_USE_RESOLUTION = timedelta(minutes=1)


class TokenError(ValueError):
    """A token cannot be created as asked; the message says why."""

    def __init__(self, field_name: str, message: str):
        super().__init__(message)
        self.field_name = field_name
        self.message = message


@dataclass(frozen=True)
class NewToken:
    """A token just created: the secret is in `secret` and nowhere else, ever again."""

    token: ApiToken
    secret: str


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def create_token(
    actor: User,
    user: User,
    scope: str,
    *,
    name: str | None = None,
    expires_days: int | None = None,
    now: datetime | None = None,
) -> NewToken:
    """Create a token for `user`; the returned secret is shown once and stored only hashed."""
    now = now or utcnow()
    if not user.is_active:
        raise TokenError("user", _("A deactivated account cannot have API tokens."))
    try:
        token_scope = TokenScope(scope)
    except ValueError:
        raise TokenError("scope", _("The scope must be “read” or “write”.")) from None
    if expires_days is not None and not 1 <= expires_days <= MAX_EXPIRY_DAYS:
        raise TokenError(
            "expires_days",
            _(
                "A token expires after 1 to %(max)s days (or never, when left empty).",
                max=MAX_EXPIRY_DAYS,
            ),
        )
    label = clean_text(name or "") or _("API token")
    if not is_one_line_text(label):
        raise TokenError("name", _("The name cannot contain control characters."))
    if len(label) > MAX_NAME_LENGTH:
        raise TokenError(
            "name", _("The name must be at most %(max)s characters.", max=MAX_NAME_LENGTH)
        )
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id,
        name=label,
        token_hash=hash_secret(secret),
        prefix=secret[: len(TOKEN_PREFIX) + 6],
        scope=token_scope,
        created_at=now,
        expires_at=now + timedelta(days=expires_days) if expires_days else None,
    )
    db.session.add(token)
    db.session.flush()
    record_event(
        actor,
        "create-token",
        token,
        before=None,
        after={
            "user": user.email,
            "name": label,
            "prefix": token.prefix,
            "scope": token_scope.value,
            "expires_at": token.expires_at.isoformat() if token.expires_at else None,
        },
    )
    return NewToken(token, secret)


def find_usable_token(secret: str, now: datetime | None = None) -> ApiToken | None:
    """The token with this secret if it may be used now (not revoked, expired or deactivated)."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    token = db.session.scalar(
        select(ApiToken)
        .where(ApiToken.token_hash == hash_secret(secret))
        .options(selectinload(ApiToken.user))
    )
    if token is None or not token.is_usable(now or utcnow()):
        return None
    return token


def note_use(token: ApiToken, now: datetime | None = None) -> None:
    """Record when the token was last used (to the minute, to spare the database)."""
    now = now or utcnow()
    last = token.last_used_at
    if last is not None and last.tzinfo is None:
        last = last.replace(tzinfo=now.tzinfo)
    if last is None or now - last >= LAST_USE_RESOLUTION:
        token.last_used_at = now


def list_tokens(user: User) -> list[ApiToken]:
    """The user's tokens that are not revoked, newest first."""
    return list(
        db.session.scalars(
            select(ApiToken)
            .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
            .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
        )
    )


def get_own_token(user: User, token_id: int) -> ApiToken | None:
    """The user's own unrevoked token with this id (None for anybody else's)."""
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id or token.revoked_at is not None:
        return None
    return token


def revoke_token(actor: User, token: ApiToken) -> None:
    """Revoke one token: it stops working at once."""
    if token.revoked_at is not None:
        return
    token.revoked_at = utcnow()
    db.session.flush()
    record_event(actor, "revoke-token", token, before={"revoked": False}, after={"revoked": True})


def revoke_all_tokens(user: User) -> int:
    """Revoke every token of `user` (deactivation); the number revoked."""
    result = db.session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session="fetch")
    )
    return result.rowcount or 0
