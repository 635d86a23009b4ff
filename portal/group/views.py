"""The faculty member's group pages: lists, the add/edit form, alumni, archive and restore."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.exc import IntegrityError

from portal.auth.access import group_owner
from portal.auth.decorators import admin_required
from portal.auth.queries import data_state_read_with_user
from portal.catalogue import cached_translations
from portal.converters import parse_database_id
from portal.errors import render_error
from portal.extensions import db
from portal.forms import select_choices
from portal.group import queries
from portal.group.forms import (
    EXTRA_SUPERVISOR_ROWS,
    AnswerForm,
    EndInvolvementForm,
    MemberForm,
    MoveToAlumniForm,
    OwnNoteForm,
    TransferForm,
)
from portal.group.operations import (
    STALE_PROPOSAL_AGE,
    DuplicatePersonError,
    ForeignPersonError,
    MemberError,
    NotAllowedError,
    StaleMemberError,
    add_member,
    archive_member,
    cap_warnings,
    change_program,
    confirm_proposal,
    decline_proposal,
    describe_submission,
    end_involvement,
    may_change,
    may_edit_identity,
    move_to_alumni,
    own_link,
    request_to_join,
    restore_archived,
    restore_member,
    role_warnings,
    set_own_note,
    snapshot,
    transfer_owner,
    update_member,
)
from portal.group.rows import MemberRows
from portal.highlights import take_highlighted_positions
from portal.i18n import format_day
from portal.kept_content import KeptContent, KeptStore
from portal.kept_pages import kept_page
from portal.labels import lazy_gettext as _l
from portal.labels import program_choices_in_language, program_name_in
from portal.models import DepartureReason, Position, SupervisionState, User, utcnow
from portal.submissions import AlreadySubmittedError, create_once, earlier_record_id
from portal.urls import IdUrl

blueprint = Blueprint("group", __name__, url_prefix="/group")

# The current members' content (everything under the navigation) kept per process, about 8 MB.
# Its key holds everything it shows (see `index`): the viewer's account and whether an
# administrator, the owner, the filter and faculty search with what it found, the highlighted
# rows, the day, the language and catalogue, the links' prefix, and everything read: every row
# (with each share's text: Decimal("12.5") == Decimal("12.50") but they print apart), the
# programs' names in the page's language, the due panel and the next milestones. The data state
# read with the session's user (portal/data_state.py) is noted with the content it stands for,
# so that a page whose data did not change reads none of it. A viewer's content is never given
# to another viewer.
KEPT_CONTENT = KeptStore(max_bytes=8_000_000)
# The whole page around kept content, per session (portal/kept_pages.py): the content, its
# title and the layout's inputs. Each key holds the content too, which outlives KEPT_CONTENT's
# entry when that store starts over: twice this budget at most.
KEPT_PAGES = KeptStore(max_bytes=4_000_000, max_entries=512)


@blueprint.errorhandler(NotAllowedError)
def _not_allowed(error: NotAllowedError):
    """A reader of a record asked for a change only its owner may make: 403, nothing written."""
    db.session.rollback()
    return render_error(403, error.message)


CONFLICT_MESSAGE = _l(
    "This member was changed by someone else since you opened it. Nothing was "
    "saved. Compare your values with the saved ones below; to keep yours, save "
    "again."
)
FIELD_LABELS = {
    "full_name": _l("Full name"),
    "email": _l("Email"),
    "orcid": _l("ORCID iD"),
    "program": _l("Program"),
    "institution": _l("Institution"),
    "start_date": _l("Start date"),
    "end_date": _l("End date"),
    "note": _l("Note"),
    "supervisors": _l("Supervisors (role, share)"),
    "departure_reason": _l("How they left"),
    "outcome": _l("Where they went next"),
    "archived": _l("Archived"),
    "owner": _l("Owning group"),
    "own_note": _l("My note"),
    "milestone": _l("Milestone"),
    "due_date": _l("Due date"),
    "status": _l("Status"),
    "done_on": _l("Done on"),
    "waived_reason": _l("Reason for waiving"),
    "milestone_note": _l("Milestone note"),
    "reason": _l("Reason for the new date"),
}


def _faculty_arg() -> int | None:
    return request.args.get("faculty", type=int)


def _owner_or_404() -> User:
    # The account itself, not the proxy: a page reads the owner once a row.
    owner = group_owner(current_user._get_current_object(), _faculty_arg())
    if owner is None:
        abort(404)
    return owner


def _group_args(owner: User) -> dict:
    """Query-string arguments that keep an administrator in the group they are looking at."""
    return {"faculty": owner.id} if owner.id != current_user.id else {}


@dataclass(frozen=True)
class RowLinks:
    """A member table's links, each built with one url_for per page; a row puts in its id."""

    edit: IdUrl
    move: IdUrl
    restore: IdUrl
    milestones: IdUrl


