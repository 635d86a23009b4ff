"""Login is required everywhere unless a view is explicitly marked public; whose group a
request may look at."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import current_app, request
from flask_login import current_user

from portal.converters import MAX_DATABASE_ID
from portal.extensions import db, login_manager
from portal.models import User

View = TypeVar("View", bound=Callable)

# Endpoints Flask adds itself that must stay reachable without a session.
PUBLIC_ENDPOINTS = frozenset({"static"})


def public(view: View) -> View:
    """Mark a view as reachable without logging in (login page, health check, public profiles)."""
    view.is_public = True  # type: ignore[attr-defined]
    return view


def handles_own_authentication(endpoint: str | None = None) -> bool:
    """Whether the endpoint's blueprint (default: the request's) authenticates by itself.

    The API's blueprint does (bearer tokens); so does the one serving its public document.
    """
    endpoint = endpoint if endpoint is not None else request.endpoint
    blueprint_name = (endpoint or "").rpartition(".")[0]
    blueprint = current_app.blueprints.get(blueprint_name) if blueprint_name else None
    return bool(getattr(blueprint, "handles_own_authentication", False))


def is_public_endpoint(endpoint: str | None) -> bool:
    if endpoint is None:  # no route matched: let Flask answer 404/405
        return True
    if endpoint in PUBLIC_ENDPOINTS or handles_own_authentication(endpoint):
        return True
    view = current_app.view_functions.get(endpoint)
    return bool(getattr(view, "is_public", False))


def require_login_unless_public():
    """before_request hook: anonymous requests to non-public views go to the login page."""
    if is_public_endpoint(request.endpoint):
        return None
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    return None


def group_owner(actor: User, requested_id: int | None) -> User | None:
    """Whose group the actor is looking at: their own; an admin may name any account."""
    if requested_id is None or requested_id == actor.id:
        return actor
    if not actor.is_admin or not 0 < requested_id <= MAX_DATABASE_ID:
        return None  # an id no database holds (?faculty=99999999999999999999) names no one
    return db.session.get(User, requested_id)
