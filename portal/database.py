"""Engine set-up: SQLite pragmas for a multi-process server, and write locks taken up front."""

from __future__ import annotations

from flask import has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import Engine

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def configure_engine(engine: Engine, busy_timeout_ms: int) -> None:
    """Attach the per-connection settings the engine's dialect needs."""
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine, busy_timeout_ms)


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
