"""The current members' page content (everything under the navigation), kept per process while
everything it shows is the same.

The content of /group is a pure function of its key (`content_key`): the viewer (account and
whether an administrator), the group's owner (id, name, email), the request's filter, sort and
faculty search with what it found, every current and incoming member's row as read
(`MemberRow`, with each share's text: Decimal("12.5") == Decimal("12.50") but they print apart)
and their programs' names in the page's language, the due panel's milestones, the rows' next
milestones, the highlighted (just imported) rows, the day, the language and catalogue, and the
links' prefix. A write changes what is read, so the key, and the next page renders afresh: there
is no version to bump and nothing to invalidate, in this process or another. A viewer's content
is never given to another viewer. Content holding a per-session value (a CSRF token) is not
kept.
"""

from __future__ import annotations

from flask import current_app
from markupsafe import Markup

# Bytes of content kept per process; when full it starts over, which a plain dict does safely
# under gunicorn's threads (the byte count is an estimate).
MAX_KEPT_BYTES = 8_000_000
_kept: dict[tuple, Markup] = {}
_kept_bytes = 0


class KeptContent:
    """Called by a template's `{% call content() %}…{% endcall %}`: renders the block, or gives
    the HTML kept under the same key."""

    def __init__(self, key: tuple):
        # Template reloading (development) would keep content of the template's former text.
        self._key = None if current_app.jinja_env.auto_reload else key

    def __call__(self, caller) -> Markup:
        global _kept_bytes
        key = self._key
        if key is None:
            return caller()
        html = _kept.get(key)
        if html is None:
            html = caller()
            if "csrf_token" in html:
                return html
            if _kept_bytes + len(html) > MAX_KEPT_BYTES:
                _kept.clear()
                _kept_bytes = 0
            _kept[key] = html
            _kept_bytes += len(html)
        return html
