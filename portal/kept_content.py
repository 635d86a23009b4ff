"""Rendered page content kept per process under a key of everything it shows.

A page whose content is a pure function of what it read (rows, counts, settings), of the request
(arguments, viewer, language and catalogue, the links' prefix) and of the day keeps it under all
of these. A write changes what is read, so the key, and the next page renders afresh: there is
no version to bump and nothing to invalidate, in this process or another (gunicorn's workers
each read for themselves). A page may also note which content the database's data state
(portal/data_state.py) stands for: it then reads no row at all while nothing was written.
Content holding a per-session value (a CSRF token) is not kept, nor anything while templates
reload.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import current_app
from markupsafe import Markup


class Read:
    """What a page's queries read, with what else it is made from: hashed once, and equal to
    another only if all of it is equal (a key of what is kept)."""

    __slots__ = ("values", "_hash")

    def __init__(self, values: tuple):
        self.values = values
        self._hash = hash(values)

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other) -> bool:
        return self is other or (
            other.__class__ is Read and self._hash == other._hash and self.values == other.values
        )


class KeptStore:
    """One page's kept content, within a byte budget (and a number of entries); when full it
    starts over, which a plain dict does safely under gunicorn's threads (the byte count is an
    estimate)."""

    def __init__(self, max_bytes: int, max_entries: int | None = None):
        self.max_bytes = max_bytes
        self.max_entries = max_entries
        self.entries: dict[tuple, Markup | bytes] = {}  # content, or a whole page encoded
        # (what a page shows, the connection that read the state) -> (the state, the key of the
        # content it stands for in `entries`): one state a page and connection, the newest, as
        # an older one is never read again.
        self.states: dict[tuple, tuple] = {}
        self.bytes = 0

    def get(self, key: tuple) -> Markup | bytes | None:
        return self.entries.get(key)

    def keep(self, key: tuple, html: Markup | bytes) -> None:
        full = self.max_entries is not None and len(self.entries) >= self.max_entries
        if full or self.bytes + len(html) > self.max_bytes:
            self.clear()
        self.entries[key] = html
        self.bytes += len(html)

    def under_state(self, shown: tuple, state: tuple) -> Markup | None:
        """The content noted for `state` (portal/data_state.state_of) with what the page
        shows, for a view that reads nothing when there is."""
        if current_app.jinja_env.auto_reload:
            return None
        connection, value = state
        noted = self.states.get((shown, connection))
        if noted is None or noted[0] != value:
            return None
        return self.entries.get(noted[1])

    def note_state(self, shown: tuple, state: tuple, key: tuple) -> None:
        """The content kept under `key` is what the page shows while the data state is `state`
        (nothing is noted when that content was not kept)."""
        if key in self.entries:
            connection, value = state
            self.states[(shown, connection)] = (value, key)

    def clear(self) -> None:
        self.entries.clear()
        self.states.clear()
        self.bytes = 0


_MISSING = object()


class KeptReads:
    """Small reads (a filter's choices, a count) kept per process under the data state they
    were read in (portal/data_state.state_of): while it is the same, nothing was written, so
    what they read is the same. Values are plain (tuples, numbers), never ORM objects, which
    belong to one session. Full, it starts over."""

    def __init__(self, max_entries: int = 64):
        self.max_entries = max_entries
        self.entries: dict[tuple, Any] = {}

    def get(self, state: tuple | None, what: tuple, read: Callable[[], Any]) -> Any:
        """`read()`, or what it gave under the same state; `state` None: read every time."""
        if state is None:
            return read()
        key = (state, what)
        value = self.entries.get(key, _MISSING)
        if value is not _MISSING:
            return value
        value = read()
        if len(self.entries) >= self.max_entries:
            self.entries.clear()
        self.entries[key] = value
        return value

    def clear(self) -> None:
        self.entries.clear()


class KeptContent:
    """Called by a template's `{% call content() %}…{% endcall %}`: renders the block, or gives
    the HTML kept in `store` under the same key."""

    def __init__(self, store: KeptStore, key: tuple | None, kept: Markup | None = None):
        """`key` None: render the block every time, keeping nothing. `kept`: the content the
        view already took from `store` (the block is not rendered: the view read nothing for
        it)."""
        self._store = store
        self._kept = kept
        # Template reloading (development) would keep content of the template's former text.
        self._key = None if current_app.jinja_env.auto_reload else key

    def __call__(self, caller) -> Markup:
        if self._kept is not None:
            return self._kept
        key = self._key
        if key is None:
            return caller()
        html = self._store.get(key)
        if html is None:
            html = caller()
            if "csrf_token" in html:
                return html
            self._store.keep(key, html)
        return html
