"""Marshmallow schemas of the API: they validate requests and generate the OpenAPI document."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from portal.days import EARLIEST_DAY, LATEST_DAY, is_accepted_day, outside_days_message
from portal.emails import is_valid_email
from portal.group.operations import ANSWER_MESSAGE_LENGTH, MemberError, check_dates, check_orcid
from portal.identifiers import clean_text, has_forbidden_characters
from portal.labels import lazy_gettext as _l
from portal.models import (
    DepartureReason,
    DueState,
    MilestoneStatus,
    ProgramKind,
    SupervisionRole,
    SupervisionState,
)
from portal.tracking.operations import NOTE_MAX_LENGTH, REASON_MAX_LENGTH

MAX_ID = 2**31 - 1  # ids are 32-bit integers in every database the portal runs on
MAX_PAGE_SIZE = 100
ROLES = [role.value for role in SupervisionRole]
REASONS = [reason.value for reason in DepartureReason]
KINDS = [kind.value for kind in ProgramKind]
LINK_STATES = [state.value for state in SupervisionState]
MILESTONE_STATUSES = [status.value for status in MilestoneStatus]
DUE_STATES = [state.value for state in DueState]
MEMBER_STATUSES = ["current", "incoming", "alumni", "all"]


class Text(fields.String):
    """A string without the characters no text of the portal holds (control characters, lone
    surrogates: portal.identifiers.FORBIDDEN_CHARACTERS), as the forms and the importer refuse."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if has_forbidden_characters(text):
            raise ValidationError(str(_l("Control characters are not allowed.")))
        return text


def _email(value: str) -> None:
    """The portal's one email rule (portal/emails.py), as the forms and the importer use it."""
    if not is_valid_email(value):
        raise ValidationError(str(_l("Enter a valid email address, like name@example.org.")))


def _decimal_text(**kwargs) -> fields.Decimal:
    """A decimal sent as text ("50.00"), so that no float rounding creeps in."""
    metadata = {"type": "string", "format": "decimal", **kwargs.pop("metadata", {})}
    return fields.Decimal(as_string=True, metadata=metadata, **kwargs)


def _share() -> fields.Decimal:
    """A supervisor's share in percent, 0 to 100, or empty for the defaults (as on the form)."""
    return fields.Decimal(
        load_default=None,
        allow_none=True,
        places=2,
        validate=_percent,
        metadata={"minimum": 0, "maximum": 100, "description": "percent; empty for defaults"},
    )


def _percent(value) -> None:
    if value is not None and not 0 <= value <= 100:
        raise ValidationError(str(_l("A share is between 0 and 100 %.")))


def _id(*, strict: bool = True, **kwargs) -> fields.Integer:
    """An id: JSON bodies take a number only; query strings carry it as text."""
    return fields.Integer(strict=strict, validate=validate.Range(1, MAX_ID), **kwargs)


# ---------------------------------------------------------------------------------------------
# Query strings.


class PageArgs(Schema):
    page = fields.Integer(
        load_default=1, validate=validate.Range(1, 1_000_000), metadata={"description": "1-based"}
    )
    per_page = fields.Integer(load_default=50, validate=validate.Range(1, MAX_PAGE_SIZE))


class GroupArgs(Schema):
    faculty = _id(
        strict=False,
        load_default=None,
        metadata={"description": "Administrators: the faculty member whose group to use."},
    )


class MemberListArgs(PageArgs, GroupArgs):
    status = fields.String(load_default="current", validate=validate.OneOf(MEMBER_STATUSES))


class GroupPageArgs(PageArgs, GroupArgs):
    pass


def _accepted_day(day) -> None:
    """A report's day is one the portal accepts (portal/days.py), as on the pages."""
    if not is_accepted_day(day):
        raise ValidationError(outside_days_message())


class LoadsArgs(PageArgs):
    as_of = fields.Date(
        load_default=None,
        validate=_accepted_day,
        metadata={
            "description": f"Default: today; a day from {EARLIEST_DAY.isoformat()} "
            f"to {LATEST_DAY.isoformat()}."
        },
    )
    department = Text(load_default=None, validate=validate.Length(max=200))
    institution = _id(
        strict=False,
        load_default=None,
        metadata={"description": "Only supervisees at this institution (its id)."},
    )
    unknown_institution = fields.Boolean(
        load_default=False,
        metadata={
            "description": "true: only supervisees whose institution is unknown (the loads "
            "page's “Unknown” institution). Not together with `institution`."
        },
    )

    @validates_schema
    def _one_institution_filter(self, data, **_kwargs):
        if data.get("unknown_institution") and data.get("institution") is not None:
            raise ValidationError(
                str(_l("Filter by an institution or by an unknown institution, not both.")),
                "unknown_institution",
            )


