"""Pooled connections: pinged before use only after sitting idle, and replaced when dead; on
PostgreSQL, a page's rollback keeps the statements psycopg prepared, and still undoes whatever
the transaction wrote, however it wrote."""

from __future__ import annotations

import tempfile

import pytest
from sqlalchemy import create_engine, event, select, text
from sqlalchemy.pool import NullPool

from portal import database
from portal.admin.views import KEPT_LOADS_READS
from portal.extensions import db
from portal.models import Institution
from tests.conftest import POSTGRES_URL, ensure_postgres_database, worker_database_url
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


def _prepared_after(engine, page, times: int = 8) -> list[str]:
    """The statements PostgreSQL holds prepared on the connections `page()` used, once run
    `times` times (psycopg prepares at the fifth run); each connection's prepare threshold is
    psycopg's own again afterwards. The pool starts afresh: the worker's app is shared, and
    another test may have prepared statements of its own on its connections."""
    engine.dispose()
    used = set()

    def remember(connection, *_arguments):
        used.add(connection.connection.dbapi_connection)

    event.listen(engine, "before_cursor_execute", remember)
    try:
        for _ in range(times):
            page()
    finally:
        event.remove(engine, "before_cursor_execute", remember)
    prepared = []
    for dbapi_connection in used:
        assert dbapi_connection.prepare_threshold == 5
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SELECT statement FROM pg_prepared_statements")
            prepared += [row[0] for row in cursor.fetchall()]
        dbapi_connection.rollback()
    return prepared


def test_page_reads_keep_the_statements_psycopg_prepared(app, faculty_client, make_member):
    """psycopg prepares a statement at its fifth run on a connection and forgets them all at a
    ROLLBACK: when every page ended with one, PostgreSQL planned every statement afresh."""
    with app.app_context():
        engine = db.engine
    if engine.dialect.name != "postgresql":
        pytest.skip("psycopg's prepared statements: PostgreSQL only")
    make_member("Ada Lovelace")

    def page_read_afresh():
        forget_kept()  # else the page reads its rows only once
        assert faculty_client.get("/group").status_code == 200

    prepared = _prepared_after(engine, page_read_afresh)
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


def _traced_messages(app, request) -> list[str]:
    """The messages the next pooled connection sends PostgreSQL while `request()` runs (the
    pool hands out the connection returned last), as libpq traces them: 'Query "BEGIN"',
    'Parse', …"""
    import psycopg

    with app.app_context():
        pooled = db.engine.raw_connection()
        pgconn = pooled.dbapi_connection.pgconn
        pooled.close()  # back to the pool, the first to be handed out
    with tempfile.TemporaryFile() as trace:
        pgconn.trace(trace.fileno())
        pgconn.set_trace_flags(psycopg.pq.Trace.SUPPRESS_TIMESTAMPS)
        try:
            request()
        finally:
            pgconn.untrace()
        trace.seek(0)
        lines = trace.read().decode().splitlines()
    # "F<tab>length<tab>message": what the portal sent (B is what the server answered).
    return [
        " ".join(field.strip() for field in line.split("\t")[2:])
        for line in lines
        if line.startswith("F\t")
    ]


def _statements(messages: list[str]) -> list[str]:
    """Each statement sent: a simple query, or a prepared one's Bind (run)."""
    return [message for message in messages if message.startswith(("Query", "Bind"))]


