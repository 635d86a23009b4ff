"""URL converters: ids in paths are checked against what the database can hold."""

from __future__ import annotations

from werkzeug.routing import IntegerConverter

# The largest value of the database's integer primary keys (PostgreSQL `integer`); a larger
# number in a URL is no record's id, so the URL matches nothing (404) instead of overflowing.
MAX_DATABASE_ID = 2**31 - 1


class DatabaseIdConverter(IntegerConverter):
    """`<int:...>` limited to 0..MAX_DATABASE_ID (and at most 10 digits, checked before int())."""

    regex = r"\d{1,10}"

    def __init__(self, map, fixed_digits=0, min=0, max=MAX_DATABASE_ID, signed=False):
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def parse_database_id(text: str | None) -> int | None:
    """An id from a query string or form value: None when it is not a whole number in range."""
    if text is None:
        return None
    text = text.strip()
    if not text.isascii() or not text.isdigit() or len(text) > 10:
        return None
    value = int(text)
    return value if 0 < value <= MAX_DATABASE_ID else None


MAX_PAGE = 100_000


def parse_page(text: str | None) -> int:
    """A page number from the query string: 1 when absent or not a number, at most MAX_PAGE."""
    text = (text or "").strip()
    if not text.isascii() or not text.isdigit() or len(text) > 6:
        return 1
    return min(max(int(text), 1), MAX_PAGE)
