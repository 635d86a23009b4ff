"""Cross-cutting protections: security headers, caching rules, session lifetimes, login limits.

Everything here is registered with one call, `register(app)`, and applies to every route the
app has or will have: nothing is keyed by a list of routes.
"""

from __future__ import annotations

import time
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, flash, g, request, session
from flask_limiter.util import get_remote_address
from flask_login import logout_user, user_loaded_from_cookie, user_logged_in
from flask_wtf.csrf import generate_csrf
from itsdangerous import BadData, URLSafeTimedSerializer
from werkzeug.middleware.proxy_fix import ProxyFix

from portal.auth.access import handles_own_authentication
from portal.errors import render_error
from portal.identifiers import has_forbidden_characters
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

USER_ID = "_user_id"  # Flask-Login's session key: the signed-in account
# Session keys of our own, next to Flask-Login's.
LOGIN_AT = "_login_at"
SEEN_AT = "_seen_at"
# The idle clock moves in steps of this many seconds (an idle limit is counted in minutes).
SEEN_AT_STEP = 60
SESSION_EXPIRED = _l("Your session has expired. Please log in again.")

# The password login's limit (10 attempts a minute per account and per address, counted before
# the password check) is portal/auth/throttle.py; single sign-on callbacks use this one.
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
    if app.config.get("TRUSTED_HOSTS"):
        # Flask checks the host name of TRUSTED_HOSTS and ignores the port; this checks both.
        app.before_request(refuse_untrusted_port)
    app.before_request(expire_stale_session)
    app.before_request(reuse_signed_csrf_token)
    app.after_request(remember_signed_csrf_token)
    app.before_request(refuse_forbidden_characters)
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
    elif response.cache_control.public and request.endpoint != "static":
        # A view marked it public: the same bytes for everyone (a published portrait, the
        # institution's logo and colours). A logged-in visitor's copy may carry a refreshed
        # session cookie, which no shared cache may keep.
        if _has_login_session():
            max_age = response.cache_control.max_age or 0
            headers["Cache-Control"] = f"private, max-age={max_age}"
    elif request.endpoint != "static" or _has_login_session():
        # Pages may show personal data: no browser or proxy keeps a copy. Static files of an
        # anonymous visitor are the only responses that may be cached.
        headers["Cache-Control"] = "no-store"
        headers.pop("Expires", None)
    return response


def _has_login_session() -> bool:
    # Reads the cookie only: a static file must not cost a database query to load the user.
    return USER_ID in session or bool(request.cookies.get(_remember_cookie_name()))


def _remember_cookie_name() -> str:
    return current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token")


# ---------------------------------------------------------------------------------------------
# Trusted hosts, with their ports.

DEFAULT_PORTS = {"http": 80, "https": 443}


def split_host(host: str) -> tuple[str, int | None]:
    """('portal.example.org', 8443) from 'portal.example.org:8443'; IPv6 literals kept whole."""
    host = host.strip().lower()
    if host.startswith("["):
        name, _bracket, rest = host.partition("]")
        port_text = rest[1:] if rest.startswith(":") else ""
        name += "]"
    else:
        name, _colon, port_text = host.partition(":")
    if port_text.isascii() and port_text.isdigit() and len(port_text) <= 5:
        return name, int(port_text)
    return name, None


def host_is_trusted(host: str, scheme: str, trusted: list[str]) -> bool:
    """Whether `host` (a Host header, maybe with a port) matches one of TRUSTED_HOSTS.

    An entry with a port ('portal.example.org:8443') matches that port only; an entry without
    one matches the scheme's default port (80 or 443, written or not). A leading dot
    ('.example.org') matches every subdomain.
    """
    name, port = split_host(host)
    default = DEFAULT_PORTS.get(scheme)
    for entry in trusted:
        entry_name, entry_port = split_host(entry)
        if entry_name.startswith("."):
            name_matches = name.endswith(entry_name) or name == entry_name[1:]
        else:
            name_matches = name == entry_name
        if not name_matches:
            continue
        if entry_port is not None and (port or default) == entry_port:
            return True
        if entry_port is None and port in (None, default):
            return True
    return False


