"""Nothing is lost: many people adding and editing members at once while a worker dies.

gunicorn with 4 workers serves the portal (on SQLite, then on PostgreSQL when configured).
16 client threads each add 8 members through the real form (GET the form, POST it with its
CSRF token) while 4 threads keep editing one member with the form's hidden `version`. In the
middle one worker is killed with SIGKILL. Then:

- every create the server acknowledged (a redirect after the POST) exists exactly once, and no
  name exists twice at all;
- no request got a 500 (a lock timeout is a 503 "busy, nothing saved" that the client retries);
- every edit either succeeded or got the "changed by someone else" conflict page;
- only the one request the killed worker was serving may have got no answer;
- SQLite's `PRAGMA integrity_check` says `ok`.

Runnable alone: `.venv/bin/python -m pytest tests/test_stress.py`.
"""

from __future__ import annotations

import http.client
import os
import random
import re
import signal
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from html.parser import HTMLParser
from http.cookies import SimpleCookie
from urllib.parse import urlencode

import pytest
from sqlalchemy import select, text

from portal.extensions import db
from portal.models import Person, Position, Program
from tests.conftest import TEST_PASSWORD
from tests.live_server import gunicorn

WORKERS = 4
CREATORS = 16
CREATES_EACH = 8  # 128 creates: 16 at once is the contention; more of them only took longer
EDITORS = 4
RETRIES = 3
EDIT_PAUSE = 0.05  # seconds between one editor's saves
CONFLICT_MESSAGE = "changed by someone else since you opened it"
NEW_MEMBER_PATH = "/group/members/new"

pytestmark = [pytest.mark.slow, pytest.mark.both_backends]  # concurrency differs per database


# ---------------------------------------------------------------------------------------------
# A small browser: cookies, one connection per request (so requests spread over the workers
# and a killed worker costs at most the one request it was serving), form fields from the page.


class TransportError(Exception):
    """The server closed or refused the connection without an answer."""


@dataclass
class Answer:
    status: int
    location: str
    body: str


class FormFields(HTMLParser):
    """The fields of the first POST form on a page that has `marker` as one of its fields."""

    def __init__(self, marker: str):
        super().__init__(convert_charrefs=True)
        self.marker = marker
        self.forms: list[dict[str, str]] = []
        self._form: dict[str, str] | None = None
        self._select: str | None = None
        self._first_option: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "form" and (attributes.get("method") or "").lower() == "post":
            self._form = {}
        if self._form is None:
            return
        name = attributes.get("name")
        if tag == "input" and name:
            kind = (attributes.get("type") or "text").lower()
            if kind in {"checkbox", "radio"} and "checked" not in attributes:
                return
            if kind not in {"submit", "button", "file"}:
                self._form[name] = attributes.get("value") or ""
        elif tag == "select" and name:
            self._select, self._first_option = name, None
        elif tag == "option" and self._select:
            value = attributes.get("value") or ""
            if self._first_option is None:
                self._first_option = value
                self._form.setdefault(self._select, value)
            if "selected" in attributes:
                self._form[self._select] = value
        elif tag == "textarea" and name:
            self._textarea = name
            self._form[name] = ""

    def handle_data(self, data):
        if self._form is not None and self._textarea:
            self._form[self._textarea] += data

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None
        elif tag == "form" and self._form is not None:
            self.forms.append(self._form)
            self._form = None

    def fields(self) -> dict[str, str]:
        for form in self.forms:
            if self.marker in form:
                return dict(form)
        raise AssertionError(f"no POST form with a {self.marker!r} field on the page")


def form_fields(page: str, marker: str) -> dict[str, str]:
    parser = FormFields(marker)
    parser.feed(page)
    return parser.fields()


def page_text(body: str, limit: int = 300) -> str:
    """The words of a page's <main>, for failure messages that say what the server answered."""
    main = body[body.find("<main") :] if "<main" in body else body
    return " ".join(re.sub(r"<[^>]+>", " ", main).split())[:limit]


