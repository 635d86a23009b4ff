"""Shared fixtures: one app per worker and database, factories, logged-in clients, query counts.

Which database a test runs on:

- Every test runs on SQLite.
- A test whose behaviour depends on the database (constraints, queries, concurrency,
  migrations, imports) ALSO runs on PostgreSQL when PORTAL_TEST_DATABASE_URL is set (CI sets
  it): mark it `@pytest.mark.both_backends`, or a whole module with
  `pytestmark = pytest.mark.both_backends`. Its ids then end in `[sqlite]` and `[postgresql]`.
- Pages checked as HTML (views, browser and accessibility tests) stay on SQLite: the database
  does not change what they check, and running them twice doubled the suite's time.

Under pytest-xdist (`-n 2`, as `make test` runs) each worker gets a PostgreSQL database of its
own, named after the configured one with the worker's id appended, created on the fly.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from itertools import count

import pytest
from flask import Flask
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import create_engine, event, select, text
from sqlalchemy.engine import make_url

from portal import create_app
from portal.extensions import db
from portal.milestones import default_plan_items
from portal.models import (
    DEFAULT_PROGRAMS,
    Institution,
    LoadPolicy,
    Person,
    Position,
    Program,
    Supervision,
    SupervisionRole,
    User,
)

TEST_PASSWORD = "correct horse battery staple"
POSTGRES_URL = os.environ.get("PORTAL_TEST_DATABASE_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if POSTGRES_URL else [])
BOTH_BACKENDS_MARKER = "both_backends"


def pytest_configure(config) -> None:
    config.addinivalue_line(
        "markers",
        f"{BOTH_BACKENDS_MARKER}: run on PostgreSQL too (when PORTAL_TEST_DATABASE_URL is set), "
        "for tests whose behaviour depends on the database",
    )


def pytest_collection_modifyitems(config, items) -> None:
    """Tests marked `slow` first: under pytest-xdist a long test started last sets the wall time
    of the whole run, while the many short ones fill the gaps at the end."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


def pytest_generate_tests(metafunc) -> None:
    """SQLite for every test that uses the database; PostgreSQL too for the marked ones."""
    if "database_url" not in metafunc.fixturenames:
        return
    marked = metafunc.definition.get_closest_marker(BOTH_BACKENDS_MARKER) is not None
    backends = BACKENDS if marked else ["sqlite"]
    metafunc.parametrize("database_url", backends, indirect=True, scope="session")


def worker_database_url(url: str) -> str:
    """The PostgreSQL URL of this pytest-xdist worker (`test_h19` -> `test_h19_gw0`)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return url
    target = make_url(url)
    return target.set(database=f"{target.database}_{worker}").render_as_string(hide_password=False)


def ensure_postgres_database(url: str) -> str:
    """Create the database named in `url` on its server when it does not exist yet."""
    target = make_url(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        exists = connection.scalar(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": target.database}
        )
        if not exists:
            connection.exec_driver_sql(f'CREATE DATABASE "{target.database}"')
    admin.dispose()
    return url


def app_config(database_url: str, **overrides) -> dict:
    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key-that-is-long-enough-for-anything",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "PASSWORD_HASH_METHOD": "scrypt:1024:8:1",  # scrypt still, at a cost tests can afford
        "SERVER_NAME": None,
    }
    config.update(overrides)
    return config


@pytest.fixture(scope="session")
def instance_dir(tmp_path_factory) -> str:
    """A private instance folder: tests never read or write the checkout's instance/."""
    return str(tmp_path_factory.mktemp("instance"))


@pytest.fixture(scope="session")
def database_url(request, tmp_path_factory, instance_dir) -> str:
    """One database per backend (and worker) for the whole session, the schema created once.

    Parametrized by pytest_generate_tests: "sqlite", or "postgresql" for marked tests.
    """
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'portal-test.sqlite3'}"
    else:
        url = ensure_postgres_database(worker_database_url(POSTGRES_URL))
    app = create_app(app_config(url), instance_path=instance_dir)
    with app.app_context():
        db.drop_all()
        with db.engine.begin() as connection:
            connection.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
        db.create_all()
        db.engine.dispose()
    return url


