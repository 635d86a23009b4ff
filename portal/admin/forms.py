"""Administration forms: loads filter, programs, caps, accounts and institutions (no DB access)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from flask_wtf import FlaskForm
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

from portal.models import ProgramKind

KIND_CHOICES = [(kind.value, kind.label) for kind in ProgramKind]


class _ParsedField(StringField):
    """A text input parsed into a value; a clear message when it cannot be, empty = None."""

    invalid_message = "Enter a valid value."

    def parse(self, text: str):  # pragma: no cover - overridden
        raise NotImplementedError

    def process_formdata(self, valuelist):
        self.raw_text = valuelist[0].strip() if valuelist else ""
        if not self.raw_text:
            self.data = None
            return
        try:
            self.data = self.parse(self.raw_text)
        except (ValueError, InvalidOperation):
            self.data = None
            raise ValueError(self.invalid_message) from None

    def _value(self):
        if getattr(self, "raw_text", None) is not None and self.raw_data:
            return self.raw_text
        return "" if self.data is None else str(self.data)


class WholeNumberField(_ParsedField):
    invalid_message = "Enter a whole number such as 8, or leave it empty."

    def parse(self, text: str) -> int:
        return int(text)


class NumberField(_ParsedField):
    invalid_message = "Enter a number such as 300 or 0.5, or leave it empty."

    def parse(self, text: str) -> Decimal:
        value = Decimal(text.replace(",", "."))
        if not value.is_finite():
            raise ValueError(text)
        return value


class LoadsFilterForm(FlaskForm):
    """The GET form above the loads table."""

    class Meta:
        csrf = False

    as_of = StringField("As of")
    department = SelectField("Department", choices=[("", "All departments")], validate_choice=False)
    institution = SelectField("Supervisee institution", choices=[("", "All institutions")],
                              validate_choice=False)
    sort = HiddenField()
    dir = HiddenField()
    submit = SubmitField("Show loads")


class ProgramForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(message="A program name is required."),
                                           Length(max=100)])
    kind = SelectField("Kind", choices=KIND_CHOICES)
    weight = NumberField("Weight")
    counts_toward_load = BooleanField("Counts toward supervision load")
    is_active = BooleanField("Offered (shown in the group form)", default=True)
    submit = SubmitField("Save program")

    def validate_weight(self, field: Field) -> None:
        if field.data is None and not field.errors:
            raise ValidationError("Enter a weight such as 1 or 0.5.")


class CapsForm(FlaskForm):
    principal_cap = WholeNumberField("Principal supervisions cap")
    weighted_cap = NumberField("Weighted load cap (%)")
    submit = SubmitField("Save caps")


class AccountForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(message="Enter an email address."),
                                            Length(max=254)])
    display_name = StringField("Display name",
                               validators=[DataRequired(message="Enter a display name."),
                                           Length(max=200)])
    account_type = SelectField("Account type", choices=[("faculty", "Faculty member"),
                                                        ("admin", "Administrator")])
    password = PasswordField("Password", validators=[Length(max=1024)])
    submit = SubmitField("Create account")


class PasswordResetForm(FlaskForm):
    password = PasswordField("Password", validators=[Length(max=1024)])
    submit = SubmitField("Reset password")


class ConfirmForm(FlaskForm):
    """An empty form that carries the CSRF token of a one-button action."""

    submit = SubmitField("Confirm")


class RenameInstitutionForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(message="An institution name is required."),
                                           Length(max=200)])
    submit = SubmitField("Rename")


class MergeInstitutionsForm(FlaskForm):
    duplicate_id = SelectField("Duplicate to merge away", coerce=int)
    keep_id = SelectField("Institution to keep", coerce=int)
    submit = SubmitField("Merge")