class RosterArgs(PageArgs):
    status = fields.String(load_default="current", validate=validate.OneOf(MEMBER_STATUSES))


# ---------------------------------------------------------------------------------------------
# Requests.


class SupervisorIn(Schema):
    supervisor_id = _id(load_default=None, allow_none=True)
    external_name = Text(load_default=None, allow_none=True, validate=validate.Length(max=200))
    external_institution = Text(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=200),
        metadata={"description": "An external supervisor's institution (null: unknown)."},
    )
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    share = _share()

    @validates_schema
    def _account_or_name(self, data, **_kwargs):
        named = bool(clean_text(data.get("external_name")))
        if data.get("supervisor_id") and named:
            raise ValidationError(str(_l("Choose an account or type a name, not both.")))
        if clean_text(data.get("external_institution")) and not named:
            raise ValidationError(
                str(
                    _l("An institution goes with an external supervisor's name: type the name too.")
                ),
                "external_institution",
            )
        if not data.get("supervisor_id") and not named:
            raise ValidationError(
                str(_l("Give a supervisor_id or an external_name.")), "external_name"
            )


class MemberIn(Schema):
    full_name = Text(required=True, validate=validate.Length(max=200))
    email = Text(load_default=None, allow_none=True, validate=[validate.Length(max=254), _email])
    orcid = Text(load_default=None, allow_none=True, validate=validate.Length(max=60))
    program_id = _id(required=True)
    institution = Text(
        required=True,
        allow_none=True,
        validate=validate.Length(max=200),
        metadata={"description": "The institution's name; null when it is unknown."},
    )
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    share = _share()
    start_date = fields.Date(required=True)
    end_date = fields.Date(load_default=None, allow_none=True)
    note = Text(load_default=None, allow_none=True, validate=validate.Length(max=300))
    supervisors = fields.List(
        fields.Nested(SupervisorIn), load_default=list, validate=validate.Length(max=10)
    )
    link_existing = fields.Boolean(
        load_default=False,
        metadata={"description": "Add a position for the person already on record."},
    )
    accept_over_cap = fields.Boolean(
        load_default=False,
        metadata={"description": "Save even when a supervisor would go over a cap."},
    )

    @validates_schema
    def _same_rules_as_the_form(self, data, **_kwargs):
        errors: dict[str, list[str]] = {}
        if not clean_text(data.get("full_name")):
            errors["full_name"] = [str(_l("Enter the person's full name."))]
        if data.get("institution") is not None and not clean_text(data["institution"]):
            errors["institution"] = [
                str(_l("Enter the institution, or send null when it is unknown."))
            ]
        # The domain's rules (group/operations.py), with their messages.
        for rule, arguments in (
            (check_orcid, (data.get("orcid"),)),
            (check_dates, (data.get("start_date"), data.get("end_date"))),
        ):
            try:
                rule(*arguments)
            except MemberError as error:
                errors[error.field_name] = [error.message]
        if errors:
            raise ValidationError(errors)


class EndPositionIn(Schema):
    end_date = fields.Date(required=True)
    departure_reason = fields.String(required=True, validate=validate.OneOf(REASONS))
    outcome = Text(load_default=None, allow_none=True, validate=validate.Length(max=300))


class AnswerIn(Schema):
    """Confirm or decline a proposal, as on /group/requests: an optional message."""

    message = Text(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=ANSWER_MESSAGE_LENGTH),
        metadata={"description": "Seen by whoever proposed the link."},
    )


class MilestoneDoneIn(Schema):
    done_on = fields.Date(required=True, metadata={"description": "The day it was done."})


class MilestoneWaiveIn(Schema):
    waived_reason = Text(required=True, validate=validate.Length(max=REASON_MAX_LENGTH))


class MilestoneExtendIn(Schema):
    due_date = fields.Date(required=True, metadata={"description": "The new due date."})
    reason = Text(required=True, validate=validate.Length(max=REASON_MAX_LENGTH))


class MilestoneNoteIn(Schema):
    note = Text(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=NOTE_MAX_LENGTH),
        metadata={"description": "Empty or null removes the note."},
    )