def _row_links(group_args: dict) -> RowLinks:
    return RowLinks(
        edit=IdUrl("group.edit", "position_id", **group_args),
        move=IdUrl("group.move", "position_id"),
        restore=IdUrl("group.restore", "position_id"),
        milestones=IdUrl("tracking.member", "position_id"),
    )


def _member_or_404(position_id: int, *, archived: bool = False) -> Position:
    position = queries.member_for(current_user, position_id, archived=archived)
    if position is None:
        abort(404)
    return position


# ---------------------------------------------------------------------------------------------
# Lists.


@blueprint.route("")
def index():
    """Current members of a group, in sections by kind, with counts, search and filters."""
    owner = _owner_or_404()
    find = (request.args.get("find") or "")[:200].strip() if current_user.is_admin else ""
    found = queries.find_faculty(find) if find else []
    if len(found) == 1:  # the one account asked for: show its group
        return redirect(url_for("group.index", faculty=found[0][0]))
    wanted = queries.ListFilter.from_args(request.args)
    today = date.today()
    group_args = _group_args(owner)
    language = str(get_locale())
    read_only = owner.id != current_user.id
    links = _row_links(group_args)
    highlighted = take_highlighted_positions()
    # What the content shows besides the database's data (the viewer first: a viewer's content
    # is never given to another viewer).
    shown = (
        current_user.id,
        current_user.is_admin,
        owner.id,
        read_only,
        request.script_root,
        links.edit(0),  # the links' prefix, with the group's arguments
        wanted,
        find,
        tuple(found),
        frozenset(highlighted),
        today,
        language,
        id(cached_translations()),
    )
    state = data_state_read_with_user()
    kept = KEPT_CONTENT.under_state(shown, state) if state is not None else None
    if kept is not None:
        # Nothing the database holds changed since this content was made: no row is read, and
        # the page around it is the one kept for this session, if any.
        return kept_page(
            KEPT_PAGES,
            (shown, owner.display_name, kept),
            lambda: render_template(
                "group/index.html",
                owner=owner,
                read_only=read_only,
                content=KeptContent(KEPT_CONTENT, None, kept=kept),
            ),
        )
    page = queries.current_page(owner, today, wanted)
    milestones = queries.group_milestones(owner, today, [row.position_id for row in page.rows])
    # Everything the content read: a write elsewhere moves the state but may leave these alone,
    # and the content kept under them is then given again without rendering.
    read = (
        owner.display_name,
        owner.email,
        page.source,  # every row read, so the page's rows, counts and filters
        frozenset((program, program_name_in(program, language)) for program in page.read_programs),
        tuple(milestones.due),
        tuple(milestones.next.items()),
    )
    key = (*shown, read)
    html = render_template(
        "group/index.html",
        due=milestones.due,
        language=language,
        page=page,
        wanted=wanted,
        owner=owner,
        read_only=read_only,
        group_args=group_args,
        links=links,
        rows=MemberRows(language, read_only, links, milestones.next, highlighted),
        find=find,
        found=found[: queries.FACULTY_SEARCH_LIMIT],
        more_found=len(found) > queries.FACULTY_SEARCH_LIMIT,
        highlighted=highlighted,
        content=KeptContent(KEPT_CONTENT, key),
    )
    if state is not None:
        KEPT_CONTENT.note_state(shown, state, key)
    return html


