"""Login and logout."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from portal.auth import oidc
from portal.auth.access import public
from portal.auth.forms import LoginForm, ReauthenticateForm
from portal.auth.operations import mark_password_entered, record_failed_login, record_login
from portal.auth.queries import REAUTHENTICATION_WINDOW_SECONDS, authenticate, landing_url
from portal.auth.throttle import remember_device, reserve_attempt
from portal.errors import render_error
from portal.extensions import db, limiter
from portal.i18n import LANGUAGES, format_moment
from portal.identifiers import normalise_email
from portal.labels import lazy_gettext as _l
from portal.security import LOGIN_FAILURE_LIMIT, is_refused_sso, login_address_key
from portal.urls import is_safe_redirect_target

blueprint = Blueprint("auth", __name__)


def keep_language(locale: str | None) -> None:
    """Carry a language choice over a fresh session (a known locale code only)."""
    if locale in LANGUAGES:
        session["locale"] = locale


LOGIN_FAILED = _l("Invalid email or password.")
ACCOUNT_DEACTIVATED = _l(
    "This account is deactivated. Ask an administrator of the portal to reactivate it."
)
FORM_MIMETYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})
PASSWORD_LOGIN_OFF = _l(
    "Password login is turned off: sign in with the single sign-on button. Only "
    "administrators keep a break-glass password."
)
SSO_NEXT = "_sso_next"
SSO_ID_TOKEN = "_sso_id_token"


def password_login_enabled() -> bool:
    return bool(current_app.config["PASSWORD_LOGIN"])


def _login_page(form: LoginForm, status: int):
    show_password = (
        password_login_enabled()
        or request.args.get("break-glass") == "1"
        or bool(form.password.errors)
    )
    return render_template(
        "auth/login.html",
        form=form,
        show_password=show_password,
        sso_enabled=oidc.is_enabled(),
        sso_name=current_app.config["OIDC_NAME"],
    ), status


def _start_session(user, remember: bool = False) -> None:
    """A new session at login: nothing from the anonymous one carries over but the language.

    The owner is told how many attempts to log in to the account failed since the last login.
    """
    language = session.get("locale")
    session.clear()
    keep_language(language)
    login_user(user, remember=remember)
    failed = record_login(user)
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


@blueprint.route("/login", methods=["GET", "POST"])
@public
def login():
    if current_user.is_authenticated:
        return redirect(landing_url(current_user))
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
            return _login_page(form, 401)
        attempt.refund()
        if not user.is_active:
            # Only after the right password: a guess learns nothing about the account.
            form.password.errors = [ACCOUNT_DEACTIVATED]
            return _login_page(form, 403)
        if not password_login_enabled() and not user.is_admin:
            form.password.errors = [PASSWORD_LOGIN_OFF]
            return _login_page(form, 403)
        target = form.next.data if is_safe_redirect_target(form.next.data) else landing_url(user)
        _start_session(user, remember=form.remember.data)
        mark_password_entered()
        db.session.commit()
        response = redirect(target)
        remember_device(response, email)
        return response
    return _login_page(form, 400 if form.is_submitted() else 200)


@blueprint.route("/login/sso")
@public
def sso_login():
    """Send the browser to the identity provider (authorization code, PKCE, state, nonce)."""
    if not oidc.is_enabled():
        abort(404)
    target = request.args.get("next", "")
    session[SSO_NEXT] = target if is_safe_redirect_target(target) else ""
    try:
        oidc.provider_metadata()
        return oidc.client().authorize_redirect(url_for("auth.sso_callback", _external=True))
    except oidc.SsoRefusedError as refusal:
        return _sso_refused(refusal)
    except oidc.PROVIDER_ERRORS as error:
        current_app.logger.warning("Identity provider unreachable: %r", error)
        return _sso_refused(
            oidc.SsoRefusedError(
                _("The identity provider cannot be reached right now. Please try again."), 502
            )
        )


@blueprint.route("/login/sso/callback")
@public
@limiter.limit(LOGIN_FAILURE_LIMIT, key_func=login_address_key, deduct_when=is_refused_sso)
def sso_callback():
    """The provider sends the browser back here with a code; check everything, then log in."""
    if not oidc.is_enabled():
        abort(404)
    try:
        claims = oidc.fetch_verified_claims()
        user = oidc.account_for(claims)
    except oidc.SsoRefusedError as refusal:
        db.session.rollback()
        return _sso_refused(refusal)
    target = session.get(SSO_NEXT) or landing_url(user)
    _start_session(user)
    session[SSO_ID_TOKEN] = claims.get("_id_token")
    db.session.commit()
    return redirect(target)


def _sso_refused(refusal: oidc.SsoRefusedError):
    return render_template(
        "auth/sso_refused.html", message=refusal.message, sso_name=current_app.config["OIDC_NAME"]
    ), refusal.status


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
    """Log out everywhere (the global CSRF protection refuses a post without the page's token)."""
    current_user.revoke_sessions()
    language = get_locale()
    id_token = session.get(SSO_ID_TOKEN)
    logout_user()  # user_logged_out: features drop what the session held (import previews)
    db.session.commit()
    session.clear()
    keep_language(str(language) if language else None)
    flash(_("You have been logged out."), "info")
    if id_token and oidc.is_enabled():
        # RP-initiated logout: end the provider's session too, when it offers that.
        provider_logout = oidc.logout_url(id_token, url_for("auth.login", _external=True))
        if provider_logout:
            return redirect(provider_logout)
    return redirect(url_for("auth.login"))


@blueprint.route("/")
@public
def home():
    """Where the portal starts: the login form for a visitor (no "please log in" alarm), the
    loads page for an administrator without a group of their own, else the group."""
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    return redirect(landing_url(current_user))
