"""Milestones: each program's plan of steps, and each position's milestones taken from it."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, Enum, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Base, TimestampMixin, utcnow

if TYPE_CHECKING:
    from portal.models.position import Position
    from portal.models.program import Program
    from portal.models.user import User


class MilestoneStatus(enum.StrEnum):
    """What is stored; "due within 30 days" and "overdue" are read from the date on a given day."""

    OPEN = "open"
    DONE = "done"
    WAIVED = "waived"


class DueState(enum.StrEnum):
    """What a milestone looks like on a given day (the stored status, read against the date)."""

    UPCOMING = "upcoming"
    DUE_SOON = "due-soon"
    OVERDUE = "overdue"
    DONE = "done"
    WAIVED = "waived"


# The plans a new installation starts with, by program name:
# (English name, French name, months after the start or None, repeat every N months or None).
DEFAULT_MILESTONE_PLANS: dict[str, tuple[tuple[str, str, int | None, int | None], ...]] = {
    "PhD": (
        ("Research plan", "Plan de recherche", 12, None),
        ("Qualifying exam", "Examen de synthèse", 24, None),
        ("Thesis proposal", "Proposition de thèse", 30, None),
        ("Progress report", "Rapport d'avancement", 12, 12),
        ("Thesis submission", "Dépôt de la thèse", 60, None),
        ("Defense", "Soutenance", None, None),
    ),
    "Master's Research": (
        ("Research plan", "Plan de recherche", 6, None),
        ("Progress report", "Rapport d'avancement", 12, 12),
        ("Thesis submission", "Dépôt du mémoire", 24, None),
    ),
    "Postdoctorate": (("Annual review", "Évaluation annuelle", 12, 12),),
}


class MilestonePlanItem(TimestampMixin, Base):
    """One step of a program's plan: due `due_months` after the start, repeating if asked."""

    __tablename__ = "milestone_plan_items"
    __table_args__ = (
        CheckConstraint("due_months IS NULL OR due_months >= 0", name="due_months_not_negative"),
        CheckConstraint(
            "repeat_months IS NULL OR (repeat_months > 0 AND due_months IS NOT NULL)",
            name="repeat_needs_due",
        ),
        CheckConstraint("length(name_en) > 0 AND length(name_fr) > 0", name="names_not_empty"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(
        ForeignKey("programs.id", ondelete="CASCADE"), index=True
    )
    sort_order: Mapped[int] = mapped_column(default=100)
    name_en: Mapped[str] = mapped_column(String(150))
    name_fr: Mapped[str] = mapped_column(String(150))
    # Empty: no fixed time (a defense is scheduled when the thesis is in); the owner sets a date.
    due_months: Mapped[int | None]
    repeat_months: Mapped[int | None]
    is_active: Mapped[bool] = mapped_column(default=True)

    program: Mapped[Program] = relationship()

    def __repr__(self) -> str:
        return f"<MilestonePlanItem {self.name_en!r} program={self.program_id}>"


class Milestone(TimestampMixin, Base):
    """A position's milestone; names are copied from the plan so that later plan edits keep it."""

    __tablename__ = "milestones"
    __table_args__ = (
        UniqueConstraint("position_id", "plan_item_id", "occurrence"),
        CheckConstraint("occurrence >= 1", name="occurrence_positive"),
        CheckConstraint(
            "(status = 'done' AND done_on IS NOT NULL) OR (status <> 'done' AND done_on IS NULL)",
            name="done_has_date",
        ),
        CheckConstraint(
            "status <> 'waived' OR waived_reason IS NOT NULL", name="waived_has_reason"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    position_id: Mapped[int] = mapped_column(
        ForeignKey("positions.id", ondelete="CASCADE"), index=True
    )
    plan_item_id: Mapped[int | None] = mapped_column(
        ForeignKey("milestone_plan_items.id", ondelete="SET NULL"), index=True
    )
    occurrence: Mapped[int] = mapped_column(default=1)
    name_en: Mapped[str] = mapped_column(String(150))
    name_fr: Mapped[str] = mapped_column(String(150))
    # The date the plan gave; due_date differs from it once the date was moved.
    planned_date: Mapped[date | None]
    due_date: Mapped[date | None]
    status: Mapped[MilestoneStatus] = mapped_column(
        Enum(
            MilestoneStatus,
            name="milestone_status",
            native_enum=False,
            length=10,
            values_callable=lambda statuses: [status.value for status in statuses],
            validate_strings=True,
            create_constraint=True,
        ),
        default=MilestoneStatus.OPEN,
    )
    done_on: Mapped[date | None]
    waived_reason: Mapped[str | None] = mapped_column(String(300))
    note: Mapped[str | None] = mapped_column(String(500))
    version: Mapped[int] = mapped_column(default=1)

    position: Mapped[Position] = relationship()
    plan_item: Mapped[MilestonePlanItem | None] = relationship()
    extensions: Mapped[list[MilestoneExtension]] = relationship(
        back_populates="milestone",
        cascade="all, delete-orphan",
        order_by="MilestoneExtension.id",
    )

    __mapper_args__ = {"version_id_col": version}

    def name(self, language: str) -> str:
        """The name in `language` ('fr...' gives French, anything else English)."""
        return self.name_fr if language.startswith("fr") else self.name_en

    def __repr__(self) -> str:
        return f"<Milestone {self.name_en!r} position={self.position_id} due={self.due_date}>"


class MilestoneExtension(Base):
    """A moved due date, with the reason: the history of a milestone's extensions."""

    __tablename__ = "milestone_extensions"
    __table_args__ = (CheckConstraint("length(reason) > 0", name="reason_not_empty"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    milestone_id: Mapped[int] = mapped_column(
        ForeignKey("milestones.id", ondelete="CASCADE"), index=True
    )
    from_date: Mapped[date | None]
    to_date: Mapped[date]
    reason: Mapped[str] = mapped_column(String(300))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    milestone: Mapped[Milestone] = relationship(back_populates="extensions")
    recorded_by: Mapped[User | None] = relationship()


class ReminderDigest(Base):
    """A digest the mail server accepted: one per faculty member and day, never sent twice."""

    __tablename__ = "reminder_digests"
    __table_args__ = (UniqueConstraint("user_id", "sent_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    sent_on: Mapped[date]
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)
    milestone_count: Mapped[int]
