"""The link between a position and a supervisor: the supervisor's role and share."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import (
    CheckConstraint,
    Enum,
    ForeignKey,
    Index,
    Numeric,
    String,
    UniqueConstraint,
    literal,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Base

if TYPE_CHECKING:
    from portal.models.position import Position
    from portal.models.user import User


class SupervisionRole(enum.StrEnum):
    PRINCIPAL = "principal"
    CO_SUPERVISOR = "co-supervisor"
    NONE = "none"


class SupervisionState(enum.StrEnum):
    """Whether the named faculty member agreed to the link.

    A link one records for oneself is confirmed at once; a link naming someone else is proposed
    until they confirm (or decline) it. Only confirmed links count anywhere (lists, loads,
    exports, public profiles, conflict-of-interest lists).
    """

    PROPOSED = "proposed"
    CONFIRMED = "confirmed"
    DECLINED = "declined"


class Supervision(Base):
    __tablename__ = "supervisions"
    __table_args__ = (
        UniqueConstraint("position_id", "supervisor_id"),
        CheckConstraint(
            "(supervisor_id IS NOT NULL AND external_name IS NULL)"
            " OR (supervisor_id IS NULL AND external_name IS NOT NULL)",
            name="account_or_external",
        ),
        CheckConstraint("share >= 0 AND share <= 100", name="share_percent"),
        # At most one principal supervisor per position, enforced by the database (a declined
        # proposal no longer holds the seat).
        Index(
            "uq_supervisions_one_principal",
            "position_id",
            unique=True,
            sqlite_where=text("role = 'principal' AND state <> 'declined'"),
            postgresql_where=text("role = 'principal' AND state <> 'declined'"),
        ),
        # Proposals are a handful among tens of thousands of links: the count in every page's
        # navigation finds them here instead of scanning every link. Partial, holding proposals
        # only: an index of every link's state was, in a SQLite database without statistics,
        # the planner's pick for `state = 'confirmed'` too (nearly every link), and made the
        # loads query and the export's lookups many times slower.
        Index(
            "ix_supervisions_proposed",
            "state",
            sqlite_where=text("state = 'proposed'"),
            postgresql_where=text("state = 'proposed'"),
        ),
        # The proposals a faculty member sent (their requests page): without it, every link of
        # the institution was read. Partial: links the owner recorded have no proposer.
        Index(
            "ix_supervisions_proposed_by",
            "proposed_by_id",
            sqlite_where=text("proposed_by_id IS NOT NULL"),
            postgresql_where=text("proposed_by_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    position_id: Mapped[int] = mapped_column(ForeignKey("positions.id", ondelete="CASCADE"))
    supervisor_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="RESTRICT"), index=True
    )
    # A supervisor without an account (another university's professor), recorded by name.
    external_name: Mapped[str | None] = mapped_column(String(200))
    # The external supervisor's institution, as typed (None for an account, or when unknown).
    external_institution: Mapped[str | None] = mapped_column(String(200))
    role: Mapped[SupervisionRole] = mapped_column(
        Enum(
            SupervisionRole,
            name="supervision_role",
            native_enum=False,
            length=20,
            values_callable=lambda roles: [role.value for role in roles],
            validate_strings=True,
            create_constraint=True,
        )
    )
    share: Mapped[Decimal] = mapped_column(Numeric(5, 2), default=Decimal("100.00"))
    state: Mapped[SupervisionState] = mapped_column(
        Enum(
            SupervisionState,
            name="supervision_state",
            native_enum=False,
            length=20,
            values_callable=lambda states: [state.value for state in states],
            validate_strings=True,
            create_constraint=True,
        ),
        default=SupervisionState.CONFIRMED,
        server_default=SupervisionState.CONFIRMED.value,
    )
    # Who proposed the link and when; the named person's answer (message) and when they gave it.
    proposed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    proposed_at: Mapped[datetime | None]
    answered_at: Mapped[datetime | None]
    answer_message: Mapped[str | None] = mapped_column(String(500))
    # The supervisor's own note on the position (a co-supervisor may change only this).
    note: Mapped[str | None] = mapped_column(String(300))

    position: Mapped[Position] = relationship(back_populates="supervisions")
    supervisor: Mapped[User | None] = relationship(
        back_populates="supervisions", foreign_keys=[supervisor_id]
    )
    proposed_by: Mapped[User | None] = relationship(foreign_keys=[proposed_by_id])

    @property
    def is_confirmed(self) -> bool:
        return self.state == SupervisionState.CONFIRMED

    @property
    def is_proposed(self) -> bool:
        return self.state == SupervisionState.PROPOSED

    @property
    def supervisor_name(self) -> str:
        return self.supervisor.display_name if self.supervisor else (self.external_name or "")

    def __repr__(self) -> str:
        return f"<Supervision position={self.position_id} role={self.role}>"


def is_proposal():
    """SQL: the link is a proposal, the condition `ix_supervisions_proposed` serves.

    The state is written into the SQL rather than bound: when a bound value decides whether a
    partial index applies, SQLite prepares the statement anew at every execution (for the
    navigation's count, on every page, that cost more than running it).
    """
    return Supervision.state == literal(
        SupervisionState.PROPOSED, Supervision.state.type, literal_execute=True
    )


def default_shares(roles: list[SupervisionRole]) -> list[Decimal]:
    """Default shares in percent: sole 100; principal 50 and co-supervisors split the other 50.

    Without a principal, the supervisors split 100 equally. Shares always total exactly 100.
    """
    if not roles:
        return []
    if len(roles) == 1:
        return [Decimal("100.00")]
    has_principal = SupervisionRole.PRINCIPAL in roles
    others = len(roles) - 1 if has_principal else len(roles)
    pool = Decimal("50.00") if has_principal else Decimal("100.00")
    each = (pool / others).quantize(Decimal("0.01"))
    shares = [Decimal("50.00") if role == SupervisionRole.PRINCIPAL else each for role in roles]
    remainder = Decimal("100.00") - sum(shares)
    last_other = max(i for i, role in enumerate(roles) if role != SupervisionRole.PRINCIPAL)
    shares[last_other] += remainder
    return shares
