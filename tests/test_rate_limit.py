"""Login attempts are limited: 10 failures a minute per account and per address, then 429.

The counters live in the limiter's storage: memory in one process, Redis when
RATELIMIT_STORAGE_URI points at it, which is what lets several gunicorn workers share them.
"""

from __future__ import annotations

import http.client
import os
import time
import uuid
from urllib.parse import urlencode

import pytest
import redis
from sqlalchemy import func, select

from portal import create_app
from portal.extensions import db, limiter
from portal.models import AuditEvent
from tests.conftest import TEST_PASSWORD, app_config, build_app, reset_database
from tests.live_server import gunicorn

REDIS_URL = os.environ.get("PORTAL_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
LIMIT = 10
WRONG = "not the right passphrase"


@pytest.fixture
def key_prefix(monkeypatch):
    """A Redis key prefix of this test alone; its keys are deleted afterwards.

    Flask-Limiter keeps the first RATELIMIT_KEY_PREFIX it is given for the life of the Limiter
    object (one per process in production), so the test lets the next init_app set it afresh.
    """
    prefix = f"portal-test-{uuid.uuid4().hex}"
    monkeypatch.setattr(limiter, "_key_prefix", "")
    yield prefix
    connection = redis.Redis.from_url(REDIS_URL)
    for key in connection.scan_iter(match=f"*{prefix}*"):
        connection.delete(key)
    connection.close()


def _limited_app(database_url, tmp_path, make_faculty, **overrides):
    """An app with the limiter on, and its faculty account (made after the reset).

    Built inside each test, after the `app` fixture: the limiter extension keeps the settings
    of the most recent app it was bound to.
    """
    limited = build_app(
        database_url, str(tmp_path / "limited"), RATELIMIT_ENABLED=True, **overrides
    )
    return limited, make_faculty("faculty@example.org", "Prof. Hélène Faculty")


def _attempt(client, email, password, address="192.0.2.1"):
    return client.post(
        "/login", data={"email": email, "password": password}, environ_base={"REMOTE_ADDR": address}
    )


def test_eleventh_failure_for_one_account_is_refused_from_any_address(
    database_url, tmp_path, make_faculty
):
    app, faculty = _limited_app(
        database_url, tmp_path, make_faculty, RATELIMIT_STORAGE_URI="memory://"
    )
    client = app.test_client()
    spellings = ["faculty@example.org", "Faculty@Example.org", "  FACULTY@example.org "]
    for attempt in range(LIMIT):
        response = _attempt(client, spellings[attempt % 3], WRONG, address=f"192.0.2.{attempt}")
        assert response.status_code == 401, attempt
    refused = _attempt(client, faculty.email, TEST_PASSWORD, address="198.51.100.7")
    assert refused.status_code == 429
    page = refused.get_data(as_text=True)
    assert "Too many attempts. Please wait a minute and try again." in page
    assert "Traceback" not in page
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    with app.app_context():  # the refused attempt did not log in
        assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == 0
    # Another account from a fresh address is not affected.
    assert _attempt(client, "someone.else@example.org", WRONG, "198.51.100.8").status_code == 401


def test_eleventh_failure_from_one_address_is_refused_for_any_account(
    database_url, tmp_path, make_faculty
):
    app, faculty = _limited_app(
        database_url, tmp_path, make_faculty, RATELIMIT_STORAGE_URI="memory://"
    )
    client = app.test_client()
    for attempt in range(LIMIT):
        response = _attempt(client, f"guess{attempt}@example.org", WRONG, address="203.0.113.5")
        assert response.status_code == 401
    assert _attempt(client, faculty.email, TEST_PASSWORD, "203.0.113.5").status_code == 429
    assert _attempt(client, faculty.email, TEST_PASSWORD, "203.0.113.6").status_code == 302


def test_successful_logins_do_not_count(database_url, tmp_path, make_faculty):
    app, faculty = _limited_app(
        database_url, tmp_path, make_faculty, RATELIMIT_STORAGE_URI="memory://"
    )
    for _ in range(LIMIT - 1):
        assert _attempt(app.test_client(), faculty.email, WRONG).status_code == 401
    for _ in range(2 * LIMIT):
        assert _attempt(app.test_client(), faculty.email, TEST_PASSWORD).status_code == 302
    assert _attempt(app.test_client(), faculty.email, WRONG).status_code == 401  # the 10th
    assert _attempt(app.test_client(), faculty.email, TEST_PASSWORD).status_code == 429


def test_login_page_itself_is_not_limited(database_url, tmp_path, make_faculty):
    app, faculty = _limited_app(
        database_url, tmp_path, make_faculty, RATELIMIT_STORAGE_URI="memory://"
    )
    client = app.test_client()
    for _ in range(LIMIT):
        _attempt(client, faculty.email, WRONG)
    assert client.get("/login").status_code == 200


def test_counters_live_in_redis(database_url, tmp_path, make_faculty, key_prefix):
    app, faculty = _limited_app(
        database_url,
        tmp_path,
        make_faculty,
        RATELIMIT_STORAGE_URI=REDIS_URL,
        RATELIMIT_KEY_PREFIX=key_prefix,
    )
    client = app.test_client()
    for _ in range(LIMIT):
        assert _attempt(client, faculty.email, WRONG).status_code == 401
    assert _attempt(client, faculty.email, TEST_PASSWORD).status_code == 429
    connection = redis.Redis.from_url(REDIS_URL)
    keys = [key.decode() for key in connection.scan_iter(match=f"*{key_prefix}*")]
    connection.close()
    assert any("login-account:faculty@example.org" in key for key in keys), keys
    assert any("login-address:192.0.2.1" in key for key in keys), keys


# ---------------------------------------------------------------------------------------------
# Several processes share one limit through Redis.


def _prepare_sqlite(tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'live.sqlite3'}"
    app = create_app(app_config(url), instance_path=str(tmp_path / "setup"))
    with app.app_context():
        db.create_all()
        reset_database()
        from portal.auth.operations import create_user

        create_user("victim@example.org", "Prof. Victim", TEST_PASSWORD)
        db.session.commit()
        db.engine.dispose()
    return url


def _open_connections(server, count):
    """Connections that are each accepted by a different sync worker before any request is sent.

    A sync worker serves one connection at a time, so connections open at the same moment are
    held by different workers; sending the attempts on them in turn spreads the attempts over
    the workers without any two running at once.
    """
    connections = []
    for _ in range(count):
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=15)
        connection.connect()
        connections.append(connection)
    time.sleep(1.0)  # time for each worker to accept one, even on a busy machine
    return connections


