"""The institution's default supervision caps, set by administrators in the portal."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import CheckConstraint, Numeric
from sqlalchemy.orm import Mapped, mapped_column

from portal.models.base import Base, TimestampMixin


class LoadPolicy(TimestampMixin, Base):
    """A single row: the caps that apply to every faculty member without an exception."""

    __tablename__ = "load_policy"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(primary_key=True, default=1)
    default_principal_cap: Mapped[int | None] = mapped_column(default=8)
    default_weighted_cap: Mapped[Decimal | None] = mapped_column(
        Numeric(7, 2), default=Decimal("300.00")
    )
