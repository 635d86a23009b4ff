"""Administration pages: supervision loads, programs and caps, accounts, institutions."""

from __future__ import annotations

from datetime import date
from functools import partial

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
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_login import current_user

from portal.admin import operations, queries, reports
from portal.admin.forms import (
    UNKNOWN_CHOICE,
    AccountForm,
    BrandingForm,
    CapsForm,
    LoadsFilterForm,
    MergeInstitutionsForm,
    PasswordResetForm,
    ProgramForm,
    RenameInstitutionForm,
)
from portal.auth.decorators import ask_for_password, require_admin
from portal.auth.queries import data_state_read_with_user, password_entered_recently
from portal.branding import DEFAULT_ACCENT, current_branding
from portal.catalogue import cached_translations
from portal.converters import parse_page
from portal.extensions import db
from portal.file_budgets import size_text
from portal.forms import select_choices
from portal.images import ImageError, clean_image
from portal.kept_content import KeptContent, KeptReads, KeptStore, Read
from portal.kept_pages import kept_page
from portal.labels import lazy_gettext as _l
from portal.loads import DefaultCaps, default_caps, load_policy, pending_proposals
from portal.models import Institution, Program, ProgramKind, User
from portal.saving import attach_error, save
from portal.spreadsheets import (
    CSV_MIMETYPE,
    XLSX_MIMETYPE,
    attachment_headers,
    csv_bytes_chunks,
    xlsx_bytes,
)
from portal.submissions import create_once, earlier_record_id

blueprint = Blueprint("admin", __name__, url_prefix="/admin")
# Every page here is for administrators: anonymous users go to login, faculty get 403.
blueprint.before_request(require_admin)

NO_STORE = {"Cache-Control": "no-store"}


# ---------------------------------------------------------------------------------------------
# The shape of every form that changes something.


# Every change here: the operation, one commit, post/redirect/get; an AdminError is shown on
# the form (portal/saving.py).
_save = partial(save, refused=operations.AdminError)


def _done(message: str, endpoint: str):
    """Post/redirect/get: say what was saved on the next page."""
    flash(message, "success")
    return redirect(url_for(endpoint))


# ---------------------------------------------------------------------------------------------
# Loads.


# The loads page's small reads (the filter's choices, the proposals pending, the default caps)
# kept under the data state: while nothing was written, another page or sort of the table reads
# only its own statement (the loads, always read: the table is never older than its page).
KEPT_LOADS_READS = KeptReads()


def _loads_filter() -> tuple[LoadsFilterForm, tuple]:
    """The filter form read from the query string, with its choices, validated; and the
    choices as read (departments, institutions)."""
    form = LoadsFilterForm(formdata=request.args)
    state = data_state_read_with_user()
    departments = KEPT_LOADS_READS.get(
        state, ("departments",), lambda: tuple(queries.department_choices())
    )
    institutions = KEPT_LOADS_READS.get(
        state, ("institutions",), lambda: tuple(queries.institution_choices())
    )
    form.set_departments(departments)
    form.institution.choices = select_choices(
        [("", _("All institutions")), (UNKNOWN_CHOICE, _("Unknown"))]
        + [(str(id), name) for id, name in institutions]
    )
    form.validate()
    return form, (departments, institutions)


def _report(form: LoadsFilterForm, today: date, **overrides) -> reports.LoadsReport:
    arguments = form.report_arguments(today=today) | overrides
    return reports.loads_report(
        **arguments, count_pending=_kept_pending_proposals, read_caps=_kept_default_caps
    )


def _kept_default_caps() -> DefaultCaps:
    return KEPT_LOADS_READS.get(data_state_read_with_user(), ("caps",), default_caps)


def _kept_pending_proposals(as_of: date) -> int:
    return KEPT_LOADS_READS.get(
        data_state_read_with_user(), ("pending", as_of), lambda: pending_proposals(as_of)
    )


# The loads page's content (everything under the navigation) kept per process: a few pages of
# about 0.3 MB. Its key (`_loads_content_key`) holds everything the content shows.
KEPT_LOADS = KeptStore(max_bytes=3_000_000, max_entries=8)
# The whole page around kept content, per session (portal/kept_pages.py). Each key is the
# content's own key (the same object, records and all, while the content is kept) with the
# layout's inputs.
KEPT_LOAD_PAGES = KeptStore(max_bytes=3_000_000, max_entries=8)


@blueprint.route("")
def index():
    """The administration section starts at the loads page."""
    return redirect(url_for("admin.loads"))


