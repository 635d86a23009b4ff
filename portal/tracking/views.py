"""Student tracking pages: a member's milestones, the group calendar and its feed, the plans
and the progress report for administrators.

Routes carry their full paths (the blueprint has no prefix): /group/members/<id>/milestones,
/group/milestones…, /calendar/<token>.ics (public), /admin/milestone-plans…, /admin/progress….
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
    stream_with_context,
    url_for,
)
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from flask_login import current_user

from portal.auth.access import public
from portal.auth.decorators import admin_required
from portal.extensions import db
from portal.milestones import can_record_milestones, due_state, expected_end
from portal.models import Milestone, User
from portal.spreadsheets import CSV_MIMETYPE, XLSX_MIMETYPE, csv_bytes_chunks, xlsx_bytes
from portal.tracking import operations, progress, queries
from portal.tracking.forms import (
    ButtonForm,
    DoneForm,
    DurationForm,
    ExtendForm,
    NoteForm,
    PlanItemForm,
    ProgressFilterForm,
    ReopenForm,
    WaiveForm,
)
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
    if "csrf_token" in form.errors:
        abort(400)
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
    requested = request.args.get("faculty", type=int)
    if requested is None or requested == current_user.id:
        return current_user
    if not current_user.is_admin:
        abort(404)
    owner = db.session.get(User, requested)
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
        form=ButtonForm(),
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
    response.headers["X-Content-Type-Options"] = "nosniff"
    if download:
        response.headers["Content-Disposition"] = 'attachment; filename="milestones.ics"'
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


def _check_button() -> None:
    if not ButtonForm().validate_on_submit():
        abort(400)


@blueprint.route("/group/milestones/feed", methods=["POST"])
def new_feed():
    """Make a new secret feed URL (the old one stops working) and show it once."""
    _check_button()
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
            form=ButtonForm(),
        ),
        200,
        NO_STORE,
    )


@blueprint.route("/group/milestones/feed/revoke", methods=["POST"])
def revoke_feed():
    """Turn the secret feed URL off."""
    _check_button()
    if operations.revoke_calendar_feed(current_user):
        db.session.commit()
        flash(_("The calendar feed URL was turned off; calendar apps no longer get it."), "success")
    else:
        flash(_("There was no calendar feed URL to turn off."), "info")
    return redirect(url_for("tracking.calendar_page"))


# ---------------------------------------------------------------------------------------------
# Plans (administrators).


def _item_data(form: PlanItemForm) -> operations.PlanItemData:
    return operations.PlanItemData(
        name_en=form.name_en.data,
        name_fr=form.name_fr.data,
        due_months=form.due_months.data,
        repeat_months=form.repeat_months.data,
        sort_order=form.sort_order.data if form.sort_order.data is not None else 100,
    )


def _plans_page(status: int = 200, failed_program: int | None = None, failed_form=None):
    plans = queries.program_plans()
    add_forms = {
        plan.program.id: (
            failed_form
            if failed_program == plan.program.id and isinstance(failed_form, PlanItemForm)
            else PlanItemForm(
                formdata=None,
                prefix=f"p{plan.program.id}",
                sort_order=(len(plan.items) + 1) * 10,
            )
        )
        for plan in plans
    }
    duration_forms = {
        plan.program.id: (
            failed_form
            if failed_program == plan.program.id and isinstance(failed_form, DurationForm)
            else DurationForm(
                formdata=None,
                prefix=f"d{plan.program.id}",
                expected_duration_months=plan.program.expected_duration_months,
            )
        )
        for plan in plans
    }
    return render_template(
        "tracking/plans.html",
        plans=plans,
        add_forms=add_forms,
        duration_forms=duration_forms,
        button=ButtonForm(),
    ), status


def _attach(form, error: operations.TrackingError) -> None:
    field = getattr(form, error.field_name)
    field.errors = [*field.errors, error.message]


@blueprint.route("/admin/milestone-plans")
@admin_required
def plans():
    """Each program's milestone plan and expected duration."""
    return _plans_page()


def _program_or_404(program_id: int):
    program = queries.program(program_id)
    if program is None:
        abort(404)
    return program


@blueprint.route("/admin/milestone-plans/<int:program_id>/items", methods=["POST"])
@admin_required
def add_item(program_id: int):
    program = _program_or_404(program_id)
    form = PlanItemForm(prefix=f"p{program.id}")
    if form.validate_on_submit():
        try:
            item = operations.add_plan_item(current_user, program, _item_data(form))
        except operations.TrackingError as error:
            db.session.rollback()
            _attach(form, error)
        else:
            db.session.commit()
            flash(
                _(
                    "Added %(name)s to the plan of %(program)s.",
                    name=item.name_en,
                    program=program.name,
                ),
                "success",
            )
            return redirect(url_for("tracking.plans", _anchor=f"program-{program.id}"))
    return _plans_page(400, program.id, form)


@blueprint.route("/admin/milestone-plans/<int:program_id>/duration", methods=["POST"])
@admin_required
def set_duration(program_id: int):
    program = _program_or_404(program_id)
    form = DurationForm(prefix=f"d{program.id}")
    if form.validate_on_submit():
        try:
            operations.set_expected_duration(
                current_user, program, form.expected_duration_months.data
            )
        except operations.TrackingError as error:
            db.session.rollback()
            _attach(form, error)
        else:
            db.session.commit()
            flash(_("Saved the expected duration of %(program)s.", program=program.name), "success")
            return redirect(url_for("tracking.plans", _anchor=f"program-{program.id}"))
    return _plans_page(400, program.id, form)


