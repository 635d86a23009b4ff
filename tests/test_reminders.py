"""Milestone digests by e-mail, against a real SMTP server (aiosmtpd) started by the test."""

from __future__ import annotations

import email
import socket
from datetime import date
from email.header import decode_header, make_header

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from portal.extensions import db
from portal.milestones import sync_plan
from portal.models import Milestone, Position, ReminderDigest, User
from tests.conftest import build_app, login_client

DAY = date(2026, 3, 2)


class Recorder:
    """An SMTP handler that keeps every message and refuses the recipients it is told to."""

    def __init__(self) -> None:
        self.messages: list[email.message.Message] = []
        self.refuse: set[str] = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if address in self.refuse:
            return "550 5.1.1 Mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp():
    recorder = Recorder()
    controller = Controller(recorder, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield recorder, controller.port
    finally:
        controller.stop()


def mail_settings(port: int) -> dict:
    return {
        "MAIL_BACKEND": "smtp",
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": port,
        "MAIL_USE_TLS": False,
        "MAIL_DEFAULT_SENDER": "Research Group Portal <portal@example.org>",
        "MAIL_TIMEOUT": 5,
        "BASE_URL": "https://portal.example.org",
    }


@pytest.fixture
def mail_app(database_url, tmp_path, smtp):
    _recorder, port = smtp
    app = build_app(database_url, str(tmp_path), **mail_settings(port))
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _subject(message) -> str:
    return str(make_header(decode_header(message["Subject"])))


def _body(message) -> str:
    return message.get_payload(decode=True).decode(message.get_content_charset() or "utf-8")


def _position(make_member, faculty, name, others=()):
    return make_member(faculty, name, start_date=date(2024, 1, 1), others=list(others))


def _set_milestones(app, position_id: int, dues: dict[str, date | None]) -> None:
    """Give the position its plan, then set the due dates named (the others move far ahead)."""
    with app.app_context():
        position = db.session.get(Position, position_id)
        sync_plan(position, DAY)
        for milestone in db.session.scalars(
            select(Milestone).where(Milestone.position_id == position_id)
        ):
            milestone.due_date = dues.get(milestone.name_en, date(2030, 1, 1))
        db.session.commit()


@pytest.fixture
def group(mail_app, make_faculty, make_member):
    """Ada (English) and Béatrice (French) with something due; Chen opted out; Dan has nothing."""
    ada = make_faculty("a-ada@example.org", "Prof. Ada English", locale="en")
    bea = make_faculty("b-bea@example.org", "Prof. Béatrice Français", locale="fr_CA")
    chen = make_faculty("c-chen@example.org", "Prof. Chen Optout", milestone_digest=False)
    make_faculty("d-dan@example.org", "Prof. Dan Nothing")
    first = _position(make_member, ada, "Student Overdue")
    second = _position(make_member, bea, "Étudiante Bientôt", [(ada, "co-supervisor")])
    third = _position(make_member, chen, "Student Of Chen")
    _set_milestones(mail_app, first.id, {"Research plan": date(2026, 2, 1)})
    _set_milestones(mail_app, second.id, {"Qualifying exam": date(2026, 3, 20)})
    _set_milestones(mail_app, third.id, {"Research plan": date(2026, 1, 1)})
    return ada, bea, chen


def _digests(app) -> list[tuple[str, date, int]]:
    with app.app_context():
        rows = db.session.execute(
            select(User.email, ReminderDigest.sent_on, ReminderDigest.milestone_count)
            .join(User, User.id == ReminderDigest.user_id)
            .order_by(User.email)
        ).all()
        db.session.remove()
    return [tuple(row) for row in rows]


def test_each_faculty_member_gets_one_digest_in_their_language(mail_app, smtp, group):
    recorder, _port = smtp
    result = mail_app.test_cli_runner().invoke(args=["send-reminders", "--on", DAY.isoformat()])
    assert result.exit_code == 0, result.output
    assert "Sent 2 digest(s) for 2026-03-02." in result.output
    by_recipient = {message["To"]: message for message in recorder.messages}
    assert sorted(by_recipient) == ["a-ada@example.org", "b-bea@example.org"]

    english = by_recipient["a-ada@example.org"]
    assert _subject(english) == "Milestones to follow up: 1 overdue, 1 due within 30 days"
    body = _body(english)
    assert "Hello Prof. Ada English," in body
    assert "- Student Overdue (PhD): Research plan, due 2026-02-01, Overdue" in body
    assert "- Étudiante Bientôt (PhD): Qualifying exam, due 2026-03-20, Due within 30 days" in body
    assert "https://portal.example.org/group" in body
    assert "https://portal.example.org/profile" in body
    assert "Student Of Chen" not in body

    french = by_recipient["b-bea@example.org"]
    assert _subject(french) == (
        "Étapes à suivre : 0 en retard, 1 à échéance dans 30 jours ou moins"
    )
    body = _body(french)
    assert "Bonjour Prof. Béatrice Français," in body
    assert "Examen de synthèse, échéance le 20 mars 2026, Échéance dans 30 jours ou moins" in body
    assert "Student Overdue" not in body
    assert english["From"] == "Research Group Portal <portal@example.org>"
    assert _digests(mail_app) == [
        ("a-ada@example.org", DAY, 2),
        ("b-bea@example.org", DAY, 1),
    ]


@pytest.mark.both_backends
def test_a_second_run_the_same_day_sends_nothing(mail_app, smtp, group):
    recorder, _port = smtp
    runner = mail_app.test_cli_runner()
    assert runner.invoke(args=["send-reminders", "--on", DAY.isoformat()]).exit_code == 0
    again = runner.invoke(args=["send-reminders", "--on", DAY.isoformat()])
    assert again.exit_code == 0
    assert "No digest to send for 2026-03-02." in again.output
    assert len(recorder.messages) == 2
    assert len(_digests(mail_app)) == 2
    # The next day is a new day.
    next_day = runner.invoke(args=["send-reminders", "--on", "2026-03-03"])
    assert next_day.exit_code == 0
    assert len(recorder.messages) == 4


def test_nobody_who_opted_out_gets_a_digest(mail_app, smtp, group):
    recorder, _port = smtp
    mail_app.test_cli_runner().invoke(args=["send-reminders", "--on", DAY.isoformat()])
    assert "c-chen@example.org" not in {message["To"] for message in recorder.messages}
    assert "d-dan@example.org" not in {message["To"] for message in recorder.messages}


def test_turning_the_digest_off_on_the_profile_stops_it(mail_app, smtp, group):
    recorder, _port = smtp
    ada = group[0]
    client = login_client(mail_app.test_client(), ada)
    page = client.get("/profile")
    assert b'id="milestone_digest"' in page.data
    assert (
        b"checked"
        in page.data.split(b'id="milestone_digest"')[0][-200:]
        + page.data.split(b'id="milestone_digest"')[1][:50]
    )
    response = client.post("/profile", data={"slug": "ada-english"})  # box left unticked
    assert response.status_code == 302
    mail_app.test_cli_runner().invoke(args=["send-reminders", "--on", DAY.isoformat()])
    assert [message["To"] for message in recorder.messages] == ["b-bea@example.org"]


def test_a_dry_run_sends_and_records_nothing(mail_app, smtp, group):
    recorder, _port = smtp
    result = mail_app.test_cli_runner().invoke(
        args=["send-reminders", "--dry-run", "--on", DAY.isoformat()]
    )
    assert result.exit_code == 0, result.output
    assert "Would send a digest of 2 milestone(s) to a-ada@example.org." in result.output
    assert "Would send a digest of 1 milestone(s) to b-bea@example.org." in result.output
    assert recorder.messages == []
    assert _digests(mail_app) == []


def test_a_refused_recipient_stops_with_a_clear_error_and_is_not_recorded(mail_app, smtp, group):
    recorder, _port = smtp
    recorder.refuse.add("b-bea@example.org")
    runner = mail_app.test_cli_runner()
    result = runner.invoke(args=["send-reminders", "--on", DAY.isoformat()])
    assert result.exit_code == 1
    assert "refused the digest for b-bea@example.org" in result.output
    assert "550" in result.output
    assert "It is not recorded as sent" in result.output
    assert "1 digest(s) sent before it (a-ada@example.org)" in result.output
    # What the server accepted is recorded, what it refused is not: the next run sends only it.
    assert _digests(mail_app) == [("a-ada@example.org", DAY, 2)]
    recorder.refuse.clear()
    retry = runner.invoke(args=["send-reminders", "--on", DAY.isoformat()])
    assert retry.exit_code == 0, retry.output
    assert [message["To"] for message in recorder.messages] == [
        "a-ada@example.org",
        "b-bea@example.org",
    ]


def test_a_mail_server_that_is_down_gives_a_clear_error_and_records_nothing(
    database_url, tmp_path, make_faculty, make_member
):
    app = build_app(database_url, str(tmp_path), **mail_settings(free_port()))
    try:
        with app.app_context():
            faculty = User(email="down@example.org", display_name="Prof. Down")
            faculty.set_password("x" * 20, method=app.config["PASSWORD_HASH_METHOD"])
            db.session.add(faculty)
            db.session.commit()
            faculty_id = faculty.id
            db.session.remove()
        faculty = db_user(app, faculty_id)
        position = make_member(faculty, "Someone", start_date=date(2024, 1, 1))
        _set_milestones(app, position.id, {"Research plan": date(2026, 2, 1)})
        result = app.test_cli_runner().invoke(args=["send-reminders", "--on", DAY.isoformat()])
        assert result.exit_code == 1
        assert "Could not connect to the mail server 127.0.0.1:" in result.output
        assert "Nothing was sent" in result.output
        with app.app_context():
            assert db.session.scalar(select(func.count(ReminderDigest.id))) == 0
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def db_user(app, user_id: int) -> User:
    with app.app_context():
        user = db.session.get(User, user_id)
        db.session.expunge(user)
        return user


def test_a_bad_date_is_refused(mail_app):
    result = mail_app.test_cli_runner().invoke(args=["send-reminders", "--on", "2026-02-30"])
    assert result.exit_code == 2
    assert "'2026-02-30' is not a date; use YYYY-MM-DD" in result.output


def test_a_day_outside_the_portals_range_is_refused(mail_app):
    result = mail_app.test_cli_runner().invoke(args=["send-reminders", "--on", "9999-12-31"])
    assert result.exit_code == 2
    assert "outside the days the portal accepts (1950-01-01 to 2100-12-31)" in result.output


def test_make_run_prints_mails_to_the_console_without_a_mail_server(database_url, tmp_path):
    app = build_app(database_url, str(tmp_path), MAIL_SERVER=None, MAIL_BACKEND=None)
    assert app.config["MAIL_BACKEND"] == "console"