@blueprint.route("/alumni")
def alumni():
    """Former members of a group: end date, how they left, where they went next."""
    owner = _owner_or_404()
    wanted = queries.ListFilter.from_args(request.args, default_sort="end")
    if "sort" not in request.args:
        wanted = replace(wanted, descending=True)  # most recent departures first
    page = queries.alumni_page(owner, date.today(), wanted)
    group_args = _group_args(owner)
    return render_template(
        "group/alumni.html",
        page=page,
        wanted=wanted,
        owner=owner,
        read_only=owner.id != current_user.id,
        group_args=group_args,
        links=_row_links(group_args),
    )


# ---------------------------------------------------------------------------------------------
# Add and edit.


def _linked_ids(position: Position | None) -> list[int]:
    if position is None:
        return []
    return [link.supervisor_id for link in position.supervisions if link.supervisor_id]


def _prepare(form: MemberForm, owner: User, position: Position | None = None) -> None:
    form.set_choices(
        program_choices_in_language(
            queries.program_choices(position.program_id if position else None)
        ),
        queries.supervisor_choices(owner, _linked_ids(position)),
    )


def _attach_error(form: MemberForm, error: MemberError) -> None:
    field = getattr(form, error.field_name)
    field.errors = [*field.errors, error.message]


def _render_form(
    form: MemberForm, owner: User, status: int, position: Position | None = None, **context
):
    offer_link = bool(context.pop("offer_link", False) or form.link_existing.data)
    context.setdefault("hosted_programs", queries.programs_not_counting_toward_load())
    return render_template(
        "group/edit.html" if position else "group/new.html",
        form=form,
        owner=owner,
        position=position,
        offer_link=offer_link,
        institutions=queries.institution_names(),
        group_args=_group_args(owner),
        history=queries.member_history(position) if position else [],
        stints=queries.linked_stints(position) if position else [],
        field_labels=FIELD_LABELS,
        identity_locked=bool(
            position and not may_edit_identity(current_user, position.person, date.today())
        ),
        transfer_form=_transfer_form(position) if position and current_user.is_admin else None,
        awaiting=_agreement_states(position),
        **context,
    ), status


def _agreement_states(position: Position | None) -> list[str]:
    """'awaiting Prof. X (co-supervisor)', 'declined by ...: message' for the owner's form."""
    if position is None:
        return []
    texts = []
    for link in position.supervisions:
        if link.supervisor is None or link.state == SupervisionState.CONFIRMED:
            continue
        text = queries.describe_link(link.role, link.supervisor.display_name, link.state)
        if link.answer_message:
            text = _("%(text)s: “%(message)s”", text=text, message=link.answer_message)
        texts.append(text)
    return texts


def _transfer_form(position: Position) -> TransferForm:
    form = TransferForm(formdata=None, owner=position.owner_id)
    form.owner.choices = select_choices(
        (link.supervisor_id, link.supervisor.display_name)
        for link in position.supervisions
        if link.supervisor_id is not None and link.state == SupervisionState.CONFIRMED
    )
    return form


@blueprint.route("/members/new", methods=["GET", "POST"])
def new():
    """Add a member to the group (an administrator may add to any faculty's group)."""
    owner = _owner_or_404()
    form = MemberForm()
    if not form.is_submitted():
        form.start_date.data = date.today()
    elif (earlier := _earlier_answer(form)) is not None:
        return earlier  # the same submission again (double click, retry): show its record
    _prepare(form, owner)
    if form.validate_on_submit():
        data = form.to_data()
        if _ask_same_person(form, data):
            likely = queries.same_name_in_group(owner, data.full_name)
            if likely:  # "Is this the same person as ...?" before a second record is made
                return _render_form(form, owner, 200, likely_duplicates=likely)
        try:
            asked = role_warnings(data)
            if asked and not form.accept_role.data:
                # Asked, not refused: nothing is saved until the user confirms the role.
                return _render_form(form, owner, 200, role_warnings=asked)
            warnings = cap_warnings(owner, data, date.today())
            if warnings and not form.accept_over_cap.data:
                # A warning, not an error: nothing is saved until the user confirms.
                return _render_form(form, owner, 200, cap_warnings=warnings)
            position = create_once(
                current_user,
                form.submission_key.data,
                lambda: add_member(current_user, owner, data),
            )
        except AlreadySubmittedError:
            db.session.rollback()
            return _earlier_answer(form) or _render_form(form, owner, 409)
        except ForeignPersonError as error:
            db.session.rollback()
            if form.link_existing.data:
                # Another group's person: ask its owner, never link (nor say who they are).
                try:
                    request_to_join(current_user, error.person, data.role)
                except MemberError as refusal:
                    db.session.rollback()
                    _attach_error(form, refusal)
                    return _render_form(form, owner, 400)
                db.session.commit()
                flash(
                    _(
                        "This person is recorded by another group. We asked that group to add "
                        "you as a supervisor; their answer will appear under Requests."
                    ),
                    "info",
                )
                return redirect(url_for("group.requests"))
            _attach_error(form, error)
            return _render_form(form, owner, 400, offer_link=True)
        except MemberError as error:
            db.session.rollback()
            _attach_error(form, error)
            return _render_form(
                form, owner, 400, offer_link=isinstance(error, DuplicatePersonError)
            )
        except IntegrityError:
            # Someone saved the same email or ORCID iD a moment ago; nothing of ours was kept.
            db.session.rollback()
            flash(
                _(
                    "Someone saved a person with the same email or ORCID iD at the same moment; "
                    "nothing was saved. Please save again."
                ),
                "error",
            )
            return _render_form(form, owner, 409)
        db.session.commit()
        flash(_("Added %(name)s to the group.", name=position.person.full_name), "success")
        return redirect(url_for("group.index", **_group_args(owner)))
    return _render_form(form, owner, 400 if form.is_submitted() else 200)


