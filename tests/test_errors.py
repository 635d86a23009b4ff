"""Errors the Flask way: crashes propagate under tests, 503 only for retryable database errors."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import OperationalError

from portal.auth.access import public
from tests.conftest import build_app


class _DriverError(Exception):
    def __init__(self, message: str, sqlstate: str | None = None) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


def app_raising(database_url, tmp_path, error: Exception, **config):
    app = build_app(database_url, str(tmp_path), **config)

    @app.get("/boom")
    @public
    def boom():
        raise error

    return app


def operational(message: str, sqlstate: str | None = None) -> OperationalError:
    return OperationalError("SELECT 1", {}, _DriverError(message, sqlstate))


@pytest.mark.parametrize(
    "error",
    [
        operational("database is locked"),
        operational("canceling statement due to lock timeout", "55P03"),
        operational("server closed the connection unexpectedly"),
    ],
    ids=["sqlite-locked", "postgres-lock-timeout", "connection-lost"],
)
def test_lock_timeouts_and_lost_connections_are_503_retry(database_url, tmp_path, error):
    client = app_raising(database_url, tmp_path, error).test_client()
    response = client.get("/boom")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "2"
    assert "nothing was saved" in response.get_data(as_text=True)


def test_no_such_table_is_a_bug_not_a_busy_database(database_url, tmp_path):
    app = app_raising(database_url, tmp_path, operational("no such table: people"), TESTING=False)
    response = app.test_client().get("/boom")
    assert response.status_code == 500
    assert "Something went wrong" in response.get_data(as_text=True)


def test_a_crash_propagates_under_tests_with_its_real_traceback(database_url, tmp_path):
    client = app_raising(database_url, tmp_path, KeyError("the real cause")).test_client()
    with pytest.raises(KeyError, match="the real cause"):
        client.get("/boom")
    crashing = app_raising(database_url, tmp_path, operational("no such table: people"))
    with pytest.raises(OperationalError, match="no such table"):
        crashing.test_client().get("/boom")


def test_in_production_mode_a_crash_is_a_plain_500_page(database_url, tmp_path, caplog):
    app = app_raising(database_url, tmp_path, KeyError("the real cause"), TESTING=False)
    response = app.test_client().get("/boom")
    assert response.status_code == 500
    assert "KeyError" not in response.get_data(as_text=True)
    assert any(record.exc_info and record.exc_info[0] is KeyError for record in caplog.records)
