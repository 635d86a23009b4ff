"""Liveness check for load balancers: answers without touching the database."""

from flask import Blueprint

from portal.auth.access import public

blueprint = Blueprint("health", __name__)


@blueprint.route("/healthz")
@public
def healthz():
    return "ok", 200, {"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store"}