def refuse_untrusted_port() -> Response | None:
    """before_request: a trusted host name on a port TRUSTED_HOSTS does not name is refused."""
    trusted = current_app.config.get("TRUSTED_HOSTS") or []
    if not host_is_trusted(request.host, request.scheme, trusted):
        return render_error(400)
    return None


# ---------------------------------------------------------------------------------------------
# Text that no database column can hold.

NUL_REFUSED = _l(
    "The request contains a NUL character, which no text can hold. Remove it and try again."
)
CONTROL_CHARACTER_REFUSED = _l(
    "The request contains a control character (such as a vertical tab pasted from a word "
    "processor), which no text of the portal holds. Remove it and try again."
)


def refuse_forbidden_characters() -> Response | None:
    """before_request: a query or form value holding a character no text of the portal holds
    (portal.identifiers.FORBIDDEN_CHARACTERS) is a 400, before any view reads it: PostgreSQL
    refuses a NUL, and the XLSX exports cannot hold the other control characters."""
    values = [*request.args.keys(), *(v for _, items in request.args.lists() for v in items)]
    values += [value for value in (request.view_args or {}).values() if isinstance(value, str)]
    if request.method in {"POST", "PUT", "PATCH", "DELETE"}:
        values += [*request.form.keys(), *(v for _, items in request.form.lists() for v in items)]
    for value in values:
        if has_forbidden_characters(value):
            return render_error(
                400, str(NUL_REFUSED if "\x00" in value else CONTROL_CHARACTER_REFUSED)
            )
    return None


# ---------------------------------------------------------------------------------------------
# Session lifetimes.


def stamp_new_login(_app: Flask, **_extra) -> None:
    """A login (by form or by remember-me cookie) starts the idle and the absolute clocks, and
    gives the new session its CSRF token in the login's own cookie.

    Without the token now, the first page with a form would add it, and a client that keeps the
    login's cookie as it is (a script, a load tester) would get a new token, and a newly signed
    session cookie, from every page.
    """
    now = int(time.time())
    session[LOGIN_AT] = now
    session[SEEN_AT] = now
    field = current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    if field not in session:
        g.pop(field, None)  # this request's token belonged to the session just cleared
        generate_csrf()


def expire_stale_session() -> None:
    """before_request: a logged-in session idle too long, or older than its lifetime, ends here.

    Ending it also clears the remember-me cookie, so the next request is anonymous.
    """
    if request.endpoint == "static" or USER_ID not in session or handles_own_authentication():
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
    if now - seen_at >= SEEN_AT_STEP:
        # Moved in steps, so a burst of requests does not re-sign and re-send the cookie each time.
        session[SEEN_AT] = now


def _seconds(lifetime) -> int:
    return int(lifetime.total_seconds()) if hasattr(lifetime, "total_seconds") else int(lifetime)


# ---------------------------------------------------------------------------------------------
# Rate limit of the single sign-on callback (applied with limiter.limit on its view).


def login_address_key() -> str:
    """Rate-limit key of the client address trying to log in."""
    return f"login-address:{get_remote_address()}"


def is_refused_sso(response: Response) -> bool:
    """A single sign-on callback that was refused counts against the address's limit."""
    return response.status_code >= 400


# ---------------------------------------------------------------------------------------------
# Links that users enter (profile pages, publications): only http(s) to a host.


def is_safe_link(url: str | None) -> bool:
    """True for an absolute http:// or https:// URL with a host; javascript:, data: etc. are not.

    A link carrying credentials ('https://user:pass@host/') is refused too: it leaks a password
    to every reader, and 'https://trusted.org@evil.example/' disguises where it goes.
    """
    if not url or any(ord(ch) < 33 or ch in "\\<>\"'`" for ch in url):
        return False
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a port out of range
    except ValueError:
        return False
    if "@" in parts.netloc or parts.username is not None or parts.password is not None:
        return False
    return parts.scheme.lower() in {"http", "https"} and bool(hostname)


