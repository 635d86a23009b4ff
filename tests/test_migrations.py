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
                    Program.name,
                    Program.name_fr,
                    Program.kind,
                    Program.weight,
                    Program.counts_toward_load,
                ).order_by(Program.sort_order)
            ).all()
            assert seeded == [
                (p["name"], p["name_fr"], p["kind"], p["weight"], p["counts_toward_load"])
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


def test_ownership_migration_confirms_links_and_picks_owners(database_url, tmp_path):
    """Existing links become confirmed; the owner is the principal's account, else the
    earliest-linked faculty account, else nobody (external supervisors only)."""
    app = create_app(app_config(database_url), instance_path=str(tmp_path))
    with app.app_context():
        try:
            _drop_everything()
            upgrade(revision="7d3c1e9a4b21")
            now = "2026-01-01 00:00:00"
            statements = [
                "INSERT INTO users (id, email, display_name, password_hash, is_admin, is_active,"
                " session_token, research_topics, profile_published, created_at, updated_at)"
                f" VALUES ({n}, 'f{n}@example.org', 'F{n}', 'x', false, true, 't{n}', '[]',"
                f" false, '{now}', '{now}')"
                for n in (1, 2, 3)
            ]
            statements += [
                f"INSERT INTO institutions (id, name, name_key, created_at, updated_at)"
                f" VALUES (1, 'U', 'u', '{now}', '{now}')",
                f"INSERT INTO persons (id, full_name, version, created_at, updated_at)"
                f" VALUES (1, 'P', 1, '{now}', '{now}')",
            ]
            statements += [
                "INSERT INTO positions (id, person_id, program_id, institution_id, start_date,"
                f" version, created_at, updated_at) VALUES ({n}, 1, 1, 1, '2024-01-0{n}', 1,"
                f" '{now}', '{now}')"
                for n in (1, 2, 3)
            ]
            links = [
                # position 1: F2 co-supervisor linked first, F3 principal -> owner F3
                (1, 1, 2, None, "co-supervisor"),
                (2, 1, 3, None, "principal"),
                # position 2: external principal, then F2 then F1 -> owner F2 (earliest linked)
                (3, 2, None, "Prof. External", "principal"),
                (4, 2, 2, None, "co-supervisor"),
                (5, 2, 1, None, "co-supervisor"),
                # position 3: only an external supervisor -> no owner
                (6, 3, None, "Prof. Elsewhere", "principal"),
            ]
            for link_id, position_id, supervisor_id, external, role in links:
                statements.append(
                    "INSERT INTO supervisions (id, position_id, supervisor_id, external_name,"
                    f" role, share) VALUES ({link_id}, {position_id},"
                    f" {supervisor_id if supervisor_id else 'NULL'},"
                    f" {repr(external) if external else 'NULL'}, '{role}', 50)"
                )
            with db.engine.begin() as connection:
                for statement in statements:
                    connection.exec_driver_sql(statement)
            upgrade()
            with db.engine.connect() as connection:
                owners = connection.exec_driver_sql(
                    "SELECT id, owner_id FROM positions ORDER BY id"
                ).all()
                states = connection.exec_driver_sql("SELECT DISTINCT state FROM supervisions").all()
                kept = connection.exec_driver_sql("SELECT count(*) FROM supervisions").scalar()
            assert [tuple(row) for row in owners] == [(1, 3), (2, 2), (3, None)]
            assert [tuple(row) for row in states] == [("confirmed",)]
            assert kept == len(links)
            assert _differences() == []

            # Back down: the links survive (SQLite recreates the tables), owners are gone.
            downgrade(revision="7d3c1e9a4b21")
            with db.engine.connect() as connection:
                assert connection.exec_driver_sql("SELECT count(*) FROM supervisions").scalar() == 6
                columns = {
                    column["name"] for column in inspect(connection).get_columns("positions")
                }
            assert "owner_id" not in columns
        finally:
            db.session.remove()
            _drop_everything()
            db.create_all()
            reset_database()
            db.session.remove()
            db.engine.dispose()


def test_unknown_institution_migration_keeps_links_and_downgrades_to_unknown(
    database_url, tmp_path
):
    """Upgrading rebuilds positions without losing its supervisions (SQLite); downgrading gives
    positions without an institution one named "Unknown", since the old schema needs one."""
    app = create_app(app_config(database_url), instance_path=str(tmp_path))
    with app.app_context():
        try:
            _drop_everything()
            upgrade(revision="5b8e2f4c7a13")
            now = "2026-01-01 00:00:00"
            statements = [
                "INSERT INTO users (id, email, display_name, password_hash, is_admin, is_active,"
                " session_token, research_topics, profile_published, created_at, updated_at,"
                " milestone_digest) VALUES (1, 'f@example.org', 'F', 'x', false, true, 't', '[]',"
                f" false, '{now}', '{now}', true)",
                # No explicit id: the downgrade's own insert must get the next one.
                f"INSERT INTO institutions (name, name_key, created_at, updated_at)"
                f" VALUES ('U', 'u', '{now}', '{now}')",
                f"INSERT INTO persons (id, full_name, name_key, version, created_at, updated_at)"
                f" VALUES (1, 'P', 'p', 1, '{now}', '{now}')",
                "INSERT INTO positions (id, person_id, program_id, institution_id, start_date,"
                f" version, created_at, updated_at, owner_id) VALUES (1, 1, 1,"
                " (SELECT id FROM institutions WHERE name_key = 'u'), '2024-01-01', 1,"
                f" '{now}', '{now}', 1)",
                "INSERT INTO supervisions (id, position_id, supervisor_id, role, share, state)"
                " VALUES (1, 1, 1, 'principal', 100, 'confirmed')",
            ]
            with db.engine.begin() as connection:
                for statement in statements:
                    connection.exec_driver_sql(statement)
            upgrade()
            assert _differences() == []
            with db.engine.begin() as connection:
                assert connection.exec_driver_sql("SELECT count(*) FROM supervisions").scalar() == 1
                connection.exec_driver_sql("UPDATE positions SET institution_id = NULL")
            downgrade(revision="5b8e2f4c7a13")
            with db.engine.connect() as connection:
                held = connection.exec_driver_sql(
                    "SELECT i.name FROM positions p JOIN institutions i ON i.id = p.institution_id"
                ).all()
                assert [tuple(row) for row in held] == [("Unknown",)]
                assert connection.exec_driver_sql("SELECT count(*) FROM supervisions").scalar() == 1
        finally:
            db.session.remove()
            _drop_everything()
            db.create_all()
            reset_database()
            db.session.remove()
            db.engine.dispose()
