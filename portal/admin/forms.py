"""Administration forms: loads filter, programs, caps, accounts and institutions (no DB access)."""

from __future__ import annotations

from datetime import date

from flask_babel import gettext as _
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    EmailField,
    Field,
    HiddenField,
    PasswordField,
    SelectField,
    StringField,
    SubmitField,
)
from wtforms.validators import DataRequired, Length, ValidationError

from portal.converters import parse_database_id, parse_page
from portal.emails import ValidEmail
from portal.forms import (
    LocalizedNumberField,
    ReportFilterForm,
    SubmissionKeyField,
    select_choices,
)
from portal.labels import KIND_LABELS
from portal.labels import lazy_gettext as _l
from portal.loads import UNKNOWN_INSTITUTION
from portal.models import ProgramKind

KIND_CHOICES = select_choices((kind.value, KIND_LABELS[kind]) for kind in ProgramKind)
# The loads filter's choice for supervisees whose institution is unknown.
UNKNOWN_CHOICE = "unknown"


def _page_number(value) -> int:
    """The page asked for in the query string: 1 when absent or not a number (never an error)."""
    return parse_page(None if value is None else str(value))


class LoadsFilterForm(ReportFilterForm):
    """The GET form above the loads table: the day, the filters, the sort and the page."""

    institution = SelectField(
        _l("Supervisee institution"),
        choices=select_choices([("", _l("All institutions"))]),
        validate_choice=False,
    )
    sort = HiddenField()
    dir = HiddenField()
    page = HiddenField(filters=[_page_number])
    submit = SubmitField(_l("Show loads"))

    def validate_institution(self, field: Field) -> None:
        if field.data == UNKNOWN_CHOICE:
            return
        listed = {str(choice.value) for choice in field.choices}
        if field.data and (parse_database_id(str(field.data)) is None or field.data not in listed):
            # Not an id, or no longer an institution (merged into another since the link).
            raise ValidationError(_("Choose an institution from the list."))

    def report_arguments(self, today: date) -> dict:
        """What the validated form asks of the loads report (an empty day means today)."""
        return {
            "as_of": self.as_of_day(today),
            "sort": self.sort.data or None,
            "descending": self.dir.data == "desc",
            "department": self.department.data or None,
            "institution_id": UNKNOWN_INSTITUTION
            if self.institution.data == UNKNOWN_CHOICE
            else parse_database_id(self.institution.data or None),
            "page": self.page.data,
        }


class ProgramForm(FlaskForm):
    name = StringField(
        _l("Name"),
        validators=[DataRequired(message=_l("A program name is required.")), Length(max=100)],
    )
    name_fr = StringField(_l("French name"), validators=[Length(max=100)])
    kind = SelectField(_l("Kind"), choices=KIND_CHOICES)
    weight = LocalizedNumberField(_l("Weight"))
    counts_toward_load = BooleanField(_l("Counts toward supervision load"))
    is_active = BooleanField(_l("Offered (shown in the group form)"), default=True)
    submission_key = SubmissionKeyField()
    submit = SubmitField(_l("Save program"))

    def validate_weight(self, field: Field) -> None:
        if field.data is None and not field.errors:
            raise ValidationError(_("Enter a weight such as 1 or 0.5."))


class CapsForm(FlaskForm):
    principal_cap = LocalizedNumberField(_l("Principal supervisions cap"), whole=True)
    weighted_cap = LocalizedNumberField(_l("Weighted load cap (%)"))
    submit = SubmitField(_l("Save caps"))


class AccountForm(FlaskForm):
    email = EmailField(
        _l("Email"),
        validators=[
            DataRequired(message=_l("Enter an email address.")),
            Length(max=254),
            ValidEmail(),
        ],
    )
    display_name = StringField(
        _l("Display name"),
        validators=[DataRequired(message=_l("Enter a display name.")), Length(max=200)],
    )
    account_type = SelectField(
        _l("Account type"),
        choices=select_choices([("faculty", _l("Faculty member")), ("admin", _l("Administrator"))]),
    )
    password = PasswordField(_l("Password"), validators=[Length(max=1024)])
    submit = SubmitField(_l("Create account"))


class PasswordResetForm(FlaskForm):
    password = PasswordField(_l("Password"), validators=[Length(max=1024)])
    submit = SubmitField(_l("Reset password"))


class RenameInstitutionForm(FlaskForm):
    name = StringField(
        _l("Name"),
        validators=[DataRequired(message=_l("An institution name is required.")), Length(max=200)],
    )
    submit = SubmitField(_l("Rename"))


class MergeInstitutionsForm(FlaskForm):
    duplicate_id = SelectField(_l("Duplicate to merge away"), coerce=int)
    keep_id = SelectField(_l("Institution to keep"), coerce=int)
    submit = SubmitField(_l("Merge"))


class BrandingForm(FlaskForm):
    """The institution's name, accent colour and logo; the colour rule is portal/branding.py's."""

    display_name = StringField(_l("Institution name"))
    accent_colour = StringField(_l("Accent colour"))
    logo = FileField(_l("Logo"), render_kw={"accept": "image/jpeg,image/png,image/webp"})
    remove_logo = BooleanField(_l("Remove the current logo"))
    submit = SubmitField(_l("Save branding"))
