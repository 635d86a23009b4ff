"""Pooled connections: pinged before use only after sitting idle, and replaced when dead."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from portal import database
from portal.extensions import db

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
