"""Engine set-up: idle connections checked before use; SQLite pragmas for a multi-process
server, and write locks taken up front; keys reserved for bulk inserts on either database."""

from __future__ import annotations

import json
import re
import sqlite3
import time
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from itertools import chain
from json.encoder import c_make_encoder, encode_basestring_ascii
from typing import Any

from flask import has_request_context, request
from sqlalchemy import Table, event, func, insert, select, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.orm import Session

from portal.data_state import number_connections
from portal.sql_text import register_sqlite

ROWS_PER_STATEMENT = 50  # SQLite's bulk inserts: rows per INSERT statement
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


# A pooled connection unused for this long is pinged before a request gets it: the server may
# have restarted, or a firewall dropped the idle connection, meanwhile. SQLAlchemy's pre-ping
# pinged at every checkout, one more round trip to PostgreSQL on every request; a connection in
# steady use answered a moment ago.
PING_AFTER_IDLE_SECONDS = 10.0
LAST_RETURNED = "portal_last_returned"  # (monotonic seconds) in each pooled connection's info


def engine_options(database_uri: str, options: dict[str, Any]) -> dict[str, Any]:
    """`options` with the pool handing out the connection returned last (when the pool is
    SQLAlchemy's queue, as for a database file or server): under light load one connection
    serves, with its prepared statements and the pages kept under its data state
    (portal/data_state.py), while the others sit idle. An in-memory SQLite database has a
    single connection, and a pool of its own."""
    url = make_url(database_uri)
    in_memory = url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")
    if in_memory or "poolclass" in options:
        return options
    return {"pool_use_lifo": True, **options}


def configure_engine(engine: Engine, busy_timeout_ms: int) -> None:
    """Attach the per-connection settings the engine's dialect needs."""
    _ping_idle_connections(engine)
    number_connections(engine)  # portal/data_state.py
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine, busy_timeout_ms)
    if engine.dialect.driver == "psycopg":
        _keep_prepared_statements(engine)


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


# psycopg forgets the statements it prepared at every ROLLBACK (and deallocates them on the
# server), and every page ends its transaction with one: so no statement was ever prepared, and
# PostgreSQL planned each statement of each page afresh (on /group, 4.3 ms of the server's CPU
# planning against 0.7 ms running). A transaction that ran without error and changed no table's
# shape is now rolled back through the connection's libpq handle (`pgconn`, psycopg's documented
# access to low-level commands) before psycopg's own rollback, which then finds no transaction
# and keeps the prepared statements. It is a ROLLBACK all the same, whatever the transaction
# wrote. psycopg's own rollback still ends, and forgets the prepared statements of:
# - a failed transaction: the failure may be a prepared statement that no longer fits its table
#   (a migration changed a column's type: "cached plan must not change result type"), which
#   must be prepared afresh, not fail on every later page;
# - a transaction that created, altered or dropped a table (DDL, which pages never run), whose
#   rollback may leave prepared statements reading what no longer exists;
# - a connection in pipeline mode, which refuses a plain command.
CHANGED_SHAPE = "portal_changed_shape"  # in a connection's info: DDL ran in this transaction
# After any leading blanks and comments; DO runs a block that may hold any of these.
_CHANGES_SHAPE = re.compile(
    r"(?:\s|--[^\n]*(?:\n|$)|/\*.*?\*/)*(?:CREATE|ALTER|DROP|TRUNCATE|COMMENT|DO)\b",
    re.IGNORECASE | re.DOTALL,
).match


def _keep_prepared_statements(engine: Engine) -> None:
    from psycopg import Error as PsycopgError
    from psycopg.pq import PipelineStatus, TransactionStatus

    @event.listens_for(engine, "begin")
    def began(connection):
        connection.info[CHANGED_SHAPE] = False

    @event.listens_for(engine, "before_cursor_execute")
    def executing(connection, _cursor, statement, _parameters, _context, _executemany):
        if _CHANGES_SHAPE(statement):
            connection.info[CHANGED_SHAPE] = True

    @event.listens_for(engine, "rollback")
    def roll_back_through_libpq(connection):
        if connection.invalidated or connection.info.get(CHANGED_SHAPE, True):
            return
        dbapi_connection = connection.connection.dbapi_connection
        pgconn = dbapi_connection.pgconn
        if (
            dbapi_connection.info.transaction_status != TransactionStatus.INTRANS
            or pgconn.pipeline_status != PipelineStatus.OFF
        ):
            return
        try:
            pgconn.exec_(b"ROLLBACK")
        except PsycopgError:
            pass  # psycopg's rollback, which follows, tries again and raises what failed
        # A ROLLBACK that failed leaves the transaction open: psycopg's rollback ends it.


