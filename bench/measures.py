"""The figures of `make bench`: each returns the portal's number next to a baseline's.

Every pair is measured interleaved (portal, baseline, portal, baseline, …) and reported as the
medians, so that a change in the shared machine's load touches both sides alike.
"""

from __future__ import annotations

import csv
import io
import re
import sqlite3
import threading
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import event, func, select
from sqlalchemy.engine import make_url

from bench.generate import (
    BENCH_ADMIN_EMAIL,
    BENCH_FACULTY_EMAIL,
    BENCH_FACULTY_ID,
    BENCH_LARGE_GROUP_EMAIL,
    BENCH_PASSWORD,
    Scale,
    fill_database,
    reset_sequences,
    small_database_url,
)
from bench.load import Session, interleaved_medians, throughput, timed
from bench.server import WORKERS, rss_bytes, worker_pids
from portal import create_app
from portal.admin.views import KEPT_LOADS_READS
from portal.extensions import db
from portal.group.views import KEPT_CONTENT as GROUP_CONTENT
from portal.models import Position, User

# The Django admin peer's changelist of the bench faculty's group (bench/django_peer/admin.py).
DJANGO_CHANGELIST = "/admin/django_peer/groupmember/"
GROUP_SIZE = 30


@dataclass
class Context:
    port: int
    master_pid: int
    database_url: str
    faculty: Session
    admin: Session
    work: Path
    backend: str
    rounds: int
    django_port: int
    django: Session


def figure(name, portal, baseline, unit, target, met, note="") -> dict:
    return {
        "name": name,
        "portal": portal,
        "baseline": baseline,
        "unit": unit,
        "target": target,
        "met": met,
        "note": note,
    }


def check_django_changelist(context: Context) -> None:
    """The peer lists the same 30 members, for its logged-in superuser."""
    page = context.django.get_page(DJANGO_CHANGELIST)
    rows = len(re.findall(r'class="action-checkbox"', page))
    if rows != GROUP_SIZE:
        raise RuntimeError(f"the Django changelist shows {rows} rows, not {GROUP_SIZE}")


def group_throughput(context: Context) -> list[dict]:
    """Logged-in /group of the 30-member group under load, against /healthz of the same server
    and against the Django admin's changelist of the same 30 rows."""
    check_django_changelist(context)
    tools: set[str] = set()
    connections: set[int] = set()

    def rate(port: int, path: str, session: Session | None = None):
        def run() -> float:
            cookie = ""
            if session is not None:
                # The cookie a browser holds: the load tool replays it without a cookie jar,
                # so it is taken fresh from a page just before (the idle clock moves each minute).
                session.get_page(path)
                cookie = session.cookie
            measured = throughput(port, path, cookie=cookie)
            tools.add(measured.tool)
            connections.add(measured.connections)
            return measured.requests_per_second

        return run

    # Five rounds at least: a round now and then runs slow on a shared machine.
    rounds = max(5, context.rounds)
    medians = interleaved_medians(
        {
            "healthz": rate(context.port, "/healthz"),
            "group": rate(context.port, "/group", context.faculty),
            "django": rate(context.django_port, DJANGO_CHANGELIST, context.django),
        },
        rounds,
        warm_up=False,
    )
    note = (
        f"{', '.join(sorted(tools))}, {', '.join(map(str, sorted(connections)))} connections, "
        f"medians of {rounds} interleaved"
    )
    group, ceiling, django = medians["group"], medians["healthz"], medians["django"]
    return [
        figure(
            "/group (30 members) req/s vs /healthz",
            group,
            ceiling,
            "req/s",
            ">= 0.2×",
            group / ceiling >= 0.2,
            note,
        ),
        figure(
            "/group (30 members) req/s vs Django admin changelist (same 30 rows)",
            group,
            django,
            "req/s",
            ">= 8×",
            group / django >= 8,
            note,
        ),
    ]


