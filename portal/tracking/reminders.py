"""Milestone digests by e-mail: one per faculty member and day, in their language.

A digest is claimed (its row inserted) before it is sent and committed only once the mail
server accepted it: a refused or unreachable server leaves no "sent" record, and two runs at
the same moment cannot both send the same digest (the second waits on the row, then skips it).
"""

from __future__ import annotations

import smtplib
import socket
from dataclasses import dataclass, field
from datetime import date

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_mailman import EmailMessage
from sqlalchemy.exc import IntegrityError

from portal.extensions import db, mail
from portal.i18n import DEFAULT_LOCALE, LANGUAGES
from portal.models import ReminderDigest
from portal.tracking.queries import Digest, pending_digests


class ReminderError(RuntimeError):
    """The run stopped: the message says why and what was sent before it stopped."""


@dataclass
class ReminderRun:
    """What a run did (or, dry, would do): (email, number of milestones) per digest."""

    day: date
    dry_run: bool
    sent: list[tuple[str, int]] = field(default_factory=list)


def language_of(user) -> str:
    """The digest's language: the account's saved language, else the portal's default."""
    return user.locale if user.locale in LANGUAGES else DEFAULT_LOCALE


def build_message(digest: Digest, day: date) -> EmailMessage:
    """The digest as an e-mail in the faculty member's language (plain text)."""
    language = language_of(digest.faculty)
    with force_locale(language):
        overdue = sum(1 for row in digest.rows if row.state == "overdue")
        subject = _(
            "Milestones to follow up: %(overdue)s overdue, %(soon)s due within 30 days",
            overdue=overdue,
            soon=len(digest.rows) - overdue,
        )
        body = render_template(
            "tracking/digest.txt",
            digest=digest,
            day=day,
            language=language,
            group_url=_absolute("/group"),
            profile_url=_absolute("/profile"),
        )
    return EmailMessage(
        subject=subject,
        body=body,
        from_email=current_app.config.get("MAIL_DEFAULT_SENDER"),
        to=[digest.faculty.email],
    )


def _absolute(path: str) -> str:
    base = (current_app.config.get("BASE_URL") or "").rstrip("/")
    return f"{base}{path}" if base else path


def _server() -> str:
    config = current_app.config
    return f"{config.get('MAIL_SERVER') or 'localhost'}:{config.get('MAIL_PORT')}"


def send_reminders(day: date, *, dry_run: bool = False) -> ReminderRun:
    """Send the digests still due on `day`; a dry run only says what it would send."""
    run = ReminderRun(day, dry_run)
    digests = pending_digests(day)
    if dry_run:
        for digest in digests:
            build_message(digest, day)  # the same rendering, so a dry run catches its errors
            run.sent.append((digest.faculty.email, len(digest.rows)))
        db.session.rollback()
        return run
    if not digests:
        return run
    if mail.backend == "smtp" and not current_app.config.get("MAIL_DEFAULT_SENDER"):
        raise ReminderError(
            "MAIL_DEFAULT_SENDER is not set: the digests need a sender address "
            "(e.g. MAIL_DEFAULT_SENDER=portal@example.org). Nothing was sent."
        )
    connection = mail.get_connection(fail_silently=False)
    try:
        connection.open()
    except (OSError, smtplib.SMTPException) as error:
        raise ReminderError(
            f"Could not connect to the mail server {_server()}: {_reason(error)}. "
            "Nothing was sent; run the command again once the server is reachable."
        ) from error
    try:
        for digest in digests:
            _send_one(connection, digest, day, run)
    finally:
        try:
            connection.close()
        except (OSError, smtplib.SMTPException):
            pass
    return run


def _send_one(connection, digest: Digest, day: date, run: ReminderRun) -> None:
    email = digest.faculty.email
    message = build_message(digest, day)
    try:
        # Claim the day's digest first: a concurrent run blocks here, then finds it taken.
        db.session.add(
            ReminderDigest(user_id=digest.faculty.id, sent_on=day, milestone_count=len(digest.rows))
        )
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        return
    try:
        accepted = connection.send_messages([message])
    except (OSError, smtplib.SMTPException) as error:
        db.session.rollback()
        raise ReminderError(_stopped(email, error, run)) from error
    if not accepted:
        db.session.rollback()
        raise ReminderError(_stopped(email, "the mail server did not accept it", run))
    db.session.commit()
    run.sent.append((email, len(digest.rows)))


def _reason(error) -> str:
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = "; ".join(
            f"{code} {text.decode(errors='replace')}" for code, text in error.recipients.values()
        )
        return f"recipient refused ({codes})"
    if isinstance(error, smtplib.SMTPResponseException):
        return f"{error.smtp_code} {error.smtp_error.decode(errors='replace') if isinstance(error.smtp_error, bytes) else error.smtp_error}"
    if isinstance(error, socket.timeout):
        return "no answer before the timeout"
    return str(error) or error.__class__.__name__


def _stopped(email: str, error, run: ReminderRun) -> str:
    reason = error if isinstance(error, str) else _reason(error)
    done = (
        f"{len(run.sent)} digest(s) sent before it ({', '.join(address for address, _ in run.sent)})"
        if run.sent
        else "no digest was sent"
    )
    return (
        f"The mail server {_server()} refused the digest for {email}: {reason}. "
        f"It is not recorded as sent; {done}. Run the command again to send the rest."
    )
