"""Bearer-token authentication for the API: no cookies, no CSRF, scopes, rate-limit keys."""

from __future__ import annotations

import hashlib

from flask import g, request
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address
from flask_smorest import abort

from portal.auth.tokens import find_usable_token, note_use
from portal.extensions import db
from portal.models import ApiToken, TokenScope, User

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def bearer_secret() -> str | None:
    """The token in `Authorization: Bearer <token>`, or None when there is none."""
    scheme, _space, secret = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        return None
    return secret.strip()


def authenticate() -> None:
    """before_request of the API: the caller is the token's account; cookies count for nothing."""
    secret = bearer_secret()
    if secret is None:
        abort(
            401,
            detail=_("Send a personal access token as “Authorization: Bearer <token>”."),
            headers={"WWW-Authenticate": 'Bearer realm="portal"'},
        )
    token = find_usable_token(secret)
    if token is None:
        abort(
            401,
            detail=_("The token is unknown, expired or revoked, or its account is deactivated."),
            headers={"WWW-Authenticate": 'Bearer realm="portal", error="invalid_token"'},
        )
    if request.method not in SAFE_METHODS and token.scope != TokenScope.WRITE:
        abort(
            403,
            detail=_("This token can only read: create a token with the “write” scope."),
            headers={"WWW-Authenticate": 'Bearer realm="portal", error="insufficient_scope"'},
        )
    note_use(token)
    if db.session.dirty:
        db.session.commit()
    g.api_token = token


def api_user() -> User:
    """The account the request's token belongs to."""
    return g.api_token.user


def api_token() -> ApiToken:
    return g.api_token


def rate_limit_key() -> str:
    """Requests are counted per token (by a hash of it), or per address without one."""
    secret = bearer_secret()
    if secret is None:
        return f"api-address:{get_remote_address()}"
    return "api-token:" + hashlib.sha256(secret.encode("utf-8")).hexdigest()[:32]


def address_key() -> str:
    return f"api-failures:{get_remote_address()}"


def is_refused_token(response) -> bool:
    """Only requests refused for their token count against the per-address failure limit."""
    return response.status_code == 401
