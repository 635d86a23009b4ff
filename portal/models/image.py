"""Uploaded pictures (portraits, the institution's logo), kept re-encoded in the database.

The database holds them so that every worker and every app server serves the same file.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.models.base import Base, utcnow

IMAGE_CONTENT_TYPES = ("image/jpeg", "image/png", "image/webp")


class StoredImage(Base):
    __tablename__ = "stored_images"
    __table_args__ = (
        CheckConstraint(
            "content_type IN ('image/jpeg', 'image/png', 'image/webp')", name="content_type_known"
        ),
        CheckConstraint("width > 0 AND height > 0", name="size_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # SHA-256 of `data`: part of the image's URL, so that a new picture gets a new address.
    digest: Mapped[str] = mapped_column(String(64))
    content_type: Mapped[str] = mapped_column(String(20))
    width: Mapped[int]
    height: Mapped[int]
    # Deferred: pages that only link to the picture never load its bytes.
    data: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"<StoredImage {self.id} {self.content_type} {self.width}x{self.height}>"
