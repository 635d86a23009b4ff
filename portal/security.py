"""Cross-cutting protections: security headers, caching rules, session lifetimes, login limits.

Everything here is registered with one call, `register(app)`, and applies to every route the
app has or will have: nothing is keyed by a list of routes.
"""

from __future__ import annotations

import time
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, flash, request, session
from flask_limiter.util import get_remote_address
from flask_login import logout_user, user_loaded_from_cookie, user_logged_in
from werkzeug.middleware.proxy_fix import ProxyFix

from portal.auth.access import handles_own_authentication
from portal.labels import lazy_gettext as _l

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ]
)
HSTS = "max-age=31536000; includeSubDomains"
API_CACHE_CONTROL = "private, no-cache"

# Session keys of our own, next to Flask-Login's `_user_id`.
LOGIN_AT = "_login_at"
SEEN_AT = "_seen_at"
SESSION_EXPIRED = _l("Your session has expired. Please log in again.")

# Failed logins allowed per account and per client address before the login form answers 429.
LOGIN_FAILURE_LIMIT = "10 per minute"


def register(app: Flask) -> None:
    """Install the headers, the session lifetime checks and the login-signal hooks on `app`."""
    proxies = int(app.config["TRUSTED_PROXIES"])
    if proxies:
        # Behind N load balancers, the client's address is the one they put in
        # X-Forwarded-For; otherwise every login would share the balancer's address and limit.
        # Never on by default: a client could then claim any address and dodge the limit.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)
    if app.config.get("PORTAL_ENV") == "production" and not app.config.get("TRUSTED_HOSTS"):
        # Flask then answers any Host header, and links built from it could point elsewhere.
        app.logger.warning(
            "PORTAL_ENV=production without TRUSTED_HOSTS: set TRUSTED_HOSTS to "
            "the portal's host names, e.g. TRUSTED_HOSTS=portal.example.org"
        )
    app.before_request(expire_stale_session)
    app.after_request(add_security_headers)
    user_logged_in.connect(stamp_new_login, app)
    user_loaded_from_cookie.connect(stamp_new_login, app)


# ---------------------------------------------------------------------------------------------
# Headers.


def add_security_headers(response: Response) -> Response:
    """after_request: the same protective headers on every response, pages and files alike."""
    headers = response.headers
    headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    headers["X-Content-Type-Options"] = "nosniff"
    headers["X-Frame-Options"] = "DENY"
    headers["Referrer-Policy"] = "same-origin"
    if current_app.config.get("PORTAL_ENV") == "production":
        headers["Strict-Transport-Security"] = HSTS
    if headers.get("Cache-Control") == API_CACHE_CONTROL:
        pass  # the API's reads: clients may keep them and revalidate with their ETag
    elif request.endpoint != "static" or _has_login_session():
        # Pages may show personal data: no browser or proxy keeps a copy. Static files of an
        # anonymous visitor are the only responses that may be cached.
        headers["Cache-Control"] = "no-store"
        headers.pop("Expires", None)
    return response


def _has_login_session() -> bool:
    # Reads the cookie only: a static file must not cost a database query to load the user.
    return "_user_id" in session or bool(request.cookies.get(_remember_cookie_name()))


def _remember_cookie_name() -> str:
    return current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token")


# ---------------------------------------------------------------------------------------------
# Session lifetimes.


def stamp_new_login(_app: Flask, **_extra) -> None:
    """A login (by form or by remember-me cookie) starts the idle and the absolute clocks."""
    now = int(time.time())
    session[LOGIN_AT] = now
    session[SEEN_AT] = now


def expire_stale_session() -> None:
    """before_request: a logged-in session idle too long, or older than its lifetime, ends here.

    Ending it also clears the remember-me cookie, so the next request is anonymous.
    """
    if request.endpoint == "static" or "_user_id" not in session or handles_own_authentication():
        return  # (the API ignores the session cookie: it neither reads nor refreshes it)
    now = int(time.time())
    login_at = session.get(LOGIN_AT)
    seen_at = session.get(SEEN_AT)
    if login_at is None or seen_at is None:
        # A signed session from before these clocks existed: they start now.
        session[LOGIN_AT] = session[SEEN_AT] = now
        return
    idle_limit = int(current_app.config["SESSION_IDLE_MINUTES"]) * 60
    absolute_limit = _seconds(current_app.config["PERMANENT_SESSION_LIFETIME"])
    if now - seen_at > idle_limit or now - login_at > absolute_limit:
        logout_user()
        session.pop(LOGIN_AT, None)
        session.pop(SEEN_AT, None)
        flash(str(SESSION_EXPIRED), "info")  # the session stores plain text, not a lazy string
        return
    session[SEEN_AT] = now


def _seconds(lifetime) -> int:
    return int(lifetime.total_seconds()) if hasattr(lifetime, "total_seconds") else int(lifetime)


# ---------------------------------------------------------------------------------------------
# Login rate limits (applied with limiter.limit on the login view).


def login_account_key() -> str:
    """Rate-limit key of the account being tried: the email as the login normalises it."""
    email = (request.form.get("email") or "").strip().lower()
    return f"login-account:{email}"


def login_address_key() -> str:
    """Rate-limit key of the client address trying to log in."""
    return f"login-address:{get_remote_address()}"


def is_refused_sso(response: Response) -> bool:
    """A single sign-on callback that was refused counts against the address's limit."""
    return response.status_code >= 400


def is_failed_login(response: Response) -> bool:
    """Only wrong credentials count against the limit; successful logins never do."""
    return request.method == "POST" and response.status_code == 401


# ---------------------------------------------------------------------------------------------
# Links that users enter (profile pages, publications): only http(s) to a host.


def is_safe_link(url: str | None) -> bool:
    """True for an absolute http:// or https:// URL with a host; javascript:, data: etc. are not."""
    if not url or any(ord(ch) < 33 or ch in "\\<>\"'`" for ch in url):
        return False
    parts = urlsplit(url)
    return parts.scheme.lower() in {"http", "https"} and bool(parts.hostname)
