"""The API's routes: thin handlers over the same queries and operations as the pages."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Response, current_app, request, url_for
from flask_babel import gettext as _
from flask_smorest import Blueprint, abort
from marshmallow import RAISE
from sqlalchemy.exc import IntegrityError
from webargs.flaskparser import FlaskParser
from webargs.flaskparser import abort as webargs_abort

from portal.api import auth, schemas
from portal.api.auth import api_token, api_user
from portal.api.resources import (
    content_etag,
    load_resource,
    member_etag,
    member_resource,
    milestone_etag,
    milestone_resource,
    page_envelope,
    proposal_etag,
    proposal_resource,
    roster_resource,
)
from portal.auth.access import group_owner
from portal.extensions import csrf, db, limiter
from portal.group import queries
from portal.group.operations import (
    DuplicatePersonError,
    MemberData,
    MemberError,
    NotAllowedError,
    StaleMemberError,
    SupervisorEntry,
    add_member,
    cap_warnings,
    confirm_proposal,
    decline_proposal,
    move_to_alumni,
    update_member,
)
from portal.group.queries import RequestRow
from portal.identifiers import clean_text, normalise_email, normalise_orcid
from portal.labels import lazy_gettext as _l
from portal.loads import UNKNOWN_INSTITUTION, load_rows
from portal.milestones import can_record_milestones
from portal.models import (
    DepartureReason,
    Institution,
    Milestone,
    Position,
    Supervision,
    SupervisionRole,
    SupervisionState,
    User,
)
from portal.people.queries import profile_json, public_profile
from portal.roster.reports import RosterExport, RosterStatus, roster_page
from portal.tracking import operations as tracking
from portal.tracking import queries as tracking_queries

JSON_TOO_DEEP = _l("The JSON body is nested too deeply: send the fields the API documents.")


class _JsonParser(FlaskParser):
    """webargs' parser, where a body nested deeper than the JSON parser can follow is an invalid
    body (400) like any other, rather than a RecursionError (500). No request body of the API is
    nested more than two levels; the parser stops at about a thousand."""

    def _raw_load_json(self, req):
        try:
            return super()._raw_load_json(req)
        except RecursionError:
            webargs_abort(400, messages={"json": [str(JSON_TOO_DEEP)]})


class _Blueprint(Blueprint):
    ARGUMENTS_PARSER = _JsonParser()


blueprint = _Blueprint(
    "api",
    __name__,
    url_prefix="/api/v1",
    description="The caller's group, alumni, public profiles; loads and roster for administrators.",
)

# Token requests carry no cookie-based session: there is nothing for CSRF to protect, and the
# login-page guard does not apply (portal.auth.access reads handles_own_authentication).
blueprint.handles_own_authentication = True
blueprint.before_request(auth.authenticate)
csrf.exempt(blueprint)
limiter.limit(lambda: current_app.config["API_RATE_LIMIT"], key_func=auth.rate_limit_key)(blueprint)
limiter.limit(
    lambda: current_app.config["API_FAILURE_LIMIT"],
    key_func=auth.address_key,
    deduct_when=auth.is_refused_token,
)(blueprint)

MEMBER_HEADERS = {"ETag": {"description": "Send it back as If-Match to change the member."}}
MILESTONE_HEADERS = {
    "ETag": {"description": "Send it back as If-Match to record something on the milestone."}
}
PROPOSAL_HEADERS = {"ETag": {"description": "Send it back as If-Match to answer the proposal."}}
IF_MATCH = {
    "in": "header",
    "name": "If-Match",
    "required": True,
    "schema": {"type": "string"},
    "description": "The resource's ETag as last read; a stale one is refused with 412.",
}
IF_NONE_MATCH = {
    "in": "header",
    "name": "If-None-Match",
    "required": False,
    "schema": {"type": "string"},
    "description": "An ETag read before: 304 Not Modified when nothing changed.",
}


def _keep_query_parameters(doc: dict, doc_info: dict, **_kwargs) -> dict:
    """`doc(parameters=[IF_NONE_MATCH])` would replace the query parameters read from the
    arguments schema in the OpenAPI document: list both."""
    manual = doc_info.get("manual_doc", {})
    documented = doc.get("parameters", [])
    if manual.get("parameters") and documented:
        manual["parameters"] = documented + [
            parameter for parameter in manual["parameters"] if parameter not in documented
        ]
    return doc


blueprint._prepare_doc_cbks.append(_keep_query_parameters)
# Form field names in the operations' messages -> the API's field names.
FIELD_NAMES = {"program": "program_id"}


# ---------------------------------------------------------------------------------------------
# Helpers.


def _conditional(data: Any, etag: str, status: int = 200, **headers: str):
    """The resource with its ETag, or 304 when the client's If-None-Match already has it."""
    wanted = {tag.strip() for tag in request.headers.get("If-None-Match", "").split(",")}
    if status == 200 and (etag in wanted or "*" in wanted):
        return Response(status=304, headers={"ETag": etag})
    return data, status, {"ETag": etag, "Cache-Control": "private, no-cache", **headers}


