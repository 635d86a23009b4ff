"""People who belong to research groups: one record per person, however many supervisors."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, String
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from portal.identifiers import NAME_KEY_LENGTH, name_key, normalise_email
from portal.models.base import Base, TimestampMixin

if TYPE_CHECKING:
    from portal.models.position import Position
    from portal.models.user import User


class Person(TimestampMixin, Base):
    __tablename__ = "persons"
    __table_args__ = (
        CheckConstraint("email = lower(email)", name="email_lowercase"),
        CheckConstraint("length(full_name) > 0", name="full_name_not_empty"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    full_name: Mapped[str] = mapped_column(String(200))
    # The name without case, accents or extra spaces: finds "Zoe obrien" typed for "Zoë OBrien".
    name_key: Mapped[str] = mapped_column(String(NAME_KEY_LENGTH), index=True, default="")
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    orcid: Mapped[str | None] = mapped_column(String(19), unique=True)
    archived_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(default=1)

    positions: Mapped[list[Position]] = relationship(back_populates="person")

    __mapper_args__ = {"version_id_col": version}

    @validates("full_name")
    def _set_name_key(self, _key: str, value: str) -> str:
        self.name_key = name_key(value or "")
        return value

    @validates("email")
    def _normalise_email(self, _key: str, value: str | None) -> str | None:
        return normalise_email(value) or None

    def identity_owner_ids(self, today: date) -> set[int]:
        """Accounts that keep the person's identity (name, email, ORCID iD): the owners of
        their current positions, else the owner of their latest position."""
        positions = [position for position in self.positions if position.archived_at is None]
        current = {
            position.owner_id
            for position in positions
            if position.is_current_on(today) and position.owner_id is not None
        }
        if current:
            return current
        latest = max(
            positions, key=lambda position: (position.start_date, position.id), default=None
        )
        return {latest.owner_id} if latest is not None and latest.owner_id is not None else set()

    def takes_a_position_from(self, actor: User, today: date) -> bool:
        """Whether `actor` may add a new position to this person (by form, API or import): an
        administrator, a keeper of the identity, or anyone when nobody keeps it. The position's
        owner becomes a keeper: a confirmed co-supervisor adding one would take over the name,
        email and ORCID iD that the student's group keeps."""
        keepers = self.identity_owner_ids(today)
        return actor.is_admin or not keepers or actor.id in keepers

    def in_records_of(self, user_id: int) -> bool:
        """Whether the account owns, or has a confirmed link to, one of the person's positions."""
        return any(
            position.owner_id == user_id or position.confirmed_link_of(user_id) is not None
            for position in self.positions
        )

    def __repr__(self) -> str:
        return f"<Person {self.full_name!r}>"
