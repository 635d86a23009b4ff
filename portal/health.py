"""Liveness check for load balancers and the site icon: both answer without the database."""

from flask import Blueprint, current_app, send_from_directory

from portal.auth.access import public

blueprint = Blueprint("health", __name__)


@blueprint.route("/healthz")
@public
def healthz():
    return "ok", 200, {"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store"}


@blueprint.route("/favicon.ico")
@public
def favicon():
    """The portal's icon where browsers look for it first (vendored in static/, no CDN)."""
    response = send_from_directory(
        current_app.static_folder, "favicon.ico", mimetype="image/vnd.microsoft.icon", max_age=86400
    )
    return response
