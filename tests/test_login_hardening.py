"""Login: only the HTML form logs in; attempts are counted atomically before the password check;
a known device keeps its owner in; the owner is told about failed attempts."""

from __future__ import annotations

import os
import threading
import uuid

import pytest
import redis

from portal.auth import queries as auth_queries
from portal.auth.throttle import DEVICE_COOKIE
from portal.extensions import limiter
from tests.conftest import TEST_PASSWORD, build_app

REDIS_URL = os.environ.get("PORTAL_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
WRONG = "not the right passphrase"


@pytest.fixture
def limited(database_url, tmp_path, make_faculty, monkeypatch, app):
    """An app with the limiter on, counting in Redis under a prefix of this test alone."""
    prefix = f"portal-test-{uuid.uuid4().hex}"
    monkeypatch.setattr(limiter, "_key_prefix", "")
    limited_app = build_app(
        database_url,
        str(tmp_path / "limited"),
        RATELIMIT_ENABLED=True,
        RATELIMIT_STORAGE_URI=REDIS_URL,
        RATELIMIT_KEY_PREFIX=prefix,
    )
    faculty = make_faculty("owner@example.org", "Prof. Owner")
    yield limited_app, faculty
    connection = redis.Redis.from_url(REDIS_URL)
    for key in connection.scan_iter(match=f"*{prefix}*"):
        connection.delete(key)
    connection.close()


def attempt(client, email, password, address="192.0.2.1"):
    return client.post(
        "/login", data={"email": email, "password": password}, environ_base={"REMOTE_ADDR": address}
    )


def test_a_json_login_is_refused_and_counts_nothing(limited):
    app, faculty = limited
    client = app.test_client()
    for _ in range(12):
        response = client.post(
            "/login",
            json={"email": faculty.email, "password": TEST_PASSWORD},
            headers={"X-CSRFToken": "anything"},
        )
        assert response.status_code == 400
        assert "Log in with the login form" in response.get_data(as_text=True)
    assert client.get("/group").status_code == 302  # not logged in
    assert attempt(client, faculty.email, TEST_PASSWORD).status_code == 302  # nothing counted


def test_concurrent_guesses_check_at_most_the_limit_of_passwords(limited, monkeypatch):
    app, faculty = limited
    checked = []
    real_authenticate = auth_queries.authenticate

    def counting(email, password):
        checked.append(email)
        return real_authenticate(email, password)

    monkeypatch.setattr("portal.auth.views.authenticate", counting)
    barrier = threading.Barrier(30)
    statuses = []

    def guess(number):
        client = app.test_client()
        barrier.wait()
        statuses.append(attempt(client, faculty.email, WRONG, f"198.51.100.{number}").status_code)

    threads = [threading.Thread(target=guess, args=(number,)) for number in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(checked) == 10, f"{len(checked)} passwords checked against a limit of 10"
    assert sorted(statuses) == [401] * 10 + [429] * 20


def test_an_account_lockout_never_blocks_its_owner_on_a_known_device(limited):
    app, faculty = limited
    owner = app.test_client()
    assert attempt(owner, faculty.email, TEST_PASSWORD, "203.0.113.9").status_code == 302
    assert owner.get_cookie(DEVICE_COOKIE) is not None
    owner.post("/logout")
    attacker = app.test_client()
    for number in range(15):
        attempt(attacker, faculty.email, WRONG, f"198.51.100.{number}")
    assert attempt(attacker, faculty.email, TEST_PASSWORD, "198.51.100.99").status_code == 429
    # The owner's browser logged in before: its attempts have a budget of their own.
    assert attempt(owner, faculty.email, TEST_PASSWORD, "203.0.113.9").status_code == 302
    # A forged or foreign device cookie is no key.
    stranger = app.test_client()
    stranger.set_cookie(DEVICE_COOKIE, "forged.value")
    assert attempt(stranger, faculty.email, TEST_PASSWORD, "198.51.100.98").status_code == 429


def test_the_owner_is_told_of_failed_attempts_at_the_next_login(app, faculty, client):
    for _ in range(3):
        assert attempt(client, faculty.email, WRONG).status_code == 401
    response = client.post(
        "/login", data={"email": faculty.email, "password": TEST_PASSWORD}, follow_redirects=True
    )
    page = response.get_data(as_text=True)
    assert "Since your last login, 3 attempts to log in to your account failed" in page
    client.post("/logout")
    again = client.post(
        "/login", data={"email": faculty.email, "password": TEST_PASSWORD}, follow_redirects=True
    )
    assert "attempts to log in to your account failed" not in again.get_data(as_text=True)
