"""Writes of student tracking: recording milestones, editing plans, calendar feeds, the digest.

Every operation checks who may do it, does the work, writes the audit event (a milestone's on
its position, so that it shows in the member's history) and flushes; the caller commits.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from portal.audit import record_event
from portal.days import is_accepted_day, outside_days_message
from portal.extensions import db
from portal.identifiers import clean_text
from portal.milestones import can_record_milestones, next_occurrence
from portal.models import (
    Milestone,
    MilestoneExtension,
    MilestonePlanItem,
    MilestoneStatus,
    Program,
    User,
    utcnow,
)

REASON_MAX_LENGTH = 300
NOTE_MAX_LENGTH = 500
NAME_MAX_LENGTH = 150
MAX_MONTHS = 240  # twenty years: no plan step is further away
MAX_SORT_ORDER = 1000  # a plan's steps are a few dozen at most


class TrackingError(ValueError):
    """A request the rules refuse; `field_name` says which input the message belongs to."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.field_name = field_name
        self.message = message


class NotAllowedError(PermissionError):
    """The actor may read this milestone but not record it."""


class StaleMilestoneError(TrackingError):
    """The milestone changed since the form was opened."""

    def __init__(self) -> None:
        super().__init__(
            "version",
            _(
                "This milestone was changed by someone else since you opened the page. "
                "Nothing was saved; look at it again and repeat your change."
            ),
        )


# ---------------------------------------------------------------------------------------------
# Recording milestones.


def snapshot(milestone: Milestone) -> dict[str, Any]:
    """A milestone as its audit events store it (English name: the trail is language-neutral)."""
    return {
        "milestone": milestone.name_en,
        "due_date": milestone.due_date.isoformat() if milestone.due_date else None,
        "status": milestone.status.value,
        "done_on": milestone.done_on.isoformat() if milestone.done_on else None,
        "waived_reason": milestone.waived_reason,
        "milestone_note": milestone.note,
    }


def _check(actor: User, milestone: Milestone, expected_version: int | None) -> None:
    if not can_record_milestones(actor, milestone.position):
        raise NotAllowedError()
    if expected_version is not None and milestone.version != expected_version:
        raise StaleMilestoneError()


def _check_day(day: date | None, field_name: str) -> date:
    if day is None:
        raise TrackingError(field_name, _("Enter a date as YYYY-MM-DD, for example 2026-09-01."))
    if not is_accepted_day(day):
        raise TrackingError(field_name, outside_days_message())
    return day


def _reason(text: str | None, field_name: str = "reason") -> str:
    reason = clean_text(text or "")
    if not reason:
        raise TrackingError(field_name, _("Give a reason."))
    if len(reason) > REASON_MAX_LENGTH:
        raise TrackingError(
            field_name,
            _("Keep the reason under %(count)s characters.", count=REASON_MAX_LENGTH + 1),
        )
    return reason


def _record(
    actor: User, action: str, milestone: Milestone, before: dict[str, Any], **extra: Any
) -> None:
    milestone.updated_at = utcnow()
    db.session.flush()
    after = {**snapshot(milestone), **extra}
    record_event(actor, action, milestone.position, before=before, after=after)
    db.session.flush()


def _must_be_open(milestone: Milestone) -> None:
    if milestone.status != MilestoneStatus.OPEN:
        raise TrackingError(
            "status",
            _("This milestone is already closed; reopen it first to change it."),
        )


def mark_done(
    actor: User, milestone: Milestone, done_on: date | None, today: date, expected_version=None
) -> Milestone | None:
    """Record that a milestone was completed on `done_on`; returns the next occurrence, if any."""
    _check(actor, milestone, expected_version)
    _must_be_open(milestone)
    done_on = _check_day(done_on, "done_on")
    if done_on > today:
        raise TrackingError("done_on", _("The completion date cannot be in the future."))
    if done_on < milestone.position.start_date:
        raise TrackingError(
            "done_on",
            _(
                "The completion date cannot be before the position's start (%(start)s).",
                start=milestone.position.start_date.isoformat(),
            ),
        )
    before = snapshot(milestone)
    milestone.status = MilestoneStatus.DONE
    milestone.done_on = done_on
    _record(actor, "milestone-done", milestone, before)
    return _following(milestone)


