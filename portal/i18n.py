"""Languages: the user's saved choice, else the browser's Accept-Language; switchable anywhere."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from functools import lru_cache

from babel.dates import format_date as babel_format_date
from babel.numbers import format_decimal as babel_format_decimal
from flask import Blueprint, Flask, has_request_context, redirect, request, session, url_for
from flask_babel import (
    format_date,
    format_datetime,
    get_locale,
    gettext,
)
from flask_login import current_user
from jinja2 import pass_context

from portal.auth.access import handles_own_authentication, public
from portal.catalogue import PortalRequest, cached_translations, template_callables
from portal.extensions import babel, db, login_manager
from portal.labels import action_label, msgid_of, program_name, program_name_in
from portal.urls import is_safe_redirect_target

# Locale code -> the language's own name, shown in the switcher.
LANGUAGES = {"en": "English", "fr_CA": "Français"}
DEFAULT_LOCALE = "en"

blueprint = Blueprint("i18n", __name__)


def N_(text: str) -> str:  # noqa: N802 - the gettext convention for "mark, translate later"
    """Mark a message for the catalogue without translating it here."""
    return text


# What Flask-Login flashes on the way to the login page; translated through localize_callback.
LOGIN_MESSAGE = N_("Please log in to see this page.")


def select_locale() -> str:
    """Saved preference of the logged-in user, then this browser's choice, then Accept-Language."""
    if not has_request_context():
        return DEFAULT_LOCALE  # the CLI and background work speak English
    if not handles_own_authentication():  # the API reads no cookie, so no session either
        if current_user.is_authenticated and current_user.locale in LANGUAGES:
            return current_user.locale
        if session.get("locale") in LANGUAGES:
            return session["locale"]
    best = request.accept_languages.best_match(["en", "fr", "fr-CA", "fr-FR"], default="en")
    return "fr_CA" if best.startswith("fr") else DEFAULT_LOCALE


def html_language() -> str:
    """The page's lang attribute: 'fr-CA' or 'en'."""
    return str(get_locale()).replace("_", "-")


def init_app(app: Flask) -> None:
    app.request_class = PortalRequest  # WTForms' messages in the page's language, read once
    babel.init_app(
        app,
        locale_selector=select_locale,
        default_locale=DEFAULT_LOCALE,
        default_timezone="America/Montreal",
    )
    # The same callables Flask-Babel installs, reading the catalogue once per request (what a
    # template imported without context uses); every render gets them bound to its catalogue.
    app.jinja_env.install_gettext_callables(
        gettext=lambda text: cached_translations().ugettext(text),
        ngettext=lambda singular, plural, n: cached_translations().ungettext(singular, plural, n),
        pgettext=lambda context, text: cached_translations().upgettext(context, text),
        npgettext=lambda context, singular, plural, n: cached_translations().unpgettext(
            context, singular, plural, n
        ),
        newstyle=True,
    )
    app.context_processor(render_translations)
    app.jinja_env.globals.update(LANGUAGES=LANGUAGES, html_language=html_language)
    login_manager.login_message = LOGIN_MESSAGE
    login_manager.localize_callback = gettext
    app.jinja_env.filters.update(
        label=label_filter,
        action_label=action_label,
        program_name=program_name_filter,
        date=date_filter,
        datetime=format_moment,
        number=number_filter,
    )


def render_translations() -> dict:
    """Context processor: the render's language, and gettext bound to its catalogue."""
    return {
        **template_callables(cached_translations()),
        "portal_language": str(get_locale()),
    }


@pass_context
def label_filter(context, value) -> str:
    """The `label` filter: label_text() through the render's catalogue."""
    if value is None:
        return ""
    catalogue = context.get("portal_catalogue") or cached_translations()
    return catalogue.ugettext(msgid_of(value))


@pass_context
def program_name_filter(context, name: str | None) -> str:
    """The `program_name` filter: program_name() in the render's language."""
    language = context.get("portal_language")
    return program_name_in(name, language) if language else program_name(name)


@pass_context
def date_filter(context, value) -> str:
    """The `date` filter: format_day() in the render's language."""
    return format_day(value, context.get("portal_language"))


@pass_context
def number_filter(context, value, places: int | None = None) -> str:
    """The `number` filter: number_text() in the render's language."""
    return number_text(value, places, context.get("portal_language"))


# How each language writes a day and a moment (CLDR patterns). English keeps the ISO form that
# Canadian English uses (en_CA's short date); French writes the month, as Québec usage does.
DATE_PATTERNS = {"en": "yyyy-MM-dd", "fr_CA": "d MMM y"}
DATETIME_PATTERNS = {"en": "yyyy-MM-dd HH:mm", "fr_CA": "d MMM y, HH 'h' mm"}


def format_day(value, language: str | None = None) -> str:
    """A date as the reader's language (or `language`) writes it ('' for None)."""
    if not value:
        return ""
    language = language or str(get_locale())
    if value.__class__ is date:
        return _day_text(language, value)
    pattern = DATE_PATTERNS.get(language, DATE_PATTERNS[DEFAULT_LOCALE])
    if pattern == "yyyy-MM-dd" and isinstance(value, date):
        return value.isoformat()
    return format_date(value, pattern)


@lru_cache(maxsize=8192)
def _day_text(language: str, day: date) -> str:
    """A day's text in `language`, formatted once per language and day (a table repeats days)."""
    pattern = DATE_PATTERNS.get(language, DATE_PATTERNS[DEFAULT_LOCALE])
    if pattern == "yyyy-MM-dd":
        return day.isoformat()  # the same text, without formatting it through CLDR
    return babel_format_date(day, pattern, locale=language)


def format_moment(value) -> str:
    """A moment in the reader's language and the portal's time zone ('' for None)."""
    if not value:
        return ""
    pattern = DATETIME_PATTERNS.get(str(get_locale()), DATETIME_PATTERNS[DEFAULT_LOCALE])
    return format_datetime(value, pattern)


def number_text(value, places: int | None = None, language: str | None = None) -> str:
    """A number with the reader's decimal mark and grouping ('' for None).

    `places` fixes the decimals; otherwise a Decimal keeps its own (12.50 stays 12,50 in French,
    a whole 150.00 prints 150), as the exports write it.
    """
    if value is None or value == "":
        return ""
    if places is None and value.__class__ is int and 0 <= value < 1000:
        return str(value)  # what CLDR writes in both languages, without formatting it each time
    if places is None and isinstance(value, Decimal):
        places = 0 if value == value.to_integral() else max(0, -value.as_tuple().exponent)
    return _number_text(language or str(get_locale()), value, places)


@lru_cache(maxsize=8192)
def _number_text(language: str, value, places: int | None) -> str:
    """A number's text in `language`, formatted once per language, value and decimals."""
    return babel_format_decimal(
        value, "#,##0." + "0" * places if places else "#,##0", locale=language
    )


@blueprint.route("/language", methods=["POST"])
@public
def switch_language():
    """Remember the chosen language for this browser, and for the account when logged in."""
    chosen = request.form.get("language", "")
    if chosen in LANGUAGES:
        session["locale"] = chosen
        if current_user.is_authenticated:
            current_user.locale = chosen
            db.session.commit()
    target = request.form.get("next", "")
    return redirect(target if is_safe_redirect_target(target) else url_for("auth.home"))