def _listing(data: Any):
    return _conditional(data, content_etag(data))


def _owner(faculty_id: int | None) -> User:
    owner = group_owner(api_user(), faculty_id)
    if owner is None:
        abort(404, detail=_("There is nothing at this address, or it is not yours to see."))
    return owner


def _member(position_id: int) -> Position:
    position = None
    if position_id <= schemas.MAX_ID:
        position = queries.member_for(api_user(), position_id)
    if position is None:
        abort(404, detail=_("There is nothing at this address, or it is not yours to see."))
    return position


def _perspective(position: Position, faculty_id: int | None) -> User:
    owner = queries.perspective_of(api_user(), position, faculty_id)
    if owner is None:
        abort(404, detail=_("There is nothing at this address, or it is not yours to see."))
    return owner


def _require_admin() -> None:
    if not api_user().is_admin:
        abort(403, detail=_("Only administrators may read this."))


def _check_if_match(etag: str) -> None:
    """The client must send the ETag it read (If-Match): 428 without one, 412 when stale."""
    header = request.headers.get("If-Match")
    if not header:
        abort(428)
    tags = {tag.strip() for tag in header.split(",")}
    if "*" not in tags and etag not in tags:
        abort(412, headers={"ETag": etag})


def _expected_version(position: Position) -> int:
    """The version the client read (If-Match), checked against the member's ETag."""
    _check_if_match(member_etag(position, _milestones_of(position)))
    return position.version


def _invalid(error: MemberError):
    db.session.rollback()
    field = FIELD_NAMES.get(error.field_name, error.field_name)
    status = 409 if isinstance(error, DuplicatePersonError) else 422
    abort(status, detail=error.message, messages={field: [error.message]})


def _clash():
    """Someone saved a clashing value (the same email or ORCID iD) a moment ago: 409."""
    db.session.rollback()
    abort(
        409,
        detail=_(
            "Someone saved a person with the same email or ORCID iD at the same moment; "
            "nothing was saved. Please save again."
        ),
    )


def _not_allowed(error: NotAllowedError):
    """A reader of a record (a confirmed co-supervisor) asked for an owner's change: 403."""
    db.session.rollback()
    abort(403, detail=error.message)


