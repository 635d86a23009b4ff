"""Accounts and sessions: creating users, checking passwords, loading the session's user."""

from __future__ import annotations

import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from urllib.parse import urlsplit

from flask import current_app, session, url_for
from flask_babel import gettext as _
from sqlalchemy import Integer, Select, bindparam, func, select, update
from werkzeug.security import check_password_hash, generate_password_hash

from portal.audit import record_event
from portal.branding import keep_branding, with_branding
from portal.emails import InvalidEmailError, check_email, normalise_email
from portal.extensions import db
from portal.models import Position, Supervision, SupervisionState, User, utcnow

MIN_PASSWORD_LENGTH = 12
# When the session's user last typed their password (login or re-authentication), and how long
# that lets them change other accounts' passwords and administrator rights.
PASSWORD_ENTERED_AT = "_password_at"
REAUTHENTICATION_WINDOW_SECONDS = 10 * 60


class AccountError(ValueError):
    """A user account cannot be created or changed as asked; the message says why.

    `field` names what is at fault ("email", "display_name", "password"), so that a form puts
    the message next to the right input whatever language the message is in.
    """

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def find_user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == normalise_email(email)))


def authenticate(email: str, password: str) -> User | None:
    """The user with these credentials, or None (same answer for a wrong email or password).

    A deactivated account is returned too, so that its owner, who proved the password, can be
    told why they cannot log in; the caller refuses it.
    """
    user = find_user_by_email(email)
    if user is None:
        _spend_password_check_time(password)
        return None
    if not user.check_password(password):
        return None
    return user


def _spend_password_check_time(password: str) -> None:
    """Check against a throwaway hash so that an unknown email takes as long as a wrong password."""
    check_password_hash(_throwaway_hash(), password)


def _throwaway_hash() -> str:
    return _throwaway_hash_for(current_app.config["PASSWORD_HASH_METHOD"])


@cache
def _throwaway_hash_for(method: str) -> str:
    return generate_password_hash(secrets.token_urlsafe(16), method=method)


@dataclass(frozen=True)
class FailedLogins:
    """Wrong passwords given for an account since its last login (shown to its owner)."""

    count: int
    last_at: datetime | None


def record_login(user: User) -> FailedLogins:
    """Stamp a successful login; return (and reset) the failures since the previous one."""
    failed = FailedLogins(user.failed_logins or 0, user.last_failed_login_at)
    user.last_login_at = utcnow()
    user.failed_logins = 0
    user.last_failed_login_at = None
    record_event(user, "login", user, before=None, after=None)
    return failed


def record_failed_login(email: str) -> None:
    """Count a wrong password against the account (if there is one), in one UPDATE."""
    db.session.execute(
        update(User)
        .where(User.email == normalise_email(email))
        .values(
            failed_logins=User.failed_logins + 1,
            last_failed_login_at=utcnow(),
            updated_at=User.updated_at,  # a stranger's guess is no change to the account
        )
    )


def mark_password_entered() -> None:
    """The session's user just typed their password (a login or a re-authentication)."""
    session[PASSWORD_ENTERED_AT] = int(time.time())


def password_entered_recently() -> bool:
    """Whether the password was typed in this session within the re-authentication window."""
    entered = session.get(PASSWORD_ENTERED_AT)
    return isinstance(entered, int) and 0 <= time.time() - entered <= (
        REAUTHENTICATION_WINDOW_SECONDS
    )


@cache
def _session_user_statement() -> Select:
    """The session's user and the institution's branding (portal/branding.py says why it rides
    along), built once: building a statement costs more than running it."""
    return with_branding(select(User).where(User.id == bindparam("user_id", type_=Integer())), User)


def load_user_from_session(session_id: str) -> User | None:
    """Flask-Login's user loader: the id must carry the user's current session token."""
    user_id, _separator, token = session_id.partition(":")
    if not user_id.isdigit() or not token:
        return None
    row = db.session.execute(_session_user_statement(), {"user_id": int(user_id)}).first()
    if row is None:
        return None
    keep_branding(row)
    user = row[0]
    if not user.is_active:
        return None
    if not hmac.compare_digest(user.session_token, token):
        return None
    return user


def create_user(
    email: str, name: str, password: str, *, is_admin: bool = False, actor: User | None = None
) -> User:
    """Create an account; raise AccountError with a clear message when the input is not valid."""
    try:
        email = check_email(email)
    except InvalidEmailError as error:
        raise AccountError(str(error)) from None
    name = name.strip()
    if not name:
        raise AccountError(_("A display name is required."), field="display_name")
    if len(name) > 200:
        raise AccountError(
            _("The display name must be at most 200 characters."), field="display_name"
        )
    check_password_strength(password)
    if db.session.scalar(select(func.count()).select_from(User).where(User.email == email)):
        raise AccountError(
            _("An account with the email %(email)s already exists.", email=email), field="email"
        )
    user = User(email=email, display_name=name, is_admin=is_admin, is_active=True)
    set_password(user, password)
    db.session.add(user)
    db.session.flush()
    record_event(
        actor,
        "create",
        user,
        before=None,
        after={"email": user.email, "display_name": name, "is_admin": is_admin},
    )
    return user


def set_password(user: User, password: str) -> None:
    """Hash with the configured method; this also revokes the user's existing sessions."""
    user.set_password(password, method=current_app.config["PASSWORD_HASH_METHOD"])


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(
            _("The password must be at least %(min)s characters long.", min=MIN_PASSWORD_LENGTH),
            field="password",
        )
    if password.strip() == "" or len(set(password)) < 4:
        raise AccountError(
            _("The password is too easy to guess: use a longer mix of characters."),
            field="password",
        )


def is_safe_redirect_target(target: str | None) -> bool:
    """Only paths on this site: '/group?x=1' yes; 'https://evil', '//evil', '/\\evil' no."""
    if not target:
        return False
    if (
        any(ch in target for ch in "\\\r\n\t")
        or not target.startswith("/")
        or target.startswith("//")
    ):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc


def has_group(user: User) -> bool:
    """Whether the account has a group of its own: a record it owns or a confirmed link."""
    owned = select(Position.id).where(Position.owner_id == user.id, Position.archived_at.is_(None))
    linked = (
        select(Supervision.id)
        .join(Position, Position.id == Supervision.position_id)
        .where(
            Supervision.supervisor_id == user.id,
            Supervision.state == SupervisionState.CONFIRMED,
            Position.archived_at.is_(None),
        )
    )
    return bool(db.session.scalar(select(owned.exists() | linked.exists())))


def landing_url(user: User) -> str:
    """The first page after login: an administrator without a group starts at the loads page."""
    if user.is_admin and not has_group(user):
        return url_for("admin.loads")
    return url_for("group.index")
