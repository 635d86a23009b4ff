"""Positions: one stint of a person in a program at an institution, with its dates."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy import CheckConstraint, Enum, ForeignKey, String, and_, case, event, or_
from sqlalchemy.ext.hybrid import hybrid_method
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from portal.models.base import Base, TimestampMixin

if TYPE_CHECKING:
    from portal.models.institution import Institution
    from portal.models.person import Person
    from portal.models.program import Program
    from portal.models.supervision import Supervision
    from portal.models.user import User

# A supervision link, or an import's planned link: anything with a `role`.
Link = TypeVar("Link")


class DepartureReason(enum.StrEnum):
    """How a person left the group."""

    GRADUATED = "graduated"
    LEFT_WITHOUT_DEGREE = "left-without-degree"
    TRANSFERRED = "transferred"
    COLLABORATION_ENDED = "collaboration-ended"


class PositionStatus(enum.StrEnum):
    """Where a position stands on a given day: the one meaning of current, incoming and alumni."""

    CURRENT = "current"
    INCOMING = "incoming"
    ALUMNI = "alumni"


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
    # None: the institution is unknown (the institute page lists visitors without one).
    institution_id: Mapped[int | None] = mapped_column(
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
    # The owning group: the principal supervisor's account, else the faculty member who
    # recorded the position. Only the owner (and administrators) change the position.
    owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="RESTRICT"), index=True
    )
    version: Mapped[int] = mapped_column(default=1)
    # The stint this one follows after a change of program (Master's -> PhD): history is kept.
    previous_position_id: Mapped[int | None] = mapped_column(
        ForeignKey("positions.id", ondelete="SET NULL"), index=True
    )

    person: Mapped[Person] = relationship(back_populates="positions")
    program: Mapped[Program] = relationship()
    institution: Mapped[Institution | None] = relationship()
    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id])
    previous_position: Mapped[Position | None] = relationship(
        remote_side=[id], foreign_keys=[previous_position_id]
    )
    supervisions: Mapped[list[Supervision]] = relationship(
        back_populates="position", cascade="all, delete-orphan", order_by="Supervision.id"
    )

    __mapper_args__ = {"version_id_col": version}

    # The one definition of current / incoming / alumni on a day, in Python and in SQL. Every
    # list, export, report and public page uses these; nothing else compares dates to "today".

    @hybrid_method
    def is_current_on(self, day: date) -> bool:
        """Started on or before `day` and not ended before it (the end date itself is current)."""
        return self.start_date <= day and (self.end_date is None or self.end_date >= day)

    @is_current_on.expression
    def is_current_on(cls, day: date):  # noqa: N805 - the SQL expression receives the class
        return and_(cls.start_date <= day, or_(cls.end_date.is_(None), cls.end_date >= day))

    @hybrid_method
    def is_incoming_on(self, day: date) -> bool:
        """Starts after `day`."""
        return self.start_date > day

    @is_incoming_on.expression
    def is_incoming_on(cls, day: date):  # noqa: N805 - the SQL expression receives the class
        return cls.start_date > day

    @hybrid_method
    def is_alumni_on(self, day: date) -> bool:
        """Ended before `day`."""
        return self.end_date is not None and self.end_date < day

    @is_alumni_on.expression
    def is_alumni_on(cls, day: date):  # noqa: N805 - the SQL expression receives the class
        return and_(cls.end_date.is_not(None), cls.end_date < day)

    @hybrid_method
    def status_on(self, day: date) -> PositionStatus:
        """current, incoming or alumni on `day`."""
        if self.is_alumni_on(day):
            return PositionStatus.ALUMNI
        if self.is_incoming_on(day):
            return PositionStatus.INCOMING
        return PositionStatus.CURRENT

    @status_on.expression
    def status_on(cls, day: date):  # noqa: N805 - the SQL expression receives the class
        return case(
            (cls.is_alumni_on(day), PositionStatus.ALUMNI.value),
            (cls.is_incoming_on(day), PositionStatus.INCOMING.value),
            else_=PositionStatus.CURRENT.value,
        )

    # Ownership, the rule every write path asks (forms, import, API): the owner's group and
    # administrators change a position; its confirmed supervisors read it.

    def confirmed_link_of(self, user_id: int) -> Supervision | None:
        """The account's confirmed link to this position, if any."""
        return next(
            (
                link
                for link in self.supervisions
                if link.supervisor_id == user_id and link.state == "confirmed"
            ),
            None,
        )

    def changeable_by(self, user: User) -> bool:
        """The owner's group and administrators change the position."""
        return user.is_admin or (self.owner_id is not None and self.owner_id == user.id)

    def readable_by(self, user: User) -> bool:
        """Administrators, the owner and confirmed supervisors read it (a proposal does not)."""
        return self.changeable_by(user) or self.confirmed_link_of(user.id) is not None

    def default_owner_link(self) -> Supervision | None:
        """The link whose account owns the position by default: the principal's account, else
        the earliest-linked faculty account (None when only external supervisors are linked)."""
        return default_owner_choice(
            [
                link
                for link in self.supervisions
                if link.supervisor_id is not None or link.supervisor is not None
            ]
        )

    def __repr__(self) -> str:
        return f"<Position {self.id} person={self.person_id}>"


def default_owner_choice(account_links: Sequence[Link]) -> Link | None:
    """Of a position's links to accounts, in the order they were made, the one whose account
    owns it by default: the principal's, else the earliest (None without any)."""
    principal = [link for link in account_links if link.role == "principal"]
    return (principal or list(account_links) or [None])[0]


@event.listens_for(Session, "before_flush")
def _give_new_positions_an_owner(session: Session, _context, _instances) -> None:
    """A position saved without an owner (bulk loaders, fixtures, the demo) gets the default one.

    The operations set the owner explicitly (who recorded it); this only fills a gap.
    """
    with session.no_autoflush:
        for instance in session.new:
            if not isinstance(instance, Position) or instance.owner_id or instance.owner:
                continue
            link = instance.default_owner_link()
            if link is None:
                continue
            if link.supervisor is not None:
                instance.owner = link.supervisor
            else:
                instance.owner_id = link.supervisor_id
