"""The days the portal accepts where a person types one: a milestone's date, a report's day.

Far enough back for any record an institution keeps, far enough ahead for any plan; outside,
a typo (0026 for 2026) would be taken at its word, and day arithmetic near year 1 overflows.
"""

from __future__ import annotations

from datetime import date

from flask_babel import gettext as _

EARLIEST_DAY = date(1950, 1, 1)
LATEST_DAY = date(2100, 12, 31)


def is_accepted_day(day: date) -> bool:
    return EARLIEST_DAY <= day <= LATEST_DAY


def outside_days_message() -> str:
    """What a person is told of a day outside EARLIEST_DAY..LATEST_DAY, in their language."""
    return _(
        "Enter a date between %(first)s and %(last)s.",
        first=EARLIEST_DAY.isoformat(),
        last=LATEST_DAY.isoformat(),
    )
