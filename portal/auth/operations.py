"""Accounts and sessions, written: creating users, passwords, logins counted."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

from flask import current_app, session
from flask_babel import gettext as _
from sqlalchemy import func, select, update

from portal.audit import record_event
from portal.auth.queries import PASSWORD_ENTERED_AT
from portal.emails import InvalidEmailError, check_email
from portal.extensions import db
from portal.identifiers import is_one_line_text, normalise_email
from portal.models import User, utcnow

MIN_PASSWORD_LENGTH = 12


class AccountError(ValueError):
    """A user account cannot be created or changed as asked; the message says why.

    `field` names what is at fault ("email", "display_name", "password"), so that a form puts
    the message next to the right input whatever language the message is in.
    """

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


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


def create_user(
    email: str, name: str, password: str, *, is_admin: bool = False, actor: User | None = None
) -> User:
    """Create an account; raise AccountError with a clear message when the input is not valid."""
    try:
        email = check_email(email)
    except InvalidEmailError as error:
        raise AccountError(str(error), field="email") from None
    name = name.strip()
    if not name:
        raise AccountError(_("A display name is required."), field="display_name")
    if len(name) > 200:
        raise AccountError(
            _("The display name must be at most 200 characters."), field="display_name"
        )
    if not is_one_line_text(name):
        raise AccountError(
            _("The display name cannot contain control characters."), field="display_name"
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
