"""Roster exports (group and institution), the conflict-of-interest list, and the import pages.

Routes carry their full paths (the blueprint has no prefix): /group/export.*, /group/coi.csv,
/group/import and /admin/roster.*.
"""

from __future__ import annotations

from datetime import date

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, user_logged_out
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from portal.auth.decorators import admin_required
from portal.collector import collector_paused
from portal.errors import render_error
from portal.extensions import db
from portal.highlights import highlight_positions
from portal.labels import label_text
from portal.models import SupervisionRole
from portal.roster.applying import apply_import
from portal.roster.forms import ConfirmImportForm, ImportForm
from portal.roster.planning import plan_import
from portal.roster.previews import (
    discard_preview,
    load_preview,
    revoke_previews,
    store_preview,
)
from portal.roster.reading import RosterFileError, read_roster_file
from portal.roster.reports import (
    COI_COLUMNS,
    ROSTER_COLUMNS,
    ReportError,
    RosterExport,
    coi_rows,
    faculty_slug,
    find_faculty,
    parse_coi_years,
    parse_status,
    parse_with,
    roster_file,
)
from portal.spreadsheets import (
    CSV_MIMETYPE,
    JSON_MIMETYPE,
    XLSX_MIMETYPE,
    attachment_headers,
    csv_bytes_chunks,
)

blueprint = Blueprint("roster", __name__)


@user_logged_out.connect
def _revoke_previews_at_logout(_app, user=None, **_extra) -> None:
    """A logout ends the session's open import previews (the logout view commits)."""
    if user is not None and getattr(user, "id", None) is not None:
        revoke_previews(user)


@blueprint.url_value_preprocessor
def _upload_request_limit(endpoint: str | None, _values) -> None:
    """The upload's request limit, set before anything (the CSRF check) reads the form."""
    if endpoint == "roster.import_roster":
        request.max_content_length = current_app.config.get("IMPORT_MAX_BYTES")


@blueprint.errorhandler(413)
def too_large(_error):
    """413 with the size the import accepts."""
    limit = _import_limit()
    if limit:
        return render_error(
            413,
            _(
                "The upload is larger than the %(size)s the import accepts. "
                "Split the roster into smaller files.",
                size=_megabytes(limit),
            ),
        )
    return render_error(
        413,
        _(
            "The upload is larger than what the portal accepts. Split the "
            "roster into smaller files."
        ),
    )


# One plain rule and endpoint per format: url_for names the file, and the URL map has no
# converters to fill in.
@blueprint.route("/group/export.csv")
def group_export_csv():
    """My group as CSV (streamed)."""
    return _group_export("csv")


@blueprint.route("/group/export.xlsx")
def group_export_xlsx():
    """My group as an XLSX workbook."""
    return _group_export("xlsx")


@blueprint.route("/group/export.json")
def group_export_json():
    """My group as a JSON list of objects (streamed)."""
    return _group_export("json")


@blueprint.route("/admin/roster.csv")
@admin_required
def admin_export_csv():
    """The institution (or ?faculty=) as CSV (streamed)."""
    return _admin_export("csv")


@blueprint.route("/admin/roster.xlsx")
@admin_required
def admin_export_xlsx():
    """The institution (or ?faculty=) as an XLSX workbook."""
    return _admin_export("xlsx")


@blueprint.route("/admin/roster.json")
@admin_required
def admin_export_json():
    """The institution (or ?faculty=) as JSON (streamed)."""
    return _admin_export("json")


def _group_export(extension: str):
    """The logged-in user's own group (their supervision links)."""
    try:
        status = parse_status(request.args.get("status"))
        with_milestones = parse_with(request.args.get("with"))
    except ReportError as error:
        return render_error(400, str(error))
    return _export_response(
        RosterExport(current_user, status, date.today(), with_milestones), extension
    )


def _admin_export(extension: str):
    """The whole institution, or one faculty member with ?faculty=<email>."""
    try:
        status = parse_status(request.args.get("status"))
        with_milestones = parse_with(request.args.get("with"))
    except ReportError as error:
        return render_error(400, str(error))
    faculty = None
    if request.args.get("faculty"):
        try:
            faculty = find_faculty(request.args["faculty"])
        except ReportError as error:
            return render_error(404, str(error))
    return _export_response(RosterExport(faculty, status, date.today(), with_milestones), extension)


@blueprint.route("/group/coi.csv")
def coi():
    """Conflict-of-interest list: everyone I supervised, co-supervised or hosted in ?years=N."""
    try:
        years = parse_coi_years(request.args.get("years"))
    except ReportError as error:
        return render_error(400, str(error))
    today = date.today()
    filename = f"coi-{faculty_slug(current_user)}-{years}y-{today.isoformat()}.csv"
    chunks = csv_bytes_chunks(COI_COLUMNS, coi_rows(current_user, today, years))
    return _attachment(stream_with_context(chunks), CSV_MIMETYPE, filename)


