"""The figures of `make bench`: each returns the portal's number next to a baseline's."""

from __future__ import annotations

import csv
import gc
import io
import sqlite3
import threading
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from flask_migrate import upgrade
from sqlalchemy import event, func, select
from sqlalchemy.engine import make_url

from bench.generate import BENCH_ADMIN_EMAIL, BENCH_FACULTY_EMAIL, Scale, generate
from bench.load import Session, median_seconds, throughput
from bench.server import rss_bytes, worker_pids
from portal import create_app
from portal.extensions import db
from portal.models import User

BENCH_IMPORT_FACULTY = "faculty2@bench.example.org"


@dataclass
class Context:
    port: int
    master_pid: int
    database_url: str
    faculty: Session
    admin: Session
    work: Path


def group_throughput(context: Context) -> dict:
    """Logged-in /group of a 30-member group against /healthz of the same server."""
    ceiling = throughput(context.port, "/healthz")
    group = throughput(context.port, "/group", cookie=context.faculty.cookie)
    ratio = group.requests_per_second / ceiling.requests_per_second
    return {
        "name": "/group (30 members) req/s vs /healthz",
        "portal": group.requests_per_second,
        "baseline": ceiling.requests_per_second,
        "unit": "req/s",
        "target": ">= 0.35",
        "met": ratio >= 0.35,
        "note": group.tool,
    }


def loads_server_time(context: Context) -> dict:
    """/admin/loads at full scale, end to end, against its aggregate query run on the DB-API."""

    def page() -> None:
        response = context.admin.request("GET", "/admin/loads")
        response.read()
        if response.status != 200:
            raise RuntimeError(f"/admin/loads answered {response.status}")

    portal = median_seconds(page)
    sql = _compiled_loads_query(context.database_url, context.work)
    raw = _raw_connection(context.database_url)
    try:

        def query() -> None:
            cursor = raw.cursor()
            cursor.execute(sql)
            cursor.fetchall()
            cursor.close()

        baseline = median_seconds(query)
    finally:
        raw.close()
    ratio = portal / baseline
    return {
        "name": "/admin/loads (2,000 faculty) ms vs raw SQL",
        "portal": portal * 1000,
        "baseline": baseline * 1000,
        "unit": "ms",
        "target": "<= 1.5",
        "met": ratio <= 1.5,
        "note": "median of 7",
    }


def _compiled_loads_query(database_url: str, instance: Path) -> str:
    from portal.loads import loads_query

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url}, instance_path=str(instance))
    with app.app_context():
        statement = loads_query(date.today()).compile(
            dialect=db.engine.dialect, compile_kwargs={"literal_binds": True}
        )
        db.engine.dispose()
    return str(statement)


