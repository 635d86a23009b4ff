"""The one rule for an email address, used by every way in (login, accounts, members, import)."""

from __future__ import annotations

import re
from functools import lru_cache

from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email
from flask_babel import gettext as _
from wtforms.validators import ValidationError

from portal.identifiers import normalise_email

MAX_EMAIL_LENGTH = 254
# The commonest shape of address, which `validate_email` always accepts (tests/test_emails.py
# checks this against it): ASCII letters, digits and single `.`, `_`, `+`, `-` between them
# before the @; after it, dot-separated labels of letters and digits with single inner
# hyphens (so no Punycode, no "ab--"), ending in a letters-only top-level domain. Anything
# else is left to `validate_email`.
_PLAIN_ADDRESS = re.compile(
    r"[a-z0-9]+(?:[._+-][a-z0-9]+)*@(?:[a-z0-9]+(?:-[a-z0-9]+)*\.)+[a-z]+", re.ASCII
)
_SPECIAL_USE_SUFFIXES = tuple("." + name for name in SPECIAL_USE_DOMAIN_NAMES)


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
    if not _syntax_ok(email):
        raise InvalidEmailError(
            _(
                "%(email)s is not a valid email address. Write it like name@example.org.",
                email=repr(email[:80]),
            )
        )
    return email


@lru_cache(maxsize=4096)
def _syntax_ok(email: str) -> bool:
    """`validate_email`'s verdict on a normalised address (no DNS lookup), remembered per
    address: an import names the same faculty on thousands of rows."""
    if _is_plain_address(email):
        return True
    try:
        validate_email(email, check_deliverability=False)
    except EmailNotValidError:
        return False
    return True


def _is_plain_address(email: str) -> bool:
    """A `_PLAIN_ADDRESS` within the lengths `validate_email` allows (64 characters before the
    @, 253 after it, 63 per label) and not under a special-use domain it refuses."""
    if _PLAIN_ADDRESS.fullmatch(email) is None:
        return False
    local, domain = email.split("@")
    return (
        len(local) <= 64
        and len(domain) <= 253
        and all(len(label) <= 63 for label in domain.split("."))
        and not ("." + domain).endswith(_SPECIAL_USE_SUFFIXES)
    )


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