class MilestoneReopenIn(Schema):
    pass


# ---------------------------------------------------------------------------------------------
# Responses.


class PageOut(Schema):
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)
    total = fields.Integer(required=True)
    pages = fields.Integer(required=True)


class CallerOut(Schema):
    id = fields.Integer(required=True)
    email = fields.String(required=True)
    display_name = fields.String(required=True)
    is_admin = fields.Boolean(required=True)
    token_scope = fields.String(required=True, validate=validate.OneOf(["read", "write"]))
    token_expires_at = fields.DateTime(required=True, allow_none=True)


class PersonOut(Schema):
    id = fields.Integer(required=True)
    full_name = fields.String(required=True)
    email = fields.String(required=True, allow_none=True)
    orcid = fields.String(required=True, allow_none=True)


class ProgramOut(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))


class InstitutionOut(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)


class ProposerOut(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)


class SupervisorOut(Schema):
    link_id = fields.Integer(
        required=True, metadata={"description": "the link's id (a proposal's id while proposed)"}
    )
    supervisor_id = fields.Integer(
        required=True, allow_none=True, metadata={"description": "null for an external supervisor"}
    )
    name = fields.String(required=True)
    external = fields.Boolean(required=True)
    institution = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "an external supervisor's institution (null: unknown, account)"},
    )
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    share = _decimal_text(required=True, metadata={"description": "percent"})
    state = fields.String(
        required=True,
        validate=validate.OneOf(LINK_STATES),
        metadata={"description": "proposed links wait for the named person; declined never count"},
    )
    proposed_by = fields.Nested(
        ProposerOut,
        required=True,
        allow_none=True,
        metadata={"description": "who named this supervisor (null: recorded before agreement)"},
    )
    proposed_at = fields.DateTime(required=True, allow_none=True)
    answered_at = fields.DateTime(required=True, allow_none=True)


class MilestoneOut(Schema):
    id = fields.Integer(required=True)
    version = fields.Integer(required=True)
    position_id = fields.Integer(required=True)
    plan_item_id = fields.Integer(
        required=True, allow_none=True, metadata={"description": "the program's plan step"}
    )
    occurrence = fields.Integer(required=True, metadata={"description": "for repeating steps"})
    name_en = fields.String(required=True)
    name_fr = fields.String(required=True)
    planned_date = fields.Date(required=True, allow_none=True)
    due_date = fields.Date(required=True, allow_none=True)
    status = fields.String(required=True, validate=validate.OneOf(MILESTONE_STATUSES))
    due_state = fields.String(
        required=True,
        validate=validate.OneOf(DUE_STATES),
        metadata={"description": "the status read against today's date"},
    )
    done_on = fields.Date(required=True, allow_none=True)
    waived_reason = fields.String(required=True, allow_none=True)
    note = fields.String(required=True, allow_none=True)


class MemberOut(Schema):
    id = fields.Integer(required=True, metadata={"description": "the position's id"})
    version = fields.Integer(required=True)
    status = fields.String(
        required=True, validate=validate.OneOf(["current", "incoming", "alumni"])
    )
    person = fields.Nested(PersonOut, required=True)
    program = fields.Nested(ProgramOut, required=True)
    institution = fields.Nested(
        InstitutionOut, required=True, allow_none=True, metadata={"description": "null: unknown"}
    )
    start_date = fields.Date(required=True)
    end_date = fields.Date(required=True, allow_none=True)
    departure_reason = fields.String(
        required=True, allow_none=True, validate=validate.OneOf(REASONS)
    )
    outcome = fields.String(required=True, allow_none=True)
    note = fields.String(required=True, allow_none=True)
    supervisors = fields.List(fields.Nested(SupervisorOut), required=True)
    milestones = fields.List(fields.Nested(MilestoneOut), required=True)


class MemberPageOut(PageOut):
    items = fields.List(fields.Nested(MemberOut), required=True)


class ProposalOut(Schema):
    id = fields.Integer(required=True, metadata={"description": "the proposed link's id"})
    position_id = fields.Integer(required=True)
    person = fields.String(required=True)
    program = fields.String(required=True)
    institution = fields.String(required=True)
    start_date = fields.Date(required=True, allow_none=True)
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    share = _decimal_text(required=True, metadata={"description": "percent"})
    proposed_by = fields.String(required=True)
    named = fields.String(required=True, metadata={"description": "the account it names"})
    state = fields.String(required=True, validate=validate.OneOf(LINK_STATES))
    proposed_at = fields.DateTime(required=True, allow_none=True)
    answered_at = fields.DateTime(required=True, allow_none=True)
    message = fields.String(required=True, allow_none=True)
    join_request = fields.Boolean(
        required=True,
        metadata={"description": "the named account asked to join a record the caller owns"},
    )
    etag = fields.String(required=True, metadata={"description": "send it as If-Match to answer"})


