"""Portraits and the institution's branding: uploaded pictures, a portrait per account, and
one row of branding (display name, logo, accent colour).

Pictures are stored re-encoded in the database, so every worker and app server serves them.

Revision ID: 590b9c7828db
Revises: 2ae0d578710d
Create Date: 2026-11-30 14:19:42.510757
"""

from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "590b9c7828db"
down_revision = "2ae0d578710d"
branch_labels = None
depends_on = None


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


@contextmanager
def _sqlite_foreign_keys_off():
    """Run the block with SQLite's foreign keys off (the users table is rebuilt), then check."""
    if not _sqlite():
        yield
        return
    bind = op.get_bind()
    bind.exec_driver_sql("COMMIT")
    bind.exec_driver_sql("PRAGMA foreign_keys = OFF")
    bind.exec_driver_sql("BEGIN")
    yield
    broken = bind.exec_driver_sql("PRAGMA foreign_key_check").all()
    if broken:
        raise RuntimeError(f"Foreign keys broken by the migration: {broken}")
    bind.exec_driver_sql("COMMIT")
    bind.exec_driver_sql("PRAGMA foreign_keys = ON")
    bind.exec_driver_sql("BEGIN")


def upgrade():
    op.create_table(
        "stored_images",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("content_type", sa.String(length=20), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "content_type IN ('image/jpeg', 'image/png', 'image/webp')",
            name=op.f("ck_stored_images_content_type_known"),
        ),
        sa.CheckConstraint("width > 0 AND height > 0", name=op.f("ck_stored_images_size_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stored_images")),
    )
    op.create_table(
        "branding",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=True),
        sa.Column("accent_colour", sa.String(length=7), nullable=True),
        sa.Column("logo_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "accent_colour IS NULL OR length(accent_colour) = 7",
            name=op.f("ck_branding_accent_colour_hex"),
        ),
        sa.CheckConstraint("id = 1", name=op.f("ck_branding_single_row")),
        sa.ForeignKeyConstraint(
            ["logo_id"],
            ["stored_images.id"],
            name=op.f("fk_branding_logo_id_stored_images"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_branding")),
    )
    with _sqlite_foreign_keys_off(), op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("portrait_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_users_portrait_id_stored_images"),
            "stored_images",
            ["portrait_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade():
    with _sqlite_foreign_keys_off(), op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_users_portrait_id_stored_images"), type_="foreignkey"
        )
        batch_op.drop_column("portrait_id")
    op.drop_table("branding")
    op.drop_table("stored_images")
