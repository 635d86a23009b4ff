"""One-time keys of create forms: a key posted twice creates one record, not two."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from portal.models.base import Base, utcnow


class SubmissionKey(Base):
    """A used submission key: who posted it, what it created (table and id), and when.

    A double click or a browser retrying after a dropped connection posts the same key again;
    the second answer shows the record the first one created. Old keys expire.
    """

    __tablename__ = "submission_keys"
    __table_args__ = (UniqueConstraint("user_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    entity_type: Mapped[str | None] = mapped_column(String(50))
    entity_id: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    def __repr__(self) -> str:
        return f"<SubmissionKey {self.entity_type}:{self.entity_id} user={self.user_id}>"