def test_a_page_read_runs_its_first_statement_before_its_transaction(
    app, faculty, faculty_client, make_member
):
    """A page kept under the data state reads only the session's user: one round trip, with no
    BEGIN before it and no ROLLBACK after. A page that reads more begins its transaction at its
    second statement and still ends it; a form's POST begins before its first."""
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("psycopg's BEGIN: PostgreSQL only (SQLite reads a page in one transaction)")
    make_member(faculty, "Ada Lovelace")
    forget_kept()
    assert faculty_client.get("/group").status_code == 200  # kept from now on

    def kept_page():
        response = faculty_client.get("/group")
        assert response.status_code == 200 and "Ada Lovelace" in response.get_data(as_text=True)

    # Another test's commit anywhere on the server (the suite's other workers) moves the data
    # state, and the page then reads its rows again: it is asked for until it is kept.
    for _ in range(50):
        sent = _statements(_traced_messages(app, kept_page))
        assert sent[0].startswith("Bind"), sent  # the user, with no BEGIN before
        if len(sent) == 1:
            break
        assert sent[1] == 'Query "BEGIN"' and sent[-1] == 'Query "ROLLBACK"', sent
    assert len(sent) == 1, sent  # kept: one round trip, no BEGIN, no ROLLBACK

    def page_read_afresh():
        forget_kept()
        kept_page()

    sent = _statements(_traced_messages(app, page_read_afresh))
    assert len(sent) >= 3, sent
    assert "BEGIN" not in sent[0] and sent[1] == 'Query "BEGIN"', sent
    assert sent[-1] == 'Query "ROLLBACK"', sent

    def switch_language():
        response = faculty_client.post("/language", data={"language": "fr_CA", "next": "/group"})
        assert response.status_code == 302

    sent = _statements(_traced_messages(app, switch_language))
    assert sent[0] == 'Query "BEGIN"' and sent[-1] == 'Query "COMMIT"', sent
    with app.app_context():
        assert db.session.get(type(faculty), faculty.id).locale == "fr_CA"


def test_a_kept_loads_page_reads_the_loads_outside_any_transaction(app, admin_client):
    """The loads page reads its loads every time; with its other reads kept under the data
    state, its two statements (the session's user, the loads) run with no BEGIN and no
    ROLLBACK. Read afresh, its transaction begins at its second statement as before."""
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("psycopg's BEGIN: PostgreSQL only (SQLite reads a page in one transaction)")
    assert admin_client.get("/admin/loads").status_code == 200  # its small reads kept

    def loads_page():
        assert admin_client.get("/admin/loads").status_code == 200

    # Another worker's commit moves the data state, and the small reads are read again.
    for _ in range(50):
        sent = _statements(_traced_messages(app, loads_page))
        if len(sent) == 2:
            break
        assert sent[1] == 'Query "BEGIN"' and sent[-1] == 'Query "ROLLBACK"', sent
    assert len(sent) == 2 and not any("BEGIN" in message for message in sent), sent
    assert all(message.startswith("Bind") for message in sent), sent

    def loads_page_read_afresh():
        KEPT_LOADS_READS.clear()
        loads_page()

    sent = _statements(_traced_messages(app, loads_page_read_afresh))
    assert len(sent) >= 4, sent
    assert sent[1] == 'Query "BEGIN"' and sent[-1] == 'Query "ROLLBACK"', sent


def _pooled_backend(app) -> tuple[int, bool]:
    """The PostgreSQL backend of the connection the next page gets, and its autocommit."""
    with app.app_context():
        pooled = db.engine.raw_connection()
        try:
            dbapi_connection = pooled.dbapi_connection
            return dbapi_connection.info.backend_pid, dbapi_connection.autocommit
        finally:
            pooled.close()


def test_a_first_read_that_fails_keeps_its_connection_unless_a_statement_went_stale(
    app, faculty_client
):
    """The session's user, read before the transaction, fails on the server (as a statement
    timeout or a lock timeout would): the page is an error, and the next page is served by the
    same connection, back in transactions. A failure that is not the database's (raised once
    the statement is done) comes out as itself, and leaves the connection so too. (A prepared
    statement gone stale replaces the connection: tests/test_group_kept.py.)"""
    with app.app_context():
        engine = db.engine
    if engine.dialect.name != "postgresql":
        pytest.skip("psycopg's autocommit: PostgreSQL only")
    app.config["PROPAGATE_EXCEPTIONS"] = False  # served as in production: the error page
    assert faculty_client.get("/group").status_code == 200
    backend, autocommit = _pooled_backend(app)
    assert autocommit is False
    failed = []

    def fail_once_on_the_server(_connection, _cursor, statement, parameters, *_rest):
        if not failed and "FROM users" in statement:
            failed.append(statement)
            return "SELECT 1 / 0", ()  # division_by_zero, raised by PostgreSQL
        return statement, parameters

    event.listen(engine, "before_cursor_execute", fail_once_on_the_server, retval=True)
    try:
        assert faculty_client.get("/group").status_code == 500
    finally:
        event.remove(engine, "before_cursor_execute", fail_once_on_the_server)
    assert failed
    assert _pooled_backend(app) == (backend, False)
    assert faculty_client.get("/group").status_code == 200

    class NotTheDatabaseError(Exception):
        pass

    def fail_after(*_arguments):
        raise NotTheDatabaseError

    app.config["PROPAGATE_EXCEPTIONS"] = True
    event.listen(engine, "after_cursor_execute", fail_after)
    try:
        with pytest.raises(NotTheDatabaseError):
            faculty_client.get("/group")
    finally:
        event.remove(engine, "after_cursor_execute", fail_after)
    assert _pooled_backend(app) == (backend, False)
    assert faculty_client.get("/group").status_code == 200


