"""Matching people's names however they are written: "Last, First", "First Last", "Dr. First Last"."""

from __future__ import annotations

import re
import unicodedata

from portal.identifiers import name_key

# Courtesy titles that a roster keeps ("Dr. Rafael Quiñones") but an author list does not.
HONORIFICS = frozenset(
    {
        "dr",
        "dre",
        "prof",
        "professor",
        "professeur",
        "professeure",
        "mr",
        "mrs",
        "ms",
        "mme",
        "m",
        "sir",
        "dame",
    }
)
PARENTHESISED = re.compile(r"\([^)]*\)")
# Letters that Unicode does not decompose into a base letter plus an accent.
LETTERS_WITHOUT_DECOMPOSITION = str.maketrans(
    {
        "ß": "ss",
        "æ": "ae",
        "Æ": "ae",
        "œ": "oe",
        "Œ": "oe",
        "ø": "o",
        "Ø": "o",
        "ł": "l",
        "Ł": "l",
        "đ": "d",
        "Đ": "d",
        "ð": "d",
        "Ð": "d",
        "þ": "th",
        "Þ": "th",
        "ı": "i",
    }
)


def _words_without_honorifics(name: str) -> list[str]:
    # Full stops go so that "Dr.", "Dr" and "J. Smith" / "J Smith" compare equal.
    words = name_key(PARENTHESISED.sub(" ", name).replace(".", " ")).split()
    while len(words) > 1 and words[0] in HONORIFICS:
        words.pop(0)
    return words


def person_name_key(name: str) -> str:
    """The key of a name written "First Last", without titles or nicknames in parentheses."""
    return " ".join(_words_without_honorifics(name))


def author_name_keys(name: str) -> set[str]:
    """Keys an author name may match: as written, and "Last, First" turned into "First Last"."""
    keys = {person_name_key(name)}
    parts = [part.strip() for part in name.split(",")]
    if len(parts) == 2 and all(parts):
        keys.add(person_name_key(f"{parts[1]} {parts[0]}"))
    elif len(parts) == 3 and all(parts):  # "von Last, Jr., First"
        keys.add(person_name_key(f"{parts[2]} {parts[0]} {parts[1]}"))
    keys.discard("")
    return keys


def slugify(text: str) -> str:
    """A URL name: 'Prof. Hélène Tremblay-Okafor' -> 'helene-tremblay-okafor'."""
    words = _words_without_honorifics(text)
    plain = " ".join(words).translate(LETTERS_WITHOUT_DECOMPOSITION)
    plain = unicodedata.normalize("NFKD", plain).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", plain.lower()).strip("-")
