"""A faculty member's publications: checks shared by the form and BibTeX import, and the writes.

Authors are kept in order; an author whose ORCID iD or name matches a member of the owner's
group is linked to that person, so the public page can mark group members.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from urllib.parse import urlsplit

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from portal.audit import record_event
from portal.extensions import db
from portal.identifiers import clean_text, name_key, normalise_orcid
from portal.models import (
    Person,
    Position,
    Publication,
    PublicationAuthor,
    Supervision,
    SupervisionState,
    User,
)
from portal.people.names import author_name_keys, person_name_key
from portal.security import is_safe_link

TITLE_MAX_LENGTH = 500
VENUE_MAX_LENGTH = 300
URL_MAX_LENGTH = 500
AUTHOR_MAX_LENGTH = 200
MAX_AUTHORS = 500
EARLIEST_YEAR = 1900


class PublicationInputError(ValueError):
    """A value of a publication that cannot be saved; the message says what to fix."""


@dataclass
class AuthorData:
    name: str
    orcid: str | None = None


@dataclass
class PublicationData:
    """A publication as entered, already checked."""

    title: str
    year: int | None = None
    venue: str | None = None
    url: str | None = None
    authors: list[AuthorData] = field(default_factory=list)


def latest_allowed_year(today: date) -> int:
    """Publications may be dated up to next year (accepted, to appear)."""
    return today.year + 1


def check_year(text: str | int | None, today: date) -> int | None:
    """The year as a number, or None when empty; PublicationInputError when not a sensible year."""
    value = str(text).strip() if text is not None else ""
    if not value:
        return None
    if not value.isascii() or not value.isdigit():
        raise PublicationInputError(
            _("The year “%(value)s” is not a number; write it like 2024.", value=value)
        )
    latest = latest_allowed_year(today)
    # A year has four digits: a longer one is out of range before it is read (Python refuses
    # to read a number of more than 4,300 digits).
    digits = value.lstrip("0") or "0"  # "02024" is 2024
    year = int(digits) if len(digits) <= 4 else latest + 1
    if not EARLIEST_YEAR <= year <= latest:
        raise PublicationInputError(
            _(
                "The year must be between %(earliest)s and %(latest)s.",
                earliest=EARLIEST_YEAR,
                latest=latest,
            )
        )
    return year


def check_link(text: str | None) -> str | None:
    """The link when it is an http(s) address with a host, None when empty; else PublicationInputError."""
    value = (text or "").strip()
    if not value:
        return None
    if len(value) > URL_MAX_LENGTH:
        raise PublicationInputError(
            _("The link must be at most %(max)s characters.", max=URL_MAX_LENGTH)
        )
    if any(ch.isspace() or ord(ch) < 32 for ch in value):
        raise PublicationInputError(_("The link must not contain spaces."))
    parts = urlsplit(value)
    if parts.scheme.lower() not in {"http", "https"}:
        raise PublicationInputError(
            _(
                "The link must start with http:// or https:// (other kinds of links, such as "
                "javascript:, are not accepted)."
            )
        )
    if not is_safe_link(value):
        raise PublicationInputError(
            _("The link must include a web address, like https://doi.org/….")
        )
    return value


def check_text(
    text: str | None, what: str, max_length: int, *, required: bool = False
) -> str | None:
    """Trimmed text, None when empty; PublicationInputError when missing or too long."""
    value = clean_text(text)
    if not value:
        if required:
            raise PublicationInputError(
                _("Enter the title.") if what == "title" else _("Enter the venue.")
            )
        return None
    if len(value) > max_length:
        message = (
            _("The title must be at most %(max)s characters.", max=max_length)
            if what == "title"
            else _("The venue must be at most %(max)s characters.", max=max_length)
        )
        raise PublicationInputError(message)
    return value


def parse_author_lines(text: str | None) -> list[AuthorData]:
    """One author per line, in order, optionally "Name | ORCID iD"; PublicationInputError if wrong."""
    authors: list[AuthorData] = []
    for number, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        name_part, separator, orcid_part = line.partition("|")
        name = clean_text(name_part)
        if not name:
            raise PublicationInputError(
                _("Line %(number)s: the author's name is missing before “|”.", number=number)
            )
        if len(name) > AUTHOR_MAX_LENGTH:
            raise PublicationInputError(
                _(
                    "Line %(number)s: an author's name must be at most %(max)s characters.",
                    number=number,
                    max=AUTHOR_MAX_LENGTH,
                )
            )
        orcid = None
        if separator and orcid_part.strip():
            orcid = normalise_orcid(orcid_part)
            if orcid is None:
                raise PublicationInputError(
                    _(
                        "Line %(number)s: “%(orcid)s” is not a valid ORCID iD (it looks like "
                        "0000-0002-1825-0097).",
                        number=number,
                        orcid=orcid_part.strip(),
                    )
                )
        authors.append(AuthorData(name=name, orcid=orcid))
    if not authors:
        raise PublicationInputError(_("Enter at least one author, one per line."))
    if len(authors) > MAX_AUTHORS:
        raise PublicationInputError(
            _("A publication may list at most %(max)s authors.", max=MAX_AUTHORS)
        )
    return authors


def author_lines(publication: Publication) -> str:
    """The authors as the form shows them: one per line, "Name | ORCID" when there is one."""
    return "\n".join(f"{a.name} | {a.orcid}" if a.orcid else a.name for a in publication.authors)


# ---------------------------------------------------------------------------------------------
# Linking authors to group members.


@dataclass
class GroupIndex:
    """The owner's group members by ORCID iD and by name key (a key shared by two is ambiguous)."""

    by_orcid: dict[str, int]
    by_name: dict[str, set[int]]

    def match(self, author: AuthorData) -> int | None:
        if author.orcid and author.orcid in self.by_orcid:
            return self.by_orcid[author.orcid]
        candidates = {
            pid for key in author_name_keys(author.name) for pid in self.by_name.get(key, ())
        }
        return candidates.pop() if len(candidates) == 1 else None


