"""Reading pasted BibTeX with bibtexparser 2: good entries become publications, bad ones reasons."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date

import bibtexparser
from bibtexparser.middlewares.names import (
    InvalidNameError,
    parse_single_name_into_parts,
    split_multiple_persons_names,
)
from bibtexparser.model import DuplicateBlockKeyBlock, Entry
from flask_babel import gettext as _
from pylatexenc.latex2text import LatexNodes2Text  # bibtexparser's own LaTeX decoder
from pylatexenc.latexwalker import get_default_latex_context_db

from portal.identifiers import clean_text, name_key
from portal.models import User
from portal.people.publications import (
    AUTHOR_MAX_LENGTH,
    MAX_AUTHORS,
    TITLE_MAX_LENGTH,
    VENUE_MAX_LENGTH,
    AuthorData,
    PublicationData,
    PublicationInputError,
    add_publications,
    check_link,
    check_text,
    check_year,
    existing_publication_keys,
    group_index,
)

ENTRY_KEY = re.compile(r"@\s*\w+\s*[{(]\s*([^,\s]+)\s*,")
VENUE_FIELDS = ("journal", "booktitle", "publisher", "school", "institution", "howpublished")
# The BibTeX parser logs every malformed block; the reasons are shown to the user instead.
logging.getLogger("bibtexparser").setLevel(logging.ERROR)


@dataclass(frozen=True)
class RejectedEntry:
    """A BibTeX entry that was not imported, and why."""

    key: str
    reason: str


@dataclass
class ParsedBibtex:
    accepted: list[tuple[str, PublicationData]]
    rejected: list[RejectedEntry]


_decoder = LatexNodes2Text(math_mode="verbatim")
# pylatexenc builds its table of macros for every text unless it is handed one: built once.
_LATEX_CONTEXT = get_default_latex_context_db()
# Text without any of these is the same once decoded (the LaTeX specials, and the marks that
# make ligatures: -- and --- dashes, `` and '' quotes, !` and ?`): most fields, read as typed.
_LATEX_MARKS = re.compile(r"[\\{}$&%~#^_`]|--|''")


def _decode(value: str) -> str:
    if _LATEX_MARKS.search(value) is None:
        return " ".join(clean_text(value).split())
    try:
        text = _decoder.latex_to_text(value, latex_context=_LATEX_CONTEXT)
    except Exception:  # noqa: BLE001 - a LaTeX oddity leaves the text as typed, braces dropped
        text = value.replace("{", "").replace("}", "")
    return " ".join(clean_text(text).split())


def _field(entry: Entry, name: str) -> str | None:
    found = entry.fields_dict.get(name)
    if found is None:
        # Field names are case-insensitive in BibTeX ("Title", "YEAR").
        found = next((f for f in entry.fields if f.key.lower() == name), None)
    if found is None or not isinstance(found.value, str):
        return None
    return found.value


def _authors(raw: str) -> list[AuthorData]:
    authors = []
    for raw_name in split_multiple_persons_names(raw):
        if raw_name.strip().lower() == "others":  # "and others" means et al.
            continue
        try:
            parts = parse_single_name_into_parts(raw_name)
        except InvalidNameError:  # "A, B, C, D", a trailing comma, an unmatched brace
            raise PublicationInputError(
                _("the author “%(name)s” cannot be read as a name", name=raw_name.strip()[:80])
            ) from None
        name = _decode(parts.merge_first_name_first)
        if not name:
            continue
        if len(name) > AUTHOR_MAX_LENGTH:
            raise PublicationInputError(
                _("an author's name is longer than %(max)s characters", max=AUTHOR_MAX_LENGTH)
            )
        authors.append(AuthorData(name=name))
    return authors


def _publication(entry: Entry, today: date) -> PublicationData:
    title = check_text(_decode(_field(entry, "title") or ""), "title", TITLE_MAX_LENGTH)
    if title is None:
        raise PublicationInputError(_("it has no title"))
    year = check_year(_decode(_field(entry, "year") or ""), today)
    venue_raw = next((v for v in (_field(entry, f) for f in VENUE_FIELDS) if v), None)
    venue = check_text(_decode(venue_raw or ""), "venue", VENUE_MAX_LENGTH)
    url = _field(entry, "url")
    doi = _field(entry, "doi")
    if not url and doi:
        url = "https://doi.org/" + re.sub(
            r"^(https?://(dx\.)?doi\.org/|doi:)", "", doi.strip(), flags=re.I
        )
    link = check_link(url.strip()) if url else None
    raw_authors = _field(entry, "author") or _field(entry, "editor") or ""
    authors = _authors(raw_authors)
    if not authors:
        raise PublicationInputError(_("it has no author"))
    if len(authors) > MAX_AUTHORS:
        raise PublicationInputError(_("it lists more than %(max)s authors", max=MAX_AUTHORS))
    return PublicationData(title=title, year=year, venue=venue, url=link, authors=authors)


def _reason(error: PublicationInputError) -> str:
    message = str(error)
    return message[0].lower() + message[1:] if message else _("it could not be read")


def parse_bibtex(text: str, today: date) -> ParsedBibtex:
    """Parse pasted BibTeX; each entry is either accepted as PublicationData or rejected with a reason."""
    library = bibtexparser.parse_string(text)
    accepted: list[tuple[str, PublicationData]] = []
    rejected: list[RejectedEntry] = []
    # Blocks in the order they were pasted, so that the report follows the user's text.
    for block in library.blocks:
        if isinstance(block, Entry):
            try:
                accepted.append((block.key, _publication(block, today)))
            except PublicationInputError as error:
                rejected.append(RejectedEntry(block.key, _reason(error)))
        elif isinstance(block, DuplicateBlockKeyBlock):
            rejected.append(
                RejectedEntry(
                    block.key,
                    _(
                        "the same key appears earlier in the "
                        "pasted text; only the first entry was read"
                    ),
                )
            )
        elif block in library.failed_blocks:
            match = ENTRY_KEY.search(block.raw or "")
            key = (
                match.group(1)
                if match
                else _("entry starting on line %(line)d", line=block.start_line + 1)
            )
            rejected.append(
                RejectedEntry(
                    key,
                    _(
                        "it is not well-formed BibTeX (check its braces, "
                        "quotes and the commas between fields)"
                    ),
                )
            )
    return ParsedBibtex(accepted=accepted, rejected=rejected)


@dataclass
class ImportReport:
    imported: list[tuple[str, PublicationData]]
    rejected: list[RejectedEntry]


def import_entries(owner: User, parsed: ParsedBibtex) -> ImportReport:
    """Add the accepted entries to the owner's publications, skipping ones already there; flush."""
    rejected = list(parsed.rejected)
    known = existing_publication_keys(owner)
    index = group_index(owner)
    imported = []
    for key, data in parsed.accepted:
        identity = (name_key(data.title), data.year)
        if identity in known:
            rejected.append(
                RejectedEntry(key, _("it is already in your publications (same title and year)"))
            )
            continue
        known.add(identity)
        imported.append((key, data))
    add_publications(owner, [data for _key, data in imported], index)
    return ImportReport(imported=imported, rejected=rejected)
