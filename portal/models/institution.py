"""Institutions a position is held at, matched case- and accent-insensitively."""

from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column, validates

from portal.identifiers import NAME_KEY_LENGTH, clean_text, name_key
from portal.models.base import Base, TimestampMixin


class Institution(TimestampMixin, Base):
    __tablename__ = "institutions"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The name as first typed, accents and punctuation kept.
    name: Mapped[str] = mapped_column(String(200))
    # The matching key; unique so that "universite de montreal" cannot be a second institution.
    name_key: Mapped[str] = mapped_column(String(NAME_KEY_LENGTH), unique=True)

    @validates("name")
    def _set_key(self, _key: str, value: str) -> str:
        value = clean_text(value)
        self.name_key = name_key(value)
        return value

    def __repr__(self) -> str:
        return f"<Institution {self.name!r}>"