@contextmanager
def read_before_transaction(connection: Connection) -> Iterator[None]:
    """Run the first statement of a page read on PostgreSQL before its transaction begins.

    psycopg opens a transaction with a BEGIN of its own, one round trip before the first
    statement, and the page then ends it with a ROLLBACK, another: a page whose only statement
    is the session's user (a page kept under the data state) made three round trips for one
    read; the loads page, whose other reads are kept too, then read the loads in a transaction
    of their own, two more. Inside this block psycopg runs the statement on its own
    (autocommit), and the transaction begins with the next statement, if any. Under READ
    COMMITTED, PostgreSQL's default level, every statement of a transaction reads a snapshot of
    its own anyway: what the statement reads, and what follows, is the same either way.

    Nothing changes on SQLite (its transaction is what makes the page's reads one snapshot),
    inside a transaction already open (a write before), or on a connection at a stricter level
    (a server set to REPEATABLE READ): there a transaction reads one snapshot from its first
    statement on, which the statement must then belong to.
    """
    dbapi_connection = connection.connection.dbapi_connection
    outside = connection.dialect.driver == "psycopg" and _idle_outside_transaction(dbapi_connection)
    if outside:
        dbapi_connection.autocommit = True
    try:
        if outside and not _reads_committed(connection, dbapi_connection):
            outside = False
            dbapi_connection.autocommit = False
        yield
    except BaseException as error:
        if outside and not _still_usable(dbapi_connection, error):
            connection.invalidate()
        raise
    finally:
        if outside and not connection.invalidated:
            dbapi_connection.autocommit = False


SERVER_ISOLATION = "portal_server_isolation"  # in a connection's info: the server's default


def _reads_committed(connection: Connection, dbapi_connection) -> bool:
    """Whether the connection's transactions are READ COMMITTED: the level set on the
    connection, else the server's default for it (`default_transaction_isolation`, which the
    database's or role's settings, the connection's options or a `SET SESSION CHARACTERISTICS`
    may have changed). The server is asked once per connection, the first time, in autocommit
    (the caller's)."""
    from psycopg import IsolationLevel

    level = dbapi_connection.isolation_level
    if level is not None:
        return level == IsolationLevel.READ_COMMITTED
    info = connection.connection.info
    if SERVER_ISOLATION not in info:
        statement = "SHOW default_transaction_isolation"
        dbapi = connection.dialect.loaded_dbapi
        try:
            info[SERVER_ISOLATION] = dbapi_connection.execute(statement).fetchone()[0]
        except dbapi.Error as error:
            raise DBAPIError.instance(statement, None, error, dbapi.Error) from error
    return info[SERVER_ISOLATION] == "read committed"


@contextmanager
def planned_for_its_values(connection: Connection) -> Iterator[None]:
    """Run the statements of this block unprepared on PostgreSQL: planned for the values they
    are given, each time.

    psycopg prepares a statement at its fifth run, and PostgreSQL may then run it with a generic
    plan, made without the values. For the loads statement, whose conditions compare the day
    with each position's dates, the generic plan ran 9% slower than the plan for the values
    (54.3 against 49.7 ms on the bench data), while planning it each time costs 0.3 ms. Nothing
    changes on SQLite, or for the connection's other statements.
    """
    if connection.dialect.driver != "psycopg":
        yield
        return
    dbapi_connection = connection.connection.dbapi_connection
    threshold = dbapi_connection.prepare_threshold
    dbapi_connection.prepare_threshold = None
    try:
        yield
    finally:
        dbapi_connection.prepare_threshold = threshold


# psycopg forgets its prepared statements at a rollback, which a statement that failed outside
# a transaction never has: one that no longer fits its table ("cached plan must not change
# result type", see `_keep_prepared_statements`) or that the server no longer has would then
# fail on every later page of the connection.
STALE_PREPARED_STATEMENT = frozenset({"0A000", "26000"})  # the SQLSTATE codes of those two


