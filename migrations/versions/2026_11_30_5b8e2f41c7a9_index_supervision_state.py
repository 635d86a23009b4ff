"""Index supervision links by state, for the pending-proposal count in the navigation.

Revision ID: 5b8e2f41c7a9
Revises: 5e8b2f71c0a4
Create Date: 2026-11-30 14:30:00.000000
"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "5b8e2f41c7a9"
down_revision = "5e8b2f71c0a4"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("supervisions", schema=None) as batch_op:
        batch_op.create_index("ix_supervisions_state", ["state"], unique=False)


def downgrade():
    with op.batch_alter_table("supervisions", schema=None) as batch_op:
        batch_op.drop_index("ix_supervisions_state")
