"""One value that changes whenever what the database holds may have changed.

A page whose content is a pure function of what the database holds (and of the request, the
viewer and the day) keeps it under every row it read; it can also note which kept content
this value stands for, and then reads none of its rows while the value is the same. The value rides along with a statement the
request runs anyway (the session's user), so it costs no round trip.

- PostgreSQL: the statement's snapshot (`pg_current_snapshot()`): which transactions it sees as
  committed. Two statements with the same snapshot see the same data; any commit or rollback of
  a transaction that wrote, anywhere on the server, changes every later snapshot.
- SQLite: `PRAGMA data_version`, which changes when another connection (of this process or
  another) committed a change, with `total_changes()`, the rows this connection itself changed.

On either, the key also names the pooled connection the value was read on, by a serial given at
connect (an id() could come back for a new connection): SQLite's counters are per connection;
PostgreSQL's snapshot is the server's, shared by its databases (a process may serve two), and
a server restored or failed over may hand out the same transaction ids again, to connections
made afresh. A page keeps its content once per pooled connection.

SQLite's counters do not move for a table dropped and created again on the same connection:
the portal changes no table while it serves (migrations run before, from the command line).

Either changes more often than the data a page shows (a write to any table, on PostgreSQL in any
database of the server): a page then reads its rows again, which is what it did for every
request before. What matters is the other way round: the data a page shows never changes while
the value stays the same.
"""

from __future__ import annotations

from itertools import count

from sqlalchemy import String, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

CONNECTION_SERIAL = "portal_connection_serial"  # in each pool record's info
_serials = count(1)


class data_state(FunctionElement):  # noqa: N801 (an SQL expression, named as SQL names them)
    """The database's data state, as text; NULL on a database without one (never kept)."""

    type = String()
    name = "data_state"
    inherit_cache = True


@compiles(data_state)
def _unknown(_element, _compiler, **_kw) -> str:
    return "NULL"


@compiles(data_state, "postgresql")
def _snapshot(_element, _compiler, **_kw) -> str:
    return "CAST(pg_current_snapshot() AS TEXT)"


@compiles(data_state, "sqlite")
def _versions(_element, _compiler, **_kw) -> str:
    return "((SELECT data_version FROM pragma_data_version()) || ':' || total_changes())"


def number_connections(engine: Engine) -> None:
    """Give each new connection of `engine` a serial (see the module's docstring)."""

    @event.listens_for(engine, "connect")
    def numbered(_dbapi_connection, record):
        record.info[CONNECTION_SERIAL] = next(_serials)


def state_of(connection: Connection, value: str | None) -> tuple | None:
    """The key for `value`, a data_state read on `connection`; None when there is none."""
    if value is None:
        return None
    return (connection.info[CONNECTION_SERIAL], value)