# ---------------------------------------------------------------------------------------------
# CSRF tokens, signed once per session.

# Flask-WTF's salt for its tokens (flask_wtf/csrf.py): what validate_csrf checks them with.
FLASK_WTF_SALT = "wtf-csrf-token"


def reuse_signed_csrf_token() -> None:
    """before_request: this request's CSRF token is the session's, as signed before.

    Flask-WTF signs the session's raw token anew in each request that shows a form (with the
    time, which only a time limit reads). Without a time limit (WTF_CSRF_TIME_LIMIT = None, this
    portal's setting) one signature is as good as another, so the first is kept per process and
    handed to Flask-WTF as the request's token (`g.csrf_token`, which generate_csrf returns).
    Only for a signed-in session (whose pages may be kept whole): visitors' sessions, made at
    will, would push the signed-in sessions' tokens out.
    """
    field, secret = _csrf_field_and_secret()
    raw = session.get(field)
    if raw and session.get(USER_ID) and csrf_token_signed_once():
        setattr(g, field, _signed_csrf_token(secret, raw))


def remember_signed_csrf_token(response: Response) -> Response:
    """after_request: a session's first token, which Flask-WTF signed itself (the session had
    none before this request), is the one its later pages show. Signed again by
    `reuse_signed_csrf_token`, it could differ (a second later, another time in it), and a
    page kept whole for the session (portal/kept_pages.py) would be rendered again. Only a
    signed-in session's, as in `reuse_signed_csrf_token`."""
    field, secret = _csrf_field_and_secret()
    token = g.get(field)
    raw = session.get(field)
    if token and raw and session.get(USER_ID) and csrf_token_signed_once():
        key = (secret, raw)
        if key not in _SIGNED_CSRF_TOKENS and _signs(secret, token, raw):
            _keep_signed_csrf_token(key, token)
    return response


def _csrf_field_and_secret() -> tuple[str, str | bytes]:
    """The session's key of its raw CSRF token, and the secret Flask-WTF signs it with."""
    config = current_app.config
    field = config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    return field, config.get("WTF_CSRF_SECRET_KEY") or current_app.secret_key


def csrf_token_signed_once() -> bool:
    """Whether a session's CSRF token is signed once and the same on each of its pages: without
    a time limit (the portal's setting); with one, Flask-WTF signs it anew each second."""
    return current_app.config.get("WTF_CSRF_TIME_LIMIT") is None


# (secret, the session's raw token) -> its signed token, per process; full, the oldest goes.
_SIGNED_CSRF_TOKENS: dict[tuple[str | bytes, str], str] = {}
SIGNED_CSRF_TOKENS_KEPT = 4096


def _signed_csrf_token(secret: str | bytes, raw: str) -> str:
    key = (secret, raw)
    token = _SIGNED_CSRF_TOKENS.get(key)
    if token is None:
        token = URLSafeTimedSerializer(secret, salt=FLASK_WTF_SALT).dumps(raw)
        _keep_signed_csrf_token(key, token)
    return token


def _keep_signed_csrf_token(key: tuple[str | bytes, str], token: str) -> None:
    if len(_SIGNED_CSRF_TOKENS) >= SIGNED_CSRF_TOKENS_KEPT:
        try:
            del _SIGNED_CSRF_TOKENS[next(iter(_SIGNED_CSRF_TOKENS))]  # the oldest (first kept)
        except (KeyError, RuntimeError, StopIteration):
            pass  # another of gunicorn's threads changed it meanwhile: one more entry, no harm
    _SIGNED_CSRF_TOKENS[key] = token


def _signs(secret: str | bytes, token: str, raw: str) -> bool:
    """Whether `token` is `raw` signed with `secret` (as Flask-WTF signs it)."""
    try:
        return URLSafeTimedSerializer(secret, salt=FLASK_WTF_SALT).loads(token) == raw
    except BadData:
        return False
