"""People who belong to research groups: one record per person, however many supervisors."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, String
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from portal.models.base import Base, TimestampMixin

if TYPE_CHECKING:
    from portal.models.position import Position


class Person(TimestampMixin, Base):
    __tablename__ = "persons"
    __table_args__ = (
        CheckConstraint("email = lower(email)", name="email_lowercase"),
        CheckConstraint("length(full_name) > 0", name="full_name_not_empty"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    full_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    orcid: Mapped[str | None] = mapped_column(String(19), unique=True)
    archived_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(default=1)

    positions: Mapped[list[Position]] = relationship(back_populates="person")

    __mapper_args__ = {"version_id_col": version}

    @validates("email")
    def _normalise_email(self, _key: str, value: str | None) -> str | None:
        value = (value or "").strip().lower()
        return value or None

    def __repr__(self) -> str:
        return f"<Person {self.full_name!r}>"