def _ask_same_person(form: MemberForm, data) -> bool:
    """Whether to look for a namesake in the group: not once the user answered, nor when the
    email or ORCID iD is already on record (that exact match has its own question)."""
    if data.link_existing or data.same_person_id or form.different_person.data:
        return False
    return (
        queries.find_person_by_email(data.email or "") is None
        and queries.find_person_by_orcid(data.orcid) is None
    )


def _earlier_answer(form: MemberForm):
    """Redirect to the position an earlier post of the form's key created (None if none)."""
    position_id = earlier_record_id(current_user, form.submission_key.data, Position.__tablename__)
    if position_id is None:
        return None
    flash(_("This form was already saved; here is the record it created."), "info")
    return redirect(url_for("group.edit", position_id=position_id), 303)


def _initial_data(position: Position, owner: User) -> dict:
    own = next(link for link in position.supervisions if link.supervisor_id == owner.id)
    others = [
        link
        for link in position.supervisions
        if link is not own and link.state != SupervisionState.DECLINED
    ]
    return {
        "full_name": position.person.full_name,
        "email": position.person.email,
        "orcid": position.person.orcid,
        "program": position.program_id,
        "institution": position.institution.name if position.institution else "",
        "institution_unknown": position.institution is None,
        "role": own.role.value,
        "share": own.share,
        "start_date": position.start_date,
        "end_date": position.end_date,
        "note": position.note,
        "version": record_version(position),
        "supervisors": [
            {
                "supervisor": link.supervisor_id or "",
                "external_name": link.external_name or "",
                "external_institution": link.external_institution or "",
                "role": link.role.value,
                "share": link.share,
            }
            for link in others
        ],
    }


