"""Records to point out on the next page (after an import: the rows it added or changed).

The ids wait in the signed session cookie for one page view; a large import keeps the first
few only, so that the cookie stays small.
"""

from __future__ import annotations

from collections.abc import Iterable

from flask import session

HIGHLIGHT_KEY = "_highlight_positions"
MOST_HIGHLIGHTED = 100


def highlight_positions(position_ids: Iterable[int]) -> None:
    """Point these positions out on the next group page."""
    session[HIGHLIGHT_KEY] = [int(position_id) for position_id in position_ids][:MOST_HIGHLIGHTED]


def take_highlighted_positions() -> frozenset[int]:
    """The positions to point out on this page (once: the next view shows none)."""
    return frozenset(session.pop(HIGHLIGHT_KEY, None) or ())
