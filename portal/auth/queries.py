"""Accounts and sessions, read: who logs in, the session's user, where they land."""

from __future__ import annotations

import hmac
import secrets
import time
from contextlib import nullcontext
from functools import cache

from flask import current_app, g, request, session, url_for
from sqlalchemy import Integer, Select, bindparam, select
from werkzeug.security import check_password_hash, generate_password_hash

from portal.branding import keep_branding, with_branding
from portal.data_state import data_state, state_of
from portal.database import read_before_transaction
from portal.extensions import db
from portal.group.queries import pending_requests_of
from portal.identifiers import normalise_email
from portal.models import Position, Supervision, SupervisionState, User

# When the session's user last typed their password (login or re-authentication), and how long
# that lets them change other accounts' passwords and administrator rights.
PASSWORD_ENTERED_AT = "_password_at"
REAUTHENTICATION_WINDOW_SECONDS = 10 * 60


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


def password_entered_recently() -> bool:
    """Whether the password was typed in this session within the re-authentication window."""
    entered = session.get(PASSWORD_ENTERED_AT)
    return isinstance(entered, int) and 0 <= time.time() - entered <= (
        REAUTHENTICATION_WINDOW_SECONDS
    )


@cache
def _session_user_statement() -> Select:
    """The session's user, with the number of proposals waiting for their answer (the
    navigation's badge), the database's data state (portal/data_state.py) and the institution's
    branding (portal/branding.py says why it rides along), built once: building a statement
    costs more than running it, and each statement a page saves is a round trip to the
    database."""
    return with_branding(
        select(User, pending_requests_of(User.id).scalar_subquery(), data_state()).where(
            User.id == bindparam("user_id", type_=Integer())
        ),
        User,
    )


def load_user_from_session(session_id: str) -> User | None:
    """Flask-Login's user loader: the id must carry the user's current session token."""
    user_id, _separator, token = session_id.partition(":")
    if not (user_id.isascii() and user_id.isdigit()) or not token:
        return None
    session_now = db.session()
    # The data state stands for what the transaction reads only when nothing was written in it
    # before (a write of its own would be in the state, and a rollback would not move it back).
    state_opens_transaction = not session_now.in_transaction() and not (
        session_now.new or session_now.dirty or session_now.deleted
    )
    page_read = request.method in {"GET", "HEAD"}
    connection = session_now.connection()
    # A page read's first statement is read before its transaction begins (on PostgreSQL: one
    # round trip, not three, for a page kept under the data state).
    with (
        read_before_transaction(connection)
        if page_read and state_opens_transaction
        else nullcontext()
    ):
        row = session_now.execute(_session_user_statement(), {"user_id": int(user_id)}).first()
    if row is None:
        return None
    keep_branding(row)
    user = row[0]
    if not user.is_active:
        return None
    if not hmac.compare_digest(user.session_token, token):
        return None
    if page_read:
        # A page read: nothing this request does changes the count before the page shows it.
        g.pending_requests = (user.id, row[1])
        if state_opens_transaction:
            g.data_state = (
                session_now.get_transaction(),
                state_of(connection, row[2]),
            )
    return user


def data_state_read_with_user():
    """The database's data state (portal/data_state.py) as read with the session's user on this
    page read, while the request is still in the transaction that read it; else None.

    Within that transaction SQLite reads one snapshot. On PostgreSQL a later statement may see
    a commit made meanwhile; content kept under this state then holds data newer than the
    state, never older, and once that commit is made no later request reads the same state."""
    known = g.get("data_state")
    if known is None or known[0] is not db.session().get_transaction():
        return None
    return known[1]


def pending_requests_read_with_user(user: User) -> int | None:
    """The number of proposals waiting for `user`, as read with the session's user on this
    page read; None when it was not (another user, or a request that may have changed it)."""
    known = g.get("pending_requests")
    return known[1] if known is not None and known[0] == user.id else None


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