def _item_or_404(item_id: int):
    item = queries.plan_item(item_id)
    if item is None:
        abort(404)
    return item


@blueprint.route("/admin/milestone-plans/items/<int:item_id>/edit", methods=["GET", "POST"])
@admin_required
def edit_item(item_id: int):
    item = _item_or_404(item_id)
    form = PlanItemForm(obj=None if request.method == "POST" else item)
    if form.validate_on_submit():
        try:
            operations.update_plan_item(current_user, item, _item_data(form))
        except operations.TrackingError as error:
            db.session.rollback()
            item = _item_or_404(item_id)
            _attach(form, error)
        else:
            db.session.commit()
            flash(_("Saved %(name)s.", name=item.name_en), "success")
            return redirect(url_for("tracking.plans", _anchor=f"program-{item.program_id}"))
    status = 400 if form.is_submitted() else 200
    return render_template("tracking/plan_item.html", form=form, item=item), status


@blueprint.route("/admin/milestone-plans/items/<int:item_id>/retire", methods=["POST"])
@admin_required
def retire_item(item_id: int):
    item = _item_or_404(item_id)
    _check_button()
    operations.set_plan_item_active(current_user, item, False)
    db.session.commit()
    flash(
        _(
            "%(name)s is retired: positions that start from now on no longer get it.",
            name=item.name_en,
        ),
        "success",
    )
    return redirect(url_for("tracking.plans", _anchor=f"program-{item.program_id}"))


@blueprint.route("/admin/milestone-plans/items/<int:item_id>/restore", methods=["POST"])
@admin_required
def restore_item(item_id: int):
    item = _item_or_404(item_id)
    _check_button()
    operations.set_plan_item_active(current_user, item, True)
    db.session.commit()
    flash(_("%(name)s is back in the plan.", name=item.name_en), "success")
    return redirect(url_for("tracking.plans", _anchor=f"program-{item.program_id}"))


# ---------------------------------------------------------------------------------------------
# Progress report (administrators).


class _BadFilterError(ValueError):
    """The progress filter cannot be read; the form carries the message."""


def _read_progress_filter() -> tuple[ProgressFilterForm, progress.ProgressFilter]:
    form = ProgressFilterForm(formdata=request.args)
    form.department.choices = [form.department.choices[0]] + [
        type(form.department.choices[0])(name, name) for name in progress.department_choices()
    ]
    programs = progress.program_choices()
    form.program.choices = [form.program.choices[0]] + [
        type(form.program.choices[0])(str(program_id), name) for program_id, name in programs
    ]
    as_of = date.today()
    text = (request.args.get("as_of") or "").strip()
    if text:
        try:
            as_of = date.fromisoformat(text)
        except ValueError:
            form.as_of.errors = [
                _(
                    "%(text)s is not a date. Enter the date as YYYY-MM-DD, for example 2026-09-01.",
                    text=repr(text),
                )
            ]
            raise _BadFilterError(form) from None
    program_text = request.args.get("program") or ""
    program_id = None
    if program_text:
        if not program_text.isdigit() or int(program_text) not in {pid for pid, _ in programs}:
            form.program.errors = [_("Choose a program from the list.")]
            raise _BadFilterError(form)
        program_id = int(program_text)
    department = (request.args.get("department") or "").strip() or None
    return form, progress.ProgressFilter(as_of=as_of, department=department, program_id=program_id)


@blueprint.route("/admin/progress")
@admin_required
def progress_page():
    """Overdue milestones, students past expected duration, completion by program."""
    try:
        form, wanted = _read_progress_filter()
    except _BadFilterError as error:
        return render_template("tracking/progress.html", form=error.args[0], report=None), 400
    report = progress.progress_report(wanted)
    return render_template(
        "tracking/progress.html",
        form=form,
        report=report,
        chart=progress.completion_chart_svg(report),
        language=_language(),
    )


def _progress_export(extension: str):
    try:
        _form, wanted = _read_progress_filter()
    except _BadFilterError as error:
        message = " ".join(message for field in error.args[0] for message in (field.errors or []))
        return Response(message + "\n", status=400, mimetype="text/plain")
    report = progress.progress_report(wanted)
    filename = f"open-milestones-{wanted.as_of.isoformat()}.{extension}"
    if extension == "xlsx":
        body = xlsx_bytes(progress.OPEN_MILESTONE_COLUMNS, report.export_rows(), "Open milestones")
        response = Response(body, mimetype=XLSX_MIMETYPE)
    else:
        response = Response(
            stream_with_context(
                csv_bytes_chunks(progress.OPEN_MILESTONE_COLUMNS, report.export_rows())
            ),
            mimetype=CSV_MIMETYPE,
        )
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers.update(NO_STORE)
    return response


@blueprint.route("/admin/progress.csv")
@admin_required
def progress_csv():
    """One row per open milestone of the report's scope."""
    return _progress_export("csv")


@blueprint.route("/admin/progress.xlsx")
@admin_required
def progress_xlsx():
    """The same rows as the CSV, as a workbook."""
    return _progress_export("xlsx")
