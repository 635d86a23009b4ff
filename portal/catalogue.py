"""The request's translation catalogue, looked up once per request (for pages of long tables).

Flask-Babel looks the catalogue up again for every string, which was most of the time of a
page with a few hundred translated strings. `cached_gettext` translates through the catalogue
kept on `g`; it is named for what it is, so a reader never mistakes it for Flask-Babel's own.
"""

from __future__ import annotations

from functools import cached_property, lru_cache

from babel import support
from flask import Request, g
from flask_babel import get_locale, get_translations
from jinja2 import pass_context
from markupsafe import Markup
from wtforms.i18n import messages_path


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


# ---------------------------------------------------------------------------------------------
# Templates: gettext bound to the catalogue once per render, constant strings kept per language.


def template_callables(translations) -> dict:
    """The names a template translates with, bound to `translations` (made once per catalogue).

    They behave as Jinja's newstyle gettext and ngettext (the text marked safe when the template
    autoescapes, then `%`-formatted with escaped variables), but a string without variables is
    translated, marked and formatted once per catalogue and kept, and none of them looks the
    catalogue up again. The catalogues live as long as the process, and so does what is kept.
    """
    callables = getattr(translations, "_portal_template_callables", None)
    if callables is None:
        callables = _bind(translations)
        translations._portal_template_callables = callables
    return callables


def _bind(translations) -> dict:
    ugettext = translations.ugettext
    ungettext = translations.ungettext
    constants: dict[tuple[bool, str], str] = {}  # (autoescape, msgid) -> the finished text
    templates: dict[tuple[bool, str], str] = {}  # (autoescape, msgid) -> text before `%`

    @pass_context
    def gettext(context, message: str, /, **variables) -> str:
        autoescape = context.eval_ctx.autoescape
        key = (autoescape, message)
        if not variables:
            text = constants.get(key)
            if text is None:
                text = constants[key] = _marked(ugettext(message), autoescape) % variables
            return text
        text = templates.get(key)
        if text is None:
            text = templates[key] = _marked(ugettext(message), autoescape)
        return text % variables

    @pass_context
    def ngettext(context, singular: str, plural: str, number, /, **variables) -> str:
        variables.setdefault("num", number)
        text = ungettext(singular, plural, number)
        return _marked(text, context.eval_ctx.autoescape) % variables

    return {
        "gettext": gettext,
        "_": gettext,
        "ngettext": ngettext,
        "portal_catalogue": translations,
    }


def _marked(text: str, autoescape: bool) -> str:
    return Markup(text) if autoescape else text


# ---------------------------------------------------------------------------------------------
# WTForms' own messages ("Not a valid choice."): Flask-WTF reads their catalogue from disk once
# per request that shows a form, unless the request already holds it as `wtforms_translations`.


@lru_cache(maxsize=16)
def wtforms_catalogue(locale: str) -> support.Translations:
    """WTForms' messages in `locale`, read from disk once per process."""
    return support.Translations.load(messages_path(), [locale], domain="wtforms")


class PortalRequest(Request):
    """The app's request: it hands Flask-WTF the kept catalogue of WTForms' messages, in the
    request's language, the first time a form asks for it."""

    @cached_property
    def wtforms_translations(self) -> support.Translations:
        return wtforms_catalogue(str(get_locale()))
