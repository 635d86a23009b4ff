"""Rendered page content kept per process under a key of everything it shows.

A page whose content is a pure function of what it read (rows, counts, settings), of the request
(arguments, viewer, language and catalogue, the links' prefix) and of the day keeps it under all
of these. A write changes what is read, so the key, and the next page renders afresh: there is
no version to bump and nothing to invalidate, in this process or another (gunicorn's workers
each read for themselves). A page may put the database's data state (portal/data_state.py) in
its key instead of its rows: it then reads no row at all while nothing was written. Content holding a per-session value (a CSRF token) is not kept, nor
anything while templates reload.
"""

from __future__ import annotations

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
        self.entries: dict[tuple, Markup] = {}
        self.bytes = 0

    def get(self, key: tuple) -> Markup | None:
        return self.entries.get(key)

    def keep(self, key: tuple, html: Markup) -> None:
        full = self.max_entries is not None and len(self.entries) >= self.max_entries
        if full or self.bytes + len(html) > self.max_bytes:
            self.clear()
        self.entries[key] = html
        self.bytes += len(html)

    def clear(self) -> None:
        self.entries.clear()
        self.bytes = 0


def kept_in(store: KeptStore, key: tuple) -> Markup | None:
    """The content kept in `store` under `key`, for a view that reads nothing when there is."""
    return None if current_app.jinja_env.auto_reload else store.get(key)


class KeptContent:
    """Called by a template's `{% call content() %}…{% endcall %}`: renders the block, or gives
    the HTML kept in `store` under the same key."""

    def __init__(
        self,
        store: KeptStore,
        key: tuple | None,
        kept: Markup | None = None,
        also: tuple | None = None,
    ):
        """`key` None: render the block every time, keeping nothing. `kept`: the content the
        view already took from `store` (the block is not rendered: the view read nothing for
        it). `also`: a second key the content is kept under, as well as `key`."""
        self._store = store
        self._kept = kept
        # Template reloading (development) would keep content of the template's former text.
        reloading = current_app.jinja_env.auto_reload
        self._key = None if reloading else key
        self._also = None if reloading else also

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
        if self._also is not None:
            self._store.keep(self._also, html)
        return html
