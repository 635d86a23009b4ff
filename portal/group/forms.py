"""Forms of the group pages: add/edit a member, move to alumni, and the bare action buttons.

Choices (programs, supervisors) are set by the view from a service: no database access here.
"""

from __future__ import annotations

from flask_babel import gettext as _
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from portal.converters import MAX_DATABASE_ID, parse_database_id
from portal.emails import ValidEmail
from portal.forms import LocalizedNumberField, SubmissionKeyField, select_choices
from portal.group.operations import (
    MemberData,
    MemberError,
    SupervisorEntry,
    check_day,
    check_distinct_supervisors,
    check_end_after_start,
    check_one_principal,
    check_orcid,
    check_share_total,
    supervisor_key,
    typed_shares,
)
from portal.identifiers import clean_text, normalise_email
from portal.labels import DEPARTURE_LABELS, ROLE_LABELS
from portal.labels import lazy_gettext as _l
from portal.models import DepartureReason, SupervisionRole

ROLE_CHOICES = [(role.value, ROLE_LABELS[role]) for role in SupervisionRole]
DEPARTURE_CHOICES = [(reason.value, DEPARTURE_LABELS[reason]) for reason in DepartureReason]
EXTRA_SUPERVISOR_ROWS = 2
PROGRAM_CHANGE_CHOICES = [
    ("correct", _l("Correct a mistake (edit in place)")),
    (
        "change",
        _l("Change program from a date (keeps history)"),
    ),
]


def _optional_int(value):
    """An id typed in a form: None when empty, -1 (never an id) when not one a database holds."""
    if value in (None, ""):
        return None
    if isinstance(value, int):
        return value if 0 < value <= MAX_DATABASE_ID else -1
    return parse_database_id(str(value)) or -1  # -1: pre_validate reports it next to the field


def share_field(label) -> LocalizedNumberField:
    """A percentage typed in the page's language ("33,33" in French), from 0 to 100."""
    return LocalizedNumberField(
        label,
        places=2,
        invalid_message=_l("Enter the share as a number between 0 and 100."),
        validators=[
            Optional(),
            NumberRange(min=0, max=100, message=_l("A share is between %(min)s and %(max)s %%.")),
        ],
    )


def _check(rule, *arguments):
    """Run a domain rule for a validator: its MemberError becomes the field's error."""
    try:
        return rule(*arguments)
    except MemberError as error:
        raise ValidationError(error.message) from error


class ChoiceField(SelectField):
    """A select that says plainly what is wrong when a value is not among its choices."""

    def __init__(
        self,
        *args,
        choices=(),
        invalid_message: str = _l("Choose a value from the list."),
        **kwargs,
    ):
        super().__init__(*args, choices=select_choices(choices), **kwargs)
        self.invalid_message = invalid_message

    def pre_validate(self, form):
        if self.data not in {self.coerce(choice.value) for choice in self.choices}:
            raise ValidationError(self.invalid_message)


class SupervisorForm(Form):
    """One other supervisor: a faculty account, or the name of an external supervisor."""

    supervisor = ChoiceField(
        _l("Supervisor"),
        coerce=_optional_int,
        validate_choice=True,
        invalid_message=_l("Choose a supervisor from the list."),
    )
    external_name = StringField(
        _l("Or external supervisor"),
        validators=[Length(max=200, message=_l("At most 200 characters."))],
    )
    external_institution = StringField(
        _l("External supervisor's institution"),
        validators=[Length(max=200, message=_l("At most 200 characters."))],
    )
    role = ChoiceField(
        _l("Role"),
        choices=ROLE_CHOICES,
        default=SupervisionRole.CO_SUPERVISOR.value,
        invalid_message=_l("Choose a role from the list."),
    )
    share = share_field(_l("Share (%)"))

    @property
    def is_blank(self) -> bool:
        return not self.supervisor.data and not clean_text(self.external_name.data)

    def validate_external_name(self, field):
        if self.supervisor.data and clean_text(field.data):
            raise ValidationError(_("Choose an account or type a name, not both."))

    def validate_external_institution(self, field):
        if clean_text(field.data) and not clean_text(self.external_name.data):
            raise ValidationError(
                _("An institution goes with an external supervisor's name: type the name too.")
            )