def reset_database() -> None:
    """Empty every table and put back the defaults a migrated database starts with.

    DELETE, children first, on both databases: on the few rows a test writes it is many times
    faster than PostgreSQL's TRUNCATE (which replaces every table's files). Ids start again
    at 1 on both (SQLite reuses them once a table is empty; PostgreSQL's sequences are reset),
    so that a scenario gets the same ids on each backend.
    """
    tables = list(reversed(db.metadata.sorted_tables))
    with db.engine.begin() as connection:
        for table in tables:
            connection.execute(table.delete())
        if connection.dialect.name == "postgresql":
            restarts = ", ".join(
                f"setval(pg_get_serial_sequence('\"{table.name}\"', 'id'), 1, false)"
                for table in tables
                if "id" in table.columns and table.columns["id"].autoincrement is not False
            )
            connection.exec_driver_sql(f"SELECT {restarts}")
    programs = [Program(**program) for program in DEFAULT_PROGRAMS]
    db.session.add_all(programs)
    db.session.add_all(default_plan_items(programs))
    db.session.add(LoadPolicy(id=1, default_principal_cap=8, default_weighted_cap=Decimal("300")))
    db.session.commit()


def build_app(database_url: str, instance_path: str, **overrides):
    """An app on the test database, emptied and re-seeded."""
    app = create_app(app_config(database_url, **overrides), instance_path=instance_path)
    with app.app_context():
        reset_database()
    return app


# Building an app costs far more than a test's own work (hundreds of URL rules compiled, the
# OpenAPI document generated): each worker builds one per database and kind, and every test
# gets it back with its database emptied and re-seeded, its configuration as built and its
# own instance folder. Tests that need other settings at creation call build_app themselves.
_shared_apps: dict[tuple[str, bool], Flask] = {}


@contextmanager
def shared_app(database_url: str, tmp_path, *, csrf: bool = False) -> Iterator[Flask]:
    """The worker's app for `database_url`, fresh for one test: emptied and re-seeded tables,
    the configuration restored afterwards (tests may change it), `tmp_path` as instance folder."""
    key = (database_url, csrf)
    app = _shared_apps.get(key)
    if app is None:
        app = create_app(
            app_config(database_url, WTF_CSRF_ENABLED=csrf), instance_path=str(tmp_path)
        )
        _shared_apps[key] = app
    built_config = dict(app.config)
    app.instance_path = str(tmp_path)
    with app.app_context():
        reset_database()
        db.session.remove()
    try:
        yield app
    finally:
        with app.app_context():
            db.session.remove()
        app.config.clear()
        app.config.update(built_config)


@pytest.fixture
def app(database_url, tmp_path):
    with shared_app(database_url, tmp_path) as app:
        yield app


@pytest.fixture
def csrf_app(database_url, tmp_path):
    """An app with CSRF protection on, as in production."""
    with shared_app(database_url, tmp_path, csrf=True) as app:
        yield app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def app_context(app) -> Iterator[None]:
    """For service tests that call the portal's functions directly (no HTTP)."""
    with app.app_context():
        yield


# ---------------------------------------------------------------------------------------------
# Factories: each commits and returns the new object detached, with its columns loaded.

_sequence = count(1)


def _detached(instance):
    db.session.commit()
    db.session.refresh(instance)
    db.session.expunge(instance)
    return instance


@pytest.fixture
def make_user(app):
    def make(
        email: str | None = None,
        name: str | None = None,
        *,
        is_admin: bool = False,
        password: str = TEST_PASSWORD,
        **fields,
    ) -> User:
        number = next(_sequence)
        with app.app_context():
            fields.setdefault("is_active", True)
            user = User(
                email=email or f"user{number}@example.org",
                display_name=name or f"Prof. Test {number}",
                is_admin=is_admin,
                **fields,
            )
            user.set_password(password, method=app.config["PASSWORD_HASH_METHOD"])
            db.session.add(user)
            return _detached(user)

    return make


@pytest.fixture
def make_faculty(make_user):
    def make(email: str | None = None, name: str | None = None, **fields) -> User:
        return make_user(email, name, is_admin=False, **fields)

    return make


@pytest.fixture
def make_admin(make_user):
    def make(email: str | None = None, name: str | None = None, **fields) -> User:
        return make_user(email, name, is_admin=True, **fields)

    return make