@blueprint.route("/members/<int:position_id>/edit", methods=["GET", "POST"])
def edit(position_id: int):
    """Edit a member; the form carries the version it was loaded from (stale saves get 409).

    The owner's group and administrators get the form; a confirmed co-supervisor or host gets
    the record read-only, with their own note and "end my involvement" (a POST here is 403).
    """
    position = _member_or_404(position_id)
    if not may_change(current_user, position):
        if request.method != "GET":
            abort(403)
        return _render_shared(position)
    owner = queries.perspective_of(current_user, position, _faculty_arg())
    if owner is None:
        abort(404)
    if request.method == "GET":
        initial = _initial_data(position, owner)
        form = MemberForm(data=initial)
        # Room to add supervisors: EXTRA_SUPERVISOR_ROWS empty rows after the existing ones.
        wanted_rows = min(
            len(initial["supervisors"]) + EXTRA_SUPERVISOR_ROWS, form.supervisors.max_entries
        )
        while len(form.supervisors) < wanted_rows:
            form.supervisors.append_entry()
    else:
        form = MemberForm()
        if (earlier := _earlier_answer(form)) is not None:
            return earlier  # the program change was already saved: show the new position
    _prepare(form, owner, position)
    if form.validate_on_submit():
        data = form.to_data()
        loaded_version = position.version
        try:
            asked = role_warnings(data, position)
            if asked and not form.accept_role.data:
                return _render_form(form, owner, 200, position, role_warnings=asked)
            if form.program_change.data == "change":
                return _change_program(form, owner, position, data)
            update_member(current_user, position, owner, data, _version(form, position))
        except ForeignPersonError as error:
            # Another group's person: an edit never moves this position onto them.
            db.session.rollback()
            _attach_error(
                form,
                MemberError(
                    error.field_name,
                    _(
                        "This email or ORCID iD is already on record in another group: keep "
                        "the current one, or ask that group."
                    ),
                ),
            )
            return _render_form(form, owner, 400, _member_or_404(position_id))
        except StaleMemberError:
            return _conflict(form, owner, position_id, data)
        except AlreadySubmittedError:
            db.session.rollback()
            return _earlier_answer(form) or _conflict(form, owner, position_id, data)
        except MemberError as error:
            db.session.rollback()
            _attach_error(form, error)
            return _render_form(
                form,
                owner,
                400,
                _member_or_404(position_id),
                offer_link=isinstance(error, DuplicatePersonError),
            )
        except IntegrityError:
            # Saved by someone else a moment ago with a clashing value (e.g. the same email).
            return _conflict(form, owner, position_id, data)
        changed = position.version != loaded_version
        db.session.commit()
        if changed:
            flash(_("Saved the changes to %(name)s.", name=position.person.full_name), "success")
        else:
            flash(
                _(
                    "Nothing to save: %(name)s was already up to date.",
                    name=position.person.full_name,
                ),
                "info",
            )
        return redirect(url_for("group.index", **_group_args(owner)))
    return _render_form(form, owner, 400 if form.is_submitted() else 200, position)


def _change_program(form: MemberForm, owner: User, position: Position, data):
    """ "Change program from <date>": a new linked position (once per submission key)."""
    name = position.person.full_name
    following = create_once(
        current_user,
        form.submission_key.data,
        lambda: change_program(
            current_user, position, data, form.change_from.data, _version(form, position)
        ),
    )
    db.session.commit()
    flash(
        _(
            "%(name)s continues in %(program)s from %(day)s; the earlier position stays in "
            "the history.",
            name=name,
            program=following.program.name,
            day=format_day(following.start_date),
        ),
        "success",
    )
    return redirect(url_for("group.edit", position_id=following.id, **_group_args(owner)))


def record_version(position: Position) -> str:
    """The version the edit form carries: the position's, then its person's. The name, email
    and ORCID iD are the person's, which a save through another of their positions changes: a
    form loaded before that is stale too, and saving it would put the old identity back."""
    return f"{position.version}.{position.person.version}"


def _version(form: MemberForm, position: Position) -> int:
    """The position's version the form was loaded from; -1 (stale) when the person changed
    since, or when the form carries no version."""
    position_part, _dot, person_part = (form.version.data or "").partition(".")
    if person_part != str(position.person.version):
        return -1
    return parse_database_id(position_part) or -1


def _conflict(form: MemberForm, owner: User, position_id: int, data):
    """Nothing is written; show the saved values next to the submitted ones (HTTP 409)."""
    db.session.rollback()
    position = _member_or_404(position_id)
    saved = snapshot(position)
    yours = describe_submission(
        data,
        owner,
        {choice.value: choice.label for choice in form.program.choices[1:]},
        dict(queries.supervisor_choices(owner, _linked_ids(position))),
        saved,
    )
    differences = [
        (
            FIELD_LABELS[key],
            queries.history_value(key, yours[key]),
            queries.history_value(key, saved[key]),
        )
        for key in saved
        if yours[key] != saved[key]
    ]
    form.version.data = record_version(position)  # a deliberate second save overwrites
    return _render_form(
        form, owner, 409, position, conflict=CONFLICT_MESSAGE, differences=differences
    )


# ---------------------------------------------------------------------------------------------
# Alumni, restore, archive.


