"""Administration pages: supervision loads, programs and caps, accounts, institutions."""

from __future__ import annotations

from datetime import date

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
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from portal.admin import operations, reports
from portal.admin.forms import (
    AccountForm,
    CapsForm,
    ConfirmForm,
    LoadsFilterForm,
    MergeInstitutionsForm,
    PasswordResetForm,
    ProgramForm,
    RenameInstitutionForm,
    select_choices,
)
from portal.auth.decorators import admin_required, ask_for_password
from portal.auth.services import password_entered_recently
from portal.converters import parse_database_id, parse_page
from portal.extensions import db
from portal.labels import lazy_gettext as _l
from portal.models import ProgramKind
from portal.spreadsheets import CSV_MIMETYPE, XLSX_MIMETYPE, csv_bytes_chunks, xlsx_bytes

blueprint = Blueprint("admin", __name__, url_prefix="/admin")

NO_STORE = {"Cache-Control": "no-store"}


# ---------------------------------------------------------------------------------------------
# Loads.


class BadFilterError(ValueError):
    """The loads filter cannot be read; the form carries the message."""


def _read_loads_filter() -> tuple[LoadsFilterForm, dict]:
    """The filter form from the query string, and the report arguments it asks for."""
    form = LoadsFilterForm(formdata=request.args)
    arguments = {
        "as_of": date.today(),
        "sort": request.args.get("sort") or None,
        "descending": request.args.get("dir") == "desc",
        "department": request.args.get("department") or None,
        "institution_id": None,
        "page": parse_page(request.args.get("page")),
    }
    as_of_text = (request.args.get("as_of") or "").strip()
    if as_of_text:
        try:
            arguments["as_of"] = date.fromisoformat(as_of_text)
        except ValueError:
            form.as_of.errors = [
                _(
                    "%(text)s is not a date. Enter the date as YYYY-MM-DD, for example 2026-09-01.",
                    text=repr(as_of_text),
                )
            ]
            raise BadFilterError(form) from None
    institution_text = request.args.get("institution") or ""
    if institution_text:
        institution_id = parse_database_id(institution_text)
        if institution_id is None:
            form.institution.errors = [_("Choose an institution from the list.")]
            raise BadFilterError(form)
        arguments["institution_id"] = institution_id
    return form, arguments


def _fill_filter_choices(form: LoadsFilterForm) -> None:
    form.department.choices = select_choices(
        [("", _("All departments"))] + [(name, name) for name in reports.department_choices()]
    )
    form.institution.choices = select_choices(
        [("", _("All institutions"))]
        + [(str(id), name) for id, name in reports.institution_choices()]
    )


@blueprint.route("")
@admin_required
def index():
    """The administration section starts at the loads page."""
    return redirect(url_for("admin.loads"))


@blueprint.route("/loads")
@admin_required
def loads():
    """Supervision loads of every active faculty member on a day, with the chart."""
    try:
        form, arguments = _read_loads_filter()
    except BadFilterError as error:
        form = error.args[0]
        _fill_filter_choices(form)
        return render_template("admin/loads.html", form=form, report=None), 400
    _fill_filter_choices(form)
    report = reports.loads_report(**arguments)
    return render_template(
        "admin/loads.html",
        form=form,
        report=report,
        columns=reports.COLUMNS,
        chart=reports.loads_chart_svg(report),
        legend=reports.chart_legend(),
        sort_url=_sort_url,
        page_url=_page_url,
        export_arguments=_filter_arguments("page"),
    )


# The query-string keys the loads view reads; links carry these and nothing else over, so that
# a crafted key (endpoint=, _external=, _scheme=) never reaches url_for.
LOADS_QUERY_KEYS = ("as_of", "department", "institution", "sort", "dir", "page")


def _filter_arguments(*leave_out: str) -> dict[str, str]:
    """The loads view's own query-string values, without `leave_out`."""
    return {
        name: request.args[name]
        for name in LOADS_QUERY_KEYS
        if name not in leave_out and name in request.args
    }