def group_index(owner: User) -> GroupIndex:
    """Everyone who is or was in the owner's group (not archived), in one query: a confirmed
    link; a proposal not yet agreed, or declined, is in nobody's group."""
    query = (
        select(Person.id, Person.full_name, Person.orcid)
        .join(Position, Position.person_id == Person.id)
        .join(Supervision, Supervision.position_id == Position.id)
        .where(
            Supervision.supervisor_id == owner.id,
            Supervision.state == SupervisionState.CONFIRMED,
            Position.archived_at.is_(None),
            Person.archived_at.is_(None),
        )
        .distinct()
    )
    by_orcid: dict[str, int] = {}
    by_name: dict[str, set[int]] = defaultdict(set)
    for person_id, full_name, orcid in db.session.execute(query):
        if orcid:
            by_orcid[orcid] = person_id
        by_name[person_name_key(full_name)].add(person_id)
    return GroupIndex(by_orcid=by_orcid, by_name=dict(by_name))


# ---------------------------------------------------------------------------------------------
# Queries and writes; every function takes the owner and only touches the owner's rows.


def list_publications(owner: User) -> list[Publication]:
    """The owner's publications, newest first, with their authors (two queries)."""
    query = (
        select(Publication)
        .where(Publication.owner_id == owner.id)
        .options(selectinload(Publication.authors))
        .order_by(Publication.year.desc().nulls_last(), Publication.title, Publication.id)
    )
    return list(db.session.scalars(query))


def get_publication(owner: User, publication_id: int) -> Publication | None:
    """The owner's publication with this id, or None (also when it is someone else's)."""
    query = (
        select(Publication)
        .where(Publication.id == publication_id, Publication.owner_id == owner.id)
        .options(selectinload(Publication.authors))
    )
    return db.session.scalar(query)


def _snapshot(publication: Publication) -> dict:
    return {
        "title": publication.title,
        "year": publication.year,
        "venue": publication.venue,
        "url": publication.url,
        "authors": [
            {"name": a.name, "orcid": a.orcid, "person_id": a.person_id}
            for a in publication.authors
        ],
    }


def _set_fields(publication: Publication, data: PublicationData, index: GroupIndex) -> None:
    publication.title = data.title
    publication.year = data.year
    publication.venue = data.venue
    publication.url = data.url
    if publication.authors:
        publication.authors.clear()
        db.session.flush()  # the old author rows go before new ones reuse their positions
    for position, author in enumerate(data.authors, start=1):
        publication.authors.append(
            PublicationAuthor(
                position=position,
                name=author.name,
                orcid=author.orcid,
                person_id=index.match(author),
            )
        )


def add_publication(
    owner: User, data: PublicationData, index: GroupIndex | None = None
) -> Publication:
    """Create a publication of `owner`, linking authors to group members; audit and flush."""
    return add_publications(owner, [data], index)[0]


def add_publications(
    owner: User, entries: list[PublicationData], index: GroupIndex | None = None
) -> list[Publication]:
    """Create publications of `owner` (a BibTeX paste may hold hundreds), linking authors to
    group members; one flush writes them all, then each is audited."""
    index = index or group_index(owner)
    publications = []
    for data in entries:
        publication = Publication(owner_id=owner.id, title=data.title)
        db.session.add(publication)
        _set_fields(publication, data, index)
        publications.append(publication)
    db.session.flush()
    for publication in publications:
        record_event(
            owner, "publication.create", publication, before=None, after=_snapshot(publication)
        )
    return publications


def update_publication(owner: User, publication: Publication, data: PublicationData) -> Publication:
    """Replace the fields and authors of one of the owner's publications; audit and flush."""
    if publication.owner_id != owner.id:
        raise PermissionError("Not the owner's publication.")
    before = _snapshot(publication)
    _set_fields(publication, data, group_index(owner))
    db.session.flush()
    record_event(
        owner, "publication.update", publication, before=before, after=_snapshot(publication)
    )
    return publication


def delete_publication(owner: User, publication: Publication) -> None:
    """Delete one of the owner's publications (publications are the owner's own list, not records)."""
    if publication.owner_id != owner.id:
        raise PermissionError("Not the owner's publication.")
    record_event(
        owner, "publication.delete", publication, before=_snapshot(publication), after=None
    )
    db.session.delete(publication)
    db.session.flush()


def relink_authors(owner: User) -> int:
    """Match every author of the owner's publications against the group as it is now; flush.

    Returns how many authors changed link (people join the group after a paper is entered).
    """
    index = group_index(owner)
    changed = 0
    for publication in list_publications(owner):
        for author in publication.authors:
            person_id = index.match(AuthorData(author.name, author.orcid))
            if person_id != author.person_id:
                author.person_id = person_id
                changed += 1
    db.session.flush()
    return changed


def existing_publication_keys(owner: User) -> set[tuple[str, int | None]]:
    """(title key, year) of the owner's publications, to spot an entry imported twice."""
    query = select(Publication.title, Publication.year).where(Publication.owner_id == owner.id)
    return {(name_key(title), year) for title, year in db.session.execute(query)}
