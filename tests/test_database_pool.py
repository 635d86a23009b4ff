"""Pooled connections: pinged before use only after sitting idle, and replaced when dead; on
PostgreSQL, a page's rollback keeps the statements psycopg prepared, and still undoes whatever
the transaction wrote, however it wrote."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, event, select, text

from portal import database
from portal.extensions import db
from portal.models import Institution
from tests.group_helpers import forget_kept

pytestmark = pytest.mark.both_backends


@pytest.fixture
def pings(app, monkeypatch):
    """How many times the app's dialect pinged a connection."""
    with app.app_context():
        dialect = db.engine.dialect
    counted = []
    ping = dialect.do_ping

    def counting(dbapi_connection):
        counted.append(dbapi_connection)
        return ping(dbapi_connection)

    monkeypatch.setattr(dialect, "do_ping", counting)
    return counted


def later(monkeypatch, seconds: float) -> None:
    """Move the pool's clock on, as if the connections had sat idle that long."""
    now = database.time.monotonic() + seconds
    monkeypatch.setattr(database.time, "monotonic", lambda: now)


def test_a_connection_in_steady_use_is_not_pinged(app, faculty_client, pings, monkeypatch):
    assert faculty_client.get("/group").status_code == 200
    pings.clear()
    for _ in range(3):
        assert faculty_client.get("/group").status_code == 200
    assert pings == []
    later(monkeypatch, database.PING_AFTER_IDLE_SECONDS + 1)
    assert faculty_client.get("/group").status_code == 200
    assert len(pings) == 1  # idle long enough: checked once, then in use again


def test_an_idle_connection_that_died_is_replaced_before_a_page_uses_it(
    app, faculty_client, pings, monkeypatch
):
    with app.app_context():
        connection = db.session.connection()
        backend = _backend_id(connection)
        dbapi_connection = connection.connection.dbapi_connection
        db.session.remove()  # back to the pool
        _kill(dbapi_connection, backend)
    later(monkeypatch, database.PING_AFTER_IDLE_SECONDS + 1)
    assert faculty_client.get("/group").status_code == 200
    assert pings  # the dead connection failed its ping and a new one served the page
    with app.app_context():
        assert _backend_id(db.session.connection()) != backend
        db.session.remove()


def _backend_id(connection):
    if connection.dialect.name == "postgresql":
        return connection.scalar(text("SELECT pg_backend_pid()"))
    return id(connection.connection.dbapi_connection)


def _kill(dbapi_connection, backend) -> None:
    """What a server restart or a firewall does to an idle connection."""
    if isinstance(backend, int) and db.engine.dialect.name == "postgresql":
        other = create_engine(db.engine.url, isolation_level="AUTOCOMMIT")
        with other.connect() as connection:
            connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})
        other.dispose()
    else:
        dbapi_connection.close()  # SQLite: the file stays, the connection is gone


def test_page_reads_keep_the_statements_psycopg_prepared(app, faculty_client, make_member):
    """psycopg prepares a statement at its fifth run on a connection and forgets them all at a
    ROLLBACK: when every page ended with one, PostgreSQL planned every statement afresh."""
    with app.app_context():
        engine = db.engine
    if engine.dialect.name != "postgresql":
        pytest.skip("psycopg's prepared statements: PostgreSQL only")
    make_member("Ada Lovelace")
    used = set()

    def remember(connection, *_arguments):
        used.add(connection.connection.dbapi_connection)

    event.listen(engine, "before_cursor_execute", remember)
    try:
        for _ in range(8):
            forget_kept()  # else the page reads its rows only once
            assert faculty_client.get("/group").status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", remember)
    prepared = []
    for dbapi_connection in used:
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SELECT statement FROM pg_prepared_statements")
            prepared += [row[0] for row in cursor.fetchall()]
        dbapi_connection.rollback()
    # The session's user, and the group's rows.
    assert any(statement.startswith("SELECT users.id") for statement in prepared), prepared
    assert any(statement.startswith("SELECT positions.id") for statement in prepared), prepared


def _institutions() -> set[str]:
    return set(db.session.scalars(select(Institution.name)))


def test_a_rolled_back_write_is_gone(app):
    with app.app_context():
        before = _institutions()
        db.session.add(Institution(name="Written then undone"))
        db.session.flush()
        db.session.rollback()
        assert _institutions() == before


def test_a_write_through_a_raw_cursor_is_rolled_back_too(app):
    """A write the engine's events never saw (COPY and other raw cursor work) is undone by a
    rollback too."""
    with app.app_context():
        before = _institutions()
        connection = db.session.connection()
        cursor = connection.connection.dbapi_connection.cursor()
        marker = "?" if connection.dialect.name == "sqlite" else "%s"
        cursor.execute(
            f"INSERT INTO institutions (name, name_key, created_at, updated_at) "
            f"VALUES ({marker}, {marker}, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
            ("Raw write", "raw write"),
        )
        cursor.close()
        db.session.rollback()
        assert _institutions() == before


def test_a_failed_read_rolls_back_and_the_session_goes_on(app):
    with app.app_context():
        db.session.add(Institution(name="Kept"))
        db.session.commit()
        with pytest.raises(Exception, match="no_such_table"):
            db.session.execute(text("SELECT * FROM no_such_table"))
        db.session.rollback()
        assert _institutions() == {"Kept"}


@pytest.mark.parametrize(
    "create",
    [
        "CREATE TABLE scratch_shape (value integer)",
        "-- a migration's comment\n  /* and another */ CREATE TABLE scratch_shape (value integer)",
        "DO $$ BEGIN CREATE TABLE scratch_shape (value integer); END $$",
    ],
)
def test_a_rolled_back_table_change_forgets_the_prepared_statements(app, create):
    """After a rollback that undid a CREATE TABLE, a statement prepared on that table must not
    be used on the table made again with another column type."""
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("psycopg's prepared statements: PostgreSQL only")
        connection = db.session.connection()
        connection.exec_driver_sql(create)
        for _ in range(6):  # prepared at the fifth run
            connection.exec_driver_sql("SELECT value FROM scratch_shape").all()
        db.session.rollback()
        connection = db.session.connection()
        connection.exec_driver_sql("CREATE TABLE scratch_shape (value text)")
        connection.exec_driver_sql("INSERT INTO scratch_shape VALUES ('text now')")
        assert connection.exec_driver_sql("SELECT value FROM scratch_shape").scalar() == "text now"
        db.session.rollback()
