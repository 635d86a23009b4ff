"""Normalised keys for names and checked identifiers (ORCID iD)."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

ORCID_PATTERN = re.compile(r"^(\d{4})-?(\d{4})-?(\d{4})-?(\d{3}[\dX])$")
ORCID_URL_PREFIXES = ("https://orcid.org/", "http://orcid.org/", "orcid.org/")
# Characters no text of the portal holds, wherever it comes from (form, query string, API,
# import): the control characters other than tab, line feed and carriage return, which nobody
# types on purpose (a NUL cannot be stored; a vertical tab pasted from a word processor makes
# the XLSX exports fail), and lone surrogates, which no UTF-8 text can encode.
FORBIDDEN_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def has_forbidden_characters(text: str) -> bool:
    return FORBIDDEN_CHARACTERS.search(text) is not None


def is_one_line_text(text: str) -> bool:
    """Whether a label (a display name, a token's name) is one line of text: no forbidden
    character, and no tab or line break either."""
    return not has_forbidden_characters(text) and not any(mark in text for mark in "\t\n\r")


# The stored keys' length (persons.name_key, institutions.name_key): a name's key can be longer
# than the name ("ß" is "ss", "ﬃ" is "ffi"), so a key is cut there, in Python as in the database.
NAME_KEY_LENGTH = 200


@lru_cache(maxsize=8192)
def name_key(name: str) -> str:
    """Case-, accent- and spacing-insensitive key: 'Université  de Montréal' -> 'universite de montreal'."""
    if name.isascii():
        # NFKD leaves ASCII as it is and no ASCII character is combining: the same key, sooner.
        return " ".join(name.casefold().split())[:NAME_KEY_LENGTH]
    decomposed = unicodedata.normalize("NFKD", name)
    without_accents = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(without_accents.casefold().split())[:NAME_KEY_LENGTH]


def normalise_email(text: str | None) -> str:
    """How the portal stores and compares addresses: NFC, trimmed, lower case."""
    return unicodedata.normalize("NFC", text or "").strip().lower()


def clean_text(value: str | None) -> str:
    """Trim and normalise to NFC so that the same name typed twice compares equal."""
    return unicodedata.normalize("NFC", (value or "").strip())


def normalise_orcid(value: str) -> str | None:
    """The ORCID iD in canonical 0000-0000-0000-000X form, or None when malformed or mistyped."""
    text = value.strip()
    for prefix in ORCID_URL_PREFIXES:
        if text.lower().startswith(prefix):
            text = text[len(prefix) :]
            break
    match = ORCID_PATTERN.match(text.upper())
    if not match:
        return None
    digits = "".join(match.groups())
    if orcid_check_digit(digits[:-1]) != digits[-1]:
        return None
    return "-".join(match.groups())


def orcid_check_digit(base_digits: str) -> str:
    """ISO 7064 11,2 check digit, as ORCID specifies it."""
    total = 0
    for digit in base_digits:
        total = (total + int(digit)) * 2
    result = (12 - total % 11) % 11
    return "X" if result == 10 else str(result)
