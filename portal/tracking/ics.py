"""The calendar of open milestones as an iCalendar file: one all-day event per dated milestone."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from flask_babel import gettext as _
from icalendar import Calendar, Event

from portal.labels import label_text
from portal.milestones import MilestoneRow

PRODUCT_ID = "-//Research Group Portal//Milestones//EN"


def event_uid(row: MilestoneRow, domain: str) -> str:
    """Stable per milestone, so a calendar app updates the event when its date moves."""
    return f"milestone-{row.milestone_id}@{domain}"


def milestones_calendar(
    rows: Iterable[MilestoneRow], *, language: str, name: str, domain: str, now: datetime
) -> bytes:
    """An RFC 5545 calendar of the dated rows, named and worded in `language`."""
    calendar = Calendar()
    calendar.add("prodid", PRODUCT_ID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", name)
    for row in rows:
        if row.due_date is None:
            continue
        event = Event()
        event.add("uid", event_uid(row, domain))
        event.add("dtstamp", now)
        event.add("dtstart", row.due_date)
        event.add("dtend", row.due_date + timedelta(days=1))
        event.add("summary", f"{row.person_name}: {row.name(language)}")
        description = _("%(program)s. Status: %(status)s.", program=row.program, status=_state(row))
        if row.note:
            description += "\n" + row.note
        event.add("description", description)
        event.add("categories", ["milestone"])
        event.add("transp", "TRANSPARENT")
        calendar.add_component(event)
    return calendar.to_ical()


def _state(row: MilestoneRow) -> str:
    return label_text(row.state)