@blueprint.route("/loads")
def loads():
    """Who is over or near a supervision cap, then every faculty member's load, with the chart."""
    form, choices = _loads_filter()
    if form.errors:
        return render_template(
            "admin/loads.html", form=form, report=None, content=KeptContent(KEPT_LOADS, None)
        ), 400
    today = date.today()
    report = _report(form, today)
    key = _loads_content_key(report, choices, today)

    def render() -> str:
        shown_groups = _shown_groups()
        return render_template(
            "admin/loads.html",
            form=form,
            report=report,
            columns=reports.page_columns(shown_groups),
            detail_groups=[
                (group, label, group in shown_groups, _toggle_url(group, shown_groups))
                for group, label in reports.DETAIL_GROUPS.items()
            ],
            loads_chart=reports.loads_chart,  # drawn only when the content is rendered
            sort_url=_sort_url,
            page_url=_page_url,
            export_arguments=_filter_arguments("page", "show"),
            content=KeptContent(KEPT_LOADS, key),
        )

    # The loads are read every time (the table is never older than its page); the page around
    # them is rendered only when they, or anything else it shows, changed.
    return kept_page(KEPT_LOAD_PAGES, key, render)


def _loads_content_key(report: reports.LoadsReport, choices: tuple, today: date) -> tuple:
    """Everything the loads page's content shows: every record the loads statement read (so
    every row, total, notice and bar), the proposals pending, the load policy's caps, the
    institution filtered by, the filter form's inputs (the whole query string, which also
    gives the page, sort and columns shown) and choices, the day, the language and catalogue,
    the links' prefix and the viewer."""
    policy = report.policy
    institution = report.institution
    return (
        current_user.id,
        request.script_root,
        str(get_locale()),
        id(cached_translations()),
        today,
        tuple(request.args.items(multi=True)),
        choices,
        None if institution is None else (institution.id, institution.name),
        (policy.default_principal_cap, policy.default_weighted_cap),
        report.pending_proposals,
        Read(tuple(report.read)),
    )


# The query-string keys the loads view reads; links carry these and nothing else over, so that
# a crafted key (endpoint=, _external=, _scheme=) never reaches url_for.
LOADS_QUERY_KEYS = ("as_of", "department", "institution", "sort", "dir", "page", "show")


def _shown_groups() -> frozenset[str]:
    """The detail column groups asked for with ?show= (unknown names are ignored)."""
    return frozenset(request.args.getlist("show")) & reports.DETAIL_GROUPS.keys()


def _filter_arguments(*leave_out: str) -> dict[str, str | list[str]]:
    """The loads view's own query-string values, without `leave_out`."""
    arguments: dict[str, str | list[str]] = {
        name: request.args[name]
        for name in LOADS_QUERY_KEYS
        if name not in leave_out and name != "show" and name in request.args
    }
    if "show" not in leave_out and _shown_groups():
        arguments["show"] = sorted(_shown_groups())
    return arguments


def _toggle_url(group: str, shown: frozenset[str]) -> str:
    """The same view with one detail column group shown, or hidden when it is shown."""
    wanted = sorted(shown ^ {group})
    arguments = _filter_arguments("show")
    return url_for("admin.loads", **arguments, **({"show": wanted} if wanted else {}))


def _page_url(page: int) -> str:
    """The same loads view (day, filters, sort) at another page."""
    return url_for("admin.loads", **_filter_arguments("page"), page=page)


def _sort_url(key: str, report: reports.LoadsReport) -> str:
    """The link of a column heading: sort by it, or reverse the order when it is already so."""
    descending = not report.descending if report.sort == key else False
    arguments = _filter_arguments("sort", "dir", "page")
    return url_for("admin.loads", **arguments, sort=key, dir="desc" if descending else "asc")


def _export(kind: str):
    form, _choices = _loads_filter()
    if form.errors:
        messages = [message for errors in form.errors.values() for message in errors]
        return Response(" ".join(messages) + "\n", 400, mimetype="text/plain")
    report = _report(
        form, date.today(), page=1
    )  # an export holds every row, whatever page the table shows
    headers = attachment_headers(f"supervision-loads-{report.as_of.isoformat()}.{kind}")
    if kind == "csv":
        chunks = csv_bytes_chunks(report.headers(), report.export_rows())
        return Response(
            stream_with_context(chunks), mimetype=f"{CSV_MIMETYPE}; charset=utf-8", headers=headers
        )
    content = xlsx_bytes(report.headers(), report.export_rows(), sheet_title="Loads")
    return Response(content, mimetype=XLSX_MIMETYPE, headers=headers)