@pytest.fixture
def make_member(app):
    """Create a person with one position, linked to `faculty` with `role` (and optional others).

    `others` is a list of (User or external name, role); shares default as the portal does.
    """
    from portal.models.supervision import default_shares

    def make(
        faculty: User,
        name: str | None = None,
        *,
        program: str = "PhD",
        institution: str | None = "Université de Montréal",
        role: str = "principal",
        start_date: date = date(2024, 9, 1),
        end_date: date | None = None,
        others: list[tuple[User | str, str]] = (),
        email: str | None = None,
        **position_fields,
    ) -> Position:
        number = next(_sequence)
        with app.app_context():
            program_row = db.session.scalar(select(Program).where(Program.name == program))
            institution_row = None  # None: the institution is unknown
            if institution is not None:
                institution_row = db.session.scalar(
                    select(Institution).where(Institution.name == institution)
                ) or Institution(name=institution)
            person = Person(full_name=name or f"Member {number}", email=email)
            position = Position(
                person=person,
                program=program_row,
                institution=institution_row,
                start_date=start_date,
                end_date=end_date,
                **position_fields,
            )
            links = [(faculty, SupervisionRole(role))] + [
                (who, SupervisionRole(other_role)) for who, other_role in others
            ]
            shares = default_shares([link_role for _, link_role in links])
            for (who, link_role), share in zip(links, shares, strict=True):
                if isinstance(who, str):
                    position.supervisions.append(
                        Supervision(external_name=who, role=link_role, share=share)
                    )
                else:
                    position.supervisions.append(
                        Supervision(supervisor_id=who.id, role=link_role, share=share)
                    )
            db.session.add(position)
            return _detached(position)

    return make


# ---------------------------------------------------------------------------------------------
# Logged-in clients.


def login_client(client, user: User):
    """Put `user` in the client's session as Flask-Login would after a successful login."""
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()
        session["_fresh"] = True
        session["_password_at"] = int(time.time())  # as a password login sets it
    return client


def assert_flashed_message_shows_once(client, show: Callable[[], str]) -> str:
    """`show()` (the page as `client` gets it) is kept from its second time on; a message
    flashed to the session then shows on the next page only, and the page after it is the kept
    one again. Returns the page."""
    first = show()
    assert show() == first  # kept now, layout and all
    message = "Saved somewhere else."
    with client.session_transaction() as session:
        session["_flashes"] = [("success", message)]
    assert message in show()
    assert show() == first
    assert message not in first
    return first


def two_sessions_tokens(app, user: User, path: str, visits: int = 3) -> tuple[str, str]:
    """Two sessions of `user` ask for `path` `visits` times each, in turns: each page shows one
    CSRF token, the same on every visit of its session and its own session's (Flask-WTF signs
    the session's raw token). Returns the two sessions' tokens."""
    clients = [login_client(app.test_client(), user) for _ in range(2)]
    seen: list[set[str]] = [set(), set()]
    for _ in range(visits):
        for index, client in enumerate(clients):
            html = client.get(path).get_data(as_text=True)
            found = set(re.findall(r'name="csrf_token" value="([^"]+)"', html))
            assert len(found) == 1, found
            assert (seen[index] or found) == found, index
            seen[index] = found
    signer = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt="wtf-csrf-token")
    tokens = []
    for client, (token,) in zip(clients, seen, strict=True):
        with client.session_transaction() as session:
            assert signer.loads(token) == session["csrf_token"]
        tokens.append(token)
    return tokens[0], tokens[1]


@pytest.fixture
def faculty(make_faculty) -> User:
    return make_faculty("faculty@example.org", "Prof. Hélène Faculty")


@pytest.fixture
def admin(make_admin) -> User:
    return make_admin("admin@example.org", "Grad Office Admin")


@pytest.fixture
def faculty_client(app, faculty):
    return login_client(app.test_client(), faculty)


@pytest.fixture
def admin_client(app, admin):
    return login_client(app.test_client(), admin)


# ---------------------------------------------------------------------------------------------
# Counting SQL statements.


@contextmanager
def count_queries(app) -> Iterator[list[str]]:
    """Collect every SQL statement the app's engine runs inside the block."""
    statements: list[str] = []

    def record(_conn, _cursor, statement, _parameters, _context, _executemany):
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


@pytest.fixture
def query_counter(app):
    return lambda: count_queries(app)