def waive(
    actor: User, milestone: Milestone, reason: str | None, expected_version=None
) -> Milestone | None:
    """Record that a milestone does not apply, and why; returns the next occurrence, if any."""
    _check(actor, milestone, expected_version)
    _must_be_open(milestone)
    reason = _reason(reason)
    before = snapshot(milestone)
    milestone.status = MilestoneStatus.WAIVED
    milestone.waived_reason = reason
    _record(actor, "milestone-waived", milestone, before)
    return _following(milestone)


def _following(milestone: Milestone) -> Milestone | None:
    following = next_occurrence(milestone)
    db.session.flush()
    return following


def reopen(actor: User, milestone: Milestone, expected_version=None) -> None:
    """Undo done or waived (a mistaken click): the milestone is open again."""
    _check(actor, milestone, expected_version)
    if milestone.status == MilestoneStatus.OPEN:
        raise TrackingError("status", _("This milestone is already open."))
    before = snapshot(milestone)
    milestone.status = MilestoneStatus.OPEN
    milestone.done_on = None
    milestone.waived_reason = None
    _record(actor, "milestone-reopened", milestone, before)


def extend(
    actor: User,
    milestone: Milestone,
    new_date: date | None,
    reason: str | None,
    expected_version=None,
) -> None:
    """Move an open milestone's due date, with the reason; the extension is kept in its history."""
    _check(actor, milestone, expected_version)
    _must_be_open(milestone)
    new_date = _check_day(new_date, "due_date")
    reason = _reason(reason)
    if new_date == milestone.due_date:
        raise TrackingError("due_date", _("The milestone is already due on that date."))
    if new_date < milestone.position.start_date:
        raise TrackingError(
            "due_date",
            _(
                "The due date cannot be before the position's start (%(start)s).",
                start=milestone.position.start_date.isoformat(),
            ),
        )
    before = snapshot(milestone)
    milestone.extensions.append(
        MilestoneExtension(
            from_date=milestone.due_date,
            to_date=new_date,
            reason=reason,
            recorded_by_id=actor.id,
        )
    )
    milestone.due_date = new_date
    # The audit event carries the reason, so that the member's history says why.
    _record(actor, "milestone-extended", milestone, before, reason=reason)


def set_note(actor: User, milestone: Milestone, note: str | None, expected_version=None) -> bool:
    """Replace the milestone's note; returns whether anything changed."""
    _check(actor, milestone, expected_version)
    text = clean_text(note or "") or None
    if text is not None and len(text) > NOTE_MAX_LENGTH:
        raise TrackingError(
            "note", _("Keep the note under %(count)s characters.", count=NOTE_MAX_LENGTH + 1)
        )
    if text == milestone.note:
        return False
    before = snapshot(milestone)
    milestone.note = text
    _record(actor, "milestone-note", milestone, before)
    return True


# ---------------------------------------------------------------------------------------------
# Plans (administrators; the views check the role).


@dataclass(frozen=True)
class PlanItemData:
    """A plan step as the admin form submits it."""

    name_en: str
    name_fr: str
    due_months: int | None
    repeat_months: int | None
    sort_order: int


def _check_item(data: PlanItemData) -> PlanItemData:
    name_en, name_fr = clean_text(data.name_en or ""), clean_text(data.name_fr or "")
    for field_name, value in (("name_en", name_en), ("name_fr", name_fr)):
        if not value:
            raise TrackingError(field_name, _("Give the milestone a name."))
        if len(value) > NAME_MAX_LENGTH:
            raise TrackingError(
                field_name,
                _("Keep the name under %(count)s characters.", count=NAME_MAX_LENGTH + 1),
            )
    for field_name, value in (
        ("due_months", data.due_months),
        ("repeat_months", data.repeat_months),
    ):
        if value is not None and not 0 <= value <= MAX_MONTHS:
            raise TrackingError(
                field_name,
                _("Enter a whole number of months from 0 to %(max)s.", max=MAX_MONTHS),
            )
    if data.sort_order is not None and not 0 <= data.sort_order <= MAX_SORT_ORDER:
        raise TrackingError(
            "sort_order",
            _("Enter a position in the list from 0 to %(max)s.", max=MAX_SORT_ORDER),
        )
    if data.repeat_months is not None:
        if data.repeat_months == 0:
            raise TrackingError("repeat_months", _("A milestone repeats every 1 month or more."))
        if data.due_months is None:
            raise TrackingError(
                "due_months",
                _("A repeating milestone needs the months after the start of its first time."),
            )
    return PlanItemData(name_en, name_fr, data.due_months, data.repeat_months, data.sort_order)


