"""One record per submission, likely duplicates by name, program changes that keep history.

`submission_keys` holds the one-time keys of create forms (who posted, what was created);
`persons.name_key` is the full name without case, accents or extra spaces, indexed, so that a
likely duplicate in a group is found in SQL; `positions.previous_position_id` links a new stint
to the one it follows after a change of program.

Revision ID: 5b8e2f4c7a13
Revises: 5b8e2f41c7a9
Create Date: 2026-11-30 15:00:00
"""

import unicodedata
from contextlib import contextmanager, nullcontext

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "5b8e2f4c7a13"
down_revision = "5b8e2f41c7a9"
branch_labels = None
depends_on = None


def _name_key(name: str) -> str:
    """portal.identifiers.name_key as of this revision (migrations do not import the app)."""
    decomposed = unicodedata.normalize("NFKD", name)
    without_accents = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(without_accents.casefold().split())


@contextmanager
def _sqlite_foreign_keys_off():
    """Rebuild SQLite tables that others refer to with foreign keys off, then check them."""
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


def _rebuilding():
    sqlite = op.get_bind().dialect.name == "sqlite"
    return _sqlite_foreign_keys_off() if sqlite else nullcontext()


def upgrade():
    with _rebuilding():
        _upgrade()


def downgrade():
    with _rebuilding():
        _downgrade()


def _upgrade():
    op.create_table(
        "submission_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("entity_type", sa.String(length=50), nullable=True),
        sa.Column("entity_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_submission_keys_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_submission_keys")),
        sa.UniqueConstraint("user_id", "key", name=op.f("uq_submission_keys_user_id_key")),
    )
    with op.batch_alter_table("submission_keys", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_submission_keys_created_at"), ["created_at"], unique=False
        )

    with op.batch_alter_table("persons", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("name_key", sa.String(length=200), nullable=False, server_default="")
        )
    persons = sa.table(
        "persons", sa.column("id", sa.Integer()), sa.column("full_name"), sa.column("name_key")
    )
    connection = op.get_bind()
    rows = connection.execute(sa.select(persons.c.id, persons.c.full_name)).all()
    for person_id, full_name in rows:
        connection.execute(
            persons.update()
            .where(persons.c.id == person_id)
            .values(name_key=_name_key(full_name or ""))
        )
    with op.batch_alter_table("persons", schema=None) as batch_op:
        batch_op.alter_column("name_key", server_default=None)
        batch_op.create_index(batch_op.f("ix_persons_name_key"), ["name_key"], unique=False)

    with op.batch_alter_table("positions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("previous_position_id", sa.Integer(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_positions_previous_position_id"), ["previous_position_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_positions_previous_position_id_positions"),
            "positions",
            ["previous_position_id"],
            ["id"],
            ondelete="SET NULL",
        )


def _downgrade():
    with op.batch_alter_table("positions", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_positions_previous_position_id_positions"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_positions_previous_position_id"))
        batch_op.drop_column("previous_position_id")
    with op.batch_alter_table("persons", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_persons_name_key"))
        batch_op.drop_column("name_key")
    with op.batch_alter_table("submission_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_submission_keys_created_at"))
    op.drop_table("submission_keys")
