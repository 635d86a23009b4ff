"""Forms of student tracking: recording a milestone, plan steps, the progress filter (no DB)."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    Field,
    HiddenField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, ValidationError

from portal.forms import LocalizedNumberField, ReportFilterForm, select_choices
from portal.labels import lazy_gettext as _l
from portal.tracking.operations import NAME_MAX_LENGTH, NOTE_MAX_LENGTH, REASON_MAX_LENGTH


class _Versioned(FlaskForm):
    """The milestone's version when the page was opened: a stale change is refused, not lost."""

    version = HiddenField()

    def expected_version(self) -> int:
        try:
            return int(self.version.data)
        except (TypeError, ValueError):
            return -1


class DoneForm(_Versioned):
    done_on = DateField(
        _l("Done on"), validators=[InputRequired(message=_l("Enter the day it was done."))]
    )
    submit = SubmitField(_l("Mark done"))


class WaiveForm(_Versioned):
    waived_reason = StringField(
        _l("Reason for waiving"),
        validators=[
            InputRequired(message=_l("Give a reason.")),
            Length(max=REASON_MAX_LENGTH, message=_l("Keep the reason short.")),
        ],
    )
    submit = SubmitField(_l("Waive"))


class ExtendForm(_Versioned):
    due_date = DateField(
        _l("New due date"), validators=[InputRequired(message=_l("Enter the new due date."))]
    )
    reason = StringField(
        _l("Reason for the new date"),
        validators=[
            InputRequired(message=_l("Give a reason.")),
            Length(max=REASON_MAX_LENGTH, message=_l("Keep the reason short.")),
        ],
    )
    submit = SubmitField(_l("Move the date"))


class NoteForm(_Versioned):
    note = TextAreaField(
        _l("Milestone note"),
        validators=[Length(max=NOTE_MAX_LENGTH, message=_l("Keep the note short."))],
    )
    submit = SubmitField(_l("Save the note"))


class ReopenForm(_Versioned):
    submit = SubmitField(_l("Reopen"))


def months_field(label) -> LocalizedNumberField:
    """A whole number of months (no sign); empty gives None; anything else a clear message."""
    return LocalizedNumberField(
        label,
        whole=True,
        signed=False,
        invalid_message=_l("Enter a whole number of months such as 12, or leave it empty."),
    )


class PlanItemForm(FlaskForm):
    name_en = StringField(
        _l("Name in English"),
        validators=[
            InputRequired(message=_l("Give the milestone a name.")),
            Length(max=NAME_MAX_LENGTH, message=_l("Keep the name short.")),
        ],
    )
    name_fr = StringField(
        _l("Name in French"),
        validators=[
            InputRequired(message=_l("Give the milestone a name.")),
            Length(max=NAME_MAX_LENGTH, message=_l("Keep the name short.")),
        ],
    )
    due_months = months_field(_l("Due (months after the start)"))
    repeat_months = months_field(_l("Repeats every (months)"))
    sort_order = LocalizedNumberField(
        _l("Position in the list"),
        whole=True,
        signed=False,
        invalid_message=_l("Enter a whole number such as 3, or leave it empty."),
    )
    submit = SubmitField(_l("Save the milestone"))


class DurationForm(FlaskForm):
    expected_duration_months = months_field(_l("Expected duration (months)"))
    submit = SubmitField(_l("Save the duration"))


class ProgressFilterForm(ReportFilterForm):
    """The GET form above the progress report."""

    program = SelectField(
        _l("Program"),
        choices=select_choices([("", _l("All programs"))]),
        validate_choice=False,
    )
    submit = SubmitField(_l("Show progress"))

    def validate_program(self, field: Field) -> None:
        if field.data and field.data not in {str(choice.value) for choice in field.choices}:
            raise ValidationError(_("Choose a program from the list."))

    def program_id(self) -> int | None:
        return int(self.program.data) if self.program.data else None
