"""Wire the API into the app: flask-smorest, token authentication, limits, the reference page."""

from __future__ import annotations

from flask import Flask, current_app, render_template
from flask_smorest import Api

from portal.api.schemas import ProblemOut
from portal.api.views import blueprint
from portal.auth.access import public

API_TITLE = "Research Group Portal API"
API_VERSION = "v1"
PROBLEM_MEDIA_TYPE = "application/problem+json"


class PortalApi(Api):
    """flask-smorest, with errors left to portal.errors (problem details, RFC 9457)."""

    ERROR_SCHEMA = ProblemOut
    DEFAULT_ERROR_RESPONSE_NAME = "DEFAULT_ERROR"

    def _register_error_handlers(self):
        # portal.errors answers every error, pages and API alike, in one place.
        pass

    def _register_responses(self):
        # Document error bodies with the media type they are sent with.
        content_type = self.DEFAULT_RESPONSE_CONTENT_TYPE
        self.DEFAULT_RESPONSE_CONTENT_TYPE = PROBLEM_MEDIA_TYPE
        try:
            super()._register_responses()
        finally:
            self.DEFAULT_RESPONSE_CONTENT_TYPE = content_type


def api_settings() -> dict:
    """flask-smorest settings: OpenAPI 3.1 at /api/openapi.json, no third-party UI."""
    return {
        "API_TITLE": API_TITLE,
        "API_VERSION": API_VERSION,
        "OPENAPI_VERSION": "3.1.0",
        "OPENAPI_URL_PREFIX": "/api",
        "OPENAPI_JSON_PATH": "openapi.json",
        "API_SPEC_OPTIONS": {
            "info": {
                "description": (
                    "Send a personal access token (from your profile page, or "
                    "`flask --app portal create-token`) as `Authorization: Bearer <token>`. "
                    "Cookies are not accepted. Errors are RFC 9457 problem details. Reads "
                    "carry an ETag (send If-None-Match for 304); writes need If-Match."
                )
            },
            "security": [{"bearerAuth": []}],
            "components": {
                "securitySchemes": {
                    "bearerAuth": {"type": "http", "scheme": "bearer"},
                }
            },
        },
    }


def register(app: Flask) -> None:
    """Register the API blueprint, its document and the reference page on `app`."""
    for key, value in api_settings().items():
        app.config.setdefault(key, value)
    api = PortalApi()
    api.init_app(app)
    api.register_blueprint(blueprint)
    # The document is public; the API's routes check their own token (portal.api.auth).
    app.blueprints["api-docs"].handles_own_authentication = True
    app.add_url_rule("/api/docs", "api_reference", api_reference)
    app.extensions["portal_api"] = api


@public
def api_reference():
    """The reference page: the OpenAPI document rendered by our own template, no script."""
    api = current_app.extensions["portal_api"]
    return render_template("api/reference.html", spec=api.spec.to_dict())