@blueprint.route("/group/import", methods=["GET", "POST"])
@collector_paused()
def import_roster():
    """GET: the upload form (and export links); POST: the preview of an uploaded file."""
    form = ImportForm()
    if request.method == "GET":
        return _import_page(form)
    if not form.validate_on_submit():
        return _import_page(form, 400)
    upload = form.file.data
    try:
        rows = read_roster_file(upload.read(), upload.filename or "", _import_limit())
    except RosterFileError as error:
        form.file.errors.append(error.message)
        return _import_page(form, error.status)
    plan = plan_import(rows, current_user, only_faculty=_import_scope())
    confirm_form = None
    if plan.ok:
        # The rows wait on the server; the page carries a token and shows the first rows only.
        token = store_preview(rows, current_user, current_app.config["IMPORT_PREVIEW_MINUTES"])
        db.session.commit()
        confirm_form = ConfirmImportForm(formdata=None, preview=token)
    else:
        db.session.rollback()
    del rows
    return _preview_page(plan, confirm_form, filename=upload.filename), 200 if plan.ok else 400


@blueprint.route("/group/import/confirm", methods=["POST"])
@collector_paused()
def import_confirm():
    """Apply the previewed rows, re-checked against the database, in one transaction."""
    form = ConfirmImportForm()
    if not form.validate_on_submit():
        return render_error(400, _("The confirmation is incomplete: upload the file again."))
    try:
        preview, rows = load_preview(form.preview.data, current_user)
    except RosterFileError as error:
        return render_error(400, error.message)
    plan = plan_import(rows, current_user, only_faculty=_import_scope())
    del rows
    if not plan.ok:
        db.session.rollback()
        return _preview_page(plan, None, filename=None, changed_since_preview=True), 400
    if plan.cap_warnings and not form.accept_over_cap.data:
        db.session.rollback()
        form.accept_over_cap.errors = [
            _("The import takes someone over a cap: tick “Save anyway, over the cap” to import.")
        ]
        return _preview_page(plan, form, filename=None), 400
    try:
        summary = apply_import(plan, current_user)
        discard_preview(preview)
        db.session.commit()
    except (IntegrityError, StaleDataError):
        db.session.rollback()
        return render_error(
            409,
            _(
                "Someone changed the same records while you were importing; "
                "nothing was imported. Upload the file again to see a new "
                "preview."
            ),
        )
    flash(summary.describe(), "success")
    return redirect(_after_import(summary))


def _after_import(summary) -> str:
    """The group the rows went into, its new and changed rows pointed out; an administrator's
    import into several groups ends on the loads page."""
    if len(summary.faculty_ids) > 1:
        return url_for("admin.loads")
    highlight_positions(summary.position_ids)
    (faculty_id,) = summary.faculty_ids or {current_user.id}
    if faculty_id == current_user.id:
        return url_for("group.index")
    return url_for("group.index", faculty=faculty_id)


def _preview_page(plan, confirm_form, **context):
    """The counts, every problem, and the first rows (a 74,000-row roster is not one page)."""
    shown = int(current_app.config["IMPORT_PREVIEW_ROWS_SHOWN"])
    problems_by_line: dict[int, list[str]] = {}
    for problem in plan.problems:
        problems_by_line.setdefault(problem.line, []).append(problem.message)
    return render_template(
        "roster/preview.html",
        plan=plan,
        shown_rows=plan.rows[:shown],
        problems_by_line=problems_by_line,
        role_text=_role_text,
        confirm_form=confirm_form,
        **context,
    )


def _role_text(value: str) -> str:
    """A role cell in words ("co-supervisor" -> "Co-supervisor"); an unknown code as written."""
    try:
        return label_text(SupervisionRole(value.strip().lower()))
    except ValueError:
        return value


def _import_page(form: ImportForm, status: int = 200):
    return render_template("roster/import.html", form=form, columns=ROSTER_COLUMNS), status


def _import_scope():
    """Faculty import into their own group only; administrators for any faculty_email."""
    return None if current_user.is_admin else current_user


def _import_limit() -> int | None:
    """The size of file the import takes: IMPORT_MAX_BYTES (or a lower ROSTER_IMPORT_MAX_BYTES).

    An institution-wide roster (74,000 rows, ~8 MB of CSV) is larger than other requests may be
    (MAX_CONTENT_LENGTH), so the upload's request gets this limit of its own.
    """
    limits = [
        current_app.config.get("ROSTER_IMPORT_MAX_BYTES"),
        current_app.config.get("IMPORT_MAX_BYTES"),
    ]
    return min((limit for limit in limits if limit), default=None)


def _megabytes(length: int) -> str:
    return f"{length / (1024 * 1024):.1f} MB" if length >= 1024 * 1024 else f"{length // 1024} KB"


def _export_response(export: RosterExport, extension: str) -> Response:
    filename = export.filename(extension)
    # CSV and JSON stream as they are read (roster_file); XLSX comes in one piece.
    chunks = roster_file(export, extension)
    if extension == "xlsx":
        return _attachment(b"".join(chunks), XLSX_MIMETYPE, filename)
    mimetype = JSON_MIMETYPE if extension == "json" else CSV_MIMETYPE
    return _attachment(stream_with_context(chunks), mimetype, filename)


def _attachment(body, mimetype: str, filename: str) -> Response:
    return Response(body, mimetype=mimetype, headers=attachment_headers(filename))