class MemberForm(FlaskForm):
    """Add or edit a member of the group: the person, the position, and who supervises."""

    full_name = StringField(
        _l("Full name"),
        validators=[
            DataRequired(message=_l("Enter the person's full name.")),
            Length(max=200, message=_l("The full name must be at most 200 characters.")),
        ],
    )
    email = EmailField(
        _l("Email"),
        validators=[
            Optional(),
            Length(max=254, message=_l("The email must be at most 254 characters.")),
            ValidEmail(message=_l("Enter a valid email address, like name@example.org.")),
        ],
    )
    orcid = StringField(_l("ORCID iD"), validators=[Optional(), Length(max=60)])
    link_existing = BooleanField(_l("Link the existing person"))
    accept_over_cap = BooleanField(_l("Save anyway, over the cap"))
    accept_role = BooleanField(_l("Keep this role anyway"))
    different_person = BooleanField(_l("No, it is a different person"))
    same_person = HiddenField()  # set by the "Yes, the same person" buttons
    program = ChoiceField(
        _l("Program"), coerce=_optional_int, invalid_message=_l("Choose a program from the list.")
    )
    institution = StringField(
        _l("Institution"),
        validators=[
            Length(max=200, message=_l("The institution must be at most 200 characters.")),
        ],
    )
    institution_unknown = BooleanField(_l("No institution (unknown)"))
    role = ChoiceField(
        _l("Supervision role"),
        choices=ROLE_CHOICES,
        default=SupervisionRole.PRINCIPAL.value,
        invalid_message=_l("Choose a supervision role from the list."),
    )
    share = share_field(_l("Share (%)"))
    start_date = DateField(
        _l("Start date"), validators=[InputRequired(message=_l("Enter the start date."))]
    )
    # On the edit form: fix the record, or record a change of program as a new, linked stint.
    program_change = ChoiceField(
        _l("What the save does"),
        choices=PROGRAM_CHANGE_CHOICES,
        default="correct",
        invalid_message=_l("Choose “Correct a mistake” or “Change program”."),
    )
    change_from = DateField(_l("Change takes effect on"), validators=[Optional()])
    end_date = DateField(_l("End date"), validators=[Optional()])
    note = TextAreaField(
        _l("Note"),
        validators=[Length(max=300, message=_l("The note must be at most 300 characters."))],
    )
    supervisors = FieldList(
        FormField(SupervisorForm), min_entries=EXTRA_SUPERVISOR_ROWS, max_entries=10
    )
    version = HiddenField()
    submission_key = SubmissionKeyField()
    submit = SubmitField(_l("Save"))

    # The rules below are the domain's (group/operations.py): same checks, same messages, shown
    # next to the field before anything is saved.

    def validate_orcid(self, field):
        _check(check_orcid, field.data)

    def validate_institution(self, field):
        # Unknown is a choice made on purpose, never a field forgotten.
        typed = clean_text(field.data)
        if self.institution_unknown.data and typed:
            raise ValidationError(
                _("Leave the institution empty when it is unknown, or untick “No institution”.")
            )
        if not self.institution_unknown.data and not typed:
            raise ValidationError(_("Enter the institution, or tick “No institution (unknown)”."))

    def validate_start_date(self, field):
        _check(check_day, "start_date", field.data)

    def validate_change_from(self, field):
        _check(check_day, "change_from", field.data)

    def validate_end_date(self, field):
        _check(check_day, "end_date", field.data)
        _check(check_end_after_start, self.start_date.data, field.data)

    def validate_role(self, field):
        roles = [field.data] + [row.role.data for row in self._filled_rows()]
        _check(check_one_principal, roles)

    def validate_share(self, field):
        shares = _check(
            typed_shares, [field.data] + [row.share.data for row in self._filled_rows()]
        )
        if shares is not None:
            _check(check_share_total, shares)

    def validate_supervisors(self, field):
        keys = [
            supervisor_key(row.supervisor.data, row.external_name.data)
            for row in self._filled_rows()
        ]
        _check(check_distinct_supervisors, keys)

    def _filled_rows(self) -> list[SupervisorForm]:
        return [entry.form for entry in self.supervisors if not entry.form.is_blank]

    def set_choices(
        self, programs: list[tuple[int, str]], supervisors: list[tuple[int, str]]
    ) -> None:
        """Choices come from the view (which asks a service); the form never queries."""
        self.program.choices = select_choices([("", _("Choose a program…")), *programs])
        for entry in self.supervisors:
            entry.form.supervisor.choices = select_choices(
                [("", _("— none, or external —")), *supervisors]
            )

    def to_data(self) -> MemberData:
        """The validated values as the operations expect them."""
        return MemberData(
            full_name=clean_text(self.full_name.data),
            email=normalise_email(self.email.data) or None,
            orcid=check_orcid(self.orcid.data),
            program_id=self.program.data,
            institution=None
            if self.institution_unknown.data
            else clean_text(self.institution.data) or None,
            role=SupervisionRole(self.role.data),
            share=self.share.data,
            start_date=self.start_date.data,
            end_date=self.end_date.data,
            note=clean_text(self.note.data) or None,
            supervisors=[
                SupervisorEntry(
                    supervisor_id=row.supervisor.data,
                    external_name=clean_text(row.external_name.data) or None,
                    external_institution=clean_text(row.external_institution.data) or None,
                    role=SupervisionRole(row.role.data),
                    share=row.share.data,
                )
                for row in self._filled_rows()
            ],
            link_existing=bool(self.link_existing.data),
            same_person_id=_optional_int(self.same_person.data),
        )


