"""The database's data state (portal/data_state.py): a write committed on any connection moves
it, as seen from another connection and from the one that wrote."""

import pytest
from sqlalchemy import create_engine, select, update

from portal.data_state import data_state, state_of
from portal.extensions import db
from portal.models import LoadPolicy

pytestmark = pytest.mark.both_backends


def _state(connection) -> tuple:
    with connection.begin():
        return state_of(connection, connection.scalar(select(data_state())))


def _touch(connection) -> None:
    """A write that changes no value: it still moves the state."""
    with connection.begin():
        connection.execute(
            update(LoadPolicy).values(default_principal_cap=LoadPolicy.default_principal_cap)
        )


def test_a_write_on_another_connection_moves_the_state(app):
    with app.app_context():
        engine = db.engine
    other = create_engine(engine.url)
    try:
        with engine.connect() as reader, other.connect() as writer:
            before = _state(reader)
            assert before is not None
            _touch(writer)
            assert _state(reader) != before
    finally:
        other.dispose()


def test_a_write_on_the_same_connection_moves_the_state(app):
    with app.app_context():
        engine = db.engine
    with engine.connect() as connection:
        before = _state(connection)
        _touch(connection)
        assert _state(connection) != before


def test_two_pooled_connections_never_share_a_state(app):
    """Each key names the connection it was read on: SQLite's counters are per connection, and
    PostgreSQL's snapshot is the whole server's."""
    with app.app_context():
        engine = db.engine
    with engine.connect() as first, engine.connect() as second:
        assert _state(first) != _state(second)


def test_the_state_moves_once_its_statement_is_prepared(app):
    """psycopg prepares a statement at its fifth run on a connection, and PostgreSQL may then
    plan it once for all: pg_current_snapshot() is still read at each run."""
    with app.app_context():
        engine = db.engine
    other = create_engine(engine.url)
    try:
        with engine.connect() as reader, other.connect() as writer:
            states = []
            for _ in range(8):
                states.append(_state(reader))
                _touch(writer)
            assert len(set(states)) == len(states)
            if engine.dialect.name == "postgresql":
                with reader.begin():
                    prepared = reader.exec_driver_sql(
                        "SELECT statement FROM pg_prepared_statements"
                    ).scalars()
                    assert any("pg_current_snapshot" in statement for statement in prepared)
    finally:
        other.dispose()
