"""Queries behind the public profile pages: only published profiles, only public fields.

Each page loads in a fixed number of queries, whatever the size of the group or publication list.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask import abort
from sqlalchemy import select
from sqlalchemy.orm import contains_eager, joinedload

from portal.extensions import db
from portal.group.queries import current_members
from portal.labels import ROLE_LABELS, english
from portal.models import Person, Position, Supervision, SupervisionRole, SupervisionState, User
from portal.people.publications import list_publications
from portal.security import is_safe_link

# The public page names only these roles; a host without a supervision role gets no label.
# In English: role_label is part of the public JSON; the page translates the role itself.
PUBLIC_ROLE_LABELS = {
    role: english(ROLE_LABELS[role])
    for role in (SupervisionRole.PRINCIPAL, SupervisionRole.CO_SUPERVISOR)
}


@dataclass(frozen=True)
class PublicMember:
    """A current group member as the public page shows them."""

    person_id: int
    name: str
    program: str
    institution: str
    role: str | None  # "principal", "co-supervisor", or None for no supervision role
    role_label: str | None

    @property
    def program_institution(self) -> str:
        return f"{self.program} - {self.institution}"


@dataclass(frozen=True)
class PublicAlumnus:
    person_id: int
    name: str
    program: str
    institution: str
    role: str | None
    role_label: str | None
    outcome: str | None

    @property
    def program_institution(self) -> str:
        return f"{self.program} - {self.institution}"


@dataclass(frozen=True)
class PublicAuthor:
    name: str
    orcid: str | None
    group_member: bool


@dataclass(frozen=True)
class PublicPublication:
    title: str
    year: int | None
    venue: str | None
    url: str | None
    authors: tuple[PublicAuthor, ...]


@dataclass(frozen=True)
class PublicProfile:
    """Everything a published profile page shows, and nothing else."""

    slug: str
    name: str
    title: str | None
    department: str | None
    biography: str | None
    research_topics: tuple[str, ...]
    portrait_digest: str | None
    current_members: tuple[PublicMember, ...]
    alumni: tuple[PublicAlumnus, ...]
    publications: tuple[PublicPublication, ...]

    @property
    def title_lines(self) -> list[str]:
        return [line.strip() for line in (self.title or "").splitlines() if line.strip()]

    @property
    def department_line(self) -> str | None:
        return department_once(self.department, self.title_lines)

    @property
    def initials(self) -> str:
        return initials(self.name)

    @property
    def biography_paragraphs(self) -> list[str]:
        text = (self.biography or "").replace("\r\n", "\n").replace("\r", "\n")
        return [paragraph.strip() for paragraph in text.split("\n\n") if paragraph.strip()]


@dataclass(frozen=True)
class ProfileSummary:
    """One line of the index of published profiles."""

    slug: str
    name: str
    title: str | None
    department: str | None
    portrait_digest: str | None = None

    @property
    def department_line(self) -> str | None:
        return department_once(self.department, [self.title] if self.title else [])

    @property
    def initials(self) -> str:
        return initials(self.name)


def department_once(department: str | None, title_lines: list[str]) -> str | None:
    """The department, unless a title line already names it: it is printed once."""
    if not department:
        return None
    key = department.casefold()
    return None if any(key in line.casefold() for line in title_lines) else department


def initials(name: str) -> str:
    """'HT' for 'Prof. Hélène Tremblay': shown in place of a missing portrait."""
    words = [word for word in name.replace("-", " ").split() if not word.endswith(".")]
    letters = [word[0] for word in (words[:1] + words[-1:] if len(words) > 1 else words)]
    return "".join(letters).upper()


def _published_query():
    return (
        select(User)
        .where(User.profile_published.is_(True), User.is_active.is_(True), User.slug.is_not(None))
        .options(joinedload(User.portrait))
    )


def _portrait_digest(user: User) -> str | None:
    return user.portrait.digest if user.portrait is not None else None


def published_profile_id(slug: str) -> int | None:
    """The account id behind a published profile address, or None."""
    query = select(User.id).where(
        User.slug == slug, User.profile_published.is_(True), User.is_active.is_(True)
    )
    return db.session.scalar(query)


def account_or_404(user_id: int) -> User:
    """The account with this id (with its portrait), or a 404."""
    user = db.session.scalar(
        select(User).where(User.id == user_id).options(joinedload(User.portrait))
    )
    if user is None:
        abort(404)
    return user


def published_profiles() -> list[ProfileSummary]:
    """Every published profile, by name (one query)."""
    users = db.session.scalars(_published_query().order_by(User.display_name, User.id))
    return [
        ProfileSummary(
            slug=user.slug,
            name=user.display_name,
            title=_first_line(user.title),
            department=user.department,
            portrait_digest=_portrait_digest(user),
        )
        for user in users
    ]


def _first_line(text: str | None) -> str | None:
    return next((line.strip() for line in (text or "").splitlines() if line.strip()), None)


def _role(role: SupervisionRole) -> tuple[str | None, str | None]:
    label = PUBLIC_ROLE_LABELS.get(role)
    return (role.value if label else None), label


def alumni(faculty: User, today: date) -> list[PublicAlumnus]:
    """The faculty's former members (end date passed, not archived), latest departures first."""
    query = (
        select(Supervision)
        .join(Supervision.position)
        .join(Position.person)
        .join(Position.program)
        .join(Position.institution)
        .where(
            Supervision.supervisor_id == faculty.id,
            Supervision.state == SupervisionState.CONFIRMED,
            Position.archived_at.is_(None),
            Position.is_alumni_on(today),
        )
        .options(
            contains_eager(Supervision.position).contains_eager(Position.person),
            contains_eager(Supervision.position).contains_eager(Position.program),
            contains_eager(Supervision.position).contains_eager(Position.institution),
        )
        .order_by(Position.end_date.desc(), Person.full_name, Position.id)
    )
    rows = []
    for link in db.session.scalars(query).unique():
        position = link.position
        role, label = _role(link.role)
        rows.append(
            PublicAlumnus(
                person_id=position.person_id,
                name=position.person.full_name,
                program=position.program.name,
                institution=position.institution.name,
                role=role,
                role_label=label,
                outcome=position.outcome,
            )
        )
    return rows


