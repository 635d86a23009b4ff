"""Programs get a French name, shown on French pages (exports and the API keep `name`).

Fills the French names of the default programs, matched by their canonical name; programs an
administrator added or renamed keep an empty French name (French pages then show `name`).

Revision ID: 5e8b2f71c0a4
Revises: 590b9c7828db
Create Date: 2026-11-30 14:30:00.000000
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "5e8b2f71c0a4"
down_revision = "590b9c7828db"
branch_labels = None
depends_on = None

# Frozen here, as they were when this revision was written.
FRENCH_NAMES = {
    "PhD": "Doctorat",
    "Master's Research": "Maîtrise recherche",
    "Postdoctorate": "Postdoctorat",
    "Research Intern": "Stage de recherche",
    "Collaborating researcher": "Chercheur·e collaborateur·rice",
    "Independent visiting researcher": "Chercheur·e invité·e indépendant·e",
    "Collaborating Alumni": "Alumni collaborateur·rice",
}


def upgrade():
    op.add_column("programs", sa.Column("name_fr", sa.String(length=100), nullable=True))
    programs = sa.table("programs", sa.column("name", sa.String), sa.column("name_fr", sa.String))
    for name, name_fr in FRENCH_NAMES.items():
        op.execute(
            programs.update()
            .where(programs.c.name == name, programs.c.name_fr.is_(None))
            .values(name_fr=name_fr)
        )


def downgrade():
    # A plain ALTER TABLE (SQLite 3.35+ drops a column no constraint names): a batch copy of
    # the table would rewrite the constraints the earlier revisions' downgrades look for.
    op.drop_column("programs", "name_fr")