def loads_server_time(context: Context) -> dict:
    """/admin/loads at full scale, end to end, against its aggregate query run on the DB-API."""

    def page() -> None:
        response = context.admin.request("GET", "/admin/loads")
        response.read()
        if response.status != 200:
            raise RuntimeError(f"/admin/loads answered {response.status}")

    sql = _compiled_loads_query(context.database_url, context.work)
    raw = _raw_connection(context.database_url)
    try:

        def query() -> None:
            cursor = raw.cursor()
            cursor.execute(sql)
            cursor.fetchall()
            cursor.close()

        # Each gunicorn worker renders the page once before it is kept; the worker a connection
        # reaches is the kernel's choice, so a few pages first, then enough rounds that a first
        # render caught among the samples does not move the median.
        for _ in range(2 * WORKERS):
            page()
        rounds = max(21, context.rounds)
        medians = interleaved_medians({"page": timed(page), "query": timed(query)}, rounds)
    finally:
        raw.close()
    portal, baseline = medians["page"], medians["query"]
    return figure(
        "/admin/loads (2,000 faculty) ms vs its SQL",
        portal * 1000,
        baseline * 1000,
        "ms",
        "<= 1.5×",
        portal / baseline <= 1.5,
        f"HTTP end to end vs the query on the DB-API, medians of {rounds} interleaved",
    )


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
    """Institution-wide CSV of every position link: rows per second against a plain fetch of the
    same query written with `csv`, and the worker's memory growth during the export."""
    workers = worker_pids(context.master_pid)
    growths: list[float] = []
    first_bytes: list[float] = []
    rows_seen: list[int] = []

    def portal() -> None:
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
        first_bytes.append(time.perf_counter() - started)
        lines = 0
        while chunk := response.read(64 * 1024):
            lines += chunk.count(b"\n")
        sampling.set()
        sampler.join()
        if response.status != 200:
            raise RuntimeError(f"/admin/roster.csv answered {response.status}")
        rows_seen.append(lines - 1)  # the header
        growths.append(max(peak_rss[pid] - baseline_rss[pid] for pid in workers) / 1e6)

    sql = _compiled_roster_query(context.database_url, context.work)
    raw = _raw_connection(context.database_url)

    def plain() -> None:
        cursor = raw.cursor()
        cursor.execute(sql)
        sink = io.StringIO()
        writer = csv.writer(sink)
        while batch := cursor.fetchmany(1000):
            writer.writerows(batch)
            sink.seek(0)
            sink.truncate()
        cursor.close()

    try:
        medians = interleaved_medians(
            {"portal": timed(portal), "plain": timed(plain)}, context.rounds
        )
    finally:
        raw.close()
    rows = rows_seen[-1]
    portal_rate, baseline_rate = rows / medians["portal"], rows / medians["plain"]
    sqlite = context.backend == "sqlite"
    baseline_name = "raw sqlite3 + csv" if sqlite else "a plain psycopg fetch + csv"
    target = 0.8 if sqlite else 0.7
    growth = max(growths)
    return [
        figure(
            f"CSV export ({rows:,} rows) rows/s vs {baseline_name}",
            portal_rate,
            baseline_rate,
            "rows/s",
            f">= {target}×",
            portal_rate / baseline_rate >= target,
            f"medians of {context.rounds} interleaved; first byte "
            f"{sorted(first_bytes)[len(first_bytes) // 2] * 1000:.0f} ms",
        ),
        figure(
            "CSV export worker memory growth (MB)",
            growth,
            50.0,
            "MB",
            "< 50 MB",
            growth < 50.0,
            "peak RSS - RSS before, the largest of the runs",
        ),
    ]


def _compiled_roster_query(database_url: str, instance: Path) -> str:
    """The statement the CSV export runs (its cells as the file writes them, in its order)."""
    from portal.roster.reports import RosterExport, RosterStatus, roster_text_query

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url}, instance_path=str(instance))
    with app.app_context():
        query = roster_text_query(RosterExport(None, RosterStatus.ALL, date.today()))
        statement = query.compile(dialect=db.engine.dialect, compile_kwargs={"literal_binds": True})
        db.engine.dispose()
    return str(statement)


SERVER_MEASURES = [group_throughput, loads_server_time, csv_export]


# Pages whose query count must not grow with the data: (label, path, who).
# (label, path, who, whether the page's kept content and reads are forgotten first, as after a
# write: the same page again, with nothing written meanwhile, reads none of them; the loads page
# always reads the loads themselves)
PAGES = [
    ("/group", "/group", "faculty", False),
    ("/group, read afresh", "/group", "faculty", True),
    ("/group (300 members)", "/group", "large_group", False),
    ("/group (300 members), read afresh", "/group", "large_group", True),
    ("/group/alumni", "/group/alumni", "faculty", False),
    ("admin /group?faculty=2", f"/group?faculty={BENCH_FACULTY_ID}", "admin", False),
    ("admin /group?faculty=2, read afresh", f"/group?faculty={BENCH_FACULTY_ID}", "admin", True),
    ("/admin/loads", "/admin/loads", "admin", False),
    ("/admin/loads, read afresh", "/admin/loads", "admin", True),
]