class Browser:
    """One person's browser session against the live server."""

    def __init__(self, port: int):
        self.port = port
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, fields: dict[str, str] | None = None) -> Answer:
        headers = {"Connection": "close"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if fields is not None:
            body = urlencode(fields)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            content = response.read().decode("utf-8", errors="replace")
        except (ConnectionError, http.client.HTTPException, TimeoutError, OSError) as error:
            raise TransportError(f"{method} {path}: {error!r}") from error
        finally:
            connection.close()
        for header in response.headers.get_all("Set-Cookie") or []:
            cookie = SimpleCookie()
            cookie.load(header)
            for name, morsel in cookie.items():
                if morsel["expires"] and "1970" in morsel["expires"]:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        return Answer(response.status, response.headers.get("Location") or "", content)

    def login(self, email: str, password: str) -> None:
        page = self.request("GET", "/login")
        fields = form_fields(page.body, "email")
        fields.update(email=email, password=password)
        answer = self.request("POST", "/login", fields)
        assert answer.status == 302, f"login failed: {answer.status} {page_text(answer.body)}"


# ---------------------------------------------------------------------------------------------
# What the clients saw.


@dataclass
class Record:
    lock: threading.Lock = field(default_factory=threading.Lock)
    acknowledged: list[str] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    transport_errors: list[str] = field(default_factory=list)
    busy: int = 0
    edits_saved: list[str] = field(default_factory=list)
    edit_conflicts: int = 0

    def saw(self, what: str, answer: Answer) -> None:
        with self.lock:
            self.statuses[answer.status] += 1
            if answer.status >= 500 and answer.status != 503:
                self.server_errors.append(f"{what}: {answer.status} {page_text(answer.body)}")


def _create_members(port, email, program_id, thread, record: Record):
    browser = Browser(port)
    browser.login(email, TEST_PASSWORD)
    for number in range(CREATES_EACH):
        for attempt in range(RETRIES + 1):
            # A fresh name and a fresh form for every attempt, as a person sees the form again
            # after each redirect: each form carries its own one-time submission key, and an
            # attempt without an answer may or may not have been saved.
            try:
                form = browser.request("GET", NEW_MEMBER_PATH)
            except TransportError as error:
                with record.lock:
                    record.transport_errors.append(f"{time.monotonic():.3f} {error}")
                continue
            record.saw(f"GET {NEW_MEMBER_PATH}", form)
            if form.status == 503:
                continue
            assert form.status == 200, f"GET {NEW_MEMBER_PATH}: {form.status}"
            blank = form_fields(form.body, "full_name")
            name = f"Stress T{thread:02d} N{number:03d} A{attempt}"
            # 192 principal supervisions are far over any cap: the client ticks "Save anyway",
            # as a person would after reading the warning.
            fields = dict(
                blank,
                full_name=name,
                program=str(program_id),
                institution="Université de Montréal",
                role="principal",
                start_date="2025-01-15",
                accept_over_cap="y",
            )
            try:
                answer = browser.request("POST", NEW_MEMBER_PATH, fields)
            except TransportError as error:
                with record.lock:
                    record.transport_errors.append(f"{time.monotonic():.3f} {error}")
                continue
            record.saw(f"POST {NEW_MEMBER_PATH} {name}", answer)
            if answer.status in (302, 303):
                with record.lock:
                    record.acknowledged.append(name)
                break
            if answer.status == 503:  # busy: nothing saved, try again
                with record.lock:
                    record.busy += 1
                continue
            with record.lock:
                record.unexpected.append(f"create {name}: {answer.status} {page_text(answer.body)}")
            break


def _edit_member(port, email, member_id, thread, record: Record, stop: threading.Event):
    browser = Browser(port)
    browser.login(email, TEST_PASSWORD)
    path = f"/group/members/{member_id}/edit"
    number = 0
    while not stop.is_set():
        number += 1
        name = f"Edited E{thread} N{number:04d}"
        try:
            form = browser.request("GET", path)
            record.saw(f"GET {path}", form)
            if form.status == 503:
                continue
            fields = form_fields(form.body, "version")
            # A change on the position itself, so that its version moves with every save.
            fields.update(full_name=name, start_date=f"2024-09-{1 + number % 28:02d}")
            time.sleep(random.uniform(0, 0.02))  # let the others save in between, sometimes
            answer = browser.request("POST", path, fields)
        except TransportError as error:
            with record.lock:
                record.transport_errors.append(f"{time.monotonic():.3f} {error}")
            continue
        record.saw(f"POST {path} {name}", answer)
        time.sleep(EDIT_PAUSE)  # editors are people too: they leave the creators some room
        with record.lock:
            if answer.status in (302, 303):
                record.edits_saved.append(name)
            elif CONFLICT_MESSAGE in answer.body:
                record.edit_conflicts += 1
            elif answer.status != 503:
                record.unexpected.append(f"edit {name}: {answer.status} {page_text(answer.body)}")


def _kill_one_worker(server, record: Record, when_acknowledged: int, killed: list[int]):
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        with record.lock:
            if len(record.acknowledged) >= when_acknowledged:
                break
        time.sleep(0.05)
    victim = server.worker_pids()[0]
    os.kill(victim, signal.SIGKILL)
    killed.append(victim)


# ---------------------------------------------------------------------------------------------


def test_nothing_is_lost_under_load_and_a_killed_worker(
    app, database_url, tmp_path, make_faculty, make_member
):
    faculty = make_faculty("stress@example.org", "Prof. Stress")
    edited = make_member(faculty, "Member Under Edit")
    with app.app_context():
        program_id = db.session.scalar(select(Program.id).where(Program.name == "PhD"))
        db.session.remove()
        db.engine.dispose()  # the server gets the database to itself

    environment = {
        "DATABASE_URL": database_url,
        "SECRET_KEY": "stress-test-secret-key-long-enough-for-the-check",
        "PORTAL_RATELIMIT_ENABLED": "false",  # 20 logins from one address are not an attack
    }
    record = Record()
    stop_editing = threading.Event()
    killed: list[int] = []
    started = time.monotonic()
    with gunicorn(tmp_path, environment, workers=WORKERS) as server:
        creators = [
            threading.Thread(
                target=_create_members, args=(server.port, faculty.email, program_id, n, record)
            )
            for n in range(CREATORS)
        ]
        editors = [
            threading.Thread(
                target=_edit_member,
                args=(server.port, faculty.email, edited.id, n, record, stop_editing),
            )
            for n in range(EDITORS)
        ]
        killer = threading.Thread(
            target=_kill_one_worker, args=(server, record, CREATORS * CREATES_EACH // 3, killed)
        )
        for thread in creators + editors + [killer]:
            thread.start()
        for thread in creators:
            thread.join(timeout=150)
        stop_editing.set()
        for thread in editors + [killer]:
            thread.join(timeout=30)
        assert not any(thread.is_alive() for thread in creators + editors), "clients hung"
        assert killed and killed[0] not in server.worker_pids()  # it died and was replaced
    elapsed = time.monotonic() - started
    print(
        f"stress: {len(record.acknowledged)} creates acknowledged, {len(record.edits_saved)} "
        f"edits saved, {record.edit_conflicts} conflicts, {record.busy} busy answers, "
        f"{len(record.transport_errors)} unanswered, statuses {dict(record.statuses)}, "
        f"{elapsed:.1f} s"
    )

    server_log = (tmp_path / "error.log").read_text()
    exceptions = sorted(set(re.findall(r"^\S+(?:Error|Exception): .*$", server_log, re.M)))
    assert not record.server_errors, (record.server_errors[:5], exceptions[:5])
    assert not record.unexpected, record.unexpected[:5]
    # A sync worker serves one connection at a time: only that one can go unanswered.
    assert len(record.transport_errors) <= len(killed), record.transport_errors
    assert len(record.acknowledged) >= CREATORS * CREATES_EACH - len(killed)
    assert record.edits_saved, "no edit was ever saved"
    assert record.edit_conflicts + len(record.edits_saved) > 0

    with app.app_context():
        names = Counter(
            db.session.scalars(select(Person.full_name).where(Person.full_name.like("Stress %")))
        )
        duplicated = {name: n for name, n in names.items() if n > 1}
        assert not duplicated, duplicated
        missing = [name for name in record.acknowledged if names[name] != 1]
        assert not missing, missing[:10]
        final_name = db.session.scalar(
            select(Person.full_name).join(Position.person).where(Position.id == edited.id)
        )
        assert final_name in record.edits_saved
        if db.engine.dialect.name == "sqlite":
            assert db.session.scalar(text("PRAGMA integrity_check")) == "ok"
        db.session.remove()
    # No wall-clock assertion: the run's time depends on the machine's load (it is printed
    # above); a hung client is caught by the joins' timeouts.