def _still_usable(dbapi_connection, error: BaseException) -> bool:
    """Whether a connection whose first read failed with `error` may serve the next page: idle
    (not cut off in the middle of a statement) and not holding a stale prepared statement."""
    if not _idle_outside_transaction(dbapi_connection, autocommit=True):
        return False
    sqlstate = getattr(getattr(error, "orig", None), "sqlstate", None)
    return sqlstate not in STALE_PREPARED_STATEMENT


def _idle_outside_transaction(dbapi_connection, *, autocommit: bool = False) -> bool:
    from psycopg.pq import TransactionStatus

    return (
        not dbapi_connection.closed
        and dbapi_connection.autocommit == autocommit
        and dbapi_connection.info.transaction_status == TransactionStatus.IDLE
    )


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def set_pragmas(dbapi_connection, _record):
        # Let SQLAlchemy emit BEGIN itself so that we can choose DEFERRED or IMMEDIATE below.
        dbapi_connection.isolation_level = None
        register_sqlite(dbapi_connection)  # text_lower, as PostgreSQL's lower() does it
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


def bulk_insert(
    session: Session, table: Table, rows: list[dict], *, stored: Collection[str] = ()
) -> None:
    """Insert `rows` (dicts with the same keys) into `table`: `COPY` on PostgreSQL, a few
    multi-row statements on SQLite (`_insert_many_values`), else Core's `insert()` compiled
    once and one DB-API `executemany`.

    Each value goes through its column type's bind processor as Core would, but a value
    repeated down a column (a date, a state, a timestamp) is processed once: that is where
    Core spends most of a bulk insert. The columns named in `stored` hold what the processor
    would give already (`json_text`).
    """
    if rows:
        columns = {key: [row[key] for row in rows] for key in rows[0]}
        bulk_insert_columns(session, table, columns, stored=stored)


def bulk_insert_columns(
    session: Session, table: Table, columns: dict[str, list], *, stored: Collection[str] = ()
) -> None:
    """`bulk_insert` of rows given column by column: the values of each column, all as many."""
    connection = session.connection()
    dialect = connection.dialect
    names = list(columns)
    if dialect.name in ("postgresql", "sqlite"):
        parameters = list(zip(*_bound_columns(table, dialect, names, columns, stored), strict=True))
        if dialect.name == "postgresql":
            _copy_rows(connection, table, names, parameters)
        else:
            _insert_many_values(connection, table, names, parameters)
        return
    compiled = insert(table).compile(dialect=dialect, column_keys=names)
    order = list(compiled.positiontup) if compiled.positional else names
    parameters = list(zip(*_bound_columns(table, dialect, order, columns, stored), strict=True))
    if not compiled.positional:
        parameters = [dict(zip(order, values, strict=True)) for values in parameters]
    connection.exec_driver_sql(compiled.string, parameters)