@blueprint.route("/members/<int:position_id>/move-to-alumni", methods=["GET", "POST"])
def move(position_id: int):
    """Move a member to alumni: end date, how they left, where they went next."""
    position = _member_or_404(position_id)
    if not may_change(current_user, position):
        abort(403)
    owner = queries.perspective_of(current_user, position, _faculty_arg()) or current_user
    form = MoveToAlumniForm()
    today = date.today()
    if not form.is_submitted():
        # A member is current through their end date; the day after, they are alumni.
        form.end_date.data = max(today - timedelta(days=1), position.start_date)
    if form.validate_on_submit():
        try:
            move_to_alumni(
                current_user,
                position,
                form.end_date.data,
                DepartureReason(form.departure_reason.data),
                form.outcome.data,
                today=today,
            )
        except MemberError as error:
            db.session.rollback()
            position = _member_or_404(position_id)
            getattr(form, error.field_name).errors = [error.message]
        else:
            db.session.commit()
            flash(_("%(name)s moved to alumni.", name=position.person.full_name), "success")
            return redirect(url_for("group.alumni", **_group_args(owner)))
    status = 400 if form.is_submitted() else 200
    return render_template(
        "group/move.html", form=form, position=position, group_args=_group_args(owner)
    ), status


@blueprint.route("/members/<int:position_id>/restore", methods=["POST"])
def restore(position_id: int):
    """Undo "move to alumni"."""
    position = _member_or_404(position_id)
    owner = queries.perspective_of(current_user, position, _faculty_arg()) or current_user
    restore_member(current_user, position)
    db.session.commit()
    flash(_("%(name)s is a current member again.", name=position.person.full_name), "success")
    return redirect(url_for("group.index", **_group_args(owner)))


@blueprint.route("/members/<int:position_id>/archive", methods=["GET", "POST"])
def archive(position_id: int):
    """Archive an entry after a confirmation page: it leaves every list and export; its owner
    (or an administrator) can restore it from the archived entries."""
    position = _member_or_404(position_id)
    if not may_change(current_user, position):
        abort(403)
    owner = queries.perspective_of(current_user, position, _faculty_arg()) or current_user
    if request.method == "GET":
        return render_template(
            "group/archive.html", position=position, group_args=_group_args(owner)
        )
    archive_member(current_user, position)
    db.session.commit()
    flash(
        _(
            "Archived %(name)s: the entry left the lists and exports. If this was a mistake, "
            "restore it below.",
            name=position.person.full_name,
        ),
        "success",
    )
    return redirect(url_for("group.archived"))


@blueprint.route("/archived")
def archived():
    """Archived entries with a Restore button: one's own group's, or every one (administrators)."""
    owner_id = None if current_user.is_admin else current_user.id
    return render_template("group/archived.html", rows=queries.archived_members(owner_id))


@blueprint.route("/members/<int:position_id>/restore-archived", methods=["POST"])
def restore_archived_entry(position_id: int):
    """Bring an archived entry back into its groups: its owner or an administrator (audited;
    a confirmed co-supervisor reads the record but gets 403, anyone else 404)."""
    position = _member_or_404(position_id, archived=True)
    restore_archived(current_user, position)
    db.session.commit()
    flash(_("Restored %(name)s.", name=position.person.full_name), "success")
    return redirect(url_for("group.archived"))


# ---------------------------------------------------------------------------------------------
# A record another group owns: read it, keep one's own note, end one's own involvement.


def _render_shared(position: Position, status: int = 200, **forms):
    link = own_link(current_user, position)
    note_form = forms.get("note_form") or OwnNoteForm(formdata=None, own_note=link.note)
    leave_form = forms.get("leave_form") or EndInvolvementForm(formdata=None)
    return render_template(
        "group/shared.html",
        position=position,
        link=link,
        note_form=note_form,
        leave_form=leave_form,
        history=queries.member_history(position),
        stints=queries.linked_stints(position),
        field_labels=FIELD_LABELS,
        describe_link=queries.describe_link,
    ), status