def _member_data(body: dict[str, Any], owner: User, position: Position | None) -> MemberData:
    """The request as the operations take it, with the form's choices checked the same way."""
    programs = {
        program_id
        for program_id, _name in queries.program_choices(position and position.program_id)
    }
    if body["program_id"] not in programs:
        _invalid(MemberError("program", _("Choose a program from the list.")))
    linked = [link.supervisor_id for link in position.supervisions] if position else []
    allowed = {
        user_id for user_id, _name in queries.supervisor_choices(owner, filter(None, linked))
    }
    for entry in body["supervisors"]:
        if entry["supervisor_id"] and entry["supervisor_id"] not in allowed:
            _invalid(MemberError("supervisors", _("Choose a supervisor from the list.")))
    return MemberData(
        full_name=clean_text(body["full_name"]),
        email=normalise_email(body["email"]) or None,
        orcid=normalise_orcid(body["orcid"]) if body["orcid"] else None,
        program_id=body["program_id"],
        institution=clean_text(body["institution"]) or None,
        role=SupervisionRole(body["role"]),
        share=body["share"],
        start_date=body["start_date"],
        end_date=body["end_date"],
        note=clean_text(body["note"]) or None,
        supervisors=[
            SupervisorEntry(
                supervisor_id=entry["supervisor_id"],
                external_name=clean_text(entry["external_name"]) or None,
                external_institution=clean_text(entry["external_institution"]) or None,
                role=SupervisionRole(entry["role"]),
                share=entry["share"],
            )
            for entry in body["supervisors"]
        ],
        link_existing=body["link_existing"],
    )


def _milestones_of(position: Position) -> list[Milestone]:
    return tracking_queries.milestones_by_position([position.id])[position.id]


def _member_and_etag(position: Position) -> tuple[dict[str, Any], str]:
    milestones = _milestones_of(position)
    return member_resource(position, date.today(), milestones), member_etag(position, milestones)


def _members(positions: list[Position]) -> list[dict[str, Any]]:
    """Member resources for a page of positions, their milestones read in one query."""
    today = date.today()
    milestones = tracking_queries.milestones_by_position(position.id for position in positions)
    return [member_resource(position, today, milestones[position.id]) for position in positions]


def _saved(position_id: int, status: int = 200, **headers: str):
    """The member as saved, read again, with its new ETag."""
    data, etag = _member_and_etag(_member(position_id))
    return data, status, {"ETag": etag, **headers}


# ---------------------------------------------------------------------------------------------
# The caller.


@blueprint.route("/me")
@blueprint.response(200, schemas.CallerOut)
@blueprint.alt_response(304, description="Not Modified")
@blueprint.doc(parameters=[IF_NONE_MATCH])
def me():
    """The account the token belongs to, and the token's scope."""
    user, token = api_user(), api_token()
    return _listing(
        {
            "id": user.id,
            "email": user.email,
            "display_name": user.display_name,
            "is_admin": user.is_admin,
            "token_scope": token.scope.value,
            "token_expires_at": token.expires_at,
        }
    )


# ---------------------------------------------------------------------------------------------
# The group.


@blueprint.route("/group/members", methods=["GET"])
@blueprint.arguments(schemas.MemberListArgs, location="query", as_kwargs=True, unknown=RAISE)
@blueprint.response(200, schemas.MemberPageOut)
@blueprint.alt_response(304, description="Not Modified")
@blueprint.doc(parameters=[IF_NONE_MATCH])
def list_members(page: int, per_page: int, status: str, faculty: int | None):
    """Members of the caller's group (an administrator may name any faculty member's group)."""
    owner = _owner(faculty)
    total, positions = queries.group_positions(
        owner, status, date.today(), offset=(page - 1) * per_page, limit=per_page
    )
    return _listing(page_envelope(_members(positions), page, per_page, total))


@blueprint.route("/group/alumni", methods=["GET"])
@blueprint.arguments(schemas.GroupPageArgs, location="query", as_kwargs=True, unknown=RAISE)
@blueprint.response(200, schemas.MemberPageOut)
@blueprint.alt_response(304, description="Not Modified")
@blueprint.doc(parameters=[IF_NONE_MATCH])
def list_alumni(page: int, per_page: int, faculty: int | None):
    """Former members of the caller's group: their end date has passed."""
    owner = _owner(faculty)
    total, positions = queries.group_positions(
        owner, "alumni", date.today(), offset=(page - 1) * per_page, limit=per_page
    )
    return _listing(page_envelope(_members(positions), page, per_page, total))


