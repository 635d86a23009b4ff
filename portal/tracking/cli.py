"""`flask --app portal send-reminders [--dry-run] [--on DATE]`: the milestone digests."""

from __future__ import annotations

from datetime import date

import click
from flask import Flask
from flask.cli import with_appcontext

from portal.days import EARLIEST_DAY, LATEST_DAY, is_accepted_day
from portal.extensions import db
from portal.tracking.reminders import ReminderError, send_reminders


def register(app: Flask) -> None:
    app.cli.add_command(send_reminders_command)


def _day(_context, _parameter, value: str | None) -> date:
    if value is None:
        return date.today()
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not a date; use YYYY-MM-DD, for example 2026-09-01."
        ) from None
    if not is_accepted_day(day):
        raise click.BadParameter(
            f"{value!r} is outside the days the portal accepts "
            f"({EARLIEST_DAY.isoformat()} to {LATEST_DAY.isoformat()})."
        )
    return day


@click.command("send-reminders")
@click.option(
    "--dry-run", is_flag=True, help="Say who would get a digest; send and record nothing."
)
@click.option(
    "--on", "day", callback=_day, metavar="DATE", help="The day to remind for (default: today)."
)
@with_appcontext
def send_reminders_command(dry_run: bool, day: date) -> None:
    """E-mail each faculty member one digest of their students' milestones overdue or due
    within 30 days (once a day: a second run the same day sends nothing new)."""
    try:
        run = send_reminders(day, dry_run=dry_run)
    except ReminderError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from error
    verb = "Would send" if dry_run else "Sent"
    for email, count in run.sent:
        click.echo(f"{verb} a digest of {count} milestone(s) to {email}.")
    if not run.sent:
        click.echo(f"No digest to send for {day.isoformat()}.")
    else:
        click.echo(f"{verb} {len(run.sent)} digest(s) for {day.isoformat()}.")