@blueprint.route("/loads.csv")
def loads_csv():
    """The loads table as CSV, same rows and columns as the page."""
    return _export("csv")


@blueprint.route("/loads.xlsx")
def loads_xlsx():
    """The loads table as XLSX, same rows and columns as the page."""
    return _export("xlsx")


# ---------------------------------------------------------------------------------------------
# Programs and caps.


def _program_data(form: ProgramForm) -> operations.ProgramData:
    return operations.ProgramData(
        name=form.name.data or "",
        name_fr=form.name_fr.data or None,
        kind=ProgramKind(form.kind.data),
        weight=form.weight.data,
        counts_toward_load=form.counts_toward_load.data,
        is_active=form.is_active.data,
    )


def _form_status(form) -> int:
    """A form shown again after a POST is a 400: it says what to fix."""
    return 400 if form.is_submitted() else 200


@blueprint.route("/programs", methods=["GET", "POST"])
def programs():
    """List programs and create one."""
    form = ProgramForm()
    earlier = form.is_submitted() and earlier_record_id(
        current_user, form.submission_key.data, Program.__tablename__
    )
    if earlier:  # the same submission again (double click, retry): show what it created
        flash(_("This form was already saved; here is the record it created."), "info")
        return redirect(url_for("admin.edit_program", program_id=earlier), 303)
    if form.validate_on_submit():
        response = _save(
            form,
            lambda: create_once(
                current_user,
                form.submission_key.data,
                lambda: operations.create_program(current_user, _program_data(form)),
            ),
            lambda program: _done(
                _("Program %(name)s created.", name=program.name), "admin.programs"
            ),
        )
        if response is not None:
            return response
    return render_template(
        "admin/programs.html", form=form, programs=queries.list_programs()
    ), _form_status(form)


@blueprint.route("/programs/<int:program_id>/edit", methods=["GET", "POST"])
def edit_program(program_id: int):
    """Change a program's name, kind, weight and load rule."""
    program = db.get_or_404(Program, program_id)
    form = ProgramForm(obj=program if request.method == "GET" else None)
    if request.method == "GET":
        form.kind.data = program.kind.value
    if form.validate_on_submit():
        response = _save(
            form,
            lambda: operations.update_program(current_user, program, _program_data(form)),
            lambda program: _done(
                _("Program %(name)s saved; the loads use its new rules.", name=program.name),
                "admin.programs",
            ),
        )
        if response is not None:
            return response
    return render_template("admin/program_edit.html", form=form, program=program), _form_status(
        form
    )


@blueprint.route("/caps", methods=["GET", "POST"])
def caps():
    """The default caps, and the faculty with their exceptions (found by name or email, a page at
    a time)."""
    policy = load_policy()
    form = CapsForm()
    if request.method == "GET":
        form.principal_cap.data = policy.default_principal_cap
        form.weighted_cap.data = policy.default_weighted_cap
    if form.validate_on_submit():
        response = _save(
            form,
            lambda: operations.update_default_caps(
                current_user, form.principal_cap.data, form.weighted_cap.data
            ),
            lambda _policy: _done(_("Default caps saved."), "admin.caps"),
        )
        if response is not None:
            return response
    return render_template(
        "admin/caps.html", form=form, policy=policy, page=_found_accounts(faculty_only=True)
    ), _form_status(form)


@blueprint.route("/caps/<int:user_id>", methods=["GET", "POST"])
def faculty_caps(user_id: int):
    """One faculty member's own caps (empty = the default)."""
    faculty = queries.faculty_or_404(user_id)
    policy = load_policy()
    form = CapsForm()
    if request.method == "GET":
        form.principal_cap.data = faculty.principal_cap
        form.weighted_cap.data = faculty.weighted_cap
    if form.validate_on_submit():
        response = _save(
            form,
            lambda: operations.set_faculty_caps(
                current_user, faculty, form.principal_cap.data, form.weighted_cap.data
            ),
            lambda faculty: _done(
                _("Caps for %(name)s saved.", name=faculty.display_name), "admin.caps"
            ),
        )
        if response is not None:
            return response
    return render_template(
        "admin/faculty_caps.html", form=form, faculty=faculty, policy=policy
    ), _form_status(form)


# ---------------------------------------------------------------------------------------------
# Accounts.


