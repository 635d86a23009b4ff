"""Login and logout."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from portal.auth.access import public
from portal.auth.forms import LoginForm
from portal.auth.services import authenticate, is_safe_redirect_target, record_login
from portal.extensions import db, limiter
from portal.i18n import LANGUAGES
from portal.labels import lazy_gettext as _l
from portal.security import (
    LOGIN_FAILURE_LIMIT,
    is_failed_login,
    login_account_key,
    login_address_key,
)

blueprint = Blueprint("auth", __name__)


def keep_language(locale: str | None) -> None:
    """Carry a language choice over a fresh session (a known locale code only)."""
    if locale in LANGUAGES:
        session["locale"] = locale


LOGIN_FAILED = _l("Invalid email or password.")


@blueprint.route("/login", methods=["GET", "POST"])
@public
@limiter.limit(
    LOGIN_FAILURE_LIMIT, key_func=login_account_key, methods=["POST"], deduct_when=is_failed_login
)
@limiter.limit(
    LOGIN_FAILURE_LIMIT, key_func=login_address_key, methods=["POST"], deduct_when=is_failed_login
)
def login():
    if current_user.is_authenticated:
        return redirect(url_for("group.index"))
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    if form.validate_on_submit():
        user = authenticate(form.email.data, form.password.data)
        if user is None:
            # Shown on the password field, so that screen readers announce it with the field.
            form.password.errors = [LOGIN_FAILED]
            return render_template("auth/login.html", form=form), 401
        target = (
            form.next.data if is_safe_redirect_target(form.next.data) else url_for("group.index")
        )
        language = session.get("locale")
        session.clear()  # a new session at login: nothing from the anonymous one carries over
        keep_language(language)  # ...but the language this browser chose
        login_user(user, remember=form.remember.data)
        record_login(user)
        db.session.commit()
        return redirect(target)
    status = 400 if form.is_submitted() else 200
    return render_template("auth/login.html", form=form), status


@blueprint.route("/logout", methods=["POST"])
def logout():
    """Log out everywhere (the global CSRF protection refuses a post without the page's token)."""
    current_user.revoke_sessions()
    db.session.commit()
    language = get_locale()
    logout_user()
    session.clear()
    keep_language(str(language) if language else None)
    flash(_("You have been logged out."), "info")
    return redirect(url_for("auth.login"))


@blueprint.route("/")
def home():
    return redirect(url_for("group.index"))
