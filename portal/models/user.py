"""Login accounts: faculty members and administrators, with their public profile fields."""

from __future__ import annotations

import secrets
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from flask_login import UserMixin
from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Numeric, String, Text, or_
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates
from werkzeug.security import check_password_hash, generate_password_hash

from portal.identifiers import normalise_email
from portal.models.base import Base, TimestampMixin
from portal.models.image import StoredImage
from portal.sql_text import text_lower

if TYPE_CHECKING:
    from portal.models.supervision import Supervision

PASSWORD_HASH_METHOD = "scrypt"


def new_session_token() -> str:
    """A fresh random token; rotating it revokes every session cookie issued before."""
    return secrets.token_urlsafe(24)


class User(UserMixin, TimestampMixin, Base):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("email = lower(email)", name="email_lowercase"),
        # A unique index rather than a constraint: SQLite can add one to an existing table.
        Index("uq_users_calendar_feed_hash", "calendar_feed_hash", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    is_admin: Mapped[bool] = mapped_column(default=False)
    is_active: Mapped[bool] = mapped_column(default=True)
    session_token: Mapped[str] = mapped_column(String(64), default=new_session_token)
    locale: Mapped[str | None] = mapped_column(String(10))
    last_login_at: Mapped[datetime | None]
    # Wrong passwords given for this account since its last successful login: shown to the
    # owner at that next login, then reset.
    failed_logins: Mapped[int] = mapped_column(default=0, server_default="0")
    last_failed_login_at: Mapped[datetime | None]

    # Public profile (published only when the faculty member opts in).
    slug: Mapped[str | None] = mapped_column(String(120), unique=True)
    title: Mapped[str | None] = mapped_column(String(300))
    department: Mapped[str | None] = mapped_column(String(200))
    biography: Mapped[str | None] = mapped_column(Text)
    research_topics: Mapped[list[str]] = mapped_column(JSON, default=list)
    profile_published: Mapped[bool] = mapped_column(default=False)
    portrait_id: Mapped[int | None] = mapped_column(
        ForeignKey("stored_images.id", ondelete="SET NULL")
    )
    portrait: Mapped[StoredImage | None] = relationship(foreign_keys=[portrait_id])

    # Milestone reminders: the digest can be turned off on the profile page.
    milestone_digest: Mapped[bool] = mapped_column(default=True)
    # SHA-256 of the secret calendar feed token (the token itself is shown once, never stored).
    calendar_feed_hash: Mapped[str | None] = mapped_column(String(64))

    # Per-person exceptions to the institution's supervision caps (empty = the default cap).
    principal_cap: Mapped[int | None]
    weighted_cap: Mapped[Decimal | None] = mapped_column(Numeric(7, 2))

    supervisions: Mapped[list[Supervision]] = relationship(
        back_populates="supervisor", foreign_keys="Supervision.supervisor_id"
    )

    @validates("email")
    def _normalise_email(self, _key: str, value: str) -> str:
        return normalise_email(value)

    def set_password(self, password: str, method: str = PASSWORD_HASH_METHOD) -> None:
        """Hash and store a new password, and revoke the sessions opened with the old one."""
        self.password_hash = generate_password_hash(password, method=method)
        self.session_token = new_session_token()

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    @classmethod
    def matching(cls, text: str):
        """SQL condition: the account's name or email contains `text`, whatever its case (the
        one rule of every "find an account" field). An empty text matches every account."""
        needle = text.strip().lower()
        return or_(
            text_lower(cls.display_name).contains(needle, autoescape=True),
            text_lower(cls.email).contains(needle, autoescape=True),
        )

    def get_id(self) -> str:
        # Flask-Login stores this in the session and remember-me cookies; the token part lets
        # logout, password change and deactivation invalidate every copy of a cookie.
        return f"{self.id}:{self.session_token}"

    def revoke_sessions(self) -> None:
        self.session_token = new_session_token()

    def __repr__(self) -> str:
        return f"<User {self.email}>"