def _page_url(page: int) -> str:
    """The same loads view (day, filters, sort) at another page."""
    return url_for("admin.loads", **_filter_arguments("page"), page=page)


def _sort_url(key: str, report: reports.LoadsReport) -> str:
    """The link of a column heading: sort by it, or reverse the order when it is already so."""
    descending = not report.descending if report.sort == key else False
    arguments = _filter_arguments("sort", "dir", "page")
    return url_for("admin.loads", **arguments, sort=key, dir="desc" if descending else "asc")


def _export(kind: str):
    try:
        _form, arguments = _read_loads_filter()
    except BadFilterError as error:
        form = error.args[0]
        return Response(
            " ".join([*form.as_of.errors, *form.institution.errors]) + "\n",
            400,
            mimetype="text/plain",
        )
    arguments.pop("page")  # an export holds every row, whatever page the table shows
    report = reports.loads_report(**arguments)
    filename = f"supervision-loads-{report.as_of.isoformat()}.{kind}"
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    if kind == "csv":
        chunks = csv_bytes_chunks(report.headers(), report.export_rows())
        return Response(
            stream_with_context(chunks), mimetype=f"{CSV_MIMETYPE}; charset=utf-8", headers=headers
        )
    content = xlsx_bytes(report.headers(), report.export_rows(), sheet_title="Loads")
    return Response(content, mimetype=XLSX_MIMETYPE, headers=headers)


@blueprint.route("/loads.csv")
@admin_required
def loads_csv():
    """The loads table as CSV, same rows and columns as the page."""
    return _export("csv")


@blueprint.route("/loads.xlsx")
@admin_required
def loads_xlsx():
    """The loads table as XLSX, same rows and columns as the page."""
    return _export("xlsx")


# ---------------------------------------------------------------------------------------------
# Programs and caps.


def _program_data(form: ProgramForm) -> operations.ProgramData:
    return operations.ProgramData(
        name=form.name.data or "",
        kind=ProgramKind(form.kind.data),
        weight=form.weight.data,
        counts_toward_load=form.counts_toward_load.data,
        is_active=form.is_active.data,
    )


def _attach_error(form, error: operations.AdminError) -> None:
    field = getattr(form, error.field, None) if error.field else None
    if field is not None:
        field.errors = [*field.errors, str(error)]
    else:
        form.form_errors.append(str(error))


@blueprint.route("/programs", methods=["GET", "POST"])
@admin_required
def programs():
    """List programs and create one."""
    form = ProgramForm()
    if form.validate_on_submit():
        try:
            program = operations.create_program(current_user, _program_data(form))
        except operations.AdminError as error:
            db.session.rollback()
            _attach_error(form, error)
        else:
            db.session.commit()
            flash(_("Program %(name)s created.", name=program.name), "success")
            return redirect(url_for("admin.programs"))
    status = 400 if form.is_submitted() else 200
    return render_template(
        "admin/programs.html", form=form, programs=operations.list_programs()
    ), status


@blueprint.route("/programs/<int:program_id>/edit", methods=["GET", "POST"])
@admin_required
def edit_program(program_id: int):
    """Change a program's name, kind, weight and load rule."""
    program = operations.get_program(program_id) or abort(404)
    form = ProgramForm(obj=program if request.method == "GET" else None)
    if request.method == "GET":
        form.kind.data = program.kind.value
    if form.validate_on_submit():
        try:
            operations.update_program(current_user, program, _program_data(form))
        except operations.AdminError as error:
            db.session.rollback()
            _attach_error(form, error)
        else:
            db.session.commit()
            flash(
                _("Program %(name)s saved; the loads use its new rules.", name=program.name),
                "success",
            )
            return redirect(url_for("admin.programs"))
    status = 400 if form.is_submitted() else 200
    return render_template("admin/program_edit.html", form=form, program=program), status


