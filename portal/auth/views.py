"""Login and logout."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from portal.auth.access import public
from portal.auth.forms import LoginForm, LogoutForm, ReauthenticateForm
from portal.auth.services import (
    REAUTHENTICATION_WINDOW_SECONDS,
    authenticate,
    is_safe_redirect_target,
    mark_password_entered,
    record_failed_login,
    record_login,
)
from portal.auth.throttle import remember_device, reserve_attempt
from portal.emails import normalise_email
from portal.errors import render_error
from portal.extensions import db
from portal.i18n import LANGUAGES, format_moment
from portal.labels import lazy_gettext as _l

blueprint = Blueprint("auth", __name__)


def keep_language(locale: str | None) -> None:
    """Carry a language choice over a fresh session (a known locale code only)."""
    if locale in LANGUAGES:
        session["locale"] = locale


LOGIN_FAILED = _l("Invalid email or password.")
FORM_MIMETYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})


@blueprint.route("/login", methods=["GET", "POST"])
@public
def login():
    if current_user.is_authenticated:
        return redirect(url_for("group.index"))
    if request.method == "POST" and request.mimetype not in FORM_MIMETYPES:
        # Only the HTML form logs in: a JSON body (with an X-CSRFToken header) is no login.
        return render_error(400, _("Log in with the login form of this page."))
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    if form.validate_on_submit():
        email = normalise_email(form.email.data)
        attempt = reserve_attempt(email)  # counted, atomically, before the password is checked
        if not attempt.allowed:
            db.session.rollback()
            return render_error(429, headers={"Retry-After": str(attempt.retry_after)})
        user = authenticate(email, form.password.data)
        if user is None:
            record_failed_login(email)
            db.session.commit()
            # Shown on the password field, so that screen readers announce it with the field.
            form.password.errors = [LOGIN_FAILED]
            return render_template("auth/login.html", form=form), 401
        attempt.refund()
        target = (
            form.next.data if is_safe_redirect_target(form.next.data) else url_for("group.index")
        )
        language = session.get("locale")
        session.clear()  # a new session at login: nothing from the anonymous one carries over
        keep_language(language)  # ...but the language this browser chose
        login_user(user, remember=form.remember.data)
        mark_password_entered()
        failed = record_login(user)
        db.session.commit()
        if failed.count:
            flash(
                ngettext(
                    "Since your last login, %(num)d attempt to log in to your account failed "
                    "(the last on %(when)s). If it was not you, change your password.",
                    "Since your last login, %(num)d attempts to log in to your account failed "
                    "(the last on %(when)s). If they were not you, change your password.",
                    failed.count,
                    when=format_moment(failed.last_at) if failed.last_at else "?",
                ),
                "warning",
            )
        response = redirect(target)
        remember_device(response, email)
        return response
    status = 400 if form.is_submitted() else 200
    return render_template("auth/login.html", form=form), status


@blueprint.route("/reauthenticate", methods=["GET", "POST"])
def reauthenticate():
    """Type the password again before changing another account's password or admin rights."""
    if request.method == "POST" and request.mimetype not in FORM_MIMETYPES:
        return render_error(400, _("Log in with the login form of this page."))
    form = ReauthenticateForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    status = 200
    if form.validate_on_submit():
        attempt = reserve_attempt(current_user.email)  # the same limit as the login form
        if not attempt.allowed:
            return render_error(429, headers={"Retry-After": str(attempt.retry_after)})
        if current_user.check_password(form.password.data):
            attempt.refund()
            mark_password_entered()
            target = form.next.data
            return redirect(target if is_safe_redirect_target(target) else url_for("group.index"))
        record_failed_login(current_user.email)
        db.session.commit()
        form.password.errors = [_("This is not your password.")]
        status = 401
    elif form.is_submitted():
        status = 400
    minutes = REAUTHENTICATION_WINDOW_SECONDS // 60
    return render_template("auth/reauthenticate.html", form=form, minutes=minutes), status


@blueprint.route("/logout", methods=["POST"])
def logout():
    form = LogoutForm()
    if form.validate_on_submit():
        current_user.revoke_sessions()
        language = get_locale()
        logout_user()  # user_logged_out: features drop what the session held (import previews)
        db.session.commit()
        session.clear()
        keep_language(str(language) if language else None)
        flash(_("You have been logged out."), "info")
    return redirect(url_for("auth.login"))


@blueprint.route("/")
def home():
    return redirect(url_for("group.index"))
