"""A real OpenID Connect provider for the tests, built from Authlib's server components.

It serves discovery, JWKS, /authorize (approving at once as `next_user`), /token and an
end-session endpoint over real HTTP on 127.0.0.1, in a thread. `behaviour` makes it misbehave
the ways a provider (or an attacker in the middle) can: another issuer, another audience,
an expired token, a signature that no longer matches its claims.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from dataclasses import dataclass, field

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import ClientMixin, grants
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import UserInfo
from authlib.oidc.core.grants import OpenIDCode
from authlib.oidc.core.models import AuthorizationCodeMixin
from flask import Flask, jsonify, request
from joserfc.jwk import RSAKey
from werkzeug.serving import make_server

CLIENT_ID = "portal-test-client"
CLIENT_SECRET = "portal-test-secret-" + "x" * 20


@dataclass
class Client(ClientMixin):
    client_id: str
    client_secret: str
    redirect_uris: list[str]

    def get_client_id(self):
        return self.client_id

    def get_default_redirect_uri(self):
        return self.redirect_uris[0]

    def get_allowed_scope(self, scope):
        allowed = {"openid", "email", "profile"}
        return " ".join(part for part in (scope or "").split() if part in allowed)

    def check_redirect_uri(self, redirect_uri):
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret):
        return secrets.compare_digest(client_secret, self.client_secret)

    def check_endpoint_auth_method(self, method, endpoint):
        return method in {"client_secret_basic", "client_secret_post"}

    def check_response_type(self, response_type):
        return response_type == "code"

    def check_grant_type(self, grant_type):
        return grant_type == "authorization_code"


@dataclass
class Code(AuthorizationCodeMixin):
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    user: dict
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    auth_time: int = field(default_factory=lambda: int(time.time()))

    def get_redirect_uri(self):
        return self.redirect_uri

    def get_scope(self):
        return self.scope

    def get_nonce(self):
        return self.nonce

    def get_auth_time(self):
        return self.auth_time

    def get_acr(self):
        return None

    def get_amr(self):
        return None


class LocalProvider:
    """The provider's state: keys, clients, codes, who logs in next and how to misbehave."""

    def __init__(self):
        self.key = RSAKey.generate_key(2048, parameters={"kid": "test-key", "use": "sig"})
        self.codes: dict[str, Code] = {}
        self.next_user = {"sub": "1", "email": "someone@example.org", "email_verified": True}
        self.behaviour: dict[str, bool] = {}
        self.redirect_uris: list[str] = []
        self.token_requests = 0
        self.app = self._build_app()
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.issuer = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> LocalProvider:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join(timeout=5)

    def reset(self, redirect_uri: str) -> None:
        self.codes.clear()
        self.behaviour = {}
        self.redirect_uris = [redirect_uri]
        self.token_requests = 0

    # -----------------------------------------------------------------------------------------

    def _build_app(self) -> Flask:
        provider = self
        app = Flask("test_oidc_provider")
        app.config["OAUTH2_TOKEN_EXPIRES_IN"] = {"authorization_code": 300}

        def query_client(client_id):
            if client_id != CLIENT_ID:
                return None
            return Client(CLIENT_ID, CLIENT_SECRET, provider.redirect_uris)

        server = AuthorizationServer(app, query_client=query_client, save_token=lambda *a: None)

        class CodeGrant(grants.AuthorizationCodeGrant):
            TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

            def save_authorization_code(self, code, req):
                provider.codes[code] = Code(
                    code=code,
                    client_id=req.client.get_client_id(),
                    redirect_uri=req.payload.redirect_uri,
                    scope=req.scope,
                    user=req.user,
                    nonce=req.payload.data.get("nonce"),
                    code_challenge=req.payload.data.get("code_challenge"),
                    code_challenge_method=req.payload.data.get("code_challenge_method"),
                )

            def query_authorization_code(self, code, client):
                found = provider.codes.get(code)
                if found and found.client_id == client.get_client_id():
                    return found
                return None

            def delete_authorization_code(self, authorization_code):
                provider.codes.pop(authorization_code.code, None)

            def authenticate_user(self, authorization_code):
                return authorization_code.user

        class IdToken(OpenIDCode):
            def resolve_client_private_key(self, client):
                return provider.key

            def get_client_algorithm(self, client):
                return "RS256"

            def get_encode_header(self, client):
                return {"alg": "RS256", "kid": "test-key"}

            def get_client_claims(self, client):
                now = int(time.time())
                misbehave = provider.behaviour
                claims = {
                    "iss": "http://evil.example.org"
                    if misbehave.get("wrong_issuer")
                    else provider.issuer,
                    "aud": ["another-client"]
                    if misbehave.get("wrong_audience")
                    else [client.get_client_id()],
                    "iat": now,
                    "exp": now + 300,
                }
                if misbehave.get("expired"):
                    claims.update(iat=now - 7200, exp=now - 3600)
                return claims

            def exists_nonce(self, nonce, req):
                return any(code.nonce == nonce for code in provider.codes.values())

            def generate_user_info(self, user, scope):
                return UserInfo(**user)

        server.register_grant(
            CodeGrant, [IdToken(require_nonce=True), CodeChallenge(required=True)]
        )

        @app.get("/.well-known/openid-configuration")
        def discovery():
            claimed = provider.issuer
            if provider.behaviour.get("discovery_issuer"):
                claimed = "http://127.0.0.1:1"  # a document copied from another provider
            return jsonify(
                issuer=claimed,
                authorization_endpoint=f"{provider.issuer}/authorize",
                token_endpoint=f"{provider.issuer}/token",
                jwks_uri=f"{provider.issuer}/jwks",
                end_session_endpoint=f"{provider.issuer}/logout",
                response_types_supported=["code"],
                subject_types_supported=["public"],
                id_token_signing_alg_values_supported=["RS256"],
                code_challenge_methods_supported=["S256"],
                scopes_supported=["openid", "email", "profile"],
                token_endpoint_auth_methods_supported=["client_secret_basic", "client_secret_post"],
            )

        @app.get("/jwks")
        def jwks():
            return jsonify(keys=[provider.key.as_dict(private=False)])

        @app.get("/authorize")
        def authorize():
            return server.create_authorization_response(grant_user=dict(provider.next_user))

        @app.post("/token")
        def token():
            provider.token_requests += 1
            response = server.create_token_response()
            if provider.behaviour.get("tamper") and response.status_code == 200:
                body = json.loads(response.get_data())
                body["id_token"] = _tampered(body["id_token"])
                response.set_data(json.dumps(body))
            return response

        @app.get("/logout")
        def logout():
            return jsonify(logged_out=True, hint=bool(request.args.get("id_token_hint")))

        return app


def _tampered(id_token: str) -> str:
    """The same signature over changed claims: the email now names someone else."""
    header, payload, signature = id_token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["email"] = "admin@example.org"
    changed = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{changed}.{signature}"
