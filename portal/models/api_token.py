"""Personal access tokens for the API: stored hashed, scoped, expiring, revocable."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import Enum, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Base, utcnow

if TYPE_CHECKING:
    from portal.models.user import User


class TokenScope(enum.StrEnum):
    """What a token may do: read only, or read and write."""

    READ = "read"
    WRITE = "write"


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    # SHA-256 of the secret, hex: tokens are 256 random bits, so a fast hash is enough and lets
    # each request find its token with one indexed lookup. The secret itself is never stored.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The first characters of the token, shown in lists so that a person can tell tokens apart.
    prefix: Mapped[str] = mapped_column(String(16))
    scope: Mapped[TokenScope] = mapped_column(
        Enum(
            TokenScope,
            name="token_scope",
            native_enum=False,
            length=10,
            values_callable=lambda scopes: [scope.value for scope in scopes],
            validate_strings=True,
            create_constraint=True,
        )
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()

    def is_usable(self, now: datetime) -> bool:
        """Not revoked, not expired, and its account still active."""
        if self.revoked_at is not None or not self.user.is_active:
            return False
        return self.expires_at is None or _aware(self.expires_at) > now

    def __repr__(self) -> str:
        return f"<ApiToken {self.prefix}… user={self.user_id} scope={self.scope}>"


def _aware(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes for timezone-aware columns; they were stored as UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
