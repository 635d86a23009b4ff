"""The institution-wide import, confirmed through the portal: time and peak memory.

    .venv/bin/python -m bench.large_import [--rows 74000] [--database-url URL]

Builds a fresh database (SQLite in bench/work-large-import/, or the PostgreSQL database given, which is
emptied), 2,000 faculty accounts and an administrator, uploads a roster of `--rows` new rows
(2,000 faculty, five programs, 40 institutions, principal, co-supervisor and hosted links,
a quarter of them alumni) to /group/import as the administrator, then confirms it. Prints the
seconds and the resident memory of the process before and at its peak during the confirm,
sampled every 20 ms (the preview is measured by tests/test_large_import.py).
"""

from __future__ import annotations

import argparse
import io
import os
import re
import shutil
import threading
import time
from datetime import date
from pathlib import Path

from flask_migrate import upgrade

from bench.server import rss_bytes
from portal import create_app
from portal.extensions import db
from portal.models import User
from portal.roster.reports import ROSTER_COLUMNS

ROOT = Path(__file__).resolve().parent
WORK = ROOT / "work-large-import"  # apart from `make bench`'s bench/work
FACULTY = 2_000
PROGRAMS = (
    "PhD",
    "Master's Research",
    "Postdoctorate",
    "Research Intern",
    "Collaborating researcher",
)
ROLES = ("principal", "co-supervisor", "none")


def roster_csv(rows: int, today: date) -> bytes:
    """`rows` new rows; each person has one position, some with two faculty (principal + co)."""
    lines = [",".join(ROSTER_COLUMNS)]
    for n in range(rows):
        shared = n % 4 < 2  # rows 4k and 4k+1: one position, a principal and a co-supervisor
        person = n // 2 if shared else n
        key = f"{'a' if shared else 'b'}{person}"
        faculty = n % FACULTY
        role = ("principal", "co-supervisor")[n % 4] if shared else ROLES[n % 3]
        start = date(today.year - 1 - person % 12, 9, 1)
        end = date(start.year + 2, 8, 31).isoformat() if person % 4 == 3 else ""
        cells = [
            f"prof{faculty}@bench.example.org",
            f"Imported Student {key}",
            f"student{key}@bench.example.org",
            PROGRAMS[person % len(PROGRAMS)],
            f"Institution {person % 40}",
            role,
            start.isoformat(),
            end,
            "",
            "",
        ]
        lines.append(",".join(cells + [""] * (len(ROSTER_COLUMNS) - len(cells))))
    return "\r\n".join(lines).encode()


class PeakMemory:
    """Samples this process's resident memory in a thread; `peak` is the highest seen."""

    def __init__(self, every: float = 0.02) -> None:
        self.every = every
        self.peak = rss_bytes(os.getpid())
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(self.every):
            self.peak = max(self.peak, rss_bytes(os.getpid()))

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_bytes(os.getpid()))


def prepare(database_url: str | None) -> tuple[object, str]:
    """A migrated, empty database with the faculty and the administrator; the app and the
    administrator's session id."""
    if database_url is None:
        if WORK.exists():
            shutil.rmtree(WORK)
        WORK.mkdir(parents=True)
        database_url = f"sqlite:///{WORK / 'large-import.sqlite3'}"
    WORK.mkdir(exist_ok=True)
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "SECRET_KEY": "bench-secret-key-that-is-long-enough-for-anything",
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_ENABLED": False,
            "PASSWORD_HASH_METHOD": "scrypt:1024:8:1",
        },
        instance_path=str(WORK),
    )
    with app.app_context():
        db.drop_all()
        with db.engine.begin() as connection:
            connection.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
        upgrade()
        admin = User(email="admin@bench.example.org", display_name="Admin", is_admin=True)
        admin.set_password("x" * 16, method="scrypt:1024:8:1")
        users = [
            User(
                email=f"prof{n}@bench.example.org",
                display_name=f"Prof {n}",
                password_hash=admin.password_hash,
            )
            for n in range(FACULTY)
        ]
        db.session.add_all([*users, admin])
        db.session.commit()
        return app, admin.get_id()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=74_000)
    parser.add_argument("--database-url", default=None)
    arguments = parser.parse_args()
    app, admin_id = prepare(arguments.database_url)
    data = roster_csv(arguments.rows, date.today())
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = admin_id
        session["_fresh"] = True
        session["_password_at"] = int(time.time())
    started = time.perf_counter()
    preview = client.post(
        "/group/import",
        data={"file": (io.BytesIO(data), "institution.csv")},
        content_type="multipart/form-data",
    )
    page = preview.get_data(as_text=True)
    if preview.status_code != 200 or 'name="preview"' not in page:
        raise SystemExit(f"the preview failed ({preview.status_code}): {page[:2000]}")
    token = re.search(r'name="preview" type="hidden" value="([^"]+)"', page).group(1)
    preview_seconds = time.perf_counter() - started
    del page, preview, data
    before = rss_bytes(os.getpid())
    started = time.perf_counter()
    cpu_started = time.process_time()
    with PeakMemory() as memory:
        # 37 rows a faculty member on average: the default caps are passed, as the preview says.
        confirmed = client.post(
            "/group/import/confirm", data={"preview": token, "accept_over_cap": "y"}
        )
    confirm_seconds = time.perf_counter() - started
    confirm_cpu = time.process_time() - cpu_started
    if confirmed.status_code != 302:
        raise SystemExit(
            f"the confirm failed ({confirmed.status_code}): "
            f"{confirmed.get_data(as_text=True)[:2000]}"
        )
    with app.app_context():
        backend = db.engine.dialect.name
        counts = {
            table: db.session.execute(db.text(f"SELECT count(*) FROM {table}")).scalar_one()
            for table in ("persons", "positions", "supervisions", "audit_events", "milestones")
        }
    print(
        f"{backend}: {arguments.rows:,} rows; preview {preview_seconds:.1f} s; "
        f"confirm {confirm_seconds:.1f} s ({confirm_cpu:.1f} s CPU), resident memory {before / 2**20:.0f} MB before, "
        f"peak {memory.peak / 2**20:.0f} MB (+{(memory.peak - before) / 2**20:.0f} MB); {counts}"
    )


if __name__ == "__main__":
    main()
