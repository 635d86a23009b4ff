"""Publications listed on a faculty member's public profile, with their authors in order."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Base, TimestampMixin

if TYPE_CHECKING:
    from portal.models.person import Person


class Publication(TimestampMixin, Base):
    __tablename__ = "publications"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(500))
    year: Mapped[int | None]
    venue: Mapped[str | None] = mapped_column(String(300))
    url: Mapped[str | None] = mapped_column(String(500))

    authors: Mapped[list[PublicationAuthor]] = relationship(
        back_populates="publication",
        cascade="all, delete-orphan",
        order_by="PublicationAuthor.position",
    )


class PublicationAuthor(Base):
    __tablename__ = "publication_authors"
    __table_args__ = (UniqueConstraint("publication_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    publication_id: Mapped[int] = mapped_column(ForeignKey("publications.id", ondelete="CASCADE"))
    position: Mapped[int]
    name: Mapped[str] = mapped_column(String(200))
    orcid: Mapped[str | None] = mapped_column(String(19))
    # Set when the author is a member of the faculty's group (matched by name or ORCID).
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id", ondelete="SET NULL"))

    publication: Mapped[Publication] = relationship(back_populates="authors")
    person: Mapped[Person | None] = relationship()