def _found_accounts(*, faculty_only: bool = False) -> queries.AccountsPage:
    """The page of accounts the query string asks for (`find`, `page`)."""
    find = (request.args.get("find") or "")[:200].strip()
    page = parse_page(request.args.get("page"))
    return queries.accounts_page(find, page, faculty_only=faculty_only)


def _accounts_page(form: AccountForm, status: int = 200):
    return render_template("admin/accounts.html", form=form, page=_found_accounts()), status


def _password_shown(user: User, password: str, title: str):
    """The generated password, shown once on this response only (never in a session or flash)."""
    return (
        render_template("admin/password_shown.html", user=user, password=password, title=title),
        200,
        NO_STORE,
    )


@blueprint.route("/accounts")
def accounts():
    """The accounts, a page at a time, found by name or email; and the form to create one."""
    return _accounts_page(AccountForm(formdata=None))


def _account_created(result: tuple[User, str | None]):
    user, generated = result
    if generated is None:
        return _done(_("Account created for %(name)s.", name=user.display_name), "admin.accounts")
    return _password_shown(
        user, generated, _("Password created for %(name)s", name=user.display_name)
    )


@blueprint.route("/accounts/new", methods=["POST"])
def new_account():
    """Create a faculty or administrator account."""
    form = AccountForm()
    if form.account_type.data == "admin" and not password_entered_recently():
        return ask_for_password(url_for("admin.accounts"))  # granting admin rights
    if form.validate_on_submit():
        response = _save(
            form,
            lambda: operations.create_account(
                current_user,
                form.email.data,
                form.display_name.data,
                form.password.data,
                is_admin=form.account_type.data == "admin",
            ),
            _account_created,
        )
        if response is not None:
            return response
    return _accounts_page(form, 400)


def _account_action(user_id: int, operation, done: str):
    """Run an account operation; `done` is the success message, with %(name)s for the account."""
    user = db.get_or_404(User, user_id)  # the global CSRF protection checked the button's token
    if user.is_admin and user.id != current_user.id and not password_entered_recently():
        return ask_for_password(url_for("admin.accounts"))  # an administrator's access
    response = _save(
        None,
        lambda: operation(current_user, user),
        lambda _result: _done(done % {"name": user.display_name}, "admin.accounts"),
    )
    if response is None:  # the operation refused: its message is flashed on the page
        return _accounts_page(AccountForm(formdata=None), 400)
    return response


@blueprint.route("/accounts/<int:user_id>/deactivate", methods=["GET", "POST"])
def deactivate_account(user_id: int):
    """Deactivate an account and end its open sessions, after a page that says what happens."""
    if request.method == "GET":
        user = db.get_or_404(User, user_id)
        return render_template("admin/deactivate_confirm.html", user=user)
    return _account_action(
        user_id,
        operations.deactivate_account,
        _l("%(name)s is deactivated; their open sessions have ended."),
    )


@blueprint.route("/accounts/<int:user_id>/reactivate", methods=["POST"])
def reactivate_account(user_id: int):
    """Let a deactivated account log in again."""
    return _account_action(user_id, operations.reactivate_account, _l("%(name)s can log in again."))


@blueprint.route("/accounts/<int:user_id>/password", methods=["GET", "POST"])
def reset_password(user_id: int):
    """Set a new password (typed or generated) and end the user's sessions."""
    user = db.get_or_404(User, user_id)
    form = PasswordResetForm()
    # Their own password too: a stolen session must not set a password its holder knows.
    if form.is_submitted() and not password_entered_recently():
        return ask_for_password(url_for("admin.reset_password", user_id=user.id))

    def password_reset(generated: str | None):
        if generated is None:
            return _done(
                _("Password of %(name)s reset; their sessions have ended.", name=user.display_name),
                "admin.accounts",
            )
        return _password_shown(
            user, generated, _("Password reset for %(name)s", name=user.display_name)
        )

    if form.validate_on_submit():
        response = _save(
            form,
            lambda: operations.reset_password(current_user, user, form.password.data),
            password_reset,
        )
        if response is not None:
            return response
    return render_template("admin/password_reset.html", form=form, user=user), _form_status(form)


# ---------------------------------------------------------------------------------------------
# Institutions.


def _merge_form(institutions: list[queries.InstitutionRow]) -> MergeInstitutionsForm:
    form = MergeInstitutionsForm()
    choices = select_choices((row.id, f"{row.name} ({row.positions})") for row in institutions)
    form.duplicate_id.choices = choices
    form.keep_id.choices = choices
    return form