def public_profile(slug: str, today: date) -> PublicProfile | None:
    """The published profile at `slug`, or None when there is none or it is not published."""
    user = db.session.scalar(_published_query().where(User.slug == slug))
    if user is None:
        return None
    current = []
    for row in current_members(user, today):
        role, label = _role(row.role)
        current.append(
            PublicMember(
                person_id=row.person_id,
                name=row.name,
                program=row.program,
                institution=row.institution,
                role=role,
                role_label=label,
            )
        )
    former = alumni(user, today)
    members = {row.person_id for row in current} | {row.person_id for row in former}
    publications = tuple(
        PublicPublication(
            title=publication.title,
            year=publication.year,
            venue=publication.venue,
            url=publication.url if is_safe_link(publication.url) else None,
            authors=tuple(
                PublicAuthor(
                    name=author.name, orcid=author.orcid, group_member=author.person_id in members
                )
                for author in publication.authors
            ),
        )
        for publication in list_publications(user)
    )
    return PublicProfile(
        slug=user.slug,
        name=user.display_name,
        title=user.title,
        department=user.department,
        biography=user.biography,
        research_topics=tuple(user.research_topics or ()),
        portrait_digest=_portrait_digest(user),
        current_members=tuple(current),
        alumni=tuple(former),
        publications=publications,
    )


def profile_json(profile: PublicProfile) -> dict:
    """The public profile as a JSON-ready dict, for an institute website to embed."""
    return {
        "slug": profile.slug,
        "name": profile.name,
        "title": profile.title,
        "positions": profile.title_lines,
        "department": profile.department,
        "biography": profile.biography,
        "research_topics": list(profile.research_topics),
        "current_members": [
            {
                "name": m.name,
                "program": m.program,
                "institution": m.institution,
                "program_institution": m.program_institution,
                "role": m.role,
                "role_label": m.role_label,
            }
            for m in profile.current_members
        ],
        "alumni": [
            {
                "name": a.name,
                "program": a.program,
                "institution": a.institution,
                "program_institution": a.program_institution,
                "role": a.role,
                "role_label": a.role_label,
                "outcome": a.outcome,
            }
            for a in profile.alumni
        ],
        "publications": [
            {
                "title": p.title,
                "year": p.year,
                "venue": p.venue,
                "url": p.url,
                "authors": [
                    {"name": a.name, "orcid": a.orcid, "group_member": a.group_member}
                    for a in p.authors
                ],
            }
            for p in profile.publications
        ],
    }
