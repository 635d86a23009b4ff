"""`make bench`: the portal measured side by side with the limits of its own stack.

Each figure is printed with the portal's number, a baseline measured in the same run on the same
data, their ratio and the target of issue 15, so that a change that makes the portal slower shows
up as a worse ratio whatever machine the bench runs on. The database is the one DATABASE_URL
names (a fresh SQLite file in bench/work/ by default; a PostgreSQL database is emptied first).
Results go to bench/results.json (SQLite) or bench/results-postgresql.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

from bench import measures
from bench.generate import (
    BENCH_ADMIN_EMAIL,
    BENCH_FACULTY_EMAIL,
    BENCH_FACULTY_ID,
    BENCH_PASSWORD,
    Scale,
    fill_database,
    settle,
)
from bench.load import Session, load_tool
from bench.report import Figure, Report, text_report
from bench.server import GUNICORN_SETTINGS, ROOT, django_peer, gunicorn

BENCH = Path(__file__).resolve().parent
WORK = BENCH / "work"
PEER_PASSWORD = "bench passphrase for the django peer"


def results_path(backend: str) -> Path:
    return BENCH / ("results.json" if backend == "sqlite" else f"results-{backend}.json")


def prepare_database(database_url: str | None, scale: Scale) -> tuple[str, dict]:
    """A fresh, migrated database filled at `scale`; returns its URL and what was generated."""
    if WORK.exists():
        shutil.rmtree(WORK)
    WORK.mkdir(parents=True)
    if database_url is None:
        database_url = f"sqlite:///{WORK / 'bench.sqlite3'}"
    return database_url, asdict(fill_database(database_url, scale, WORK))


def prepare_django_peer(database_url: str) -> None:
    """Django's own tables and the peer's superuser, in the bench database."""
    subprocess.run(
        [sys.executable, "-m", "bench.django_peer.prepare"],
        env=dict(
            os.environ,
            DATABASE_URL=database_url,
            DJANGO_SETTINGS_MODULE="bench.django_peer.settings",
            PEER_FACULTY_ID=str(BENCH_FACULTY_ID),
            PEER_PASSWORD=PEER_PASSWORD,
        ),
        cwd=ROOT,
        check=True,
    )


def machine() -> dict:
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "load_average": {"start": round(os.getloadavg()[0], 2)},
    }


def tools() -> dict:
    import django

    return {
        "load": load_tool(),
        "gunicorn": " ".join(GUNICORN_SETTINGS),
        "django": django.get_version(),
    }


def run(database_url: str | None, scale: Scale, rounds: int, requests: int) -> Report:
    report = Report(machine=machine(), data={}, tools=tools())
    database_url, generated = prepare_database(database_url, scale)
    backend = database_url.split("://")[0].split("+")[0]
    report.data = {"database": backend, **generated}
    prepare_django_peer(database_url)
    with (
        gunicorn(database_url, WORK) as (port, master),
        django_peer(database_url, BENCH_FACULTY_ID) as (django_port, _django_master),
    ):
        faculty = Session(port)
        faculty.login(BENCH_FACULTY_EMAIL, BENCH_PASSWORD)
        admin = Session(port)
        admin.login(BENCH_ADMIN_EMAIL, BENCH_PASSWORD)
        django = Session(django_port)
        from bench.django_peer.settings import PEER_ADMIN_USERNAME

        django.django_login(PEER_ADMIN_USERNAME, PEER_PASSWORD)
        context = measures.Context(
            port=port,
            master_pid=master.pid,
            database_url=database_url,
            faculty=faculty,
            admin=admin,
            work=WORK,
            backend=backend,
            rounds=rounds,
            django_port=django_port,
            django=django,
        )
        for measure in measures.SERVER_MEASURES:
            figures = measure(context)
            for figure in figures if isinstance(figures, list) else [figures]:
                report.figures.append(Figure(**figure))
    cpu_figures = measures.cpu_measures(database_url, WORK, requests)
    report.figures.extend(Figure(**figure) for figure in cpu_figures)
    report.queries = measures.queries_per_page(database_url, WORK)
    report.figures.extend(
        Figure(**figure) for figure in measures.import_measures(database_url, WORK, rounds)
    )
    settle(database_url)  # the imports wrote 120,000 positions: measured once they are settled
    report.figures.append(
        Figure(**measures.cpu_after_growth(database_url, WORK, requests, cpu_figures))
    )
    report.machine["load_average"]["end"] = round(os.getloadavg()[0], 2)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faculty", type=int, default=Scale.faculty)
    parser.add_argument("--people", type=int, default=Scale.people)
    parser.add_argument("--positions", type=int, default=Scale.positions)
    parser.add_argument(
        "--rounds",
        type=int,
        default=int(os.environ.get("BENCH_ROUNDS", "3")),
        help="interleaved rounds of each figure measured over HTTP or by import",
    )
    parser.add_argument(
        "--requests",
        type=int,
        default=200,
        help="in-process requests per page and language (half for the larger pages)",
    )
    arguments = parser.parse_args()
    started = time.perf_counter()
    report = run(
        os.environ.get("DATABASE_URL"),
        Scale(faculty=arguments.faculty, people=arguments.people, positions=arguments.positions),
        arguments.rounds,
        arguments.requests,
    )
    report.seconds = round(time.perf_counter() - started, 1)
    print(text_report(report))
    results = results_path(report.data["database"])
    results.write_text(json.dumps(report.payload(), indent=2) + "\n", encoding="utf-8")
    print(f"\nWritten {results.relative_to(ROOT)} in {report.seconds} s")


if __name__ == "__main__":
    main()
