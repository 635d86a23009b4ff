"""Programs (position types) and the load rules administrators attach to them."""

from __future__ import annotations

import enum
from decimal import Decimal

from sqlalchemy import CheckConstraint, Enum, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.models.base import Base, TimestampMixin


class ProgramKind(enum.StrEnum):
    """What sort of position a program is; loads and group pages are split by it."""

    PHD = "phd"
    MASTERS = "masters"
    POSTDOC = "postdoc"
    INTERN = "intern"
    COLLABORATOR = "collaborator"
    VISITOR = "visitor"
    ALUMNI_COLLABORATOR = "alumni-collaborator"


# The positions of the institute page the portal was modelled on; the first migration seeds them.
DEFAULT_PROGRAMS: tuple[dict, ...] = (
    {
        "name": "PhD",
        "name_fr": "Doctorat",
        "kind": ProgramKind.PHD,
        "weight": Decimal("1.00"),
        "counts_toward_load": True,
        "sort_order": 10,
        "expected_duration_months": 60,
    },
    {
        "name": "Master's Research",
        "name_fr": "Maîtrise recherche",
        "kind": ProgramKind.MASTERS,
        "weight": Decimal("0.50"),
        "counts_toward_load": True,
        "sort_order": 20,
        "expected_duration_months": 24,
    },
    {
        "name": "Postdoctorate",
        "name_fr": "Postdoctorat",
        "kind": ProgramKind.POSTDOC,
        "weight": Decimal("0.50"),
        "counts_toward_load": True,
        "sort_order": 30,
    },
    {
        "name": "Research Intern",
        "name_fr": "Stage de recherche",
        "kind": ProgramKind.INTERN,
        "weight": Decimal("0.25"),
        "counts_toward_load": True,
        "sort_order": 40,
    },
    {
        "name": "Collaborating researcher",
        "name_fr": "Chercheur·e collaborateur·rice",
        "kind": ProgramKind.COLLABORATOR,
        "weight": Decimal("0.00"),
        "counts_toward_load": False,
        "sort_order": 50,
    },
    {
        "name": "Independent visiting researcher",
        "name_fr": "Chercheur·e invité·e indépendant·e",
        "kind": ProgramKind.VISITOR,
        "weight": Decimal("0.00"),
        "counts_toward_load": False,
        "sort_order": 60,
    },
    {
        "name": "Collaborating Alumni",
        "name_fr": "Alumni collaborateur·rice",
        "kind": ProgramKind.ALUMNI_COLLABORATOR,
        "weight": Decimal("0.00"),
        "counts_toward_load": False,
        "sort_order": 70,
    },
)


class Program(TimestampMixin, Base):
    __tablename__ = "programs"
    __table_args__ = (
        CheckConstraint("weight >= 0", name="weight_not_negative"),
        CheckConstraint(
            "expected_duration_months IS NULL OR expected_duration_months > 0",
            name="expected_duration_positive",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The canonical name: English pages, exports, imports and the API use it.
    name: Mapped[str] = mapped_column(String(100), unique=True)
    # What French pages show (administrators set it; empty: French pages show `name`).
    name_fr: Mapped[str | None] = mapped_column(String(100))
    kind: Mapped[ProgramKind] = mapped_column(
        Enum(
            ProgramKind,
            name="program_kind",
            native_enum=False,
            length=30,
            values_callable=lambda kinds: [kind.value for kind in kinds],
            validate_strings=True,
            create_constraint=True,
        )
    )
    weight: Mapped[Decimal] = mapped_column(Numeric(5, 2), default=Decimal("1.00"))
    counts_toward_load: Mapped[bool] = mapped_column(default=True)
    sort_order: Mapped[int] = mapped_column(default=100)
    is_active: Mapped[bool] = mapped_column(default=True)
    # How long the program usually takes; students past it are flagged (empty: no such limit).
    expected_duration_months: Mapped[int | None]

    def name_in(self, language: str) -> str:
        """The program's name in a language ("fr..." or anything else for the canonical one)."""
        if language.startswith("fr") and self.name_fr:
            return self.name_fr
        return self.name

    def __repr__(self) -> str:
        return f"<Program {self.name!r}>"
