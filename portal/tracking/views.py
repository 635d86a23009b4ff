"""Student tracking pages: a member's milestones, the group calendar and its feed.

Routes carry their full paths (the blueprint has no prefix): /group/members/<id>/milestones,
/group/milestones…, /calendar/<token>.ics (public). The plans and the progress report, for
administrators, are in portal/tracking/admin_views.py under the admin guard.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from flask_login import current_user

from portal.auth.access import group_owner, public
from portal.extensions import db
from portal.milestones import can_record_milestones, due_state, expected_end
from portal.models import Milestone, User
from portal.spreadsheets import attachment_headers
from portal.tracking import operations, queries
from portal.tracking.forms import DoneForm, ExtendForm, NoteForm, ReopenForm, WaiveForm
from portal.tracking.ics import milestones_calendar
from portal.tracking.reminders import language_of

blueprint = Blueprint("tracking", __name__)

NO_STORE = {"Cache-Control": "no-store"}
ICS_MIMETYPE = "text/calendar"


def _language() -> str:
    """The reader's language code ('en' or 'fr_CA'), for names kept in both languages."""
    return str(get_locale())


# ---------------------------------------------------------------------------------------------
# One member's milestones.


def _position_or_404(position_id: int):
    position = queries.position_for(current_user, position_id)
    if position is None:
        abort(404)
    return position


def _milestone_or_404(milestone_id: int) -> Milestone:
    milestone = queries.milestone_for(current_user, milestone_id)
    if milestone is None:
        abort(404)
    return milestone


def _prefix(milestone_id: int) -> str:
    """Each milestone's forms get their own field names and ids: one page holds many of them."""
    return f"m{milestone_id}"


def _member_page(position, status: int = 200, failed: dict | None = None):
    """The member's milestones, each with its forms (the failed one keeps its input and errors)."""
    today = date.today()
    milestones = queries.milestones_of(position)
    failed = failed or {}
    entries = []
    for milestone in milestones:
        forms = failed.get(milestone.id, {})
        version = str(milestone.version)
        prefix = _prefix(milestone.id)
        entries.append(
            {
                "milestone": milestone,
                "state": due_state(milestone.status, milestone.due_date, today),
                "done": forms.get("done")
                or DoneForm(formdata=None, prefix=prefix, version=version, done_on=today),
                "waive": forms.get("waive")
                or WaiveForm(formdata=None, prefix=prefix, version=version),
                "extend": forms.get("extend")
                or ExtendForm(
                    formdata=None, prefix=prefix, version=version, due_date=milestone.due_date
                ),
                "note": forms.get("note")
                or NoteForm(formdata=None, prefix=prefix, version=version, note=milestone.note),
                "reopen": forms.get("reopen")
                or ReopenForm(formdata=None, prefix=prefix, version=version),
            }
        )
    return render_template(
        "tracking/member.html",
        position=position,
        entries=entries,
        may_record=can_record_milestones(current_user, position),
        language=_language(),
        expected_end=expected_end(position.start_date, position.program.expected_duration_months),
        today=today,
    ), status


@blueprint.route("/group/members/<int:position_id>/milestones")
def member(position_id: int):
    """A member's milestones: open ones first with their state, then done and waived."""
    return _member_page(_position_or_404(position_id))


def _after_change(milestone: Milestone):
    if request.args.get("return_to") == "group":
        return redirect(url_for("group.index"))
    return redirect(url_for("tracking.member", position_id=milestone.position_id))


def _act(milestone_id: int, form_class, key: str, action):
    """Run one recording action from its form; refusals re-show the page with the message."""
    milestone = _milestone_or_404(milestone_id)
    if not can_record_milestones(current_user, milestone.position):
        abort(403)
    form = form_class(prefix=_prefix(milestone.id))
    if form.is_submitted() and form.expected_version() < 0:
        # Every form of the page carries the version it was opened at; without it, refuse.
        form.validate()
        form.version.errors = [
            _("This form is incomplete or out of date: reload the page and try again.")
        ]
        return _member_page(milestone.position, 400, {milestone.id: {key: form}})
    if form.validate_on_submit():
        try:
            message = action(milestone, form)
        except operations.TrackingError as error:
            db.session.rollback()
            milestone = _milestone_or_404(milestone_id)
            target = getattr(form, error.field_name, None) or form.version
            target.errors = [*target.errors, error.message]
            status = 409 if isinstance(error, operations.StaleMilestoneError) else 400
            return _member_page(milestone.position, status, {milestone.id: {key: form}})
        db.session.commit()
        flash(message, "success")
        return _after_change(milestone)
    return _member_page(milestone.position, 400, {milestone.id: {key: form}})


def _name(milestone: Milestone) -> str:
    return milestone.name(_language())


