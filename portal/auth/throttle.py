"""The login limit: every attempt is counted before its password is checked, atomically.

An attempt reserves one unit of two budgets (10 a minute): its account's and its address's.
The increment is a single atomic operation in the limiter's storage (Redis when
RATELIMIT_STORAGE_URI points at it, so every worker and app server shares it); an attempt that
goes over either budget is refused with 429 before any password is hashed, so 60 concurrent
guesses check at most 10 passwords. A successful login gives its units back: only failures use
the budget up.

A device that logged in to an account before carries a signed cookie naming it; attempts from
such a device count against budgets of their own (per account and per address), so that
strangers exhausting the account's budget, even from the owner's address, never lock its owner
out.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import time
from dataclasses import dataclass, field

from flask import Response, current_app, request
from flask_limiter.util import get_remote_address
from itsdangerous import BadSignature, URLSafeSerializer
from limits import RateLimitItemPerMinute
from limits.storage import MemoryStorage, Storage

from portal.extensions import limiter

LOGIN_ATTEMPTS_PER_MINUTE = 10
DEVICE_COOKIE = "portal_device"
DEVICE_SALT = "login-device"
DEVICE_COOKIE_DAYS = 365
DEVICE_ACCOUNTS_KEPT = 10

_LIMIT = RateLimitItemPerMinute(LOGIN_ATTEMPTS_PER_MINUTE)
_fallback_storage = MemoryStorage()  # when Redis is down: still limited, per process
_log = logging.getLogger(__name__)


@dataclass
class Reservation:
    """The units one attempt took; `refund` gives them back after a successful login."""

    allowed: bool
    retry_after: int = 0
    keys: list[str] = field(default_factory=list)
    storage: Storage | None = None

    def refund(self) -> None:
        if self.storage is None:
            return
        for key in self.keys:
            try:
                self.storage.incr(key, _LIMIT.get_expiry(), amount=-1)
            except Exception:  # noqa: BLE001 - a refund lost to an outage only costs a unit
                _log.warning("Could not give back a login attempt", exc_info=True)


def account_key(email: str) -> str:
    return f"login-account:{email}"


def address_key() -> str:
    return f"login-address:{get_remote_address()}"


def reserve_attempt(email: str) -> Reservation:
    """Count this login attempt against its account and address; refuse it when over."""
    if not current_app.config.get("RATELIMIT_ENABLED", True):
        return Reservation(allowed=True)
    device = known_device_id(email)
    # A known device has budgets of its own: strangers using up the account's (or sharing the
    # owner's address, behind one NAT) never lock the owner out; the device is still limited.
    suffix = f":device:{device}" if device else ""
    prefix = current_app.config.get("RATELIMIT_KEY_PREFIX") or "portal"
    keys = [
        _LIMIT.key_for(prefix, account_key(email) + suffix),
        _LIMIT.key_for(prefix, address_key() + suffix),
    ]
    storage = _storage()
    try:
        counts = [storage.incr(key, _LIMIT.get_expiry()) for key in keys]
    except Exception:  # noqa: BLE001 - Redis unreachable: limit in this process instead
        _log.warning("Rate-limit storage unreachable: counting logins in memory", exc_info=True)
        storage = _fallback_storage
        counts = [storage.incr(key, _LIMIT.get_expiry()) for key in keys]
    if all(count <= _LIMIT.amount for count in counts):
        return Reservation(allowed=True, keys=keys, storage=storage)
    # Over budget: this attempt checks no password. Its units stay taken (a refused attempt is
    # an attempt), and the answer says when the fullest window ends.
    retry_after = 1
    for key, count in zip(keys, counts, strict=True):
        if count > _LIMIT.amount:
            try:
                retry_after = max(retry_after, int(storage.get_expiry(key) - time.time()) + 1)
            except Exception:  # noqa: BLE001
                retry_after = 60
    return Reservation(allowed=False, retry_after=min(retry_after, 60))


def _storage() -> Storage:
    try:
        return limiter.storage
    except (AssertionError, AttributeError):
        return _fallback_storage


# ---------------------------------------------------------------------------------------------
# The device cookie: which accounts have logged in from this browser before.


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=DEVICE_SALT)


def _account_mark(email: str) -> str:
    return hashlib.sha256(email.encode()).hexdigest()[:24]


def _read_device() -> dict:
    raw = request.cookies.get(DEVICE_COOKIE)
    if not raw or len(raw) > 2048:
        return {}
    try:
        value = _serializer().loads(raw)
    except BadSignature:
        return {}
    if not isinstance(value, dict) or not isinstance(value.get("accounts"), list):
        return {}
    return value


def known_device_id(email: str) -> str | None:
    """This browser's device id when it logged in to `email` before, else None."""
    device = _read_device()
    if _account_mark(email) in device.get("accounts", []):
        return str(device.get("id", ""))[:32] or None
    return None


def remember_device(response: Response, email: str) -> None:
    """After a successful login: this browser is a known device of the account."""
    device = _read_device()
    accounts = [mark for mark in device.get("accounts", []) if mark != _account_mark(email)]
    accounts = [_account_mark(email), *accounts][:DEVICE_ACCOUNTS_KEPT]
    value = {"id": device.get("id") or secrets.token_urlsafe(12), "accounts": accounts}
    response.set_cookie(
        DEVICE_COOKIE,
        _serializer().dumps(value),
        max_age=DEVICE_COOKIE_DAYS * 24 * 3600,
        httponly=True,
        secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")),
        samesite="Lax",
    )