def test_the_loads_statement_is_planned_for_its_values_each_time(app, admin_client):
    """psycopg would prepare the loads statement at its fifth run, and PostgreSQL's generic plan
    for it ran 9% slower than the plan for the day asked: it is never prepared, while the
    page's other statements still are."""
    with app.app_context():
        engine = db.engine
    if engine.dialect.name != "postgresql":
        pytest.skip("psycopg's prepared statements: PostgreSQL only")

    def loads_page():
        assert admin_client.get("/admin/loads").status_code == 200

    prepared = _prepared_after(engine, loads_page)
    assert any(statement.startswith("SELECT users.id") for statement in prepared), prepared
    assert not any("current_loads" in statement for statement in prepared), prepared


@pytest.mark.skipif(not POSTGRES_URL, reason="PORTAL_TEST_DATABASE_URL names no PostgreSQL")
@pytest.mark.parametrize(
    ("set_on", "level", "outside"),
    [
        (None, None, True),  # the server's default, READ COMMITTED
        ("connection", "READ COMMITTED", True),
        ("connection", "REPEATABLE READ", False),
        ("connection", "SERIALIZABLE", False),
        ("server", "repeatable read", False),
        ("session", "REPEATABLE READ", False),
    ],
)
def test_a_first_read_leaves_the_transaction_only_under_read_committed(set_on, level, outside):
    """Under REPEATABLE READ or SERIALIZABLE, set on the connection, as the server's default or
    for the session once connected, a transaction reads one snapshot from its first statement
    on: that statement stays in it. (psycopg's BEGIN: PostgreSQL only; SQLite reads a page in
    one transaction.)"""
    from psycopg.pq import TransactionStatus

    options = {}
    if set_on == "server":  # what `ALTER DATABASE ... SET default_transaction_isolation` does
        setting = level.replace(" ", "\\ ")  # libpq's options: a space escaped
        options["connect_args"] = {"options": f"-c default_transaction_isolation={setting}"}
    url = ensure_postgres_database(worker_database_url(POSTGRES_URL))
    engine = create_engine(url, poolclass=NullPool, **options)
    if set_on == "session":
        # Set on every connection after the engine's first, whose level SQLAlchemy keeps as
        # the dialect's default: each connection's own level is what counts.
        with engine.connect():
            pass

        @event.listens_for(engine, "connect")
        def stricter(dbapi_connection, _record):
            dbapi_connection.autocommit = True
            dbapi_connection.execute(
                f"SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL {level}"
            )
            dbapi_connection.autocommit = False

    try:
        with engine.connect() as connection:
            if set_on == "connection":
                connection = connection.execution_options(isolation_level=level)
            dbapi_connection = connection.connection.dbapi_connection
            for statement in ("SELECT 1", "SELECT 2"):  # the level asked once, then known
                with database.read_before_transaction(connection):
                    assert connection.scalar(text(statement)) in (1, 2)
                    status = dbapi_connection.info.transaction_status
                assert (status == TransactionStatus.IDLE) is outside, status
                assert dbapi_connection.autocommit is False
                if outside:
                    connection.rollback()
            if set_on != "connection":  # asked of the server, once for the connection
                asked = connection.connection.info[database.SERVER_ISOLATION]
                assert asked == (level or "read committed").lower()
            assert connection.scalar(text("SELECT 3")) == 3  # the transaction begins here
            assert dbapi_connection.info.transaction_status == TransactionStatus.INTRANS
    finally:
        engine.dispose()