@blueprint.route("/group/milestones/<int:milestone_id>/done", methods=["POST"])
def mark_done(milestone_id: int):
    def action(milestone, form):
        following = operations.mark_done(
            current_user, milestone, form.done_on.data, date.today(), form.expected_version()
        )
        message = _(
            "%(milestone)s of %(name)s marked done.",
            milestone=_name(milestone),
            name=milestone.position.person.full_name,
        )
        if following is not None and following.due_date is not None:
            message += " " + _("The next one is due %(day)s.", day=following.due_date.isoformat())
        return message

    return _act(milestone_id, DoneForm, "done", action)


@blueprint.route("/group/milestones/<int:milestone_id>/waive", methods=["POST"])
def waive(milestone_id: int):
    def action(milestone, form):
        operations.waive(current_user, milestone, form.waived_reason.data, form.expected_version())
        return _(
            "%(milestone)s of %(name)s waived.",
            milestone=_name(milestone),
            name=milestone.position.person.full_name,
        )

    return _act(milestone_id, WaiveForm, "waive", action)


@blueprint.route("/group/milestones/<int:milestone_id>/extend", methods=["POST"])
def extend(milestone_id: int):
    def action(milestone, form):
        operations.extend(
            current_user, milestone, form.due_date.data, form.reason.data, form.expected_version()
        )
        return _(
            "%(milestone)s of %(name)s is now due %(day)s.",
            milestone=_name(milestone),
            name=milestone.position.person.full_name,
            day=form.due_date.data.isoformat(),
        )

    return _act(milestone_id, ExtendForm, "extend", action)


@blueprint.route("/group/milestones/<int:milestone_id>/note", methods=["POST"])
def note(milestone_id: int):
    def action(milestone, form):
        changed = operations.set_note(
            current_user, milestone, form.note.data, form.expected_version()
        )
        return _("Note saved.") if changed else _("The note was already up to date.")

    return _act(milestone_id, NoteForm, "note", action)


@blueprint.route("/group/milestones/<int:milestone_id>/reopen", methods=["POST"])
def reopen(milestone_id: int):
    def action(milestone, form):
        operations.reopen(current_user, milestone, form.expected_version())
        return _("%(milestone)s is open again.", milestone=_name(milestone))

    return _act(milestone_id, ReopenForm, "reopen", action)


# ---------------------------------------------------------------------------------------------
# The group's calendar: the page, the logged-in download, and the secret feed.


def _calendar_owner() -> User:
    """Whose group's calendar: the reader's own; an administrator may name any account."""
    owner = group_owner(current_user, request.args.get("faculty", type=int))
    if owner is None:
        abort(404)
    return owner


@blueprint.route("/group/milestones")
def calendar_page():
    """Every open milestone of the group, the calendar download and the feed settings."""
    owner = _calendar_owner()
    rows = queries.group_open_milestones(owner, date.today())
    return render_template(
        "tracking/calendar.html",
        rows=rows,
        owner=owner,
        language=_language(),
        feed_url=None,
    )


def _ics_response(owner: User, download: bool) -> Response:
    # A download speaks the reader's language; a feed (no session) its owner's saved one.
    language = _language() if download else language_of(owner)
    with force_locale(language):
        return _ics_body(owner, language, download)


def _ics_body(owner: User, language: str, download: bool) -> Response:
    body = milestones_calendar(
        queries.group_open_milestones(owner, date.today()),
        language=language,
        name=_("Milestones of the group of %(name)s", name=owner.display_name),
        domain=request.host.split(":")[0] or "portal",
        now=datetime.now(UTC),
    )
    response = Response(body, mimetype=ICS_MIMETYPE, headers=NO_STORE)
    if download:
        response.headers.extend(attachment_headers("milestones.ics"))
    else:
        response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@blueprint.route("/group/milestones.ics")
def calendar_ics():
    """The open milestones of the group as an iCalendar file (logged in)."""
    return _ics_response(_calendar_owner(), download=True)


@blueprint.route("/calendar/<token>.ics")
@public
def calendar_feed(token: str):
    """The secret feed a calendar app subscribes to; an unknown or revoked token is 404."""
    owner = operations.feed_owner(token)
    if owner is None:
        abort(404)
    return _ics_response(owner, download=False)


@blueprint.route("/group/milestones/feed", methods=["POST"])
def new_feed():
    """Make a new secret feed URL (the old one stops working) and show it once.

    The global CSRF protection checks the button's token, as on every POST.
    """
    token = operations.new_calendar_feed(current_user)
    db.session.commit()
    feed_url = url_for("tracking.calendar_feed", token=token, _external=True)
    rows = queries.group_open_milestones(current_user, date.today())
    return (
        render_template(
            "tracking/calendar.html",
            rows=rows,
            owner=current_user,
            language=_language(),
            feed_url=feed_url,
        ),
        200,
        NO_STORE,
    )


@blueprint.route("/group/milestones/feed/revoke", methods=["POST"])
def revoke_feed():
    """Turn the secret feed URL off."""
    if operations.revoke_calendar_feed(current_user):
        db.session.commit()
        flash(_("The calendar feed URL was turned off; calendar apps no longer get it."), "success")
    else:
        flash(_("There was no calendar feed URL to turn off."), "info")
    return redirect(url_for("tracking.calendar_page"))
