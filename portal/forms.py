"""What every feature's forms share: select options built one way, numbers read one way."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Any

from babel.numbers import NumberFormatError, get_decimal_symbol, get_group_symbol, parse_decimal
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from wtforms import Field, HiddenField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import ValidationError

from portal.days import is_accepted_day, outside_days_message
from portal.i18n import number_text
from portal.labels import lazy_gettext as _l
from portal.submissions import new_submission_key


def select_choices(pairs: Iterable[tuple[Any, Any]]) -> list[SelectChoice]:
    """WTForms select options from (value, label) pairs (WTForms 3.4 drops plain tuples)."""
    return [SelectChoice(value, label) for value, label in pairs]


# ---------------------------------------------------------------------------------------------
# The GET form above a report (loads, progress): the day and the department.


class ReportFilterForm(FlaskForm):
    """A report's filter, read from the query string: "as of" a day (empty: today), a department.

    The view sets the department choices; a report's own filters are added by a subclass.
    """

    class Meta:
        csrf = False

    as_of = StringField(_l("As of"))
    department = SelectField(
        _l("Department"),
        choices=select_choices([("", _l("All departments"))]),
        validate_choice=False,
    )

    def validate_as_of(self, field: Field) -> None:
        text = (field.data or "").strip()
        if not text:
            return
        try:
            day = date.fromisoformat(text)
        except ValueError:
            raise ValidationError(
                _(
                    "%(text)s is not a date. Enter the date as YYYY-MM-DD, for example 2026-09-01.",
                    text=repr(text),
                )
            ) from None
        if not is_accepted_day(day):
            raise ValidationError(outside_days_message())

    def set_departments(self, departments: Iterable[str]) -> None:
        self.department.choices = select_choices(
            [("", _("All departments"))] + [(name, name) for name in departments]
        )

    def as_of_day(self, today: date) -> date:
        """The validated day; an empty field means `today`."""
        text = (self.as_of.data or "").strip()
        return date.fromisoformat(text) if text else today

    def department_name(self) -> str | None:
        return (self.department.data or "").strip() or None


# ---------------------------------------------------------------------------------------------
# Numbers as people type them, in the page's language.

# A space groups thousands in French; people type it as a plain, no-break or narrow no-break space.
SPACES = (" ", "\u00a0", "\u202f")
MAX_NUMBER_LENGTH = 40  # longer input is no share, weight or cap: refused before any parsing
_NUMBER_SHAPE = re.compile(r"^[+-]?[0-9., \u00a0\u202f]+$")
_GROUPED_INTEGER = re.compile(r"^[0-9]{1,3}(?:G[0-9]{3})*$")


class NumberInputError(ValueError):
    """The text is not a number in the page's language."""


class AmbiguousNumberError(NumberInputError):
    """The text could be read as two different numbers: it is refused, never guessed."""


def parse_localized_number(text: str, locale: Any) -> Decimal:
    """The number `text` stands for, written as `locale` writes numbers (Babel's symbols).

    English: "1,500" = 1500, "1.5" = 1.5. French: "33,33" = 33.33, "1 500" = 1500 (any kind
    of space). A separator that could be read two ways — "1,50" in English (odd grouping),
    "1.500" in French (a thousand or one and a half?), or both marks mixed in the wrong
    order — raises AmbiguousNumberError; anything else that is not a number, NumberInputError.
    """
    text = text.strip()
    if (
        len(text) > MAX_NUMBER_LENGTH
        or not _NUMBER_SHAPE.match(text)
        or not any(character.isdigit() for character in text)
    ):
        raise NumberInputError(text)
    decimal_mark = get_decimal_symbol(locale)
    group_mark = get_group_symbol(locale)
    if group_mark in SPACES:
        for space in SPACES:
            text = text.replace(space, "\u00a0")
        group_mark = "\u00a0"
    elif any(space in text for space in SPACES):
        raise NumberInputError(text)  # English does not group with spaces
    sign = text[0] if text[0] in "+-" else ""
    body = text[len(sign) :]
    # The mark this language neither groups with nor writes decimals with: in French, ".".
    foreign = next(
        (mark for mark in (".", ",") if mark not in (decimal_mark, group_mark) and mark in body),
        None,
    )
    if foreign is not None:
        after = body.rpartition(foreign)[2]
        if decimal_mark in body or group_mark in body or body.count(foreign) > 1 or len(after) == 3:
            raise AmbiguousNumberError(text)
        body = body.replace(foreign, decimal_mark)  # "1.5" or "0.25": only a decimal mark
    integer, _mark, fraction = body.partition(decimal_mark)
    if decimal_mark in fraction or group_mark in fraction:
        raise AmbiguousNumberError(text)
    if group_mark in integer and not _GROUPED_INTEGER.match(integer.replace(group_mark, "G")):
        raise AmbiguousNumberError(text)  # "1,50", "15,00", "1 50": not a grouping
    if not (integer.replace(group_mark, "") or fraction):
        raise NumberInputError(text)
    try:
        value = parse_decimal(sign + body, locale=locale, strict=True)
    except NumberFormatError as error:
        raise AmbiguousNumberError(text) from error
    if not value.is_finite():  # pragma: no cover - the shape check lets no NaN through
        raise NumberInputError(text)
    return value


class LocalizedNumberField(StringField):
    """A number typed as the page's language writes it (Babel), shown back the same way.

    Every form's shares, weights, caps and counts go through this one field. `whole` refuses
    decimals; `signed=False` refuses a sign; `places` fixes the decimals shown. Empty gives
    None. An ambiguous number is refused with a message saying how to write it, never guessed.
    """

    def __init__(
        self,
        label=None,
        validators=None,
        *,
        whole: bool = False,
        signed: bool = True,
        places: int | None = None,
        invalid_message: Any = None,
        **kwargs,
    ):
        super().__init__(label, validators, **kwargs)
        self.whole = whole
        self.signed = signed
        self.places = places
        self.invalid_message = invalid_message or (
            _l("Enter a whole number such as 8, or leave it empty.")
            if whole
            else _l("Enter a number such as 300 or 0.5, or leave it empty.")
        )
        self.raw_text: str | None = None

    def process_formdata(self, valuelist):
        self.raw_text = valuelist[0].strip() if valuelist else ""
        self.data = None
        if not self.raw_text:
            return
        locale = get_locale()
        try:
            value = parse_localized_number(self.raw_text, locale)
        except AmbiguousNumberError:
            raise ValueError(
                _(
                    "“%(text)s” could be read as two different numbers, so it was not saved. "
                    "Write numbers like %(example)s, with “%(mark)s” as the decimal mark.",
                    text=self.raw_text,
                    example=number_text(Decimal("1500.5")),
                    mark=get_decimal_symbol(locale),
                )
            ) from None
        except NumberInputError:
            raise ValueError(str(self.invalid_message)) from None
        if (self.whole and value != value.to_integral()) or (
            not self.signed and self.raw_text[0] in "+-"
        ):
            raise ValueError(str(self.invalid_message))
        self.data = int(value) if self.whole else value

    def _value(self):
        if self.raw_data and self.raw_text is not None:
            return self.raw_text  # what the user typed, shown again with its error
        if self.data is None or self.data == "":
            return ""
        return number_text(self.data, self.places)


class SubmissionKeyField(HiddenField):
    """The one-time key of a create form (portal/submissions.py): a fresh one each time the form
    is first shown, the same one when it is shown again with errors."""

    def __init__(self, label=None, validators=None, **kwargs):
        super().__init__(label, validators, default=new_submission_key, **kwargs)
