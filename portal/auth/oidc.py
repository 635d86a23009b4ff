"""Single sign-on with OpenID Connect (Authlib): the client, and the account a login maps to.

Authorization code flow with PKCE (S256), `state` and `nonce`; the provider's discovery
document and JWKS come from OIDC_ISSUER; Authlib checks the ID token's signature, issuer,
audience, expiry and nonce.
"""

from __future__ import annotations

import secrets
from urllib.parse import urlencode

from authlib.common.errors import AuthlibBaseError
from authlib.integrations.flask_client import OAuth
from flask import Flask, current_app
from flask_babel import gettext as _
from joserfc.errors import JoseError
from requests import RequestException

from portal.audit import record_event
from portal.auth.operations import AccountError, create_user
from portal.auth.queries import find_user_by_email
from portal.identifiers import normalise_email
from portal.models import User

CLIENT_NAME = "oidc"
# What can go wrong talking to the provider or checking its token: each is a refused login.
PROVIDER_ERRORS = (AuthlibBaseError, JoseError, RequestException, ValueError, KeyError)


class SsoRefusedError(Exception):
    """The provider's answer does not let this person in; the message says why, for them."""

    def __init__(self, message: str, status: int = 403):
        super().__init__(message)
        self.message = message
        self.status = status


def init_app(app: Flask) -> None:
    """Register the OpenID Connect client when OIDC_ISSUER is set."""
    issuer = (app.config.get("OIDC_ISSUER") or "").rstrip("/")
    if not issuer:
        return
    oauth = OAuth(app)
    oauth.register(
        CLIENT_NAME,
        client_id=app.config["OIDC_CLIENT_ID"],
        client_secret=app.config["OIDC_CLIENT_SECRET"],
        server_metadata_url=f"{issuer}/.well-known/openid-configuration",
        client_kwargs={
            "scope": app.config["OIDC_SCOPES"],
            "code_challenge_method": "S256",
            "timeout": app.config["OIDC_TIMEOUT_SECONDS"],
        },
    )
    app.extensions["portal_oidc"] = oauth.create_client(CLIENT_NAME)


def is_enabled() -> bool:
    return "portal_oidc" in current_app.extensions


def client():
    return current_app.extensions["portal_oidc"]


def provider_metadata() -> dict:
    """The discovery document; its issuer must be exactly the one configured."""
    metadata = client().load_server_metadata()
    expected = current_app.config["OIDC_ISSUER"].rstrip("/")
    if (metadata.get("issuer") or "").rstrip("/") != expected:
        raise SsoRefusedError(
            _("The identity provider's discovery document names another issuer."), 502
        )
    return metadata


def fetch_verified_claims() -> dict:
    """Exchange the callback's code for tokens and return the checked ID token's claims.

    Raises SsoRefused when the state is unknown or used, or the token fails a check.
    """
    try:
        metadata = provider_metadata()
        token = client().authorize_access_token(
            claims_options={
                "iss": {"essential": True, "values": [metadata["issuer"]]},
                "exp": {"essential": True},
                "aud": {"essential": True, "values": [current_app.config["OIDC_CLIENT_ID"]]},
            }
        )
    except PROVIDER_ERRORS as error:
        current_app.logger.warning("Single sign-on refused: %r", error)
        raise SsoRefusedError(
            _(
                "The sign-in could not be completed: the answer from the identity provider "
                "was not valid, or this sign-in link was already used. Please start again."
            ),
            400,
        ) from error
    claims = token.get("userinfo")
    if not claims:
        raise SsoRefusedError(_("The identity provider sent no ID token."), 400)
    return {**claims, "_id_token": token.get("id_token")}


def account_for(claims: dict) -> User:
    """The active account whose email is the provider's verified email claim.

    With OIDC_CREATE_ACCOUNTS on, an unknown verified email gets a new faculty account.
    """
    email = normalise_email(claims.get("email"))
    verified = claims.get("email_verified") in (True, "true")
    if not email or not verified:
        raise SsoRefusedError(
            _(
                "Your identity provider did not confirm a verified email address, so the "
                "portal cannot tell which account is yours. Ask your IT service to release "
                "a verified email to the portal."
            )
        )
    user = find_user_by_email(email)
    if user is None:
        if not current_app.config["OIDC_CREATE_ACCOUNTS"]:
            raise SsoRefusedError(
                _(
                    "There is no portal account for %(email)s. Ask the graduate office to "
                    "create one with this email address.",
                    email=email,
                )
            )
        name = (claims.get("name") or "").strip()[:200] or email
        # The account never logs in by password: a random one nobody knows.
        try:
            user = create_user(email, name, secrets.token_urlsafe(32))
        except AccountError as error:
            raise SsoRefusedError(str(error)) from error
        record_event(user, "create-by-sso", user, before=None, after={"email": email})
    if not user.is_active:
        raise SsoRefusedError(
            _(
                "The portal account for %(email)s is deactivated. Ask the graduate office.",
                email=email,
            )
        )
    return user


def logout_url(id_token: str | None, return_to: str) -> str | None:
    """The provider's end-session address (RP-initiated logout), when it offers one."""
    try:
        endpoint = provider_metadata().get("end_session_endpoint")
    except (SsoRefusedError, *PROVIDER_ERRORS):
        return None
    if not endpoint:
        return None
    parameters = {
        "client_id": current_app.config["OIDC_CLIENT_ID"],
        "post_logout_redirect_uri": return_to,
    }
    if id_token:
        parameters["id_token_hint"] = id_token
    separator = "&" if "?" in endpoint else "?"
    return f"{endpoint}{separator}{urlencode(parameters)}"
