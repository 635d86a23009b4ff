"""Decorators for views that need more than a logged-in user."""

from __future__ import annotations

from functools import wraps

from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.extensions import login_manager


def require_admin():
    """Administrators only: anonymous users go to login, other users get 403.

    A blueprint's `before_request` hook (the admin pages), and the body of `admin_required`.
    """
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if not current_user.is_admin:
        abort(403)
    return None


def admin_required(view):
    """One administrators-only view in a blueprint open to others."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        refused = require_admin()
        if refused is not None:
            return refused
        return view(*args, **kwargs)

    return wrapped


def ask_for_password(return_to: str | None = None):
    """Send the user to type their password again, then back to `return_to` (nothing done)."""
    flash(_("Enter your password again to continue: the change was not made yet."), "info")
    return redirect(url_for("auth.reauthenticate", next=return_to or request.path))
