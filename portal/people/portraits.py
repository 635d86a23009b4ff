"""Operations on a faculty member's portrait: replace it, remove it, read it for serving."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import undefer

from portal.audit import record_event
from portal.extensions import db
from portal.images import CleanImage
from portal.models import StoredImage, User


class PortraitPermissionError(PermissionError):
    """The acting user may not change this account's portrait."""


def _portrait_facts(user: User) -> dict | None:
    image = user.portrait
    if image is None:
        return None
    return {"digest": image.digest, "content_type": image.content_type, "size": image.width}


def can_change_portrait(actor: User, user: User) -> bool:
    """The account's owner, or an administrator (who may take down an unsuitable picture)."""
    return actor.id == user.id or bool(actor.is_admin)


def _check(actor: User, user: User) -> None:
    if not can_change_portrait(actor, user):
        raise PortraitPermissionError(
            _("Only %(name)s or an administrator can change this portrait.", name=user.display_name)
        )


def set_portrait(actor: User, user: User, image: CleanImage) -> StoredImage:
    """Store `image` as the user's portrait, replacing (and deleting) any previous one."""
    _check(actor, user)
    before = _portrait_facts(user)
    previous = user.portrait
    stored = image.stored()
    db.session.add(stored)
    user.portrait = stored
    if previous is not None:
        db.session.delete(previous)
    db.session.flush()
    record_event(actor, "portrait.set", user, before=before, after=_portrait_facts(user))
    return stored


def remove_portrait(actor: User, user: User) -> bool:
    """Remove the user's portrait; False when there was none."""
    _check(actor, user)
    previous = user.portrait
    if previous is None:
        return False
    before = _portrait_facts(user)
    user.portrait = None
    db.session.delete(previous)
    db.session.flush()
    record_event(actor, "portrait.remove", user, before=before, after=None)
    return True


def portrait_image(user_id: int, digest: str | None) -> StoredImage | None:
    """The user's portrait with its bytes, when it is the one `digest` names (or any, if None)."""
    query = (
        select(StoredImage)
        .join(User, User.portrait_id == StoredImage.id)
        .where(User.id == user_id)
        .options(undefer(StoredImage.data))
    )
    image = db.session.scalar(query)
    if image is None or (digest is not None and digest != image.digest):
        return None
    return image
