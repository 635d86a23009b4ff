"""Operations on a faculty member's profile fields: the URL name (slug) and the saved profile."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from portal.audit import record_event
from portal.extensions import db
from portal.models import User
from portal.people.names import slugify

SLUG_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
SLUG_MAX_LENGTH = 120


class SlugTakenError(Exception):
    """Another account already uses the requested profile address."""


def _slug_taken() -> str:
    return _("This profile address is already used by someone else. Choose another one.")


@dataclass
class ProfileData:
    """The profile fields a faculty member edits, already validated by the form."""

    title: str | None = None
    department: str | None = None
    biography: str | None = None
    research_topics: list[str] = field(default_factory=list)
    slug: str | None = None
    profile_published: bool = False
    # The daily e-mail digest of milestones overdue or due within 30 days.
    milestone_digest: bool = True


def profile_data(user: User) -> ProfileData:
    """The user's current profile fields."""
    return ProfileData(
        title=user.title,
        department=user.department,
        biography=user.biography,
        research_topics=list(user.research_topics or []),
        slug=user.slug,
        profile_published=user.profile_published,
        milestone_digest=user.milestone_digest,
    )


def slug_is_taken(slug: str, user: User) -> bool:
    """True when an account other than `user` has this profile address."""
    query = select(User.id).where(User.slug == slug, User.id != user.id)
    return db.session.scalar(query) is not None


def suggest_slug(user: User) -> str:
    """A free profile address made from the display name ('helene-tremblay-okafor', then '-2'...)."""
    base = slugify(user.display_name)[: SLUG_MAX_LENGTH - 4].strip("-") or f"profile-{user.id}"
    taken = set(
        db.session.scalars(select(User.slug).where(User.slug.startswith(base), User.id != user.id))
    )
    candidate, number = base, 1
    while candidate in taken:
        number += 1
        candidate = f"{base}-{number}"
    return candidate


def update_profile(user: User, data: ProfileData) -> User:
    """Save the profile fields and record an audit event; raises SlugTakenError on a used slug."""
    if data.slug and slug_is_taken(data.slug, user):
        raise SlugTakenError(_slug_taken())
    before = asdict(profile_data(user))
    try:
        # A savepoint, so that losing a race for the slug leaves the rest of the session usable.
        with db.session.begin_nested():
            user.title = data.title
            user.department = data.department
            user.biography = data.biography
            user.research_topics = list(data.research_topics)
            user.slug = data.slug
            user.profile_published = data.profile_published
            user.milestone_digest = data.milestone_digest
    except IntegrityError as error:
        raise SlugTakenError(_slug_taken()) from error
    record_event(user, "profile.update", user, before=before, after=asdict(profile_data(user)))
    db.session.flush()
    return user
