"""Positions: one stint of a person in a program at an institution, with its dates."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, Enum, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Base, TimestampMixin

if TYPE_CHECKING:
    from portal.models.institution import Institution
    from portal.models.person import Person
    from portal.models.program import Program
    from portal.models.supervision import Supervision


class DepartureReason(enum.StrEnum):
    """How a person left the group."""

    GRADUATED = "graduated"
    LEFT_WITHOUT_DEGREE = "left-without-degree"
    TRANSFERRED = "transferred"
    COLLABORATION_ENDED = "collaboration-ended"


class Position(TimestampMixin, Base):
    __tablename__ = "positions"
    __table_args__ = (
        CheckConstraint("end_date IS NULL OR end_date >= start_date", name="end_not_before_start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(
        ForeignKey("persons.id", ondelete="RESTRICT"), index=True
    )
    program_id: Mapped[int] = mapped_column(
        ForeignKey("programs.id", ondelete="RESTRICT"), index=True
    )
    institution_id: Mapped[int] = mapped_column(
        ForeignKey("institutions.id", ondelete="RESTRICT"), index=True
    )
    start_date: Mapped[date]
    end_date: Mapped[date | None]
    departure_reason: Mapped[DepartureReason | None] = mapped_column(
        Enum(
            DepartureReason,
            name="departure_reason",
            native_enum=False,
            length=30,
            values_callable=lambda reasons: [reason.value for reason in reasons],
            validate_strings=True,
            create_constraint=True,
        )
    )
    outcome: Mapped[str | None] = mapped_column(String(300))
    note: Mapped[str | None] = mapped_column(String(300))
    archived_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(default=1)

    person: Mapped[Person] = relationship(back_populates="positions")
    program: Mapped[Program] = relationship()
    institution: Mapped[Institution] = relationship()
    supervisions: Mapped[list[Supervision]] = relationship(
        back_populates="position", cascade="all, delete-orphan", order_by="Supervision.id"
    )

    __mapper_args__ = {"version_id_col": version}

    def is_current(self, on: date) -> bool:
        """Current = no end date, or an end date not yet passed on the given day."""
        return self.end_date is None or self.end_date >= on

    def __repr__(self) -> str:
        return f"<Position {self.id} person={self.person_id}>"
