"""The institution's branding: its display name, logo and accent colour (one row, or none)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Base, utcnow
from portal.models.image import StoredImage

BRANDING_ROW_ID = 1


class Branding(Base):
    __tablename__ = "branding"
    __table_args__ = (
        CheckConstraint(f"id = {BRANDING_ROW_ID}", name="single_row"),
        CheckConstraint(
            "accent_colour IS NULL OR length(accent_colour) = 7", name="accent_colour_hex"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True, default=BRANDING_ROW_ID)
    display_name: Mapped[str | None] = mapped_column(String(200))
    # "#1f5fa8": lowercase, checked for contrast with white text before it is saved.
    accent_colour: Mapped[str | None] = mapped_column(String(7))
    logo_id: Mapped[int | None] = mapped_column(ForeignKey("stored_images.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    logo: Mapped[StoredImage | None] = relationship()
