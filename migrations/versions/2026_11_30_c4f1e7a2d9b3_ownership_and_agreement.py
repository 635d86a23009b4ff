"""Ownership and agreement: positions get an owning account, supervision links a state.

- positions.owner_id: the principal supervisor's account, else the earliest-linked faculty
  account (the lowest link id); NULL only for a position with no faculty account at all.
- supervisions.state (proposed / confirmed / declined, CHECK): every existing link is confirmed.
- supervisions.proposed_by_id, proposed_at, answered_at, answer_message: who proposed, the answer.
- supervisions.note: a supervisor's own note on the position.
- The one-principal index ignores declined proposals.

On SQLite the two tables are rebuilt (batch mode) so that the new foreign keys and CHECK are
real table constraints. Rebuilding drops the old table, which with foreign keys on would
cascade-delete the rows of every table that references it: the rebuild runs with foreign keys
off (a pragma SQLite only honours between transactions), and checks them before turning them on.

Revision ID: c4f1e7a2d9b3
Revises: 7d3c1e9a4b21
Create Date: 2026-11-30 11:40:00
"""

from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op

revision = "c4f1e7a2d9b3"
down_revision = "7d3c1e9a4b21"
branch_labels = None
depends_on = None

STATES = "('proposed', 'confirmed', 'declined')"
OLD_PRINCIPAL = "role = 'principal'"
NEW_PRINCIPAL = "role = 'principal' AND state <> 'declined'"


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def _principal_index(where: str) -> None:
    op.create_index(
        "uq_supervisions_one_principal",
        "supervisions",
        ["position_id"],
        unique=True,
        sqlite_where=sa.text(where),
        postgresql_where=sa.text(where),
    )


@contextmanager
def _sqlite_foreign_keys_off():
    """Run the block with SQLite's foreign keys off, then verify them and turn them back on."""
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


def _add_columns() -> None:
    with op.batch_alter_table("positions") as batch_op:
        batch_op.add_column(sa.Column("owner_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_positions_owner_id_users"),
            "users",
            ["owner_id"],
            ["id"],
            ondelete="RESTRICT",
        )
        batch_op.create_index(batch_op.f("ix_positions_owner_id"), ["owner_id"], unique=False)
    with op.batch_alter_table("supervisions") as batch_op:
        batch_op.add_column(
            sa.Column("state", sa.String(length=20), nullable=False, server_default="confirmed")
        )
        batch_op.create_check_constraint(
            batch_op.f("ck_supervisions_supervision_state"), sa.text(f"state IN {STATES}")
        )
        batch_op.add_column(sa.Column("proposed_by_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_supervisions_proposed_by_id_users"),
            "users",
            ["proposed_by_id"],
            ["id"],
            ondelete="SET NULL",
        )
        for name, column_type in (
            ("proposed_at", sa.DateTime(timezone=True)),
            ("answered_at", sa.DateTime(timezone=True)),
            ("answer_message", sa.String(length=500)),
            ("note", sa.String(length=300)),
        ):
            batch_op.add_column(sa.Column(name, column_type, nullable=True))


def _drop_columns() -> None:
    with op.batch_alter_table("supervisions") as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_supervisions_proposed_by_id_users"), "foreignkey")
        batch_op.drop_constraint(batch_op.f("ck_supervisions_supervision_state"), "check")
        for name in ("state", "proposed_by_id", "proposed_at", "answered_at", "answer_message"):
            batch_op.drop_column(name)
        batch_op.drop_column("note")
    with op.batch_alter_table("positions") as batch_op:
        batch_op.drop_index(batch_op.f("ix_positions_owner_id"))
        batch_op.drop_constraint(batch_op.f("fk_positions_owner_id_users"), "foreignkey")
        batch_op.drop_column("owner_id")


def upgrade():
    op.drop_index("uq_supervisions_one_principal", table_name="supervisions")
    if _sqlite():
        with _sqlite_foreign_keys_off():
            _add_columns()
    else:
        _add_columns()
    _principal_index(NEW_PRINCIPAL)

    # Today's links were recorded before agreement existed: they are confirmed (the column's
    # default). Each position's owner: its principal's account, else its earliest-linked account.
    op.execute(
        "UPDATE positions SET owner_id = ("
        " SELECT s.supervisor_id FROM supervisions s"
        " WHERE s.position_id = positions.id AND s.supervisor_id IS NOT NULL"
        " ORDER BY CASE WHEN s.role = 'principal' THEN 0 ELSE 1 END, s.id"
        " LIMIT 1)"
    )


def downgrade():
    # The old model has no agreement: a proposal or a declined link would count as a link.
    op.execute("DELETE FROM supervisions WHERE state <> 'confirmed'")
    op.drop_index("uq_supervisions_one_principal", table_name="supervisions")
    if _sqlite():
        with _sqlite_foreign_keys_off():
            _drop_columns()
    else:
        _drop_columns()
    _principal_index(OLD_PRINCIPAL)
