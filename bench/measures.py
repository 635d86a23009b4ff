"""The figures of `make bench`: each returns the portal's number next to a baseline's."""

from __future__ import annotations

import sqlite3
import threading
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from flask_migrate import upgrade
from sqlalchemy import event, select
from sqlalchemy.engine import make_url

from bench.generate import BENCH_ADMIN_EMAIL, BENCH_FACULTY_EMAIL, Scale, generate
from bench.load import Session, median_seconds, throughput
from portal import create_app
from portal.extensions import db
from portal.models import User


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
    return {"name": "/group (30 members) req/s vs /healthz", "portal": group.requests_per_second,
            "baseline": ceiling.requests_per_second, "unit": "req/s", "target": ">= 0.35",
            "met": ratio >= 0.35, "note": group.tool}


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
    return {"name": "/admin/loads (2,000 faculty) ms vs raw SQL", "portal": portal * 1000,
            "baseline": baseline * 1000, "unit": "ms", "target": "<= 2.0",
            "met": ratio <= 2.0, "note": "median of 7"}


def _compiled_loads_query(database_url: str, instance: Path) -> str:
    from portal.admin.reports import _loads_query

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url}, instance_path=str(instance))
    with app.app_context():
        statement = _loads_query(date.today()).compile(
            dialect=db.engine.dialect, compile_kwargs={"literal_binds": True})
        db.engine.dispose()
    return str(statement)


def _raw_connection(database_url: str):
    """A plain DB-API connection (sqlite3 or psycopg) to the bench database."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        return sqlite3.connect(url.database)
    import psycopg

    return psycopg.connect(url.set(drivername="postgresql").render_as_string(hide_password=False))


SERVER_MEASURES = [group_throughput, loads_server_time]


# Pages whose query count must not grow with the data: (label, path, who).
PAGES = [
    ("/group", "/group", "faculty"),
    ("/group/alumni", "/group/alumni", "faculty"),
    ("/admin/loads", "/admin/loads", "admin"),
]


def _count_page_queries(database_url: str, instance: Path) -> dict[str, int]:
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "WTF_CSRF_ENABLED": False},
                     instance_path=str(instance))
    counts: dict[str, int] = {}
    with app.app_context():
        users = {"faculty": db.session.scalar(select(User).where(User.email == BENCH_FACULTY_EMAIL)),
                 "admin": db.session.scalar(select(User).where(User.email == BENCH_ADMIN_EMAIL))}
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


def in_process_measures(database_url: str, work: Path) -> list[dict]:
    return []


def elapsed(action) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started