@blueprint.route("/members/<int:position_id>/note", methods=["POST"])
def own_note(position_id: int):
    """A confirmed supervisor changes their own note on the record."""
    position = _member_or_404(position_id)
    form = OwnNoteForm()
    if not form.validate_on_submit():
        if own_link(current_user, position) is None:
            abort(403)
        return _render_shared(position, 400, note_form=form)
    try:
        set_own_note(current_user, position, form.own_note.data)
    except MemberError as error:
        db.session.rollback()
        form.own_note.errors = [error.message]
        return _render_shared(_member_or_404(position_id), 400, note_form=form)
    db.session.commit()
    flash(_("Saved your note on %(name)s.", name=position.person.full_name), "success")
    return redirect(url_for("group.edit", position_id=position_id))


@blueprint.route("/members/<int:position_id>/leave", methods=["POST"])
def leave(position_id: int):
    """ "I no longer co-supervise": end one's own link; the owner sees it in their notices."""
    position = _member_or_404(position_id)
    form = EndInvolvementForm()
    if not form.validate_on_submit():
        if own_link(current_user, position) is None:
            abort(403)
        return _render_shared(position, 400, leave_form=form)
    name = position.person.full_name
    end_involvement(current_user, position, form.message.data)
    db.session.commit()
    flash(
        _(
            "You no longer supervise %(name)s; the group that owns the record was told.",
            name=name,
        ),
        "success",
    )
    return redirect(url_for("group.index"))


@blueprint.route("/members/<int:position_id>/transfer", methods=["POST"])
@admin_required
def transfer(position_id: int):
    """Administrators: hand the record to another of its confirmed supervisors (audited)."""
    position = _member_or_404(position_id)
    form = _transfer_form(position)
    form.process(request.form)
    if not form.validate_on_submit():
        flash(
            " ".join(str(error) for error in form.owner.errors) or _("Choose a new owner."), "error"
        )
        return redirect(url_for("group.edit", position_id=position_id)), 303
    try:
        transfer_owner(current_user, position, form.owner.data)
    except MemberError as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect(url_for("group.edit", position_id=position_id)), 303
    db.session.commit()
    flash(
        _(
            "%(name)s's record now belongs to the group of %(owner)s.",
            name=position.person.full_name,
            owner=position.owner.display_name,
        ),
        "success",
    )
    return redirect(url_for("group.edit", position_id=position_id))


# ---------------------------------------------------------------------------------------------
# Requests: co-supervision proposals to confirm or decline.


@blueprint.route("/requests")
def requests():
    """Proposals waiting for my answer, the ones I sent, and what others did to my records."""
    stale = []
    if current_user.is_admin:
        stale = queries.stale_requests(utcnow(), STALE_PROPOSAL_AGE)
    return render_template(
        "group/requests.html",
        to_answer=queries.requests_to_answer(current_user),
        sent=queries.requests_sent(current_user),
        notices=queries.notices_for(current_user),
        stale=stale,
        stale_days=STALE_PROPOSAL_AGE.days,
        answer_form=AnswerForm(formdata=None),
    )


@blueprint.route("/requests/<int:link_id>", methods=["POST"])
def answer(link_id: int):
    """Confirm or decline a proposal (administrators may confirm on someone's behalf)."""
    link = queries.proposal_for(current_user, link_id)
    if link is None:
        abort(404)  # not theirs: do not even say that it exists
    form = AnswerForm()
    decision = request.form.get("decision")
    if not form.validate_on_submit() or decision not in {"confirm", "decline"}:
        flash(
            " ".join(form.message.errors) or _("Choose Confirm or Decline."),
            "error",
        )
        return redirect(url_for("group.requests")), 303
    if link.state != SupervisionState.PROPOSED:
        return render_error(409, _("This request was already answered."))
    name = link.position.person.full_name
    expected_version = parse_database_id(form.version.data) or -1  # -1: never a version
    answer = confirm_proposal if decision == "confirm" else decline_proposal
    try:
        answer(current_user, link, form.message.data, expected_version)
    except StaleMemberError:
        # The proposer changed the record (a role, a share) after the page was shown.
        db.session.rollback()
        return render_error(
            409, _("This request changed since the page was shown: look at it again.")
        )
    except MemberError as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect(url_for("group.requests")), 303
    db.session.commit()
    if decision == "confirm":
        flash(_("Confirmed the supervision of %(name)s.", name=name), "success")
    else:
        flash(_("Declined the request about %(name)s.", name=name), "success")
    return redirect(url_for("group.requests"))