def _count_page_queries(database_url: str, instance: Path) -> dict[str, int]:
    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": database_url, "WTF_CSRF_ENABLED": False},
        instance_path=str(instance),
    )
    emails = {
        "faculty": BENCH_FACULTY_EMAIL,
        "large_group": BENCH_LARGE_GROUP_EMAIL,
        "admin": BENCH_ADMIN_EMAIL,
    }
    counts: dict[str, int] = {}
    with app.app_context():
        ids = {
            who: db.session.scalar(select(User).where(User.email == email)).get_id()
            for who, email in emails.items()
        }
        engine = db.engine
    statements: list[str] = []
    lock = threading.Lock()

    def record(*_args):
        with lock:
            statements.append("q")

    for label, path, who, afresh in PAGES:
        client = app.test_client()
        with client.session_transaction() as session:
            session["_user_id"] = ids[who]
            session["_fresh"] = True
        client.get(path)  # warm caches (e.g. the user loader) the same way for both sizes
        if afresh:
            GROUP_CONTENT.clear()
            KEPT_LOADS_READS.clear()
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
    small_url = small_database_url(database_url, work)
    fill_database(small_url, Scale(faculty=20, people=400, positions=600), work)
    small = _count_page_queries(small_url, work)
    large = _count_page_queries(database_url, work)
    return {label: (small[label], large[label]) for label, *_ in PAGES}