@blueprint.route("/caps", methods=["GET", "POST"])
@admin_required
def caps():
    """The default caps, and the list of faculty with their exceptions."""
    policy = reports.load_policy()
    form = CapsForm()
    if request.method == "GET":
        form.principal_cap.data = policy.default_principal_cap
        form.weighted_cap.data = policy.default_weighted_cap
    if form.validate_on_submit():
        try:
            operations.update_default_caps(
                current_user, form.principal_cap.data, form.weighted_cap.data
            )
        except operations.AdminError as error:
            db.session.rollback()
            _attach_error(form, error)
        else:
            db.session.commit()
            flash(_("Default caps saved."), "success")
            return redirect(url_for("admin.caps"))
    status = 400 if form.is_submitted() else 200
    return render_template(
        "admin/caps.html", form=form, policy=policy, faculty=operations.list_faculty()
    ), status


@blueprint.route("/caps/<int:user_id>", methods=["GET", "POST"])
@admin_required
def faculty_caps(user_id: int):
    """One faculty member's own caps (empty = the default)."""
    faculty = operations.get_faculty(user_id) or abort(404)
    policy = reports.load_policy()
    form = CapsForm()
    if request.method == "GET":
        form.principal_cap.data = faculty.principal_cap
        form.weighted_cap.data = faculty.weighted_cap
    if form.validate_on_submit():
        try:
            operations.set_faculty_caps(
                current_user, faculty, form.principal_cap.data, form.weighted_cap.data
            )
        except operations.AdminError as error:
            db.session.rollback()
            _attach_error(form, error)
        else:
            db.session.commit()
            flash(_("Caps for %(name)s saved.", name=faculty.display_name), "success")
            return redirect(url_for("admin.caps"))
    status = 400 if form.is_submitted() else 200
    return render_template(
        "admin/faculty_caps.html", form=form, faculty=faculty, policy=policy
    ), status


# ---------------------------------------------------------------------------------------------
# Accounts.


def _accounts_page(form: AccountForm, status: int = 200):
    return render_template(
        "admin/accounts.html",
        form=form,
        action_form=ConfirmForm(),
        accounts=operations.list_accounts(),
    ), status


@blueprint.route("/accounts")
@admin_required
def accounts():
    """Every account, with the form to create one."""
    return _accounts_page(AccountForm(formdata=None))


@blueprint.route("/accounts/new", methods=["POST"])
@admin_required
def new_account():
    """Create a faculty or administrator account."""
    form = AccountForm()
    if form.account_type.data == "admin" and not password_entered_recently():
        return ask_for_password(url_for("admin.accounts"))  # granting admin rights
    if form.validate_on_submit():
        try:
            user, generated = operations.create_account(
                current_user,
                form.email.data,
                form.display_name.data,
                form.password.data,
                is_admin=form.account_type.data == "admin",
            )
        except operations.AdminError as error:
            db.session.rollback()
            _attach_error(form, error)
        else:
            db.session.commit()
            if generated is None:
                flash(_("Account created for %(name)s.", name=user.display_name), "success")
                return redirect(url_for("admin.accounts"))
            # Shown once, on this response only: never put in the session or a flash message.
            return (
                render_template(
                    "admin/password_shown.html",
                    user=user,
                    password=generated,
                    title=_("Password created for %(name)s", name=user.display_name),
                ),
                200,
                NO_STORE,
            )
    return _accounts_page(form, 400)


def _account_action(user_id: int, operation, done: str):
    """Run an account operation; `done` is the success message, with %(name)s for the account."""
    user = operations.get_account(user_id) or abort(404)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    if user.is_admin and user.id != current_user.id and not password_entered_recently():
        return ask_for_password(url_for("admin.accounts"))  # an administrator's access
    try:
        operation(current_user, user)
    except operations.AdminError as error:
        db.session.rollback()
        flash(str(error), "error")
        return _accounts_page(AccountForm(formdata=None), 400)
    db.session.commit()
    flash(done % {"name": user.display_name}, "success")
    return redirect(url_for("admin.accounts"))


@blueprint.route("/accounts/<int:user_id>/deactivate", methods=["POST"])
@admin_required
def deactivate_account(user_id: int):
    """Deactivate an account and end its open sessions."""
    return _account_action(
        user_id,
        operations.deactivate_account,
        _l("%(name)s is deactivated; their open sessions have ended."),
    )