def _post_login(connection, email, password):
    body = urlencode({"email": email, "password": password})
    connection.request(
        "POST",
        "/login",
        body=body,
        headers={"Content-Type": "application/x-www-form-urlencoded", "Connection": "close"},
    )
    response = connection.getresponse()
    response.read()
    connection.close()
    return response.status


@pytest.mark.slow
def test_three_gunicorn_workers_share_one_limit_through_redis(tmp_path, key_prefix):
    workers = 3
    environment = {
        "DATABASE_URL": _prepare_sqlite(tmp_path),
        "SECRET_KEY": "live-server-secret-key-long-enough-for-the-check",
        "RATELIMIT_STORAGE_URI": REDIS_URL,
        "PORTAL_RATELIMIT_KEY_PREFIX": key_prefix,
        "PORTAL_RATELIMIT_ENABLED": "true",
        # CSRF is not what this test is about (test_csrf*.py covers it); without it each
        # attempt is a single request, so the worker that counts it is the one we chose.
        "PORTAL_WTF_CSRF_ENABLED": "false",
    }
    statuses = []
    with gunicorn(tmp_path, environment, workers=workers) as server:
        for _ in range(6):  # 18 attempts, three per round, each on a different worker
            for connection in _open_connections(server, workers):
                statuses.append(_post_login(connection, "victim@example.org", WRONG))
        final = _open_connections(server, 1)[0]
        right_password = _post_login(final, "victim@example.org", TEST_PASSWORD)
        served = [(pid, status) for pid, status in server.served_by() if status in (401, 429)]

    assert statuses == [401] * LIMIT + [429] * (len(statuses) - LIMIT)
    assert right_password == 429
    workers_that_refused_a_password = {pid for pid, status in served if status == 401}
    assert len(workers_that_refused_a_password) == workers, served


def test_logins_stay_limited_and_working_when_redis_is_down(database_url, tmp_path, make_faculty):
    from tests.live_server import free_port

    nothing_listens = f"redis://127.0.0.1:{free_port()}/0"
    app, faculty = _limited_app(
        database_url, tmp_path, make_faculty, RATELIMIT_STORAGE_URI=nothing_listens
    )
    assert _attempt(app.test_client(), faculty.email, TEST_PASSWORD).status_code == 302
    client = app.test_client()
    for _ in range(LIMIT):
        assert _attempt(client, faculty.email, WRONG).status_code == 401
    assert _attempt(client, faculty.email, TEST_PASSWORD).status_code == 429


def test_a_forged_forwarded_for_header_does_not_dodge_the_address_limit(
    database_url, tmp_path, make_faculty
):
    app, faculty = _limited_app(
        database_url, tmp_path, make_faculty, RATELIMIT_STORAGE_URI="memory://"
    )
    client = app.test_client()
    for attempt in range(LIMIT):
        response = client.post(
            "/login",
            data={"email": f"g{attempt}@example.org", "password": WRONG},
            headers={"X-Forwarded-For": f"198.51.100.{attempt}"},
        )
        assert response.status_code == 401
    refused = client.post(
        "/login",
        data={"email": faculty.email, "password": TEST_PASSWORD},
        headers={"X-Forwarded-For": "198.51.100.200"},
    )
    assert refused.status_code == 429


def test_behind_a_trusted_proxy_each_client_address_has_its_own_limit(
    database_url, tmp_path, make_faculty
):
    app, faculty = _limited_app(
        database_url, tmp_path, make_faculty, RATELIMIT_STORAGE_URI="memory://", TRUSTED_PROXIES=1
    )
    balancer = {"REMOTE_ADDR": "10.0.0.1"}
    client = app.test_client()
    for attempt in range(LIMIT):
        response = client.post(
            "/login",
            data={"email": f"g{attempt}@example.org", "password": WRONG},
            headers={"X-Forwarded-For": "203.0.113.66"},
            environ_base=balancer,
        )
        assert response.status_code == 401
    blocked = client.post(
        "/login",
        data={"email": "x@example.org", "password": WRONG},
        headers={"X-Forwarded-For": "203.0.113.66"},
        environ_base=balancer,
    )
    assert blocked.status_code == 429
    other = client.post(
        "/login",
        data={"email": faculty.email, "password": TEST_PASSWORD},
        headers={"X-Forwarded-For": "203.0.113.77"},
        environ_base=balancer,
    )
    assert other.status_code == 302
