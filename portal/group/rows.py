"""The current members' table rows, each rendered once per process while it shows the same thing.

A row of /group is a pure function of what its key holds: the member's row as the viewer sees it
(MemberRow: names, program, dates, role, share, notes, whether the viewer's group owns it, past
its expected duration), the program's name in the page's language, the next milestone and its
state on the day, whether it was just imported, the page's language and catalogue, whether the
viewer only reads the group, and the links (which carry an administrator's `faculty`). A write
changes the row that is read, so its key, and the next page renders it afresh: there is no
version to bump and nothing to invalidate, in this process or another. Two viewers share a
rendered row only when every input of its HTML is the same, so the same actions. Rows holding
a per-session value (a CSRF token) are not kept here.
"""

from __future__ import annotations

from flask import current_app
from markupsafe import Markup

from portal.catalogue import cached_translations
from portal.labels import program_name_in
from portal.milestones import MilestoneSummary

# Rows kept per process (about a kilobyte each); when full it starts over, which a plain dict
# does safely under gunicorn's threads.
MAX_KEPT_ROWS = 4096
_kept: dict[tuple, Markup] = {}


class MemberRows:
    """Renders the rows of one page through the template's row macro, or takes them as kept."""

    def __init__(
        self,
        language: str,
        read_only: bool,
        links,
        milestones: dict[int, MilestoneSummary],
        highlighted: set[int] | frozenset[int],
    ):
        self._milestones = milestones
        self._highlighted = highlighted
        # Template reloading (development) would keep rows of the template's former text.
        self._keep = not current_app.jinja_env.auto_reload
        self._page_key = (language, id(cached_translations()), read_only, links.edit(0))
        self._language = language

    def render(self, macro, member) -> Markup:
        """`macro(member, imported, next_milestone)`, or the HTML kept for the same inputs."""
        imported = member.position_id in self._highlighted
        next_milestone = self._milestones.get(member.position_id)
        if not self._keep:
            return macro(member, imported, next_milestone)
        key = (
            member,
            str(member.share),  # Decimal("12.5") == Decimal("12.50"), but they print apart
            program_name_in(member.program, self._language),
            next_milestone,
            imported,
            self._page_key,
        )
        html = _kept.get(key)
        if html is None:
            html = macro(member, imported, next_milestone)
            if len(_kept) >= MAX_KEPT_ROWS:
                _kept.clear()
            _kept[key] = html
        return html
