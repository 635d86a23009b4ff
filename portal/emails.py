"""The one rule for an email address, used by every way in (login, accounts, members, import)."""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _
from wtforms.validators import ValidationError

from portal.identifiers import normalise_email

MAX_EMAIL_LENGTH = 254


class InvalidEmailError(ValueError):
    """The text is not an email address the portal accepts; the message says why."""


def check_email(text: str | None) -> str:
    """The normalised address, or InvalidEmailError: syntax and length, no DNS lookup."""
    email = normalise_email(text)
    if not email:
        raise InvalidEmailError(_("Enter an email address."))
    if len(email) > MAX_EMAIL_LENGTH:
        raise InvalidEmailError(
            _("The email must be at most %(max)s characters.", max=MAX_EMAIL_LENGTH)
        )
    try:
        validate_email(email, check_deliverability=False)
    except EmailNotValidError:
        raise InvalidEmailError(
            _(
                "%(email)s is not a valid email address. Write it like name@example.org.",
                email=repr(email[:80]),
            )
        ) from None
    return email


def is_valid_email(text: str | None) -> bool:
    try:
        check_email(text)
    except InvalidEmailError:
        return False
    return True


class ValidEmail:
    """WTForms validator running `check_email` (an empty field is left to Optional/DataRequired).

    `message` replaces check_email's own wording where a form says it its way.
    """

    def __init__(self, message=None) -> None:
        self.message = message

    def __call__(self, _form, field) -> None:
        if not (field.data or "").strip():
            return
        try:
            check_email(field.data)
        except InvalidEmailError as error:
            raise ValidationError(str(self.message or error)) from None
