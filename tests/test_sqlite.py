"""SQLite is set up for a multi-process server: WAL, busy timeout, foreign keys, early write locks."""

import threading

import pytest
from sqlalchemy import func, select, text

from portal import create_app
from portal.extensions import db
from portal.models import Institution
from tests.conftest import app_config


@pytest.fixture
def sqlite_app(tmp_path):
    """A file SQLite database of its own, whichever backend the rest of the suite is on."""
    app = create_app(app_config(f"sqlite:///{tmp_path}/own.sqlite3"), instance_path=str(tmp_path))
    with app.app_context():
        db.create_all()
    yield app
    with app.app_context():
        db.engine.dispose()


def test_every_connection_has_the_pragmas(sqlite_app):
    with sqlite_app.app_context(), db.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 15000


def test_concurrent_writers_wait_instead_of_failing(sqlite_app):
    """Writers that read first and write later would deadlock with deferred BEGIN; not here."""
    errors: list[Exception] = []
    writers, rows_each = 6, 15
    barrier = threading.Barrier(writers)

    def write(worker: int) -> None:
        try:
            barrier.wait()
            for row in range(rows_each):
                with sqlite_app.test_request_context("/", method="POST"):
                    # Read, then write in the same transaction: the pattern of every form post.
                    db.session.scalar(select(func.count()).select_from(Institution))
                    db.session.add(Institution(name=f"Institution {worker}-{row}"))
                    db.session.commit()
        except Exception as error:  # noqa: BLE001 - collected and asserted below
            errors.append(error)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with sqlite_app.app_context():
        assert (
            db.session.scalar(select(func.count()).select_from(Institution)) == writers * rows_each
        )
        assert db.session.execute(text("PRAGMA integrity_check")).scalar() == "ok"
