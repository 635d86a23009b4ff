"""Drop the index of milestones by status and due date: it made one group's reads scan the
whole institution's open milestones.

Without statistics (the portal does not run ANALYZE), SQLite rated `status = 'open' AND due_date
<= ?` through this index as nearly one row, so the "What's due" panel of /group and the calendar
feed went through every open milestone of the institution instead of the group's few positions.
Open milestones only accumulate (an alumnus's stay open), so both slowed with the institution's
history: 0.1 → 19 ms and 0.03 → 73 ms with 180,000 milestones. The daily reminder digest, the
one institution-wide read it was made for, is as fast without it (a scan, 165 ms).

Revision ID: b7e2c4d9f1a6
Revises: a3d5f7e9b1c2
Create Date: 2026-11-30 22:40:00.000000
"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "b7e2c4d9f1a6"
down_revision = "a3d5f7e9b1c2"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("milestones", schema=None) as batch_op:
        batch_op.drop_index("ix_milestones_status_due_date")


def downgrade():
    with op.batch_alter_table("milestones", schema=None) as batch_op:
        batch_op.create_index("ix_milestones_status_due_date", ["status", "due_date"], unique=False)
