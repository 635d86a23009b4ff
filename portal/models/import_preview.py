"""A checked roster import waiting for its confirmation: kept on the server, not in the page."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.models.base import Base, utcnow


class ImportPreview(Base):
    """The rows of one previewed upload, bound to the account and the browser session.

    The confirmation form carries only a random token (its SHA-256 is stored); the preview
    also records the account's session token and a hash of the session's own nonce, so that it
    dies with the session: at logout, at a password change, or when it expires.
    """

    __tablename__ = "import_previews"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    session_token: Mapped[str] = mapped_column(String(64))
    session_key: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    row_count: Mapped[int]
    rows: Mapped[bytes] = mapped_column(LargeBinary)  # zlib-compressed JSON

    def __repr__(self) -> str:
        return f"<ImportPreview {self.id} user={self.user_id} rows={self.row_count}>"
