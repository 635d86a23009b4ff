"""Configuration defaults and the checks that guard a production start."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

DEV_SECRET_KEY = "dev-only-insecure-secret-key-do-not-use-in-production"
KNOWN_DEFAULT_SECRETS = frozenset(
    {DEV_SECRET_KEY, "dev", "secret", "changeme", "change-me", "development", "test"}
)
MIN_SECRET_KEY_LENGTH = 32
SWITCHES = ("PASSWORD_LOGIN", "OIDC_CREATE_ACCOUNTS", "MAIL_USE_TLS", "MAIL_USE_SSL")  # on/off


class DefaultConfig:
    """Settings every environment starts from; instance/config.py and the environment override."""

    PORTAL_ENV = "development"
    SECRET_KEY: str | None = None  # development falls back to DEV_SECRET_KEY; production refuses
    DEBUG = False
    SQLALCHEMY_DATABASE_URI: str | None = None  # set from the instance folder when empty
    # No ping on every checkout: portal/database.py pings a connection that sat idle instead.
    SQLALCHEMY_ENGINE_OPTIONS: dict[str, Any] = {"pool_pre_ping": False}
    SQLITE_BUSY_TIMEOUT_MS = 15_000
    WTF_CSRF_ENABLED = True
    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = False
    REMEMBER_COOKIE_DURATION = 14 * 24 * 3600
    PERMANENT_SESSION_LIFETIME = 12 * 3600  # absolute: a login older than this is logged out
    SESSION_IDLE_MINUTES = (
        60  # a login unused for longer is logged out (PORTAL_SESSION_IDLE_MINUTES)
    )
    TRUSTED_PROXIES = 0  # load balancers in front whose X-Forwarded-For is believed
    MAX_CONTENT_LENGTH = 5 * 1024 * 1024
    # Budgets of an uploaded roster, checked before (and while) the file is read; every
    # refusal names the limit. An institution-wide roster at 2,000 faculty has ~74,000 rows.
    IMPORT_MAX_BYTES = 16 * 1024 * 1024  # a roster upload's request (other requests: above)
    IMPORT_MAX_ROWS = 100_000
    IMPORT_MAX_COLUMNS = 50
    IMPORT_MAX_CELL_LENGTH = 2_000
    IMPORT_MAX_ARCHIVE_MEMBERS = 200  # parts of an XLSX zip (a real workbook has ~10-30)
    IMPORT_MAX_UNCOMPRESSED_BYTES = 200 * 1024 * 1024  # all parts of an XLSX, unpacked
    IMPORT_MAX_COMPRESSION_RATIO = 100  # unpacked / stored, for any part over 1 MB
    IMPORT_MAX_JSON_DEPTH = 4  # list > record > list (other supervisors) > object
    IMPORT_PREVIEW_MINUTES = 60  # a checked import waits this long for its confirmation
    IMPORT_PREVIEW_ROWS_SHOWN = 200  # the preview page lists this many rows (and every problem)
    # Pictures (portraits, the institution's logo): bytes checked before Pillow reads the file,
    # pixels from its header before it is decoded (a small file may unpack to gigabytes).
    IMAGE_MAX_BYTES = 4 * 1024 * 1024
    IMAGE_MAX_PIXELS = 40_000_000  # a 50-megapixel camera photo is refused: resize it first
    PORTRAIT_MAX_SIDE = 800
    LOGO_MAX_SIDE = 400
    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_ENABLED = True
    # Redis down: keep limiting logins per process in memory instead of failing every login.
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    RATELIMIT_SWALLOW_ERRORS = True
    RATELIMIT_HEADERS_ENABLED = True  # Retry-After on a 429 tells the client when to come back
    TRUSTED_HOSTS: list[str] | None = None
    # Single sign-on (OpenID Connect); off while OIDC_ISSUER is empty.
    OIDC_ISSUER = ""
    OIDC_CLIENT_ID = ""
    OIDC_CLIENT_SECRET = ""
    OIDC_NAME = "Single sign-on"  # the button's label, e.g. "Université de Montréal account"
    OIDC_SCOPES = "openid email profile"
    OIDC_CREATE_ACCOUNTS = False  # just-in-time faculty accounts for unknown verified emails
    OIDC_TIMEOUT_SECONDS = 10
    # Off: the login page offers single sign-on only; administrators keep a break-glass
    # password (created with `flask create-user --admin`) at /login?break-glass=1.
    PASSWORD_LOGIN = True
    # The API: requests per token (or per address without one), and refused tokens per address.
    API_RATE_LIMIT = "300 per minute"
    API_FAILURE_LIMIT = "30 per minute"
    # The portal's public address, for links in e-mails (PORTAL_BASE_URL=https://portal.example.org).
    BASE_URL = ""
    # Outgoing mail (milestone digests): Flask-Mailman's settings, from MAIL_* variables.
    MAIL_BACKEND: str | None = None  # smtp when MAIL_SERVER is set, else console in development
    MAIL_SERVER: str | None = None
    MAIL_PORT = 25
    MAIL_USE_TLS = False
    MAIL_USE_SSL = False
    MAIL_USERNAME: str | None = None
    MAIL_PASSWORD: str | None = None
    MAIL_DEFAULT_SENDER: str | None = None
    MAIL_TIMEOUT = 30  # seconds: a mail server that stops answering fails the run, not hangs it
    # Werkzeug's scrypt with its default cost; tests lower the cost, never the algorithm.
    PASSWORD_HASH_METHOD = "scrypt"


class ConfigurationError(RuntimeError):
    """Raised when the app is asked to start with settings that are unsafe for its environment."""


def environment_overrides(environ: Mapping[str, str]) -> dict[str, Any]:
    """Settings taken from well-known environment variables (PORTAL_* is read by Flask itself)."""
    overrides: dict[str, Any] = {}
    if environ.get("PORTAL_ENV"):
        overrides["PORTAL_ENV"] = environ["PORTAL_ENV"]
    if environ.get("SECRET_KEY"):
        overrides["SECRET_KEY"] = environ["SECRET_KEY"]
    if environ.get("DATABASE_URL"):
        overrides["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(environ["DATABASE_URL"])
    if environ.get("RATELIMIT_STORAGE_URI"):
        overrides["RATELIMIT_STORAGE_URI"] = environ["RATELIMIT_STORAGE_URI"]
    for name in ("OIDC_ISSUER", "OIDC_CLIENT_ID", "OIDC_CLIENT_SECRET", "OIDC_NAME", "OIDC_SCOPES"):
        if environ.get(name):
            overrides[name] = environ[name]
    for name in SWITCHES:
        if environ.get(name):
            overrides[name] = parse_switch(environ[name])
    for name in (
        "MAIL_SERVER",
        "MAIL_USERNAME",
        "MAIL_PASSWORD",
        "MAIL_DEFAULT_SENDER",
        "MAIL_BACKEND",
    ):
        if environ.get(name):
            overrides[name] = environ[name]
    if environ.get("MAIL_PORT"):
        if not environ["MAIL_PORT"].strip().isdigit():
            raise ConfigurationError(
                f"MAIL_PORT must be a port number such as 587 (got {environ['MAIL_PORT']!r})."
            )
        overrides["MAIL_PORT"] = int(environ["MAIL_PORT"])
    if environ.get("TRUSTED_HOSTS"):
        # Comma-separated host names the portal answers to, e.g. "portal.example.org".
        overrides["TRUSTED_HOSTS"] = [
            host.strip() for host in environ["TRUSTED_HOSTS"].split(",") if host.strip()
        ]
    return overrides


def parse_switch(value: str) -> bool:
    """on/off, true/false, yes/no, 1/0 (any case) as a boolean; anything else is an error."""
    text = value.strip().lower()
    if text in {"on", "true", "yes", "1"}:
        return True
    if text in {"off", "false", "no", "0"}:
        return False
    raise ConfigurationError(f"Expected on or off, got {value!r}.")


def normalise_database_url(url: str) -> str:
    """Route plain postgres:// URLs (as many hosts hand them out) to the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def check_production_settings(config: Mapping[str, Any]) -> None:
    """Refuse to run production with a guessable secret or with the debugger on."""
    if config.get("PORTAL_ENV") != "production":
        return
    secret = config.get("SECRET_KEY") or ""
    if not secret:
        raise ConfigurationError(
            "PORTAL_ENV=production needs a SECRET_KEY: set the SECRET_KEY environment variable "
            "(or SECRET_KEY in instance/config.py) to a random value of at least "
            f"{MIN_SECRET_KEY_LENGTH} characters, e.g. from `python -c 'import secrets; "
            "print(secrets.token_urlsafe(48))'`."
        )
    if secret in KNOWN_DEFAULT_SECRETS:
        raise ConfigurationError(
            "PORTAL_ENV=production refuses the default SECRET_KEY: set SECRET_KEY to a random "
            f"value of at least {MIN_SECRET_KEY_LENGTH} characters."
        )
    if len(secret) < MIN_SECRET_KEY_LENGTH:
        raise ConfigurationError(
            f"PORTAL_ENV=production needs a SECRET_KEY of at least {MIN_SECRET_KEY_LENGTH} "
            f"characters (the one set has {len(secret)}): set SECRET_KEY to a longer random value."
        )
    if config.get("OIDC_ISSUER") and not config.get("OIDC_ISSUER", "").startswith("https://"):
        raise ConfigurationError("PORTAL_ENV=production needs an https:// OIDC_ISSUER.")
    if config.get("DEBUG"):
        raise ConfigurationError(
            "PORTAL_ENV=production refuses to run with DEBUG on (the debugger runs any code "
            "a visitor sends): drop --debug and unset FLASK_DEBUG / PORTAL_DEBUG."
        )


def production_defaults() -> dict[str, Any]:
    """Cookie settings that production turns on unless configured otherwise."""
    return {
        "SESSION_COOKIE_SECURE": True,
        "REMEMBER_COOKIE_SECURE": True,
    }


def is_production(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether PORTAL_ENV asks for production."""
    return environ.get("PORTAL_ENV") == "production"