@blueprint.route("/group/members", methods=["POST"])
@blueprint.arguments(schemas.GroupArgs, location="query", as_kwargs=True, unknown=RAISE)
@blueprint.arguments(schemas.MemberIn)
@blueprint.response(201, schemas.MemberOut, headers=MEMBER_HEADERS)
def create_member(body: dict[str, Any], faculty: int | None):
    """Add a member, exactly as the "Add a member" form does (same rules, audit and owner)."""
    owner = _owner(faculty)
    data = _member_data(body, owner, None)
    try:
        warnings = cap_warnings(owner, data, date.today())
        if warnings and not body["accept_over_cap"]:
            db.session.rollback()
            abort(
                409,
                detail=_(
                    "Saving would take a supervisor over a cap; nothing was saved. "
                    "Send accept_over_cap: true to save anyway."
                ),
                warnings=[str(warning) for warning in warnings],
            )
        position = add_member(api_user(), owner, data)
    except NotAllowedError as error:
        _not_allowed(error)
    except MemberError as error:
        _invalid(error)
    except IntegrityError:
        _clash()
    db.session.commit()
    return _saved(position.id, 201, Location=url_for("api.get_member", position_id=position.id))


@blueprint.route("/group/members/<int:position_id>", methods=["GET"])
@blueprint.response(200, schemas.MemberOut, headers=MEMBER_HEADERS)
@blueprint.alt_response(304, description="Not Modified")
@blueprint.doc(parameters=[IF_NONE_MATCH])
def get_member(position_id: int):
    """One member of the caller's group."""
    return _conditional(*_member_and_etag(_member(position_id)))


@blueprint.route("/group/members/<int:position_id>", methods=["PUT"])
@blueprint.arguments(schemas.GroupArgs, location="query", as_kwargs=True, unknown=RAISE)
@blueprint.arguments(schemas.MemberIn)
@blueprint.response(200, schemas.MemberOut, headers=MEMBER_HEADERS)
@blueprint.doc(parameters=[IF_MATCH])
def update_member_view(body: dict[str, Any], position_id: int, faculty: int | None):
    """Replace a member's values, as the edit form does; If-Match must carry the read ETag."""
    position = _member(position_id)
    owner = _perspective(position, faculty)
    expected = _expected_version(position)
    data = _member_data(body, owner, position)
    try:
        update_member(api_user(), position, owner, data, expected)
    except NotAllowedError as error:
        _not_allowed(error)
    except StaleMemberError:
        db.session.rollback()
        abort(412)
    except MemberError as error:
        _invalid(error)
    except IntegrityError:
        _clash()
    db.session.commit()
    return _saved(position_id)


@blueprint.route("/group/members/<int:position_id>/end", methods=["POST"])
@blueprint.arguments(schemas.EndPositionIn)
@blueprint.response(200, schemas.MemberOut, headers=MEMBER_HEADERS)
@blueprint.doc(parameters=[IF_MATCH])
def end_position(body: dict[str, Any], position_id: int):
    """End a position (move the member to alumni), as the "Move to alumni" form does."""
    position = _member(position_id)
    _expected_version(position)
    try:
        move_to_alumni(
            api_user(),
            position,
            body["end_date"],
            DepartureReason(body["departure_reason"]),
            body["outcome"],
            today=date.today(),
        )
    except NotAllowedError as error:
        _not_allowed(error)
    except MemberError as error:
        _invalid(error)
    db.session.commit()
    return _saved(position_id)


@blueprint.route("/programs")
@blueprint.response(200, schemas.ProgramChoiceOut(many=True))
@blueprint.alt_response(304, description="Not Modified")
@blueprint.doc(parameters=[IF_NONE_MATCH])
def list_programs():
    """Programs a new member can be given (their ids go in program_id)."""
    return _listing(
        [{"id": program_id, "name": name} for program_id, name in queries.program_choices()]
    )


