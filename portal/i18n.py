"""Languages: the user's saved choice, else the browser's Accept-Language; switchable anywhere."""

from __future__ import annotations

from flask import Blueprint, Flask, redirect, request, session, url_for
from flask_babel import get_locale
from flask_login import current_user

from portal.auth.access import public
from portal.auth.services import is_safe_redirect_target
from portal.extensions import babel, db

# Locale code -> the language's own name, shown in the switcher.
LANGUAGES = {"en": "English", "fr_CA": "Français"}
DEFAULT_LOCALE = "en"

blueprint = Blueprint("i18n", __name__)


def select_locale() -> str:
    """Saved preference of the logged-in user, then this browser's choice, then Accept-Language."""
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
    babel.init_app(app, locale_selector=select_locale, default_locale=DEFAULT_LOCALE,
                   default_timezone="America/Montreal")
    app.jinja_env.globals.update(LANGUAGES=LANGUAGES, html_language=html_language)


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