@blueprint.route("/institutions")
def institutions():
    """Institutions with their position counts, and the merge form."""
    rows = queries.list_institutions()
    return render_template(
        "admin/institutions.html", institutions=rows, merge_form=_merge_form(rows)
    )


@blueprint.route("/institutions/merge/confirm", methods=["POST"])
def confirm_merge():
    """Say what a merge will do (positions moved, the duplicate deleted) before doing it."""
    rows = queries.list_institutions()
    form = _merge_form(rows)
    if form.validate_on_submit():
        duplicate = db.get_or_404(Institution, form.duplicate_id.data)
        keep = db.get_or_404(Institution, form.keep_id.data)
        try:
            operations.check_merge(duplicate, keep)
        except operations.AdminError as error:
            attach_error(form, error)
        else:
            moving = next(row.positions for row in rows if row.id == duplicate.id)
            return render_template(
                "admin/merge_confirm.html", form=form, duplicate=duplicate, keep=keep, moving=moving
            )
    return render_template("admin/institutions.html", institutions=rows, merge_form=form), 400


@blueprint.route("/institutions/merge", methods=["POST"])
def merge_institutions():
    """Merge a duplicate institution into the one to keep."""
    rows = queries.list_institutions()
    form = _merge_form(rows)
    if form.validate_on_submit():
        duplicate = db.get_or_404(Institution, form.duplicate_id.data)
        keep = db.get_or_404(Institution, form.keep_id.data)
        duplicate_name, keep_name = duplicate.name, keep.name
        response = _save(
            form,
            lambda: operations.merge_institutions(current_user, duplicate, keep),
            lambda moved: _done(
                ngettext(
                    "Merged %(duplicate)s into %(keep)s: %(num)d position moved.",
                    "Merged %(duplicate)s into %(keep)s: %(num)d positions moved.",
                    moved,
                    duplicate=duplicate_name,
                    keep=keep_name,
                ),
                "admin.institutions",
            ),
        )
        if response is not None:
            return response
    return render_template("admin/institutions.html", institutions=rows, merge_form=form), 400


@blueprint.route("/institutions/<int:institution_id>/rename", methods=["GET", "POST"])
def rename_institution(institution_id: int):
    """Rename an institution unless the new name is another's."""
    institution = db.get_or_404(Institution, institution_id)
    form = RenameInstitutionForm(obj=institution if request.method == "GET" else None)
    old_name = institution.name
    if form.validate_on_submit():
        response = _save(
            form,
            lambda: operations.rename_institution(current_user, institution, form.name.data),
            lambda renamed: _done(
                _("Renamed %(old)s to %(new)s.", old=old_name, new=renamed.name),
                "admin.institutions",
            ),
        )
        if response is not None:
            return response
    return render_template(
        "admin/institution_rename.html", form=form, institution=institution
    ), _form_status(form)


# ---------------------------------------------------------------------------------------------
# The institution's branding.


@blueprint.route("/branding", methods=["GET", "POST"])
def branding():
    """The institution's display name, accent colour and logo, shown on every page."""
    saved = current_branding()
    form = BrandingForm()
    if request.method == "GET":
        form.display_name.data = saved.display_name
        form.accent_colour.data = saved.accent if saved.accent != DEFAULT_ACCENT else ""
    status = 200
    if form.validate_on_submit():
        status = 400
        logo = None
        upload = form.logo.data
        if upload is not None and getattr(upload, "filename", ""):
            try:
                logo = clean_image(upload.stream, int(current_app.config["LOGO_MAX_SIDE"]))
            except ImageError as error:
                form.logo.errors = [*form.logo.errors, error.message]
                status = error.status
        if not form.logo.errors:
            data = operations.BrandingData(
                display_name=form.display_name.data,
                accent_colour=form.accent_colour.data,
                logo=logo,
                remove_logo=form.remove_logo.data,
            )
            response = _save(
                form,
                lambda: operations.update_branding(current_user, data),
                lambda _branding: _done(_("Branding saved."), "admin.branding"),
            )
            if response is not None:
                return response
    elif form.is_submitted():
        status = 400
    return render_template(
        "admin/branding.html",
        form=form,
        saved=saved,
        default_accent=DEFAULT_ACCENT,
        image_max_size=size_text(int(current_app.config["IMAGE_MAX_BYTES"])),
        logo_max_side=int(current_app.config["LOGO_MAX_SIDE"]),
    ), status
