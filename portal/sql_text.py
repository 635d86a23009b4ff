"""SQL on text that gives the same answer on SQLite and PostgreSQL.

SQLite's own `lower()` lowers A–Z only: "ÉLISE" stays "ÉLISE", so a search for "élise" missed
"Élise Dupont". `text_lower` is `lower()` on PostgreSQL (which lowers every letter) and, on
SQLite, a function of the portal's own that each connection registers (`register_sqlite`).
"""

from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

SQLITE_LOWER = "portal_lower"


class text_lower(FunctionElement):  # noqa: N801 (an SQL function, named as SQL names them)
    """lower() of a text, for every letter on every database."""

    type = String()
    name = "text_lower"
    inherit_cache = True


@compiles(text_lower)
def _lower(element, compiler, **kw) -> str:
    return f"lower({compiler.process(element.clauses, **kw)})"


@compiles(text_lower, "sqlite")
def _lower_on_sqlite(element, compiler, **kw) -> str:
    return f"{SQLITE_LOWER}({compiler.process(element.clauses, **kw)})"


def _python_lower(value):
    return value.lower() if isinstance(value, str) else value


def register_sqlite(dbapi_connection) -> None:
    """Give a new SQLite connection the functions above."""
    dbapi_connection.create_function(SQLITE_LOWER, 1, _python_lower, deterministic=True)