@blueprint.route("/accounts/<int:user_id>/reactivate", methods=["POST"])
@admin_required
def reactivate_account(user_id: int):
    """Let a deactivated account log in again."""
    return _account_action(user_id, operations.reactivate_account, _l("%(name)s can log in again."))


@blueprint.route("/accounts/<int:user_id>/password", methods=["GET", "POST"])
@admin_required
def reset_password(user_id: int):
    """Set a new password (typed or generated) and end the user's sessions."""
    user = operations.get_account(user_id) or abort(404)
    form = PasswordResetForm()
    if form.is_submitted() and user.id != current_user.id and not password_entered_recently():
        return ask_for_password(url_for("admin.reset_password", user_id=user.id))
    if form.validate_on_submit():
        try:
            generated = operations.reset_password(current_user, user, form.password.data)
        except operations.AdminError as error:
            db.session.rollback()
            _attach_error(form, error)
        else:
            db.session.commit()
            if generated is None:
                flash(
                    _(
                        "Password of %(name)s reset; their sessions have ended.",
                        name=user.display_name,
                    ),
                    "success",
                )
                return redirect(url_for("admin.accounts"))
            return (
                render_template(
                    "admin/password_shown.html",
                    user=user,
                    password=generated,
                    title=_("Password reset for %(name)s", name=user.display_name),
                ),
                200,
                NO_STORE,
            )
    status = 400 if form.is_submitted() else 200
    return render_template("admin/password_reset.html", form=form, user=user), status


# ---------------------------------------------------------------------------------------------
# Institutions.


def _merge_form(institutions: list[operations.InstitutionRow]) -> MergeInstitutionsForm:
    form = MergeInstitutionsForm()
    choices = select_choices((row.id, f"{row.name} ({row.positions})") for row in institutions)
    form.duplicate_id.choices = choices
    form.keep_id.choices = choices
    return form


@blueprint.route("/institutions")
@admin_required
def institutions():
    """Institutions with their position counts, and the merge form."""
    rows = operations.list_institutions()
    return render_template(
        "admin/institutions.html", institutions=rows, merge_form=_merge_form(rows)
    )


@blueprint.route("/institutions/merge", methods=["POST"])
@admin_required
def merge_institutions():
    """Merge a duplicate institution into the one to keep."""
    rows = operations.list_institutions()
    form = _merge_form(rows)
    if form.validate_on_submit():
        duplicate = operations.get_institution(form.duplicate_id.data)
        keep = operations.get_institution(form.keep_id.data)
        try:
            duplicate_name, keep_name = duplicate.name, keep.name
            moved = operations.merge_institutions(current_user, duplicate, keep)
        except operations.AdminError as error:
            db.session.rollback()
            _attach_error(form, error)
        else:
            db.session.commit()
            flash(
                ngettext(
                    "Merged %(duplicate)s into %(keep)s: %(num)d position moved.",
                    "Merged %(duplicate)s into %(keep)s: %(num)d positions moved.",
                    moved,
                    duplicate=duplicate_name,
                    keep=keep_name,
                ),
                "success",
            )
            return redirect(url_for("admin.institutions"))
    return render_template("admin/institutions.html", institutions=rows, merge_form=form), 400


@blueprint.route("/institutions/<int:institution_id>/rename", methods=["GET", "POST"])
@admin_required
def rename_institution(institution_id: int):
    """Rename an institution unless the new name is another's."""
    institution = operations.get_institution(institution_id) or abort(404)
    form = RenameInstitutionForm(obj=institution if request.method == "GET" else None)
    if form.validate_on_submit():
        old_name = institution.name
        try:
            operations.rename_institution(current_user, institution, form.name.data)
        except operations.AdminError as error:
            db.session.rollback()
            _attach_error(form, error)
        else:
            db.session.commit()
            flash(_("Renamed %(old)s to %(new)s.", old=old_name, new=institution.name), "success")
            return redirect(url_for("admin.institutions"))
    status = 400 if form.is_submitted() else 200
    return render_template(
        "admin/institution_rename.html", form=form, institution=institution
    ), status
