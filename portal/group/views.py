"""The faculty member's group pages."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, render_template
from flask_login import current_user

from portal.group.services import current_members

blueprint = Blueprint("group", __name__, url_prefix="/group")


@blueprint.route("")
def index():
    members = current_members(current_user, date.today())
    return render_template("group/index.html", members=members)
