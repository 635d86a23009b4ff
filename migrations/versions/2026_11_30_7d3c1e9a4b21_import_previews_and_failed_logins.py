"""Import previews kept on the server; failed logins counted for the account's owner.

The roster import's preview used to carry every row in a signed hidden field (megabytes for an
institution-wide roster, and valid after logout for its hour). The rows now wait in
`import_previews`, bound to the account, its session token and the browser session. Users get
the count of wrong passwords given since their last login, shown to them at the next one.

Revision ID: 7d3c1e9a4b21
Revises: c4e1a9d27b51
Create Date: 2026-11-30 11:40:00
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "7d3c1e9a4b21"
down_revision = "c4e1a9d27b51"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "import_previews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("session_token", sa.String(length=64), nullable=False),
        sa.Column("session_key", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("row_count", sa.Integer(), nullable=False),
        sa.Column("rows", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_import_previews_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_previews")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_import_previews_token_hash")),
    )
    with op.batch_alter_table("import_previews", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_import_previews_expires_at"), ["expires_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_import_previews_user_id"), ["user_id"], unique=False)

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("failed_logins", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column("last_failed_login_at", sa.DateTime(timezone=True), nullable=True)
        )


def downgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("last_failed_login_at")
        batch_op.drop_column("failed_logins")

    with op.batch_alter_table("import_previews", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_import_previews_user_id"))
        batch_op.drop_index(batch_op.f("ix_import_previews_expires_at"))

    op.drop_table("import_previews")