@blueprint.route("/supervisors")
@blueprint.arguments(schemas.GroupArgs, location="query", as_kwargs=True, unknown=RAISE)
@blueprint.response(200, schemas.ChoiceOut(many=True))
@blueprint.alt_response(304, description="Not Modified")
@blueprint.doc(parameters=[IF_NONE_MATCH])
def list_supervisors(faculty: int | None):
    """Faculty accounts that may be named as other supervisors (their ids: supervisor_id)."""
    owner = _owner(faculty)
    return _listing(
        [{"id": user_id, "name": name} for user_id, name in queries.supervisor_choices(owner)]
    )


# ---------------------------------------------------------------------------------------------
# Co-supervision proposals: the same answers as /group/requests (portal.group.operations).


def _proposal(link_id: int) -> tuple[Supervision, RequestRow]:
    """A proposal the caller answers (administrators: any) and its row as /group/requests
    shows it; 404 otherwise, as on that page."""
    link = queries.proposal_for(api_user(), link_id) if link_id <= schemas.MAX_ID else None
    row = queries.request_row(link_id) if link is not None else None
    if row is None:  # (an external supervisor's link is never a proposal)
        abort(404, detail=_("There is nothing at this address, or it is not yours to see."))
    return link, row


def _answer(link_id: int, message: str | None, answer) -> tuple:
    """Answer a proposal with `answer` (confirm_proposal or decline_proposal)."""
    link, row = _proposal(link_id)
    _check_if_match(proposal_etag(row))
    if link.state != SupervisionState.PROPOSED:
        abort(409, detail=_("This request was already answered."))
    try:
        # If-Match held the proposal's ETag, which carries the record's version.
        answer(api_user(), link, message, row.position_version)
    except NotAllowedError as error:
        _not_allowed(error)
    except StaleMemberError:
        db.session.rollback()
        abort(412)
    except MemberError as error:
        _invalid(error)
    db.session.commit()
    _link, row = _proposal(link_id)
    return proposal_resource(row), 200, {"ETag": proposal_etag(row)}


@blueprint.route("/group/proposals")
@blueprint.arguments(schemas.PageArgs, location="query", as_kwargs=True, unknown=RAISE)
@blueprint.response(200, schemas.ProposalPageOut)
@blueprint.alt_response(304, description="Not Modified")
@blueprint.doc(parameters=[IF_NONE_MATCH])
def list_proposals(page: int, per_page: int):
    """Proposals waiting for the caller's answer (as on /group/requests), newest first."""
    rows = queries.requests_to_answer(api_user())
    start = (page - 1) * per_page
    items = [proposal_resource(row) for row in rows[start : start + per_page]]
    return _listing(page_envelope(items, page, per_page, len(rows)))


@blueprint.route("/group/proposals/<int:link_id>")
@blueprint.response(200, schemas.ProposalOut, headers=PROPOSAL_HEADERS)
@blueprint.alt_response(304, description="Not Modified")
@blueprint.doc(parameters=[IF_NONE_MATCH])
def get_proposal(link_id: int):
    """One proposal the caller answers (administrators: any), waiting or answered."""
    _link, row = _proposal(link_id)
    return _conditional(proposal_resource(row), proposal_etag(row))


@blueprint.route("/group/proposals/<int:link_id>/confirm", methods=["POST"])
@blueprint.arguments(schemas.AnswerIn)
@blueprint.response(200, schemas.ProposalOut, headers=PROPOSAL_HEADERS)
@blueprint.doc(parameters=[IF_MATCH])
def confirm_proposal_view(body: dict[str, Any], link_id: int):
    """Confirm a proposal: the link counts from now on (administrators: on the named
    person's behalf, audited as such). If-Match must carry the proposal's ETag."""
    return _answer(link_id, body["message"], confirm_proposal)