def _item_snapshot(item: MilestonePlanItem) -> dict[str, Any]:
    return {
        "program_id": item.program_id,
        "name_en": item.name_en,
        "name_fr": item.name_fr,
        "due_months": item.due_months,
        "repeat_months": item.repeat_months,
        "sort_order": item.sort_order,
        "is_active": item.is_active,
    }


def add_plan_item(actor: User, program: Program, data: PlanItemData) -> MilestonePlanItem:
    """Add a step to a program's plan; positions that start from now on get it."""
    data = _check_item(data)
    item = MilestonePlanItem(
        program_id=program.id,
        name_en=data.name_en,
        name_fr=data.name_fr,
        due_months=data.due_months,
        repeat_months=data.repeat_months,
        sort_order=data.sort_order,
    )
    db.session.add(item)
    db.session.flush()
    record_event(actor, "create", item, before=None, after=_item_snapshot(item))
    db.session.flush()
    return item


def update_plan_item(actor: User, item: MilestonePlanItem, data: PlanItemData) -> None:
    """Change a step; milestones already given to students keep their names and dates."""
    data = _check_item(data)
    before = _item_snapshot(item)
    item.name_en, item.name_fr = data.name_en, data.name_fr
    item.due_months, item.repeat_months = data.due_months, data.repeat_months
    item.sort_order = data.sort_order
    db.session.flush()
    if _item_snapshot(item) != before:
        record_event(actor, "update", item, before=before, after=_item_snapshot(item))
        db.session.flush()


def set_plan_item_active(actor: User, item: MilestonePlanItem, active: bool) -> None:
    """Retire a step (new positions no longer get it) or bring it back."""
    if item.is_active == active:
        return
    before = _item_snapshot(item)
    item.is_active = active
    db.session.flush()
    record_event(actor, "update", item, before=before, after=_item_snapshot(item))
    db.session.flush()


def set_expected_duration(actor: User, program: Program, months: int | None) -> None:
    """A program's expected duration in months (empty: none)."""
    if months is not None and not 1 <= months <= MAX_MONTHS:
        raise TrackingError(
            "expected_duration_months",
            _(
                "Enter a whole number of months from 1 to %(max)s, or leave it empty.",
                max=MAX_MONTHS,
            ),
        )
    if program.expected_duration_months == months:
        return
    before = {"expected_duration_months": program.expected_duration_months}
    program.expected_duration_months = months
    db.session.flush()
    record_event(
        actor, "update", program, before=before, after={"expected_duration_months": months}
    )
    db.session.flush()


# ---------------------------------------------------------------------------------------------
# The secret calendar feed and the digest opt-out (each user's own settings).


def feed_hash(token: str) -> str:
    """What the database keeps of a feed token: its SHA-256, so a copy of the database cannot
    read anyone's calendar."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_calendar_feed(actor: User) -> str:
    """A new secret feed token for the actor; the previous feed URL stops working at once."""
    token = secrets.token_urlsafe(32)
    had_feed = actor.calendar_feed_hash is not None
    actor.calendar_feed_hash = feed_hash(token)
    db.session.flush()
    record_event(
        actor,
        "calendar-feed-regenerated" if had_feed else "calendar-feed-created",
        actor,
        before=None,
        after=None,
    )
    db.session.flush()
    return token


def revoke_calendar_feed(actor: User) -> bool:
    """Turn the actor's feed URL off; returns whether there was one."""
    if actor.calendar_feed_hash is None:
        return False
    actor.calendar_feed_hash = None
    db.session.flush()
    record_event(actor, "calendar-feed-revoked", actor, before=None, after=None)
    db.session.flush()
    return True


def feed_owner(token: str) -> User | None:
    """The active account whose feed this token opens, or None."""
    if not token or len(token) > 100:
        return None
    user = db.session.scalar(select(User).where(User.calendar_feed_hash == feed_hash(token)))
    if user is None or not user.is_active:
        return None
    return user


def set_digest(actor: User, wanted: bool) -> None:
    """Turn the milestone digest on or off for the actor."""
    if actor.milestone_digest == wanted:
        return
    actor.milestone_digest = wanted
    db.session.flush()
    record_event(
        actor,
        "update",
        actor,
        before={"milestone_digest": not wanted},
        after={"milestone_digest": wanted},
    )
    db.session.flush()
