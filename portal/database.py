"""Engine set-up: idle connections checked before use; SQLite pragmas for a multi-process
server, and write locks taken up front; keys reserved for bulk inserts on either database."""

from __future__ import annotations

import time

from flask import has_request_context, request
from sqlalchemy import Table, event, func, insert, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.orm import Session

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


# A pooled connection unused for this long is pinged before a request gets it: the server may
# have restarted, or a firewall dropped the idle connection, meanwhile. SQLAlchemy's pre-ping
# pinged at every checkout, one more round trip to PostgreSQL on every request; a connection in
# steady use answered a moment ago.
PING_AFTER_IDLE_SECONDS = 10.0
LAST_RETURNED = "portal_last_returned"  # (monotonic seconds) in each pooled connection's info


def configure_engine(engine: Engine, busy_timeout_ms: int) -> None:
    """Attach the per-connection settings the engine's dialect needs."""
    _ping_idle_connections(engine)
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine, busy_timeout_ms)


def _ping_idle_connections(engine: Engine) -> None:
    @event.listens_for(engine, "checkin")
    def returned(_dbapi_connection, record):
        if record is not None:
            record.info[LAST_RETURNED] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def ping_if_idle(dbapi_connection, record, _proxy):
        returned_at = record.info.get(LAST_RETURNED)
        if returned_at is not None and time.monotonic() - returned_at < PING_AFTER_IDLE_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as error:
            # The pool discards this connection and hands out a new one.
            raise DisconnectionError(
                f"an idle pooled connection failed its ping: {error}"
            ) from error


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def set_pragmas(dbapi_connection, _record):
        # Let SQLAlchemy emit BEGIN itself so that we can choose DEFERRED or IMMEDIATE below.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        if _is_file_database(engine):
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def begin(connection):
        # A transaction that may write takes the write lock at BEGIN: a deferred transaction
        # that later upgrades to a writer fails at once with "database is locked" when another
        # writer is active, whereas BEGIN IMMEDIATE waits for busy_timeout.
        if _wants_write_lock(connection):
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            connection.exec_driver_sql("BEGIN")


def _is_file_database(engine: Engine) -> bool:
    database = engine.url.database
    return bool(database) and database != ":memory:" and not database.startswith("file::memory:")


def _wants_write_lock(connection) -> bool:
    if connection.get_execution_options().get("sqlite_write_lock"):
        return True
    return has_request_context() and request.method not in SAFE_METHODS


def reserve_ids(session: Session, table: Table, count: int) -> list[int]:
    """`count` fresh primary keys of `table` for rows inserted in bulk in this transaction.

    PostgreSQL hands them out from the table's sequence (never given twice). SQLite gives the
    keys after the largest in use: the transaction holds the write lock from its first write
    on, and a concurrent writer in between makes it fail (busy) rather than reuse a key.
    Pre-assigned keys let a bulk insert be one `executemany` on both databases, where
    RETURNING in parameter order would fall back to one statement a row on SQLite.
    """
    if count <= 0:
        return []
    if session.get_bind().dialect.name == "postgresql":
        return list(
            session.scalars(
                text(
                    "SELECT nextval(pg_get_serial_sequence(:table, 'id')) "
                    "FROM generate_series(1, :count)"
                ),
                {"table": table.name, "count": count},
            )
        )
    first = (session.scalar(select(func.max(table.c.id))) or 0) + 1
    return list(range(first, first + count))


def bulk_insert(session: Session, table: Table, rows: list[dict]) -> None:
    """Insert `rows` (dicts with the same keys) into `table` with one DB-API `executemany`.

    The statement is Core's `insert()` compiled once for the database; each value goes through
    its column type's bind processor as Core would, but a value repeated down a column (a date,
    a state, a timestamp) is processed once: that is where Core spends most of a bulk insert.
    """
    if not rows:
        return
    connection = session.connection()
    dialect = connection.dialect
    columns = list(rows[0])
    compiled = insert(table).compile(dialect=dialect, column_keys=columns)
    order = list(compiled.positiontup) if compiled.positional else columns
    by_column = []
    for key in order:
        values = [row[key] for row in rows]
        processor = table.c[key].type.dialect_impl(dialect).bind_processor(dialect)
        if processor is not None:
            values = _processed(values, processor)
        by_column.append(values)
    parameters: list = list(zip(*by_column, strict=True))
    if dialect.name == "postgresql":
        _copy_rows(connection, table, order, parameters)
        return
    if not compiled.positional:
        parameters = [dict(zip(order, values, strict=True)) for values in parameters]
    connection.exec_driver_sql(compiled.string, parameters)


def _copy_rows(connection, table: Table, columns: list[str], rows: list[tuple]) -> None:
    """PostgreSQL: the rows through `COPY ... FROM STDIN` on the session's own connection and
    transaction. An executemany would send one statement a row (psycopg's pipeline), whose
    client side costs more than the database's work; COPY checks the same constraints.
    A database error is raised as SQLAlchemy raises it for a statement (IntegrityError...)."""
    preparer = connection.dialect.identifier_preparer
    statement = (
        f"COPY {preparer.format_table(table)} "
        f"({', '.join(preparer.quote(column) for column in columns)}) FROM STDIN"
    )
    dbapi = connection.dialect.loaded_dbapi
    cursor = connection.connection.dbapi_connection.cursor()
    try:
        with cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)
    except dbapi.Error as error:
        raise DBAPIError.instance(statement, None, error, dbapi.Error) from error
    finally:
        cursor.close()


def _processed(values: list, processor) -> list:
    """`processor` applied down a column, once per distinct value when values are hashable."""
    try:
        once = {value: processor(value) for value in set(values)}
    except TypeError:  # unhashable (JSON documents)
        return [processor(value) for value in values]
    return [once[value] for value in values]