@blueprint.route("/group/proposals/<int:link_id>/decline", methods=["POST"])
@blueprint.arguments(schemas.AnswerIn)
@blueprint.response(200, schemas.ProposalOut, headers=PROPOSAL_HEADERS)
@blueprint.doc(parameters=[IF_MATCH])
def decline_proposal_view(body: dict[str, Any], link_id: int):
    """Decline a proposal, with an optional message the proposer sees (the named person only)."""
    return _answer(link_id, body["message"], decline_proposal)


# ---------------------------------------------------------------------------------------------
# Milestones: the same recording as a member's milestones page (portal.tracking.operations).


def _milestone(milestone_id: int) -> Milestone:
    milestone = None
    if milestone_id <= schemas.MAX_ID:
        milestone = tracking_queries.milestone_for(api_user(), milestone_id)
    if milestone is None:
        abort(404, detail=_("There is nothing at this address, or it is not yours to see."))
    return milestone


def _record(milestone_id: int, action) -> tuple:
    """Run one recording `action(milestone, expected_version)` with the page's checks: who may
    record (403 for a co-supervisor who reads), If-Match, and the operation's own rules."""
    milestone = _milestone(milestone_id)
    if not can_record_milestones(api_user(), milestone.position):
        abort(403, detail=_("Only the group that owns this record can record its milestones."))
    _check_if_match(milestone_etag(milestone))
    try:
        action(milestone, milestone.version)
    except tracking.NotAllowedError:
        db.session.rollback()
        abort(403, detail=_("Only the group that owns this record can record its milestones."))
    except tracking.StaleMilestoneError:
        db.session.rollback()
        abort(412)
    except tracking.TrackingError as error:
        db.session.rollback()
        abort(422, detail=error.message, messages={error.field_name: [error.message]})
    db.session.commit()
    milestone = _milestone(milestone_id)
    return milestone_resource(milestone, date.today()), 200, {"ETag": milestone_etag(milestone)}


@blueprint.route("/group/milestones/<int:milestone_id>")
@blueprint.response(200, schemas.MilestoneOut, headers=MILESTONE_HEADERS)
@blueprint.alt_response(304, description="Not Modified")
@blueprint.doc(parameters=[IF_NONE_MATCH])
def get_milestone(milestone_id: int):
    """One milestone of a member the caller may read."""
    milestone = _milestone(milestone_id)
    return _conditional(milestone_resource(milestone, date.today()), milestone_etag(milestone))


@blueprint.route("/group/milestones/<int:milestone_id>/done", methods=["POST"])
@blueprint.arguments(schemas.MilestoneDoneIn)
@blueprint.response(200, schemas.MilestoneOut, headers=MILESTONE_HEADERS)
@blueprint.doc(parameters=[IF_MATCH])
def milestone_done(body: dict[str, Any], milestone_id: int):
    """Mark an open milestone done on a day (a repeating step gets its next occurrence)."""
    return _record(
        milestone_id,
        lambda milestone, version: tracking.mark_done(
            api_user(), milestone, body["done_on"], date.today(), version
        ),
    )


@blueprint.route("/group/milestones/<int:milestone_id>/waive", methods=["POST"])
@blueprint.arguments(schemas.MilestoneWaiveIn)
@blueprint.response(200, schemas.MilestoneOut, headers=MILESTONE_HEADERS)
@blueprint.doc(parameters=[IF_MATCH])
def milestone_waive(body: dict[str, Any], milestone_id: int):
    """Waive an open milestone, with the reason."""
    return _record(
        milestone_id,
        lambda milestone, version: tracking.waive(
            api_user(), milestone, body["waived_reason"], version
        ),
    )


@blueprint.route("/group/milestones/<int:milestone_id>/extend", methods=["POST"])
@blueprint.arguments(schemas.MilestoneExtendIn)
@blueprint.response(200, schemas.MilestoneOut, headers=MILESTONE_HEADERS)
@blueprint.doc(parameters=[IF_MATCH])
def milestone_extend(body: dict[str, Any], milestone_id: int):
    """Move an open milestone's due date, with the reason (kept in its history)."""
    return _record(
        milestone_id,
        lambda milestone, version: tracking.extend(
            api_user(), milestone, body["due_date"], body["reason"], version
        ),
    )


