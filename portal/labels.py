"""How the models' enums read on a page: translatable labels (the models stay free of Flask).

The labels are lazy strings, translated when shown; `english()` gives the same text in English for
what must not depend on the reader's language (file exports, the audit trail).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable

from flask import g
from flask_babel import force_locale, get_locale, gettext
from flask_babel.speaklater import LazyString
from sqlalchemy import select

from portal.catalogue import cached_translations
from portal.extensions import db
from portal.models import (
    DepartureReason,
    DueState,
    MilestoneStatus,
    Program,
    ProgramKind,
    SupervisionRole,
)


class LazyText(LazyString):
    """A translation made when shown, escaped like any text (Flask-Babel's own counts as HTML)."""

    @property
    def __html__(self):
        raise AttributeError("__html__")

    @property
    def msgid(self) -> str:
        """The English source text, as the catalogue knows it."""
        return self._args[0]


def lazy_gettext(string: str, **variables) -> LazyText:
    """Like flask_babel.lazy_gettext, for module-level text (form labels, messages, labels)."""
    return LazyText(gettext, string, **variables)


_l = lazy_gettext

ROLE_LABELS = {
    SupervisionRole.PRINCIPAL: _l("Principal supervisor"),
    SupervisionRole.CO_SUPERVISOR: _l("Co-supervisor"),
    SupervisionRole.NONE: _l("Host (no supervision role)"),
}

KIND_LABELS = {
    ProgramKind.PHD: _l("PhD students"),
    ProgramKind.MASTERS: _l("Master's students"),
    ProgramKind.POSTDOC: _l("Postdocs"),
    ProgramKind.INTERN: _l("Interns"),
    ProgramKind.COLLABORATOR: _l("Collaborators"),
    ProgramKind.VISITOR: _l("Visitors"),
    ProgramKind.ALUMNI_COLLABORATOR: _l("Collaborating alumni"),
}

DEPARTURE_LABELS = {
    DepartureReason.GRADUATED: _l("Graduated"),
    DepartureReason.LEFT_WITHOUT_DEGREE: _l("Left without a degree"),
    DepartureReason.TRANSFERRED: _l("Transferred"),
    DepartureReason.COLLABORATION_ENDED: _l("Collaboration ended"),
}

# A milestone's state on a given day, as the group page, the digest and the reports say it.
DUE_STATE_LABELS = {
    DueState.UPCOMING: _l("Upcoming"),
    DueState.DUE_SOON: _l("Due within 30 days"),
    DueState.OVERDUE: _l("Overdue"),
    DueState.DONE: _l("Done"),
    DueState.WAIVED: _l("Waived"),
}

# A milestone's recorded status, as the history says it.
MILESTONE_STATUS_LABELS = {
    MilestoneStatus.OPEN: _l("To do"),
    MilestoneStatus.DONE: _l("Done"),
    MilestoneStatus.WAIVED: _l("Waived"),
}

# What happened to a member, as the history on the edit page says it (audit event actions).
ACTION_LABELS = {
    "create": _l("created"),
    "update": _l("updated"),
    "move-to-alumni": _l("moved to alumni"),
    "change-program": _l("changed program (a new position follows)"),
    "restore": _l("restored to current members"),
    "archive": _l("archived"),
    "restore-archived": _l("restored from the archive"),
    "milestone-done": _l("milestone marked done"),
    "milestone-waived": _l("milestone waived"),
    "milestone-extended": _l("milestone date moved"),
    "milestone-note": _l("milestone note changed"),
    "milestone-reopened": _l("milestone reopened"),
}

_BY_TYPE: dict[type, dict] = {
    SupervisionRole: ROLE_LABELS,
    ProgramKind: KIND_LABELS,
    DepartureReason: DEPARTURE_LABELS,
    DueState: DUE_STATE_LABELS,
    MilestoneStatus: MILESTONE_STATUS_LABELS,
}


def label(value: enum.Enum | None):
    """The reader's-language label of a role, program kind or departure reason ('' for None)."""
    if value is None:
        return ""
    return _BY_TYPE[type(value)][value]


def label_text(value: enum.Enum | None) -> str:
    """label() translated now, through the request's cached catalogue (for long lists)."""
    if value is None:
        return ""
    return cached_translations().ugettext(msgid_of(value))


def msgid_of(value: enum.Enum) -> str:
    """The English source text of a role's, program kind's or departure reason's label."""
    return _BY_TYPE[type(value)][value].msgid


def action_label(action: str):
    """The reader's-language words for an audit action (the code itself when unknown)."""
    return ACTION_LABELS.get(action, action)


def program_name(name: str | None) -> str:
    """A program's canonical name as the reader's language shows it ('' for None).

    French pages show the French name administrators set (Program.name_fr), else the canonical
    name; exports, imports and the API keep the canonical name. The French names are read once
    per request, and only on French pages.
    """
    if not name:
        return ""
    return program_name_in(name, str(get_locale() or ""))


def program_name_in(name: str | None, language: str) -> str:
    """program_name() in `language` (a render knows its language: no locale look-up a row)."""
    if not name:
        return ""
    if not language.startswith("fr"):
        return name
    known = g.get("program_names_known")
    if known is not None and name in known:
        return known[name] or name
    names = g.get("program_french_names")
    if names is None:
        rows = db.session.execute(
            select(Program.name, Program.name_fr).where(Program.name_fr.is_not(None))
        )
        names = dict(list(rows))  # a list: dict() would read a Result as a mapping
        g.program_french_names = names
    return names.get(name) or name


def remember_program_names(pairs: Iterable[tuple[str, str | None]]) -> None:
    """Keep (canonical name, French name) pairs a query read anyway, for `program_name`."""
    known = g.setdefault("program_names_known", {})
    known.update(pairs)


def program_choices_in_language(choices: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """(id, canonical name) choices with the names as the reader's language shows them."""
    return [(program_id, program_name(name)) for program_id, name in choices]


def english(text) -> str:
    """A (lazy) label as English text, whatever the reader's language."""
    with force_locale("en"):
        return str(text)