def _insert_many_values(connection, table: Table, columns: list[str], rows: list[tuple]) -> None:
    """SQLite: the rows ROWS_PER_STATEMENT at a time, each statement one `VALUES (...), (...)`
    of that many rows, executed many times; the rest in one statement. SQLite runs a statement
    per execution, so fewer executions of more rows cost less (a fifth, measured) than one
    execution per row; the rows are the same, in the same order."""
    preparer = connection.dialect.identifier_preparer
    limit = variable_limit(connection)
    per_statement = max(1, min(ROWS_PER_STATEMENT, limit // len(columns)))
    head = (
        f"INSERT INTO {preparer.format_table(table)} "
        f"({', '.join(preparer.quote(column) for column in columns)}) VALUES "
    )
    one = "(" + ", ".join(["?"] * len(columns)) + ")"
    whole = len(rows) - len(rows) % per_statement
    if whole:
        connection.exec_driver_sql(
            head + ", ".join([one] * per_statement),
            [
                tuple(chain.from_iterable(rows[start : start + per_statement]))
                for start in range(0, whole, per_statement)
            ],
        )
    if whole < len(rows):
        connection.exec_driver_sql(
            head + ", ".join([one] * (len(rows) - whole)), tuple(chain.from_iterable(rows[whole:]))
        )


def bulk_insert_repeated(
    session: Session, table: Table, column: str, rows: Sequence[tuple[int, list[dict]]]
) -> None:
    """For each (key, shared) of `rows`, in order, one row per dict of `shared` with that
    dict's values and `column` set to `key` (an integer: a parent's key): the rows, order and
    ids that `bulk_insert` of the expanded rows gives.

    Made for many rows sharing one list (new positions' milestones: the same for every
    position of a program started on the same day). SQLite receives each distinct list once,
    and the keys with the first id of their rows as one JSON object, and crosses them
    (`INSERT ... SELECT ... FROM json_each(?) CROSS JOIN (VALUES ...)`): the shared values are
    not bound again for every row, which is most of what an executemany of them costs. The
    ids are reserved first (`reserve_ids`) and numbered in the expanded order. PostgreSQL
    copies the expanded rows (`bulk_insert`).
    """
    rows = [(key, shared) for key, shared in rows if shared]
    if not rows:
        return
    if session.get_bind().dialect.name != "sqlite":
        bulk_insert(
            session, table, [{column: key, **item} for key, shared in rows for item in shared]
        )
        return
    first = reserve_ids(session, table, sum(len(shared) for _key, shared in rows))[0]
    crossed: dict[int, tuple[list[dict], dict[str, int]]] = {}
    for key, shared in rows:
        crossed.setdefault(id(shared), (shared, {}))[1][str(first)] = key
        first += len(shared)
    for shared, keys in crossed.values():
        _insert_crossed(session, table, column, keys, shared)


def _insert_crossed(
    session: Session, table: Table, column: str, keys: dict[str, int], shared: list[dict]
) -> None:
    """SQLite: for each key (by the first id of its rows, as text), one row per dict of
    `shared`."""
    connection = session.connection()
    dialect = connection.dialect
    columns = list(shared[0])
    width = len(columns) + 1
    if len(shared) * width + 1 > variable_limit(connection) or any(
        type(key) is not int for key in keys.values()
    ):
        # More values than one statement takes, or keys JSON would not carry: expanded rows.
        rows = [
            {"id": int(first) + n, column: key, **item}
            for first, key in keys.items()
            for n, item in enumerate(shared)
        ]
        bulk_insert(session, table, rows)
        return
    preparer = dialect.identifier_preparer
    names = [preparer.quote(name) for name in columns]
    statement = (
        f"WITH shared (ordinal, {', '.join(names)}) AS (VALUES "
        + ", ".join(["(" + ", ".join(["?"] * width) + ")"] * len(shared))
        + f") INSERT INTO {preparer.format_table(table)} "
        + f"(id, {preparer.quote(column)}, {', '.join(names)}) "
        + "SELECT CAST(own.key AS INTEGER) + shared.ordinal, own.value, "
        + ", ".join(f"shared.{name}" for name in names)
        + " FROM json_each(?) AS own CROSS JOIN shared"
    )
    by_column = {name: [item[name] for item in shared] for name in columns}
    shared_values = zip(*_bound_columns(table, dialect, columns, by_column), strict=True)
    parameters = [value for n, values in enumerate(shared_values) for value in (n, *values)]
    parameters.append(json.dumps(keys))
    connection.exec_driver_sql(statement, tuple(parameters))


def variable_limit(connection) -> int:
    """SQLite: how many values one statement may bind (32,766 since SQLite 3.32)."""
    return connection.connection.dbapi_connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)


def _bound_columns(
    table: Table, dialect, order: list[str], columns: dict[str, list], stored: Collection[str] = ()
) -> list[list]:
    """The values of `columns` in this order, through each column type's bind processor
    (except the `stored` columns')."""
    by_column = []
    for key in order:
        values = columns[key]
        if key in stored:
            by_column.append(values)
            continue
        processor = table.c[key].type.dialect_impl(dialect).bind_processor(dialect)
        if processor is not None:
            values = _processed(values, processor)
        by_column.append(values)
    return by_column


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


def _json_text_function() -> Callable[[Any], str]:
    """`json.dumps` with its defaults (what a JSON column's bind processor writes), from one
    encoder made once: `json.dumps` makes a new one on every call, which is a third of its
    time on an audit event's small object."""
    if c_make_encoder is None:  # no C accelerator: json.dumps itself
        return json.dumps

    def unserializable(value: Any) -> Any:
        raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")

    encode = c_make_encoder(
        None, unserializable, encode_basestring_ascii, None, ": ", ", ", False, False, True
    )
    return lambda value: "".join(encode(value, 0))


json_text = _json_text_function()
json_text.__doc__ = "The text `json.dumps(value)` gives, which a JSON column stores for `value`."
