"""Unknown institutions and external supervisors' institutions.

A position's institution may be unknown (positions.institution_id nullable), and an external
supervisor is recorded with their institution (supervisions.external_institution).

Downgrade gives positions without an institution one named "Unknown" (created when missing),
since the older schema requires one.

Revision ID: e5a7c3b1d842
Revises: 5b8e2f4c7a13
Create Date: 2026-11-30 14:30:00.000000
"""

from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "e5a7c3b1d842"
down_revision = "5b8e2f4c7a13"
branch_labels = None
depends_on = None

UNKNOWN = "Unknown"


@contextmanager
def _sqlite_foreign_keys_off():
    """SQLite rebuilds `positions` to change a column: dropping the old table must not cascade
    to the supervisions and milestones that point at it. Checked, then turned back on."""
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        yield
        return
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


def _set_institution_nullable(nullable: bool) -> None:
    with _sqlite_foreign_keys_off(), op.batch_alter_table("positions", schema=None) as batch_op:
        batch_op.alter_column("institution_id", existing_type=sa.Integer(), nullable=nullable)


def upgrade():
    _set_institution_nullable(True)
    with op.batch_alter_table("supervisions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("external_institution", sa.String(length=200), nullable=True))


def downgrade():
    connection = op.get_bind()
    if connection.execute(
        sa.text("SELECT 1 FROM positions WHERE institution_id IS NULL LIMIT 1")
    ).first():
        institution_id = connection.execute(
            sa.text("SELECT id FROM institutions WHERE name_key = :key"), {"key": "unknown"}
        ).scalar()
        if institution_id is None:
            connection.execute(
                sa.text(
                    "INSERT INTO institutions (name, name_key, created_at, updated_at) "
                    "VALUES (:name, :key, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                ),
                {"name": UNKNOWN, "key": "unknown"},
            )
            institution_id = connection.execute(
                sa.text("SELECT id FROM institutions WHERE name_key = :key"), {"key": "unknown"}
            ).scalar()
        connection.execute(
            sa.text("UPDATE positions SET institution_id = :id WHERE institution_id IS NULL"),
            {"id": institution_id},
        )
    with op.batch_alter_table("supervisions", schema=None) as batch_op:
        batch_op.drop_column("external_institution")
    _set_institution_nullable(False)
