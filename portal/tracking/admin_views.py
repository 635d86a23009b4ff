"""Student tracking for administrators: the milestone plans and the progress report.

Under /admin, behind the same blueprint-level guard as the other administration pages
(anonymous users go to login, faculty get 403): /admin/milestone-plans…, /admin/progress….
"""

from __future__ import annotations

from datetime import date
from functools import partial

from flask import (
    Blueprint,
    Response,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from portal.auth.decorators import require_admin
from portal.extensions import db
from portal.forms import select_choices
from portal.labels import program_choices_in_language
from portal.models import MilestonePlanItem, Program
from portal.saving import save
from portal.spreadsheets import (
    CSV_MIMETYPE,
    XLSX_MIMETYPE,
    attachment_headers,
    csv_bytes_chunks,
    xlsx_bytes,
)
from portal.tracking import operations, progress, queries
from portal.tracking.forms import DurationForm, PlanItemForm, ProgressFilterForm

blueprint = Blueprint("tracking_admin", __name__, url_prefix="/admin")
blueprint.before_request(require_admin)

NO_STORE = {"Cache-Control": "no-store"}


def _language() -> str:
    return str(get_locale())


# The same shape as the other administration pages (portal/saving.py).
_save = partial(save, refused=operations.TrackingError)


def _to_plan(message: str, program_id: int):
    """Post/redirect/get back to the program's plan, saying what was saved."""
    flash(message, "success")
    return redirect(url_for("tracking_admin.plans", _anchor=f"program-{program_id}"))


# ---------------------------------------------------------------------------------------------
# Plans.


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
    ), status


@blueprint.route("/milestone-plans")
def plans():
    """Each program's milestone plan and expected duration."""
    return _plans_page()


@blueprint.route("/milestone-plans/<int:program_id>/items", methods=["POST"])
def add_item(program_id: int):
    program = db.get_or_404(Program, program_id)
    form = PlanItemForm(prefix=f"p{program.id}")
    if form.validate_on_submit():
        response = _save(
            form,
            lambda: operations.add_plan_item(current_user, program, _item_data(form)),
            lambda item: _to_plan(
                _(
                    "Added %(name)s to the plan of %(program)s.",
                    name=item.name_en,
                    program=program.name,
                ),
                program.id,
            ),
        )
        if response is not None:
            return response
    return _plans_page(400, program.id, form)


@blueprint.route("/milestone-plans/<int:program_id>/duration", methods=["POST"])
def set_duration(program_id: int):
    program = db.get_or_404(Program, program_id)
    form = DurationForm(prefix=f"d{program.id}")
    if form.validate_on_submit():
        response = _save(
            form,
            lambda: operations.set_expected_duration(
                current_user, program, form.expected_duration_months.data
            ),
            lambda _result: _to_plan(
                _("Saved the expected duration of %(program)s.", program=program.name),
                program.id,
            ),
        )
        if response is not None:
            return response
    return _plans_page(400, program.id, form)


@blueprint.route("/milestone-plans/items/<int:item_id>/edit", methods=["GET", "POST"])
def edit_item(item_id: int):
    item = db.get_or_404(MilestonePlanItem, item_id)
    form = PlanItemForm(obj=None if request.method == "POST" else item)
    if form.validate_on_submit():
        response = _save(
            form,
            lambda: operations.update_plan_item(current_user, item, _item_data(form)),
            lambda _result: _to_plan(_("Saved %(name)s.", name=item.name_en), item.program_id),
        )
        if response is not None:
            return response
        item = db.get_or_404(MilestonePlanItem, item_id)  # after the rollback
    status = 400 if form.is_submitted() else 200
    return render_template("tracking/plan_item.html", form=form, item=item), status


@blueprint.route("/milestone-plans/items/<int:item_id>/retire", methods=["POST"])
def retire_item(item_id: int):
    """Retire a step (the global CSRF protection checks the button's token)."""
    item = db.get_or_404(MilestonePlanItem, item_id)
    operations.set_plan_item_active(current_user, item, False)
    db.session.commit()
    return _to_plan(
        _(
            "%(name)s is retired: positions that start from now on no longer get it.",
            name=item.name_en,
        ),
        item.program_id,
    )


@blueprint.route("/milestone-plans/items/<int:item_id>/restore", methods=["POST"])
def restore_item(item_id: int):
    item = db.get_or_404(MilestonePlanItem, item_id)
    operations.set_plan_item_active(current_user, item, True)
    db.session.commit()
    return _to_plan(_("%(name)s is back in the plan.", name=item.name_en), item.program_id)


# ---------------------------------------------------------------------------------------------
# Progress report.


FILTER_KEYS = ("as_of", "department", "program")


class _BadFilterError(ValueError):
    """The progress filter cannot be read; the form carries the message."""


def _read_progress_filter() -> tuple[ProgressFilterForm, progress.ProgressFilter]:
    form = ProgressFilterForm(formdata=request.args)
    form.set_departments(progress.department_choices())
    programs = program_choices_in_language(progress.program_choices())
    form.program.choices = select_choices(
        [("", _("All programs"))] + [(str(program_id), name) for program_id, name in programs]
    )
    if not form.validate():
        raise _BadFilterError(form)
    wanted = progress.ProgressFilter(
        as_of=form.as_of_day(date.today()),
        department=form.department_name(),
        program_id=form.program_id(),
    )
    return form, wanted


@blueprint.route("/progress")
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
        chart=progress.completion_chart(report),
        language=_language(),
        # The downloads keep the filter, and only it (a stray query key is not a url_for option).
        export_args={
            key: request.args[key] for key in FILTER_KEYS if request.args.get(key, "").strip()
        },
    )


def _progress_export(extension: str):
    try:
        _form, wanted = _read_progress_filter()
    except _BadFilterError as error:
        message = " ".join(message for field in error.args[0] for message in (field.errors or []))
        return Response(message + "\n", status=400, mimetype="text/plain")
    rows = progress.export_rows(wanted)
    filename = f"open-milestones-{wanted.as_of.isoformat()}.{extension}"
    if extension == "xlsx":
        body = xlsx_bytes(progress.OPEN_MILESTONE_COLUMNS, rows, "Open milestones")
        response = Response(body, mimetype=XLSX_MIMETYPE)
    else:
        response = Response(
            stream_with_context(csv_bytes_chunks(progress.OPEN_MILESTONE_COLUMNS, rows)),
            mimetype=CSV_MIMETYPE,
        )
    response.headers.extend(attachment_headers(filename))
    response.headers.update(NO_STORE)
    return response


@blueprint.route("/progress.csv")
def progress_csv():
    """One row per open milestone of the report's scope."""
    return _progress_export("csv")


@blueprint.route("/progress.xlsx")
def progress_xlsx():
    """The same rows as the CSV, as a workbook."""
    return _progress_export("xlsx")