@blueprint.route("/group/milestones/<int:milestone_id>/note", methods=["POST"])
@blueprint.arguments(schemas.MilestoneNoteIn)
@blueprint.response(200, schemas.MilestoneOut, headers=MILESTONE_HEADERS)
@blueprint.doc(parameters=[IF_MATCH])
def milestone_note(body: dict[str, Any], milestone_id: int):
    """Replace a milestone's note (null or empty removes it)."""
    return _record(
        milestone_id,
        lambda milestone, version: tracking.set_note(api_user(), milestone, body["note"], version),
    )


@blueprint.route("/group/milestones/<int:milestone_id>/reopen", methods=["POST"])
@blueprint.arguments(schemas.MilestoneReopenIn)
@blueprint.response(200, schemas.MilestoneOut, headers=MILESTONE_HEADERS)
@blueprint.doc(parameters=[IF_MATCH])
def milestone_reopen(_body: dict[str, Any], milestone_id: int):
    """Reopen a milestone marked done or waived by mistake."""
    return _record(
        milestone_id,
        lambda milestone, version: tracking.reopen(api_user(), milestone, version),
    )


# ---------------------------------------------------------------------------------------------
# Public profiles.


@blueprint.route("/people/<slug>")
@blueprint.response(200, schemas.ProfileOut)
@blueprint.alt_response(304, description="Not Modified")
@blueprint.doc(parameters=[IF_NONE_MATCH])
def get_profile(slug: str):
    """A published profile, as its public page shows it (404 when not published)."""
    profile = public_profile(slug[:200], date.today())
    if profile is None:
        abort(404, detail=_("There is nothing at this address, or it is not yours to see."))
    return _listing(profile_json(profile))


# ---------------------------------------------------------------------------------------------
# Administrators.


@blueprint.route("/admin/loads")
@blueprint.arguments(schemas.LoadsArgs, location="query", as_kwargs=True, unknown=RAISE)
@blueprint.response(200, schemas.LoadsPageOut)
@blueprint.alt_response(304, description="Not Modified")
@blueprint.doc(parameters=[IF_NONE_MATCH])
def admin_loads(
    page: int,
    per_page: int,
    as_of: date | None,
    department: str | None,
    institution: int | None,
    unknown_institution: bool,
):
    """Supervision loads of every active faculty member on a day (administrators)."""
    _require_admin()
    day = as_of or date.today()
    if institution is not None and db.session.get(Institution, institution) is None:
        gone = _("No institution has this id: it may have been merged into another.")
        abort(422, detail=gone, messages={"query": {"institution": [gone]}})
    if unknown_institution:
        institution = UNKNOWN_INSTITUTION
    rows = load_rows(day, department=department, institution_id=institution)
    start = (page - 1) * per_page
    items = [load_resource(row) for row in rows[start : start + per_page]]
    return _listing(page_envelope(items, page, per_page, len(rows), as_of=day))


@blueprint.route("/admin/roster")
@blueprint.arguments(schemas.RosterArgs, location="query", as_kwargs=True, unknown=RAISE)
@blueprint.response(200, schemas.RosterPageOut)
@blueprint.alt_response(304, description="Not Modified")
@blueprint.doc(parameters=[IF_NONE_MATCH])
def admin_roster(page: int, per_page: int, status: str):
    """The institution-wide roster: one row per position and supervisor (administrators)."""
    _require_admin()
    export = RosterExport(None, RosterStatus(status), date.today())
    total, rows = roster_page(export, offset=(page - 1) * per_page, limit=per_page)
    items = [roster_resource(row) for row in rows]
    return _listing(page_envelope(items, page, per_page, total))