class ProposalPageOut(PageOut):
    items = fields.List(fields.Nested(ProposalOut), required=True)


class ChoiceOut(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)


class ProgramChoiceOut(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)


class ProfileMemberOut(Schema):
    name = fields.String(required=True)
    program = fields.String(required=True)
    institution = fields.String(required=True, allow_none=True)
    program_institution = fields.String(required=True)
    role = fields.String(required=True, allow_none=True)
    role_label = fields.String(required=True, allow_none=True)


class ProfileAlumnusOut(ProfileMemberOut):
    outcome = fields.String(required=True, allow_none=True)


class AuthorOut(Schema):
    name = fields.String(required=True)
    orcid = fields.String(required=True, allow_none=True)
    group_member = fields.Boolean(required=True)


class PublicationOut(Schema):
    title = fields.String(required=True)
    year = fields.Integer(required=True, allow_none=True)
    venue = fields.String(required=True, allow_none=True)
    url = fields.String(required=True, allow_none=True)
    authors = fields.List(fields.Nested(AuthorOut), required=True)


class ProfileOut(Schema):
    slug = fields.String(required=True)
    name = fields.String(required=True)
    title = fields.String(required=True, allow_none=True)
    positions = fields.List(fields.String(), required=True)
    department = fields.String(required=True, allow_none=True)
    biography = fields.String(required=True, allow_none=True)
    research_topics = fields.List(fields.String(), required=True)
    current_members = fields.List(fields.Nested(ProfileMemberOut), required=True)
    alumni = fields.List(fields.Nested(ProfileAlumnusOut), required=True)
    publications = fields.List(fields.Nested(PublicationOut), required=True)


class LoadOut(Schema):
    faculty_id = fields.Integer(required=True)
    name = fields.String(required=True)
    department = fields.String(required=True, allow_none=True)
    principal = fields.Integer(required=True)
    co_supervisor = fields.Integer(required=True)
    host = fields.Integer(required=True)
    total = fields.Integer(required=True)
    by_kind = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    weighted = _decimal_text(required=True)
    principal_cap = fields.Integer(required=True, allow_none=True)
    weighted_cap = _decimal_text(required=True, allow_none=True)
    over_cap = fields.Boolean(required=True)
    status = fields.String(required=True)


class LoadsPageOut(PageOut):
    as_of = fields.Date(required=True)
    items = fields.List(fields.Nested(LoadOut), required=True)


class RosterSupervisorOut(Schema):
    email = fields.String(
        required=True, allow_none=True, metadata={"description": "null for an external supervisor"}
    )
    name = fields.String(required=True, allow_none=True)
    institution = fields.String(required=True, allow_none=True)
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    share = fields.Float(required=True, allow_none=True, metadata={"description": "percent"})


class RosterRowOut(Schema):
    faculty_email = fields.String(required=True)
    name = fields.String(required=True)
    email = fields.String(required=True, allow_none=True)
    program = fields.String(required=True)
    institution = fields.String(
        required=True, allow_none=True, metadata={"description": "null: unknown"}
    )
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    start_date = fields.Date(required=True)
    end_date = fields.Date(required=True, allow_none=True)
    status = fields.String(
        required=True, validate=validate.OneOf(["current", "incoming", "alumni"])
    )
    outcome = fields.String(required=True, allow_none=True)
    share = _decimal_text(required=True, metadata={"description": "percent"})
    other_supervisors = fields.List(fields.Nested(RosterSupervisorOut), required=True)
    orcid = fields.String(required=True, allow_none=True)
    note = fields.String(required=True, allow_none=True)
    departure_reason = fields.String(
        required=True, allow_none=True, validate=validate.OneOf(REASONS)
    )


class RosterPageOut(PageOut):
    items = fields.List(fields.Nested(RosterRowOut), required=True)


class ProblemOut(Schema):
    """RFC 9457 problem details."""

    type = fields.String(required=True)
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String()
    instance = fields.String()
    errors = fields.Raw(metadata={"description": "per-field messages of an invalid request"})
    warnings = fields.List(fields.String())
