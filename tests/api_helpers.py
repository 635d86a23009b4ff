"""Helpers for API tests: personal access tokens and the Authorization header."""

from __future__ import annotations

from portal.auth.tokens import create_token
from portal.extensions import db
from portal.models import User


def new_token(app, user: User, scope: str = "write", **options) -> str:
    """Create a token for `user` and return its secret."""
    with app.app_context():
        account = db.session.get(User, user.id)
        secret = create_token(account, account, scope, **options).secret
        db.session.commit()
        db.session.remove()
    return secret


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}
