"""Index only the proposed links: the index of every link's state misled SQLite's planner.

Without statistics (the portal does not run ANALYZE), SQLite took an index on `state` as
selective for any value, so `state = 'confirmed'` (nearly every link) went through it: the loads
query and the export's lookups of other supervisors ran many times slower. A partial index of
the proposals serves the pending-proposal count and cannot be chosen for confirmed links.

Revision ID: a3d5f7e9b1c2
Revises: e5a7c3b1d842
Create Date: 2026-11-30 18:50:00.000000
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "a3d5f7e9b1c2"
down_revision = "e5a7c3b1d842"
branch_labels = None
depends_on = None

PROPOSED = sa.text("state = 'proposed'")


def upgrade():
    with op.batch_alter_table("supervisions", schema=None) as batch_op:
        batch_op.drop_index("ix_supervisions_state")
        batch_op.create_index(
            "ix_supervisions_proposed",
            ["state"],
            unique=False,
            sqlite_where=PROPOSED,
            postgresql_where=PROPOSED,
        )


def downgrade():
    with op.batch_alter_table("supervisions", schema=None) as batch_op:
        batch_op.drop_index("ix_supervisions_proposed")
        batch_op.create_index("ix_supervisions_state", ["state"], unique=False)