def _raw_connection(database_url: str):
    """A plain DB-API connection (sqlite3 or psycopg) to the bench database."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        return sqlite3.connect(url.database)
    import psycopg

    return psycopg.connect(url.set(drivername="postgresql").render_as_string(hide_password=False))


def csv_export(context: Context) -> list[dict]:
    """Institution-wide CSV of every position link: rows per second and worker memory growth."""
    workers = worker_pids(context.master_pid)
    baseline_rss = {pid: rss_bytes(pid) for pid in workers}
    peak_rss = dict(baseline_rss)
    sampling = threading.Event()

    def sample() -> None:
        while not sampling.is_set():
            for pid in workers:
                peak_rss[pid] = max(peak_rss[pid], rss_bytes(pid))
            time.sleep(0.01)

    sampler = threading.Thread(target=sample)
    sampler.start()
    started = time.perf_counter()
    response = context.admin.request("GET", "/admin/roster.csv?status=all")
    first_byte = time.perf_counter() - started
    lines = 0
    while chunk := response.read(64 * 1024):
        lines += chunk.count(b"\n")
    portal_seconds = time.perf_counter() - started
    sampling.set()
    sampler.join()
    if response.status != 200:
        raise RuntimeError(f"/admin/roster.csv answered {response.status}")
    rows = lines - 1  # the header
    growth = max(peak_rss[pid] - baseline_rss[pid] for pid in workers) / 1e6

    sql = _compiled_roster_query(context.database_url, context.work)
    raw = _raw_connection(context.database_url)
    try:
        started = time.perf_counter()
        cursor = raw.cursor()
        cursor.execute(sql)
        sink = io.StringIO()
        writer = csv.writer(sink)
        while batch := cursor.fetchmany(1000):
            writer.writerows(batch)
            sink.seek(0)
            sink.truncate()
        baseline_seconds = time.perf_counter() - started
    finally:
        raw.close()
    portal_rate, baseline_rate = rows / portal_seconds, rows / baseline_seconds
    return [
        {
            "name": f"CSV export ({rows:,} rows) rows/s vs raw sqlite3+csv",
            "portal": portal_rate,
            "baseline": baseline_rate,
            "unit": "rows/s",
            "target": ">= 0.5",
            "met": portal_rate / baseline_rate >= 0.5,
            "note": f"first byte {first_byte * 1000:.0f} ms",
        },
        {
            "name": "CSV export worker memory growth (MB)",
            "portal": growth,
            "baseline": 50.0,
            "unit": "MB",
            "target": "< 50 MB",
            "met": growth < 50.0,
            "note": "peak RSS - RSS before",
        },
    ]


def _compiled_roster_query(database_url: str, instance: Path) -> str:
    from portal.roster.reports import RosterExport, RosterStatus, roster_query

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url}, instance_path=str(instance))
    with app.app_context():
        query = roster_query(RosterExport(None, RosterStatus.ALL, date.today()))
        statement = query.compile(dialect=db.engine.dialect, compile_kwargs={"literal_binds": True})
        db.engine.dispose()
    return str(statement)


SERVER_MEASURES = [group_throughput, loads_server_time, csv_export]


# Pages whose query count must not grow with the data: (label, path, who).
PAGES = [
    ("/group", "/group", "faculty"),
    ("/group/alumni", "/group/alumni", "faculty"),
    ("/admin/loads", "/admin/loads", "admin"),
]


def _count_page_queries(database_url: str, instance: Path) -> dict[str, int]:
    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": database_url, "WTF_CSRF_ENABLED": False},
        instance_path=str(instance),
    )
    counts: dict[str, int] = {}
    with app.app_context():
        users = {
            "faculty": db.session.scalar(select(User).where(User.email == BENCH_FACULTY_EMAIL)),
            "admin": db.session.scalar(select(User).where(User.email == BENCH_ADMIN_EMAIL)),
        }
        ids = {who: user.get_id() for who, user in users.items()}
        engine = db.engine
    statements: list[str] = []
    lock = threading.Lock()

    def record(*_args):
        with lock:
            statements.append("q")

    for label, path, who in PAGES:
        client = app.test_client()
        with client.session_transaction() as session:
            session["_user_id"] = ids[who]
            session["_fresh"] = True
        client.get(path)  # warm caches (e.g. the user loader) the same way for both sizes
        event.listen(engine, "before_cursor_execute", record)
        try:
            status = client.get(path).status_code
        finally:
            event.remove(engine, "before_cursor_execute", record)
        counts[label] = len(statements) if status == 200 else -status
        statements.clear()
    with app.app_context():
        db.engine.dispose()
    return counts


def queries_per_page(database_url: str, work: Path) -> dict[str, tuple[int, int]]:
    """SQL statements per page on a small generated database and on the full one."""
    small_url = f"sqlite:///{work / 'small.sqlite3'}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": small_url}, instance_path=str(work))
    with app.app_context():
        upgrade()
        generate(Scale(faculty=20, people=400, positions=600), date.today())
        db.engine.dispose()
    small = _count_page_queries(small_url, work)
    large = _count_page_queries(database_url, work)
    return {label: (small[label], large[label]) for label, _, _ in PAGES}


def cpu_measures(database_url: str, work: Path) -> list[dict]:
    """In-process CPU per logged-in request, English and French interleaved (medians).

    The baseline is /healthz in the same process: what a request costs before any page work.
    """
    from bench.cpu import cpu_per_request
    from bench.generate import BENCH_PASSWORD

    figures = []
    for label, path, email, target in [
        ("/group (30 members)", "/group", BENCH_FACULTY_EMAIL, 2.0),
        ("admin /group of one faculty", "/group?faculty=2", BENCH_ADMIN_EMAIL, 4.0),
    ]:
        page = cpu_per_request(database_url, work, email, BENCH_PASSWORD, path)
        ceiling = cpu_per_request(database_url, work, email, BENCH_PASSWORD, "/healthz")
        for language, milliseconds in page.items():
            figures.append(
                {
                    "name": f"{label} CPU ms, {language}, vs /healthz",
                    "portal": milliseconds,
                    "baseline": ceiling[language],
                    "unit": "ms",
                    "target": f"<= {target} ms",
                    "met": milliseconds <= target,
                    "note": "in-process CPU, median of 200 interleaved",
                }
            )
    return figures


IMPORT_ROWS = 10_000


def in_process_measures(database_url: str, work: Path) -> list[dict]:
    """Import of 10,000 new rows through the importer, against Core inserts of the same rows."""
    from portal.roster.applying import apply_import
    from portal.roster.planning import plan_import
    from portal.roster.reading import read_roster_file
    from portal.roster.reports import ROSTER_COLUMNS
    from portal.spreadsheets import csv_bytes_chunks

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url}, instance_path=str(work))
    today = date.today()
    rows = [
        (
            BENCH_IMPORT_FACULTY,
            f"Imported Person {n}",
            f"imported{n}@bench.example.org",
            "PhD",
            "Université de Montréal",
            "principal",
            today.replace(year=today.year - 1),
            None,
            "current",
            None,
        )
        for n in range(IMPORT_ROWS)
    ]
    data = b"".join(csv_bytes_chunks(ROSTER_COLUMNS, rows))
    with app.app_context():
        faculty = db.session.scalar(select(User).where(User.email == BENCH_IMPORT_FACULTY))
        started, started_cpu = time.perf_counter(), time.process_time()
        plan = plan_import(
            read_roster_file(data, "bench.csv", max_bytes=None), faculty, only_faculty=faculty
        )
        if not plan.ok:
            raise RuntimeError("the bench import file has problems")
        apply_import(plan, faculty)
        db.session.commit()
        portal_seconds = time.perf_counter() - started
        portal_cpu = time.process_time() - started_cpu
        del plan
        gc.collect()  # the import's garbage is not the baseline's to collect
        baseline_cpu = time.process_time()
        baseline_seconds = _core_insert_seconds(faculty.id, IMPORT_ROWS, today)
        baseline_cpu = time.process_time() - baseline_cpu
        db.engine.dispose()
    return [
        {
            "name": f"Import ({IMPORT_ROWS:,} new rows) rows/s vs Core inserts",
            "portal": IMPORT_ROWS / portal_seconds,
            "baseline": IMPORT_ROWS / baseline_seconds,
            "unit": "rows/s",
            "target": "(reported)",
            "met": True,
            "note": "parse + validate + apply + audit, one transaction; "
            f"CPU seconds {portal_cpu:.2f} vs {baseline_cpu:.2f}, "
            f"ratio {baseline_cpu / portal_cpu:.2f}",
        }
    ]


def _core_insert_seconds(faculty_id: int, count: int, today: date) -> float:
    """The same people, positions and links written with three executemany statements."""
    from portal.models import Person, Position, Supervision

    start = today.replace(year=today.year - 1)
    first_person = (db.session.scalar(select(func.max(Person.id))) or 0) + 1
    first_position = (db.session.scalar(select(func.max(Position.id))) or 0) + 1
    first_link = (db.session.scalar(select(func.max(Supervision.id))) or 0) + 1
    now = datetime.now(UTC)
    started = time.perf_counter()
    db.session.execute(
        Person.__table__.insert(),
        [
            {
                "id": first_person + n,
                "full_name": f"Core Person {n}",
                "email": f"core{n}@bench.example.org",
                "version": 1,
                "created_at": now,
                "updated_at": now,
            }
            for n in range(count)
        ],
    )
    db.session.execute(
        Position.__table__.insert(),
        [
            {
                "id": first_position + n,
                "person_id": first_person + n,
                "program_id": 1,
                "institution_id": 1,
                "start_date": start,
                "version": 1,
                "created_at": now,
                "updated_at": now,
            }
            for n in range(count)
        ],
    )
    db.session.execute(
        Supervision.__table__.insert(),
        [
            {
                "id": first_link + n,
                "position_id": first_position + n,
                "supervisor_id": faculty_id,
                "role": "principal",
                "share": 100,
            }
            for n in range(count)
        ],
    )
    db.session.commit()
    return time.perf_counter() - started


def elapsed(action) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started