class MoveToAlumniForm(FlaskForm):
    """Ending a membership: when, how, and where the person went next."""

    end_date = DateField(
        _l("End date"), validators=[InputRequired(message=_l("Enter the end date."))]
    )
    departure_reason = ChoiceField(
        _l("How they left"),
        choices=DEPARTURE_CHOICES,
        default=DepartureReason.GRADUATED.value,
        invalid_message=_l("Choose how they left from the list."),
    )
    outcome = StringField(
        _l("Where they went next"),
        validators=[Length(max=300, message=_l("At most 300 characters."))],
    )
    submit = SubmitField(_l("Move to alumni"))


class AnswerForm(FlaskForm):
    """Confirm or decline a proposal, with an optional message the proposer sees."""

    message = TextAreaField(
        _l("Message (optional)"),
        validators=[Length(max=500, message=_l("The message must be at most 500 characters."))],
    )
    # The record's version the page showed: an answer to terms changed since is not taken.
    version = HiddenField()


class OwnNoteForm(FlaskForm):
    """A confirmed co-supervisor's or host's own note on a record another group owns."""

    own_note = TextAreaField(
        _l("My note"),
        validators=[Length(max=300, message=_l("The note must be at most 300 characters."))],
    )
    submit = SubmitField(_l("Save my note"))


class EndInvolvementForm(FlaskForm):
    """ "I no longer co-supervise": ends the actor's own link; the owner is told."""

    message = TextAreaField(
        _l("Message to the owner (optional)"),
        validators=[Length(max=500, message=_l("The message must be at most 500 characters."))],
    )
    submit = SubmitField(_l("End my involvement"))


class TransferForm(FlaskForm):
    """Administrators: hand a record to another of its confirmed supervisors."""

    owner = ChoiceField(
        _l("New owner"),
        coerce=_optional_int,
        invalid_message=_l("Choose one of the record's confirmed supervisors."),
    )
    submit = SubmitField(_l("Transfer the record"))
