"""The Alembic migrations build exactly the schema the models describe, and can be undone."""

from decimal import Decimal

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, select

from portal import create_app
from portal.extensions import db
from portal.models import DEFAULT_PROGRAMS, LoadPolicy, Program
from tests.conftest import app_config, reset_database

pytestmark = pytest.mark.both_backends  # migrations run per database


def _drop_everything():
    db.drop_all()
    with db.engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")


def _differences():
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, db.metadata)


def test_upgrade_matches_models_and_downgrade_round_trips(database_url, tmp_path):
    app = create_app(app_config(database_url), instance_path=str(tmp_path))
    with app.app_context():
        try:
            _drop_everything()
            upgrade()
            assert _differences() == []
            seeded = db.session.execute(
                select(
                    Program.name, Program.kind, Program.weight, Program.counts_toward_load
                ).order_by(Program.sort_order)
            ).all()
            assert seeded == [
                (p["name"], p["kind"], p["weight"], p["counts_toward_load"])
                for p in DEFAULT_PROGRAMS
            ]
            policy = db.session.get(LoadPolicy, 1)
            assert (policy.default_principal_cap, policy.default_weighted_cap) == (
                8,
                Decimal("300"),
            )
            db.session.rollback()

            downgrade(revision="base")
            assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}

            upgrade()
            assert _differences() == []
        finally:
            db.session.remove()
            # Leave the schema as every other test expects it.
            _drop_everything()
            db.create_all()
            reset_database()
            db.session.remove()
            db.engine.dispose()
