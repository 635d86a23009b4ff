"""The request's translation catalogue, looked up once per request (for pages of long tables).

Flask-Babel looks the catalogue up again for every string, which was most of the time of a
page with a few hundred translated strings. `cached_gettext` translates through the catalogue
kept on `g`; it is named for what it is, so a reader never mistakes it for Flask-Babel's own.
"""

from __future__ import annotations

from flask import g
from flask_babel import get_translations


def request_translations():
    """The catalogue of the request's language, kept on `g` with the Locale it was made for.

    The cache is keyed by the request's Locale object, so force_locale() and refresh() (which
    replace it) are still obeyed.
    """
    translations = get_translations()
    state = getattr(g, "_flask_babel", None)
    locale = getattr(state, "babel_locale", None)
    g._portal_translations = (locale, translations)
    return translations


def cached_translations():
    """The catalogue kept for this request and language, or a fresh look-up."""
    cached = g.get("_portal_translations")
    state = getattr(g, "_flask_babel", None)
    if (
        cached is not None
        and state is not None
        and cached[0] is getattr(state, "babel_locale", None)
    ):
        return cached[1]
    return request_translations()


def cached_gettext(text: str, **variables) -> str:
    """flask_babel.gettext, through the request's cached catalogue (for long tables)."""
    translated = cached_translations().ugettext(text)
    return translated % variables if variables else translated


def cached_ngettext(singular: str, plural: str, number: int, **variables) -> str:
    """flask_babel.ngettext, through the request's cached catalogue; `num` is the number."""
    translated = cached_translations().ungettext(singular, plural, number)
    return translated % {"num": number, **variables}