def cpu_measures(database_url: str, work: Path, rounds: int) -> list[dict]:
    """In-process CPU per logged-in request, English and French interleaved with /healthz of
    the same process (what a request costs before any page work), medians."""
    from bench.cpu import cpu_per_request

    note = "in-process CPU, medians of {} interleaved with /healthz"
    figures = []
    pages = [
        # (label, who, path, target ms, rounds)
        ("/group (30 members)", BENCH_FACULTY_EMAIL, "/group", 2.0, rounds),
        ("/group (300 members)", BENCH_LARGE_GROUP_EMAIL, "/group", 6.0, max(rounds // 2, 1)),
        (
            "admin viewing one group (2,000 faculty)",
            BENCH_ADMIN_EMAIL,
            f"/group?faculty={BENCH_FACULTY_ID}",
            4.0,
            max(rounds // 2, 1),
        ),
    ]
    sizes: dict[str, int] = {}
    for label, email, path, target, page_rounds in pages:
        medians, page_sizes = cpu_per_request(
            database_url, work, email, BENCH_PASSWORD, [path, "/healthz"], page_rounds
        )
        sizes[label] = page_sizes[path]
        for language in ("en", "fr_CA"):
            milliseconds = medians[path, language]
            figures.append(
                figure(
                    f"{label} CPU ms, {language}, vs /healthz",
                    milliseconds,
                    medians["/healthz", language],
                    "ms",
                    f"<= {target:g} ms",
                    milliseconds <= target,
                    note.format(page_rounds),
                )
            )
    figures.append(
        figure(
            "admin viewing one group (2,000 faculty) KB vs the faculty's own /group",
            sizes["admin viewing one group (2,000 faculty)"] / 1000,
            sizes["/group (30 members)"] / 1000,
            "KB",
            "(reported)",
            None,
            "HTML bytes of the English page",
        )
    )
    return figures


def cpu_after_growth(database_url: str, work: Path, rounds: int, before: list[dict]) -> dict:
    """/group (30 members) again after the imports, against the same figure before them: the
    imports add 60,000 positions with their open milestones and audit events to the
    institution, and one group's page must not read them (an index once made it read every
    open milestone of the institution: ten times slower after the imports)."""
    from bench.cpu import cpu_per_request

    label = "/group (30 members) CPU ms, en"
    earlier = next(item["portal"] for item in before if item["name"].startswith(label))
    medians, _sizes = cpu_per_request(
        database_url, work, BENCH_FACULTY_EMAIL, BENCH_PASSWORD, ["/group", "/healthz"], rounds
    )
    with create_app(
        {"SQLALCHEMY_DATABASE_URI": database_url}, instance_path=str(work)
    ).app_context():
        positions = db.session.scalar(select(func.count()).select_from(Position))
        db.engine.dispose()
    milliseconds = medians["/group", "en"]
    return figure(
        f"/group (30 members) CPU ms, en, after the imports ({positions:,} positions) vs before",
        milliseconds,
        earlier,
        "ms",
        "<= 2 ms",
        milliseconds <= 2.0,
        f"in-process CPU, medians of {rounds} interleaved with /healthz",
    )


IMPORT_ROWS = 10_000


def import_measures(database_url: str, work: Path, rounds: int) -> list[dict]:
    """Import of 10,000 new rows through the importer (read, plan, apply with audit events,
    commit), against Core inserts of the same people, positions and links; interleaved rounds,
    each into a new, empty group."""
    from portal.collector import collector_paused
    from portal.roster.applying import apply_import
    from portal.roster.planning import plan_import
    from portal.roster.reading import read_roster_file
    from portal.roster.reports import ROSTER_COLUMNS
    from portal.spreadsheets import csv_bytes_chunks

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url}, instance_path=str(work))
    today = date.today()
    cpu: dict[str, list[float]] = {"import": [], "core": []}
    counter = iter(range(1, 1000))

    def new_faculty(kind: str) -> User:
        number = next(counter)
        faculty = User(
            email=f"{kind}{number}@bench.example.org",
            display_name=f"Prof. {kind.title()} {number}",
            password_hash="!",
        )
        db.session.add(faculty)
        db.session.commit()
        return faculty

    def portal() -> float:
        """One import's wall time, from the file's bytes to the commit (the file itself, made
        first, is not the import's work; nor is the new faculty member, on either side)."""
        faculty = new_faculty("import")
        rows = [
            (
                faculty.email,
                f"Imported Person {faculty.id}-{n}",
                f"imported{faculty.id}-{n}@bench.example.org",
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
        del rows
        started, started_cpu = time.perf_counter(), time.process_time()
        with collector_paused():  # as on the import pages, around the whole import
            import_file(data, faculty)
        cpu["import"].append(time.process_time() - started_cpu)
        return time.perf_counter() - started

    def import_file(data: bytes, faculty: User) -> None:
        plan = plan_import(
            read_roster_file(data, "bench.csv", max_bytes=None), faculty, only_faculty=faculty
        )
        if not plan.ok:
            raise RuntimeError("the bench import file has problems")
        apply_import(plan, faculty)
        db.session.commit()

    def core() -> float:
        faculty = new_faculty("core")
        started, started_cpu = time.perf_counter(), time.process_time()
        _core_inserts(faculty.id, IMPORT_ROWS, today)
        cpu["core"].append(time.process_time() - started_cpu)
        return time.perf_counter() - started

    with app.app_context():
        # No warm-up: each run writes 10,000 people; the first of each side is one of the rounds.
        medians = interleaved_medians({"portal": portal, "core": core}, rounds, warm_up=False)
        db.engine.dispose()
    cpu_ratio = sorted(cpu["core"])[rounds // 2] / sorted(cpu["import"])[rounds // 2]
    portal_rate, core_rate = IMPORT_ROWS / medians["portal"], IMPORT_ROWS / medians["core"]
    return [
        figure(
            f"Import ({IMPORT_ROWS:,} new rows) rows/s vs Core inserts",
            portal_rate,
            core_rate,
            "rows/s",
            ">= 0.3×",
            portal_rate / core_rate >= 0.3,
            f"wall clock, medians of {rounds} interleaved, parse + validate + apply + audit, "
            f"one transaction; this process's CPU time ratio {cpu_ratio:.2f}",
        )
    ]


def _core_inserts(faculty_id: int, count: int, today: date) -> None:
    """The same people, positions and links written with three executemany statements."""
    from portal.models import Person, Position, Supervision

    start = today.replace(year=today.year - 1)
    first_person = (db.session.scalar(select(func.max(Person.id))) or 0) + 1
    first_position = (db.session.scalar(select(func.max(Position.id))) or 0) + 1
    first_link = (db.session.scalar(select(func.max(Supervision.id))) or 0) + 1
    now = datetime.now(UTC)
    db.session.execute(
        Person.__table__.insert(),
        [
            {
                "id": first_person + n,
                "full_name": f"Core Person {faculty_id}-{n}",
                "email": f"core{faculty_id}-{n}@bench.example.org",
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
                "owner_id": faculty_id,
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
    # Explicit keys leave PostgreSQL's sequences behind; the next import draws from them.
    reset_sequences()
    db.session.commit()
